//! Accepting a tip: identity binding, routing, replay and conflict, the author's pending
//! quota, sequence numbers and the receipt's contents (PROTOCOL §10.1, §10.7).

use tiprelay_proto::wire::WireError;
use tiprelay_proto::{Digest, ErrorCode, Jurisdiction, PrincipalId, Receipt, Subject, Timestamp, Tip, TipId};

/// What the store holds under a tip's (from, id), as far as admission needs it.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// Digest of the accepted envelope.
    pub digest: &'a [u8],
    /// Its sequence number.
    pub seq: u64,
}

/// The decision on one verified tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// A replay of the accepted tip: answered with its original receipt.
    Duplicate {
        /// Its sequence number.
        seq: u64,
    },
    /// Same (from, id), other bytes.
    Conflict {
        /// Hex digest of the accepted one.
        existing: String,
    },
    /// The author's pending bytes would exceed its quota.
    OverQuota {
        /// Its pending bytes now.
        pending: u64,
    },
    /// New: accept it with this sequence number; the author's pending bytes become `pending`.
    Accept {
        /// Its sequence number in its direction.
        seq: u64,
        /// The author's pending bytes including this tip.
        pending: u64,
    },
}

/// Decides a verified tip against what the store holds: replay and conflict first (a
/// replay is answered even over quota), then the author's pending quota, then the next
/// sequence number of its direction (gap-free: the last one plus one).
pub fn admit(held: Option<Held<'_>>, digest: &Digest, size: u64, pending: u64, quota: u64, last_seq: u64) -> Admission {
    if let Some(h) = held {
        if h.digest == digest.0 {
            return Admission::Duplicate { seq: h.seq };
        }
        return Admission::Conflict { existing: hex(h.digest) };
    }
    let after = pending.saturating_add(size);
    if after > quota {
        return Admission::OverQuota { pending };
    }
    Admission::Accept { seq: last_seq.saturating_add(1), pending: after }
}

/// The relay's receipt for an accepted message (PROTOCOL §5.4): what the relay signs.
#[allow(clippy::too_many_arguments)]
pub fn receipt(
    subject: Subject,
    id: TipId,
    (from, to): (Jurisdiction, Jurisdiction),
    digest: Digest,
    seq: u64,
    accepted: Timestamp,
    log_index: u64,
    relay: &PrincipalId,
) -> Receipt {
    Receipt { subject, tip: id, from, to, digest, seq, accepted, log_index, relay: relay.clone() }
}

/// Identity binding: a principal submits only what it signed itself.
pub fn bound(what: &str, signer: &PrincipalId, principal: &PrincipalId) -> Result<(), WireError> {
    if signer == principal {
        return Ok(());
    }
    let extra = if what == "tip" { "; principals submit only their own tips" } else { "" };
    Err(WireError::new(
        ErrorCode::IdentityMismatch,
        format!("the {what} is signed by {signer} but this connection is authenticated as {principal}{extra}"),
    ))
}

/// Identity binding for acks, feedback and statements: the principal's own, or, on a
/// connection from a peer relay (federation), those of the peer relay's jurisdiction's
/// analysts and feeds, which it forwards.
pub fn speaks_for(what: &str, signer: &PrincipalId, principal: &PrincipalId) -> Result<(), WireError> {
    let relayed = principal.kind() == tiprelay_proto::PrincipalKind::Relay
        && principal.jurisdiction().is_some()
        && signer.kind() != tiprelay_proto::PrincipalKind::Relay
        && signer.authority() == principal.authority();
    if relayed {
        return Ok(());
    }
    bound(what, signer, principal)
}

/// Routing: the recipient is served here and the pair is configured.
pub fn routed(
    tip: &Tip,
    served: impl Fn(Jurisdiction) -> bool,
    pair_allowed: impl Fn(Jurisdiction, Jurisdiction) -> bool,
) -> Result<(), WireError> {
    if !served(tip.to) {
        return Err(WireError::new(
            ErrorCode::UnknownJurisdiction,
            format!("{} is not a jurisdiction served by this relay", tip.to),
        ));
    }
    if !pair_allowed(tip.from, tip.to) {
        return Err(WireError::new(
            ErrorCode::PairNotAllowed,
            format!("{} → {} is not a configured pair", tip.from, tip.to),
        ));
    }
    Ok(())
}

/// The replay rule on the request path: a tip whose checks fail now (expired, revoked since)
/// is still answered with its original receipt when it is the author's own, byte-identical
/// resend of a tip the relay accepted; otherwise the refusal stands.
pub fn replay_answers(own: bool, held: Option<&[u8]>, digest: &Digest) -> bool {
    own && held.is_some_and(|d| d == digest.0)
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: u8) -> Digest {
        Digest([b; 32])
    }

    #[test]
    fn a_peer_relay_speaks_for_its_own_jurisdictions_principals_only() {
        let id = |s: &str| s.parse::<PrincipalId>().unwrap();
        let us_relay = id("tiprelay://US/relay/us");
        assert!(speaks_for("ack", &id("tiprelay://US/analyst/a"), &us_relay).is_ok());
        assert!(speaks_for("ack", &id("tiprelay://MX/analyst/a"), &us_relay).is_err());
        assert!(speaks_for("ack", &id("tiprelay://US/relay/other"), &us_relay).is_err());
        // A principal still speaks only for itself.
        let ana = id("tiprelay://US/analyst/a");
        assert!(speaks_for("ack", &id("tiprelay://US/analyst/b"), &ana).is_err());
        assert!(speaks_for("ack", &ana, &ana).is_ok());
        // The operator's relay speaks for nobody.
        assert!(speaks_for("ack", &ana, &id("tiprelay://OPERATOR/relay/r")).is_err());
    }

    #[test]
    fn a_new_tip_gets_the_next_sequence_number_and_counts_against_its_author() {
        assert_eq!(admit(None, &d(1), 100, 0, 1000, 0), Admission::Accept { seq: 1, pending: 100 });
        assert_eq!(admit(None, &d(1), 100, 400, 1000, 41), Admission::Accept { seq: 42, pending: 500 });
        // Exactly at the quota is allowed.
        assert_eq!(admit(None, &d(1), 600, 400, 1000, 0), Admission::Accept { seq: 1, pending: 1000 });
    }

    #[test]
    fn a_replay_is_a_duplicate_with_its_original_sequence_number_even_over_quota() {
        let digest = d(7);
        let held = Held { digest: &digest.0, seq: 9 };
        assert_eq!(admit(Some(held), &digest, 100, u64::MAX, 0, 50), Admission::Duplicate { seq: 9 });
    }

    #[test]
    fn same_id_other_bytes_is_a_conflict_naming_the_accepted_digest() {
        let old = d(7);
        let held = Held { digest: &old.0, seq: 9 };
        assert_eq!(admit(Some(held), &d(8), 100, 0, 1000, 50), Admission::Conflict { existing: "07".repeat(32) });
    }

    #[test]
    fn over_quota_is_refused_with_the_pending_bytes() {
        assert_eq!(admit(None, &d(1), 601, 400, 1000, 0), Admission::OverQuota { pending: 400 });
        // Saturating: a huge pending count never wraps into acceptance.
        assert_eq!(admit(None, &d(1), 2, u64::MAX - 1, u64::MAX, 0), Admission::Accept { seq: 1, pending: u64::MAX });
        assert_eq!(
            admit(None, &d(1), 2, u64::MAX - 1, u64::MAX - 1, 0),
            Admission::OverQuota { pending: u64::MAX - 1 }
        );
    }

    #[test]
    fn identity_binding_refuses_another_principals_message() {
        let a: PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
        let b: PrincipalId = "tiprelay://MX/analyst/bob".parse().unwrap();
        assert!(bound("tip", &a, &a).is_ok());
        let e = bound("tip", &a, &b).unwrap_err();
        assert_eq!(e.code, ErrorCode::IdentityMismatch as u16);
        assert!(e.reason.contains("only their own tips"), "{}", e.reason);
        assert_eq!(bound("ack", &a, &b).unwrap_err().code, ErrorCode::IdentityMismatch as u16);
    }

    #[test]
    fn routing_refuses_unknown_jurisdictions_and_unconfigured_pairs() {
        let (mx, us, gt): (Jurisdiction, Jurisdiction, Jurisdiction) =
            ("MX".parse().unwrap(), "US".parse().unwrap(), "GT".parse().unwrap());
        let tip = |from, to| Tip {
            id: TipId::new_v7(Timestamp::from_unix_seconds(1), [0; 10]),
            from,
            to,
            author: "tiprelay://MX/analyst/ana".parse().unwrap(),
            created: Timestamp::from_unix_seconds(0),
            category: tiprelay_proto::Category::Other,
            urgency: tiprelay_proto::Urgency::Routine,
            summary: "s".into(),
            details: None,
            lang: "es".parse().unwrap(),
            location: None,
            observed_at: None,
            valid_until: None,
            source_reliability: None,
            info_credibility: None,
            tlp: tiprelay_proto::Tlp::Green,
            refs: vec![],
        };
        let only_mx_us = |f: Jurisdiction, t: Jurisdiction| f == mx && t == us;
        assert!(routed(&tip(mx, us), |j| [mx, us].contains(&j), only_mx_us).is_ok());
        assert_eq!(
            routed(&tip(mx, gt), |j| [mx, us].contains(&j), only_mx_us).unwrap_err().code,
            ErrorCode::UnknownJurisdiction as u16
        );
        assert_eq!(
            routed(&tip(us, mx), |j| [mx, us].contains(&j), only_mx_us).unwrap_err().code,
            ErrorCode::PairNotAllowed as u16
        );
    }

    #[test]
    fn only_the_authors_byte_identical_resend_is_answered_despite_failing_checks() {
        let digest = d(3);
        assert!(replay_answers(true, Some(&digest.0), &digest));
        assert!(!replay_answers(false, Some(&digest.0), &digest), "someone else's resend");
        assert!(!replay_answers(true, Some(&d(4).0), &digest), "other bytes");
        assert!(!replay_answers(true, None, &digest), "never accepted");
    }

    #[test]
    fn the_receipt_says_what_was_accepted_where_and_when() {
        let relay: PrincipalId = "tiprelay://OPERATOR/relay/r".parse().unwrap();
        let id = TipId::new_v7(Timestamp::from_unix_seconds(1), [1; 10]);
        let (mx, us) = ("MX".parse().unwrap(), "US".parse().unwrap());
        let r = receipt(Subject::Tip, id, (mx, us), d(9), 12, Timestamp::from_unix_seconds(5), 77, &relay);
        assert_eq!((r.seq, r.log_index, r.digest, r.relay, r.from, r.to), (12, 77, d(9), relay, mx, us));
    }
}
