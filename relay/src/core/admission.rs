//! Pre-authentication admission: how many QUIC handshakes may be in progress, per source
//! address and in total (DESIGN §12). Only a completed, authenticated handshake takes a
//! connection slot; a handshake that stalls holds a pending slot until the handshake
//! timeout, and a source cannot hold more than its share.

use std::collections::HashMap;
use std::net::IpAddr;

/// Why a new handshake was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This source address already has its maximum of handshakes in progress.
    SourceFull,
    /// The relay has its maximum of handshakes in progress.
    TotalFull,
}

/// The "source" a handshake is counted against: an IPv4 address (also when IPv4-mapped),
/// or an IPv6 /64, since one IPv6 host commonly holds a whole /64.
pub fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Handshakes in progress.
#[derive(Debug)]
pub struct PendingHandshakes {
    per_source: usize,
    total: usize,
    by_source: HashMap<IpAddr, usize>,
    count: usize,
}

impl PendingHandshakes {
    /// At most `per_source` per address and `total` in all (each at least 1).
    pub fn new(per_source: usize, total: usize) -> Self {
        Self { per_source: per_source.max(1), total: total.max(1), by_source: HashMap::new(), count: 0 }
    }

    /// Takes a slot for a handshake from `ip`, or says why not. Every `Ok` must be matched
    /// by one [`PendingHandshakes::release`].
    pub fn admit(&mut self, ip: IpAddr) -> Result<(), Refusal> {
        let ip = source(ip);
        if self.count >= self.total {
            return Err(Refusal::TotalFull);
        }
        let n = self.by_source.entry(ip).or_insert(0);
        if *n >= self.per_source {
            return Err(Refusal::SourceFull);
        }
        *n += 1;
        self.count += 1;
        Ok(())
    }

    /// Gives back a slot taken by [`PendingHandshakes::admit`].
    pub fn release(&mut self, ip: IpAddr) {
        let ip = source(ip);
        if let Some(n) = self.by_source.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_source.remove(&ip);
            }
            self.count = self.count.saturating_sub(1);
        }
    }

    /// Handshakes in progress.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether none is in progress.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_source_and_total_caps() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "192.0.2.3".parse().unwrap();
        let mut p = PendingHandshakes::new(2, 3);
        assert_eq!(p.admit(a), Ok(()));
        assert_eq!(p.admit(a), Ok(()));
        assert_eq!(p.admit(a), Err(Refusal::SourceFull));
        assert_eq!(p.admit(b), Ok(()));
        assert_eq!(p.admit(c), Err(Refusal::TotalFull));
        p.release(a);
        assert_eq!(p.len(), 2);
        assert_eq!(p.admit(c), Ok(()));
        for ip in [a, b, c] {
            p.release(ip);
        }
        assert!(p.is_empty());
        // A release without an admit changes nothing.
        p.release(a);
        assert!(p.is_empty());
        assert!(p.by_source.is_empty());
    }

    #[test]
    fn an_ipv6_slash_64_is_one_source() {
        let mut p = PendingHandshakes::new(2, 100);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(p.admit(a), Ok(()));
        assert_eq!(p.admit(b), Ok(()));
        assert_eq!(p.admit(a), Err(Refusal::SourceFull), "same /64");
        assert_eq!(p.admit(c), Ok(()), "another /64");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(source(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        for ip in [a, b, c] {
            p.release(ip);
        }
        assert!(p.is_empty());
    }
}
