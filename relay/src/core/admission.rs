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
}
