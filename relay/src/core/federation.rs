//! Federation (PROTOCOL §14): what a relay checks of a tip its peer relay forwards, and how
//! the home sequence numbers stay gap-free across the link. Pure rules, no I/O.

use tiprelay_proto::wire::WireError;
use tiprelay_proto::{Digest, ErrorCode, Jurisdiction, PrincipalId, Receipt, Subject, Tip};

/// The home relay's receipt must be for exactly this tip, signed by the peer relay that
/// forwards it, for a tip from the peer's jurisdiction to this relay's own.
pub fn home_receipt_matches(
    receipt: &Receipt,
    receipt_signer: &PrincipalId,
    tip: &Tip,
    digest: &Digest,
    peer: &PrincipalId,
    home: Jurisdiction,
) -> Result<(), WireError> {
    if receipt_signer != peer {
        return Err(WireError::new(
            ErrorCode::IdentityMismatch,
            format!("the receipt is signed by {receipt_signer}, not by the forwarding relay {peer}"),
        ));
    }
    let from = peer.jurisdiction();
    if Some(tip.from) != from || tip.to != home {
        return Err(WireError::new(
            ErrorCode::NotPermitted,
            format!(
                "{peer} forwards only tips from its own jurisdiction to {home}; this one is {} → {}",
                tip.from, tip.to
            ),
        ));
    }
    if receipt.subject != Subject::Tip
        || receipt.tip != tip.id
        || receipt.from != tip.from
        || receipt.to != tip.to
        || receipt.digest != *digest
    {
        return Err(WireError::new(
            ErrorCode::BadRequest,
            format!("the home receipt forwarded with tip {} names another tip or digest", tip.id),
        ));
    }
    Ok(())
}

/// What this relay already holds of a forwarded tip (its `(from, id)`).
#[derive(Debug, Clone, Copy)]
pub struct HeldHere<'a> {
    /// Digest of the envelope held.
    pub digest: &'a [u8],
    /// Its sequence number here.
    pub seq: u64,
}

/// The decision on one forwarded tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The next in its direction: store it (this relay's number for it is the same).
    New,
    /// Stored before with this number (a resend after a lost answer): answer with the
    /// stored receipt.
    Resend,
}

/// Decides a forwarded tip with home sequence number `seq`, given the last number this
/// relay holds in that direction (`last`, including the new tips earlier in the same
/// request) and what it holds under the tip's `(from, id)`. The home numbers are gap-free
/// per direction, so a forward must be exactly the next; anything else is refused with
/// `sequence_gap` (a gap is proof of omission across the border) or `conflict`.
pub fn forwarded(seq: u64, last: u64, held: Option<HeldHere<'_>>, digest: &Digest) -> Result<Step, WireError> {
    match held {
        Some(h) if h.digest != digest.0 => Err(WireError::new(
            ErrorCode::Conflict,
            "a tip with this id from this jurisdiction is held here with different content",
        )),
        Some(h) if h.seq == seq => Ok(Step::Resend),
        Some(h) => Err(WireError::new(
            ErrorCode::SequenceGap,
            format!("this tip is held here as number {}, but forwarded as number {seq}", h.seq),
        )),
        None if seq == last.saturating_add(1) => Ok(Step::New),
        None if seq <= last => Err(WireError::new(
            ErrorCode::SequenceGap,
            format!("number {seq} is already another tip's here (the last held is {last})"),
        )),
        None => Err(WireError::new(
            ErrorCode::SequenceGap,
            format!("gap in the home sequence: expected number {}, got {seq}", last.saturating_add(1)),
        )),
    }
}

/// The peer relay's receipt, as the home relay checks it before recording the tip as
/// crossed: signed by the peer relay, for this tip, with the same number as at home.
pub fn peer_receipt_matches(
    receipt: &Receipt,
    receipt_signer: &PrincipalId,
    peer: Jurisdiction,
    home_receipt: &Receipt,
) -> Result<(), String> {
    if receipt_signer.jurisdiction() != Some(peer) || receipt_signer.kind() != tiprelay_proto::PrincipalKind::Relay {
        return Err(format!("signed by {receipt_signer}, not by {peer}'s relay"));
    }
    if receipt.subject != Subject::Tip
        || receipt.tip != home_receipt.tip
        || receipt.from != home_receipt.from
        || receipt.to != home_receipt.to
        || receipt.digest != home_receipt.digest
    {
        return Err(format!("it names another tip than {}", home_receipt.tip));
    }
    if receipt.seq != home_receipt.seq {
        return Err(format!(
            "it numbers tip {} {} where this relay numbered it {}",
            home_receipt.tip, receipt.seq, home_receipt.seq
        ));
    }
    Ok(())
}

/// What a relay witnessing its peer's log does with the peer's newest checkpoint of `size`
/// and `root`, given the last one it cosigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witness {
    /// The first checkpoint seen: cosign it (trust on first use, as a client does).
    First,
    /// The one cosigned last: nothing to do.
    Same,
    /// A larger log: cosign once a consistency proof from the last one verifies.
    Extends {
        /// The last cosigned size.
        old_size: u64,
        /// Its root.
        old_root: tiprelay_proto::Digest,
    },
    /// The same size with another root: two histories (alarm; never cosigned).
    Fork,
    /// A smaller log than one already cosigned: a rollback (alarm; never cosigned).
    Rollback,
}

/// Decides what to do with the peer's checkpoint (see [`Witness`]).
pub fn witness_step(last: Option<(u64, tiprelay_proto::Digest)>, size: u64, root: &tiprelay_proto::Digest) -> Witness {
    match last {
        None => Witness::First,
        Some((s, r)) if s == size && r == *root => Witness::Same,
        Some((s, _)) if s == size => Witness::Fork,
        Some((s, _)) if size < s => Witness::Rollback,
        Some((old_size, old_root)) => Witness::Extends { old_size, old_root },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiprelay_proto::{Timestamp, TipId};

    #[test]
    fn a_witness_cosigns_only_a_log_that_extends_what_it_cosigned() {
        let (a, b) = (d(1), d(2));
        assert_eq!(witness_step(None, 5, &a), Witness::First);
        assert_eq!(witness_step(Some((5, a)), 5, &a), Witness::Same);
        assert_eq!(witness_step(Some((5, a)), 5, &b), Witness::Fork);
        assert_eq!(witness_step(Some((5, a)), 4, &b), Witness::Rollback);
        assert_eq!(witness_step(Some((5, a)), 9, &b), Witness::Extends { old_size: 5, old_root: a });
    }

    fn d(b: u8) -> Digest {
        Digest([b; 32])
    }

    #[test]
    fn a_forwarded_tip_must_be_exactly_the_next_number() {
        assert_eq!(forwarded(1, 0, None, &d(1)), Ok(Step::New));
        assert_eq!(forwarded(8, 7, None, &d(1)), Ok(Step::New));
        let gap = forwarded(9, 7, None, &d(1)).unwrap_err();
        assert_eq!((gap.code, gap.reason.contains("expected number 8")), (ErrorCode::SequenceGap as u16, true));
        let taken = forwarded(5, 7, None, &d(1)).unwrap_err();
        assert_eq!(taken.code, ErrorCode::SequenceGap as u16);
    }

    #[test]
    fn a_resend_is_answered_and_a_renumbered_or_altered_tip_is_refused() {
        let digest = d(3);
        let held = HeldHere { digest: &digest.0, seq: 4 };
        assert_eq!(forwarded(4, 9, Some(held), &digest), Ok(Step::Resend));
        assert_eq!(forwarded(5, 9, Some(held), &digest).unwrap_err().code, ErrorCode::SequenceGap as u16);
        assert_eq!(forwarded(4, 9, Some(held), &d(4)).unwrap_err().code, ErrorCode::Conflict as u16);
    }

    fn receipt(seq: u64, relay: &str) -> Receipt {
        Receipt {
            subject: Subject::Tip,
            tip: TipId::new_v7(Timestamp::from_unix_ms(1_796_083_200_000).unwrap(), [1; 10]),
            from: "MX".parse().unwrap(),
            to: "US".parse().unwrap(),
            digest: d(1),
            seq,
            accepted: Timestamp::from_unix_ms(1_796_083_200_000).unwrap(),
            log_index: 0,
            relay: relay.parse().unwrap(),
        }
    }

    #[test]
    fn the_peer_receipt_must_come_from_the_peer_relay_with_the_home_number() {
        let home = receipt(7, "tiprelay://MX/relay/mx");
        let us: PrincipalId = "tiprelay://US/relay/us".parse().unwrap();
        let peer: Jurisdiction = "US".parse().unwrap();
        assert!(peer_receipt_matches(&receipt(7, "tiprelay://US/relay/us"), &us, peer, &home).is_ok());
        let other = receipt(8, "tiprelay://US/relay/us");
        assert!(peer_receipt_matches(&other, &us, peer, &home).unwrap_err().contains("numbers"));
        let mx: PrincipalId = "tiprelay://MX/relay/mx".parse().unwrap();
        assert!(peer_receipt_matches(&home, &mx, peer, &home).unwrap_err().contains("not by US's relay"));
    }
}
