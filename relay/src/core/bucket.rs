//! Token buckets: a per-principal rate with a burst allowance, and the retry-after a
//! refusal carries. `now` is passed in, so the arithmetic is tested without waiting.

use std::time::{Duration, Instant};

/// A rate (per second) and a burst (the most that may be spent at once after a pause).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens added per second (≥ 1).
    pub per_second: u32,
    /// Bucket size: the largest burst (≥ 1).
    pub burst: u32,
}

/// One bucket. Starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self { rate, tokens: f64::from(rate.burst.max(1)), last: now }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens =
            (self.tokens + dt * f64::from(self.rate.per_second.max(1))).min(f64::from(self.rate.burst.max(1)));
    }

    /// Spends `n` tokens, or says how long until `n` are available (nothing is spent then).
    /// A request for more than the burst is measured against the burst, so it is refused
    /// at most until the bucket is full again, never forever.
    pub fn take(&mut self, n: u32, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        let want = f64::from(n.min(self.rate.burst.max(1)));
        if self.tokens >= want {
            self.tokens -= want;
            return Ok(());
        }
        let missing = want - self.tokens;
        let secs = missing / f64::from(self.rate.per_second.max(1));
        // At least 1 ms, rounded up, so a client that waits exactly this long succeeds.
        Err(Duration::from_millis((secs * 1000.0).ceil().max(1.0) as u64))
    }

    /// Whether the bucket is full at `now` (an idle principal's state can be forgotten).
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= f64::from(self.rate.burst.max(1))
    }
}

/// The refusal of a request over its principal's rate (`rate_limited`), carrying when to
/// retry, in whole milliseconds (rounded up, so a retry at that time finds a token).
pub fn rate_limited(
    principal: &tiprelay_proto::PrincipalId,
    rate: &str,
    request: &str,
    wait: Duration,
) -> tiprelay_proto::wire::WireError {
    let ms = u64::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(u64::MAX);
    tiprelay_proto::wire::WireError::rate_limited(
        ms,
        format!("{principal} exceeds its `{rate}` rate ({request} requests); retry in {ms} ms"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(Rate { per_second: 100, burst: 10 }, t0);
        for _ in 0..10 {
            assert!(b.take(1, t0).is_ok());
        }
        let wait = b.take(1, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(10));
        // Refused takes spend nothing: after exactly that wait, one token is there.
        assert!(b.take(1, t0 + wait).is_ok());
        assert!(b.take(1, t0 + wait).is_err());
        // After a long pause the bucket holds the burst, not more.
        let later = t0 + Duration::from_secs(60);
        assert!(b.is_full(later));
        assert!(b.take(10, later).is_ok());
        assert!(b.take(1, later).is_err());
    }

    #[test]
    fn batches_spend_one_token_per_item_and_larger_than_burst_waits_for_a_full_bucket() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(Rate { per_second: 64, burst: 64 }, t0);
        assert!(b.take(64, t0).is_ok());
        assert_eq!(b.take(64, t0).unwrap_err(), Duration::from_secs(1));
        assert_eq!(b.take(1000, t0 + Duration::from_millis(500)).unwrap_err(), Duration::from_millis(500));
        assert!(b.take(1000, t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn time_going_backwards_adds_nothing() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let mut b = TokenBucket::new(Rate { per_second: 1, burst: 1 }, t0);
        assert!(b.take(1, t0).is_ok());
        assert!(b.take(1, t0 - Duration::from_secs(3)).is_err());
        assert!(b.take(1, t0 + Duration::from_secs(1)).is_ok());
    }

    #[test]
    fn a_request_over_its_rate_is_refused_as_rate_limited_with_when_to_retry() {
        let who: tiprelay_proto::PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
        let e = rate_limited(&who, "tips", "submit", Duration::from_micros(2_500));
        assert_eq!(e.code, tiprelay_proto::ErrorCode::RateLimited as u16);
        assert_eq!(e.retry_after, Some(3), "rounded up");
        assert!(e.reason.contains("`tips` rate"), "{}", e.reason);
    }
}
