//! Which signed checkpoints an exported audit bundle carries (PROTOCOL §13.9). A bundle's
//! header must not grow with the whole history (any principal could mint checkpoints), so
//! an export keeps at most [`MAX_BUNDLE_CHECKPOINTS`]: the one at the end of the range
//! (which signs every entry in it) and, spread evenly over the range, one per stretch of
//! entries, preferring the one most jurisdictions cosigned. The verifier checks the root at
//! every checkpoint it is given, so fewer checkpoints only make a bad entry's place coarser,
//! never let one through.

/// Most checkpoints in an exported bundle's header.
pub const MAX_BUNDLE_CHECKPOINTS: usize = 1024;

/// Picks the checkpoint sizes to export from `candidates` (size, cosignature count), in
/// ascending size, all within `(first, end]` and the last at `end`; at most `max` (≥ 1).
pub fn thin_checkpoints(candidates: &[(u64, usize)], first: u64, end: u64, max: usize) -> Vec<u64> {
    let max = max.max(1);
    let in_range: Vec<(u64, usize)> = candidates.iter().copied().filter(|(s, _)| *s > first && *s <= end).collect();
    if in_range.len() <= max {
        return in_range.into_iter().map(|(s, _)| s).collect();
    }
    let stretches = (max - 1).max(1) as u64;
    let width = (end - first).div_ceil(stretches).max(1);
    let mut out: Vec<u64> = Vec::with_capacity(max);
    let mut best: Option<(u64, (u64, usize))> = None; // (stretch, (size, cosigs))
    for (size, cosigs) in in_range {
        if size == end {
            break;
        }
        let stretch = (size - first - 1) / width;
        match best {
            Some((s, (_, c))) if s == stretch => {
                if cosigs > c {
                    best = Some((stretch, (size, cosigs)));
                }
            }
            _ => {
                if let Some((_, (sz, _))) = best {
                    out.push(sz);
                }
                best = Some((stretch, (size, cosigs)));
            }
        }
    }
    if let Some((_, (sz, _))) = best {
        out.push(sz);
    }
    out.truncate(max - 1);
    if candidates.iter().any(|(s, _)| *s == end) {
        out.push(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_checkpoints_are_all_kept() {
        let c = [(10, 0), (20, 1), (30, 0)];
        assert_eq!(thin_checkpoints(&c, 0, 30, 8), vec![10, 20, 30]);
        assert_eq!(thin_checkpoints(&c, 10, 20, 8), vec![20]);
    }

    #[test]
    fn many_checkpoints_are_thinned_to_the_cap_with_the_end_and_cosigned_ones() {
        // 100,000 checkpoints (one every 10 entries), every 7th cosigned.
        let c: Vec<(u64, usize)> = (1..=100_000u64).map(|i| (i * 10, usize::from(i % 7 == 0))).collect();
        let picked = thin_checkpoints(&c, 0, 1_000_000, MAX_BUNDLE_CHECKPOINTS);
        assert!(
            picked.len() <= MAX_BUNDLE_CHECKPOINTS && picked.len() > MAX_BUNDLE_CHECKPOINTS / 2,
            "{}",
            picked.len()
        );
        assert_eq!(picked.last(), Some(&1_000_000));
        assert!(picked.windows(2).all(|w| w[0] < w[1]), "ascending");
        // Within each stretch the cosigned checkpoint wins.
        let cosigned = picked.iter().filter(|s| (*s / 10) % 7 == 0).count();
        assert!(cosigned >= picked.len() - 2, "{cosigned} of {} cosigned", picked.len());
        // Spread over the whole range: no gap much wider than one stretch.
        let width = 1_000_000 / (MAX_BUNDLE_CHECKPOINTS as u64 - 1);
        assert!(picked.windows(2).all(|w| w[1] - w[0] <= 2 * width + 10));
    }

    #[test]
    fn a_cap_of_one_keeps_the_end() {
        let c: Vec<(u64, usize)> = (1..=50u64).map(|i| (i, 0)).collect();
        assert_eq!(thin_checkpoints(&c, 0, 50, 1), vec![50]);
        assert_eq!(thin_checkpoints(&c, 0, 50, 2).last(), Some(&50));
    }
}
