//! The relay's audit-log rules: when a checkpoint is signed, which proofs can be given,
//! which cosignatures are kept (PROTOCOL §13).

use tiprelay_proto::wire::WireError;
use tiprelay_proto::{Checkpoint, Cosignature, ErrorCode};

/// Entries between scheduled checkpoints: the writer signs one in the commit that takes
/// the log at least this far past the last one (and every 5 s when it grew; see the server).
pub const CHECKPOINT_ENTRIES: u64 = 1000;

/// Whether a log of `size` entries needs a new checkpoint, the last one being of
/// `last_size`, when at least `min_new` entries are wanted between them.
pub fn checkpoint_due(size: u64, last_size: u64, min_new: u64) -> bool {
    size > 0 && size >= last_size.saturating_add(min_new.max(1))
}

/// An inclusion proof needs `index < size ≤ n` (`proof_out_of_range`).
pub fn inclusion_in_range(index: u64, size: u64, n: u64) -> Result<(), WireError> {
    if size > n || index >= size {
        return Err(WireError::new(
            ErrorCode::ProofOutOfRange,
            format!("the log has {n} entries; no entry {index} in a tree of {size}"),
        ));
    }
    Ok(())
}

/// A consistency proof needs `1 ≤ old ≤ new ≤ n` (`proof_out_of_range`).
pub fn consistency_in_range(old: u64, new: u64, n: u64) -> Result<(), WireError> {
    if new > n || old == 0 || old > new {
        return Err(WireError::new(
            ErrorCode::ProofOutOfRange,
            format!("no consistency proof from {old} to {new}: the log has {n} entries"),
        ));
    }
    Ok(())
}

/// A cosignature is kept only for a checkpoint the relay signed (`unknown_checkpoint`) and
/// only when it covers that very checkpoint (`checkpoint_mismatch`: another history).
pub fn cosignature_fits(signed: Option<&Checkpoint>, cs: &Cosignature) -> Result<(), WireError> {
    // A log's own signer is no witness of it (a relay cosigning its own checkpoint).
    if cs.by.to_string() == cs.log {
        return Err(WireError::new(
            ErrorCode::NotPermitted,
            format!("{} signs this log; a witness of it is someone else", cs.by),
        ));
    }
    let Some(cp) = signed else {
        return Err(WireError::new(
            ErrorCode::UnknownCheckpoint,
            format!("the relay signed no checkpoint of size {}", cs.size),
        ));
    };
    if !cs.covers(cp) {
        return Err(WireError::new(
            ErrorCode::CheckpointMismatch,
            format!(
                "this cosignature is not for the relay's checkpoint of size {} (root or time differ): the cosigner \
                 saw a different history",
                cs.size
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiprelay_proto::{Digest, Timestamp};

    #[test]
    fn checkpoints_are_due_after_enough_new_entries() {
        assert!(!checkpoint_due(0, 0, 1), "never of the empty log");
        assert!(checkpoint_due(1, 0, 1));
        assert!(!checkpoint_due(999, 0, CHECKPOINT_ENTRIES));
        assert!(checkpoint_due(1000, 0, CHECKPOINT_ENTRIES));
        assert!(!checkpoint_due(5, 5, 1), "nothing new");
        assert!(checkpoint_due(6, 5, 0), "min_new 0 means 1");
    }

    #[test]
    fn proofs_outside_the_log_are_refused_as_out_of_range() {
        assert!(inclusion_in_range(0, 1, 1).is_ok());
        for (i, s, n) in [(1, 1, 5), (0, 6, 5), (3, 2, 5)] {
            assert_eq!(inclusion_in_range(i, s, n).unwrap_err().code, ErrorCode::ProofOutOfRange as u16);
        }
        assert!(consistency_in_range(1, 5, 5).is_ok());
        assert!(consistency_in_range(5, 5, 5).is_ok());
        for (o, n2, n) in [(0, 3, 5), (4, 3, 5), (1, 6, 5)] {
            assert_eq!(consistency_in_range(o, n2, n).unwrap_err().code, ErrorCode::ProofOutOfRange as u16);
        }
    }

    #[test]
    fn cosignatures_must_name_a_signed_checkpoint_and_cover_it() {
        let relay: tiprelay_proto::PrincipalId = "tiprelay://OPERATOR/relay/r".parse().unwrap();
        let cp = Checkpoint {
            log: relay.to_string(),
            size: 10,
            root: Digest([1; 32]),
            time: Timestamp::from_unix_seconds(100),
            relay: relay.clone(),
        };
        let cs = Cosignature {
            log: cp.log.clone(),
            size: 10,
            root: cp.root,
            checkpoint_time: cp.time,
            by: "tiprelay://MX/analyst/ana".parse().unwrap(),
            created: Timestamp::from_unix_seconds(101),
        };
        assert!(cosignature_fits(Some(&cp), &cs).is_ok());
        assert_eq!(cosignature_fits(None, &cs).unwrap_err().code, ErrorCode::UnknownCheckpoint as u16);
        // The peer relay (federation) witnesses; the log's own relay does not.
        let peer = Cosignature { by: "tiprelay://US/relay/us".parse().unwrap(), ..cs.clone() };
        assert!(cosignature_fits(Some(&cp), &peer).is_ok());
        let own = Cosignature { by: relay.clone(), ..cs.clone() };
        assert_eq!(cosignature_fits(Some(&cp), &own).unwrap_err().code, ErrorCode::NotPermitted as u16);
        let other = Cosignature { root: Digest([2; 32]), ..cs };
        assert_eq!(cosignature_fits(Some(&cp), &other).unwrap_err().code, ErrorCode::CheckpointMismatch as u16);
    }
}
