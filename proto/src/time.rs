//! Time as a value. `proto` never reads a clock: callers pass `now`.

use std::fmt;

/// A UTC instant in whole milliseconds since the Unix epoch (1970-01-01T00:00:00Z).
///
/// On the wire: a CBOR unsigned integer. Bounded to years ≤ 9999 so every value has an
/// RFC 3339 rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// 9999-12-31T23:59:59.999Z, the largest representable instant.
    pub const MAX_MS: u64 = 253_402_300_799_999;

    /// The instant `ms` milliseconds after the epoch, if it is not past [`Self::MAX_MS`].
    pub fn from_unix_ms(ms: u64) -> Option<Self> {
        (ms <= Self::MAX_MS).then_some(Self(ms))
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_unix_ms(self) -> u64 {
        self.0
    }

    /// This instant plus `ms`, saturating at [`Self::MAX_MS`].
    pub fn saturating_add_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms).min(Self::MAX_MS))
    }

    /// The same instant as a webpki time (whole seconds, rounded down).
    pub fn to_unix_time(self) -> rustls_pki_types::UnixTime {
        rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_millis(self.0))
    }

    /// From whole seconds since the epoch (as found in X.509), clamped to the range.
    pub fn from_unix_seconds(secs: i64) -> Self {
        let ms = u64::try_from(secs).unwrap_or(0).saturating_mul(1000);
        Self(ms.min(Self::MAX_MS))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T20:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        let (y, mo, d) = civil_from_days(days);
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); H. Hinnant's algorithm.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rfc3339() {
        let t = Timestamp::from_unix_ms(1_796_083_200_123).unwrap();
        assert_eq!(t.to_string(), "2026-12-01T00:00:00.123Z");
        assert_eq!(Timestamp::from_unix_ms(0).unwrap().to_string(), "1970-01-01T00:00:00.000Z");
        let max = Timestamp::from_unix_ms(Timestamp::MAX_MS).unwrap();
        assert_eq!(max.to_string(), "9999-12-31T23:59:59.999Z");
        assert!(Timestamp::from_unix_ms(Timestamp::MAX_MS + 1).is_none());
    }
}
