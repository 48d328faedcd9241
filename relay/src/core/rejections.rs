//! What reaches the audit log when requests are refused (DESIGN §12): every authenticated
//! refusal is logged, one entry each up to a per-principal budget per window and beyond it
//! one aggregate entry per (principal, code) with its count; unauthenticated failures
//! (handshakes) have a budget of their own, and the ones suppressed are counted in one
//! entry per window. A flood of one kind never pushes the other out of the log.
//!
//! The state is bounded: per window it holds one counter per authenticated principal and
//! per (principal, code) refused, plus two numbers.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The accounting window.
pub const WINDOW: Duration = Duration::from_secs(1);

/// What to do with one authenticated refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Log it as its own entry now.
    Individual,
    /// Counted in the (principal, code) aggregate written at the end of the window.
    Aggregated,
}

/// What the end of a window adds to the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flush {
    /// (principal, code, how many refusals were not logged individually).
    pub repeated: Vec<(String, String, u64)>,
    /// Unauthenticated failures not logged individually.
    pub unauthenticated_suppressed: u64,
}

impl Flush {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.repeated.is_empty() && self.unauthenticated_suppressed == 0
    }
}

/// The per-window budgets and counters.
#[derive(Debug)]
pub struct RejectionLog {
    per_principal: u32,
    unauthenticated: u32,
    window_start: Instant,
    individual: HashMap<String, u32>,
    repeated: BTreeMap<(String, String), u64>,
    unauth_logged: u32,
    unauth_suppressed: u64,
}

impl RejectionLog {
    /// Budgets per window: individual entries per principal, and unauthenticated entries.
    pub fn new(per_principal: u32, unauthenticated: u32, now: Instant) -> Self {
        Self {
            per_principal,
            unauthenticated,
            window_start: now,
            individual: HashMap::new(),
            repeated: BTreeMap::new(),
            unauth_logged: 0,
            unauth_suppressed: 0,
        }
    }

    fn roll(&mut self, now: Instant) {
        if now.saturating_duration_since(self.window_start) >= WINDOW {
            self.window_start = now;
            self.individual.clear();
            self.unauth_logged = 0;
        }
    }

    /// An authenticated refusal of `principal` with `code`.
    pub fn authenticated(&mut self, principal: &str, code: &str, now: Instant) -> Entry {
        self.roll(now);
        let used = self.individual.entry(principal.to_owned()).or_insert(0);
        if *used < self.per_principal {
            *used += 1;
            return Entry::Individual;
        }
        self.aggregate(principal, code);
        Entry::Aggregated
    }

    /// Counts a refusal in its aggregate (also used when an individual entry could not be
    /// queued: it is then written with the aggregate, never lost).
    pub fn aggregate(&mut self, principal: &str, code: &str) {
        *self.repeated.entry((principal.to_owned(), code.to_owned())).or_insert(0) += 1;
    }

    /// An unauthenticated failure: true when it gets an entry of its own, false when it is
    /// only counted.
    pub fn unauthenticated(&mut self, now: Instant) -> bool {
        self.roll(now);
        if self.unauth_logged < self.unauthenticated {
            self.unauth_logged += 1;
            return true;
        }
        self.unauth_suppressed += 1;
        false
    }

    /// Counts an unauthenticated failure whose entry could not be queued.
    pub fn suppress_unauthenticated(&mut self) {
        self.unauth_suppressed += 1;
    }

    /// Takes what must be written now (called once per window).
    pub fn flush(&mut self) -> Flush {
        Flush {
            repeated: std::mem::take(&mut self.repeated).into_iter().map(|((p, c), n)| (p, c, n)).collect(),
            unauthenticated_suppressed: std::mem::take(&mut self.unauth_suppressed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_budget_refusals_are_aggregated_never_dropped() {
        let t0 = Instant::now();
        let mut log = RejectionLog::new(2, 1, t0);
        let mut individual = 0;
        for _ in 0..30 {
            if log.authenticated("tiprelay://MX/analyst/a", "identity_mismatch", t0) == Entry::Individual {
                individual += 1;
            }
        }
        assert_eq!(individual, 2);
        // An unauthenticated flood in the same window does not touch the principal's budget.
        let own: usize = (0..1000).filter(|_| log.unauthenticated(t0)).count();
        assert_eq!(own, 1);
        assert_eq!(log.authenticated("tiprelay://US/analyst/b", "bad_signature", t0), Entry::Individual);
        let f = log.flush();
        assert_eq!(f.repeated, vec![("tiprelay://MX/analyst/a".into(), "identity_mismatch".into(), 28)]);
        assert_eq!(f.unauthenticated_suppressed, 999);
        assert!(log.flush().is_empty());
        // A new window restores the budgets.
        let t1 = t0 + WINDOW;
        assert_eq!(log.authenticated("tiprelay://MX/analyst/a", "identity_mismatch", t1), Entry::Individual);
        assert!(log.unauthenticated(t1));
    }
}
