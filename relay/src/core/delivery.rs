//! Delivery: which tips a principal still has to fetch, how acknowledgements move its
//! cursor, what an ack or a feedback must match, and when retention may drop a body
//! (PROTOCOL §10.3, §10.5, DESIGN §7).

use tiprelay_proto::wire::WireError;
use tiprelay_proto::{DeliveryAck, ErrorCode, Feedback};

/// What the store holds about a tip, as the ack and feedback rules need it.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    /// Digest of the accepted envelope.
    pub digest: &'a [u8],
    /// Its sequence number.
    pub seq: u64,
    /// Receiving jurisdiction.
    pub to: &'a str,
    /// Its author.
    pub author: &'a str,
}

/// An ack must name the stored tip exactly: its digest, seq and recipient (`unknown_tip`).
pub fn ack_matches(held: Option<Stored<'_>>, ack: &DeliveryAck) -> Result<(), WireError> {
    let Some(h) = held else {
        return Err(WireError::new(
            ErrorCode::UnknownTip,
            format!("no tip {} from {} is held by the relay", ack.tip, ack.from),
        ));
    };
    if h.digest != ack.digest.0 || h.seq != ack.seq || h.to != ack.to.as_str() {
        return Err(WireError::new(
            ErrorCode::UnknownTip,
            format!("the ack for tip {} does not match the stored tip (digest, seq or recipient differ)", ack.tip),
        ));
    }
    Ok(())
}

/// Feedback is given by the recipient side on a tip it received (`unknown_tip`), never by
/// the tip's own author (`not_permitted`).
pub fn feedback_allowed(held: Option<Stored<'_>>, fb: &Feedback) -> Result<(), WireError> {
    let Some(h) = held else {
        return Err(WireError::new(
            ErrorCode::UnknownTip,
            format!("no tip {} from {} is held by the relay; feedback is given on tips received", fb.tip, fb.from),
        ));
    };
    if h.to != fb.to.as_str() {
        return Err(WireError::new(ErrorCode::UnknownTip, format!("tip {} was not addressed to {}", fb.tip, fb.to)));
    }
    if h.author == fb.by.to_string() {
        return Err(WireError::new(
            ErrorCode::NotPermitted,
            format!("{} wrote tip {}; feedback comes from the recipient", fb.by, fb.tip),
        ));
    }
    Ok(())
}

/// Where an acknowledged seq goes relative to the principal's cursor (the highest seq such
/// that it acknowledged every seq up to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStep {
    /// At or below the cursor, or already recorded above it: nothing changes.
    Known,
    /// Above the cursor: record it, then advance the cursor over every recorded seq.
    Record,
}

/// Decides an acknowledged `seq` against the `cursor` and whether it is already recorded.
pub fn ack_step(cursor: u64, seq: u64, recorded_above: bool) -> AckStep {
    if seq > cursor && !recorded_above {
        AckStep::Record
    } else {
        AckStep::Known
    }
}

/// Advances `cursor` over consecutive recorded seqs; `take(s)` removes `s` from the
/// out-of-order set and says whether it was there. Returns the new cursor.
pub fn advance<E>(mut cursor: u64, mut take: impl FnMut(u64) -> Result<bool, E>) -> Result<u64, E> {
    while take(cursor.saturating_add(1))? {
        cursor += 1;
    }
    Ok(cursor)
}

/// Whether a tip waiting for a principal is still to be handed out: above its cursor and
/// not acknowledged out of order.
pub fn waiting(cursor: u64, seq: u64, recorded_above: bool) -> bool {
    seq > cursor && !recorded_above
}

/// The answer budget of a `fetch` (bytes of tips and receipts in one answer).
pub const FETCH_BYTE_BUDGET: usize = 768 * 1024;

/// Whether one more delivery of `size` bytes fits an answer that holds `count` deliveries
/// of `bytes` bytes, at most `limit`: always at least one, then within the byte budget.
pub fn fits(count: usize, bytes: usize, size: usize, limit: usize) -> bool {
    count < limit && (count == 0 || bytes.saturating_add(size) <= FETCH_BYTE_BUDGET)
}

/// Retention: a tip's body may be purged once it was first acknowledged before the
/// cutoff **and** every principal of the recipient jurisdiction that the relay has seen
/// fetch from that direction has acknowledged it (`acked` per such principal).
pub fn purgeable(first_acked_at: u64, cutoff: u64, mut acked: impl Iterator<Item = bool>) -> bool {
    first_acked_at < cutoff && acked.all(|a| a)
}

/// Whether a principal with this cursor (and out-of-order record) has acknowledged `seq`.
pub fn has_acked(cursor: u64, seq: u64, recorded_above: bool) -> bool {
    cursor >= seq || recorded_above
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiprelay_proto::{Digest, Jurisdiction, Timestamp, TipId};

    fn ack(seq: u64, digest: u8) -> DeliveryAck {
        DeliveryAck {
            tip: TipId::new_v7(Timestamp::from_unix_seconds(1), [0; 10]),
            from: "MX".parse().unwrap(),
            to: "US".parse().unwrap(),
            digest: Digest([digest; 32]),
            seq,
            by: "tiprelay://US/analyst/sam".parse().unwrap(),
            received: Timestamp::from_unix_seconds(2),
            refused: None,
        }
    }

    #[test]
    fn an_ack_must_match_the_stored_tip_exactly() {
        let d = [7u8; 32];
        let held = Stored { digest: &d, seq: 3, to: "US", author: "tiprelay://MX/analyst/ana" };
        assert!(ack_matches(Some(held), &ack(3, 7)).is_ok());
        for (a, why) in [(ack(4, 7), "seq"), (ack(3, 8), "digest")] {
            assert_eq!(ack_matches(Some(held), &a).unwrap_err().code, ErrorCode::UnknownTip as u16, "{why}");
        }
        let mut other_to = ack(3, 7);
        other_to.to = "GT".parse::<Jurisdiction>().unwrap();
        assert_eq!(ack_matches(Some(held), &other_to).unwrap_err().code, ErrorCode::UnknownTip as u16);
        assert_eq!(ack_matches(None, &ack(3, 7)).unwrap_err().code, ErrorCode::UnknownTip as u16);
    }

    fn fb(by: &str, to: &str) -> Feedback {
        Feedback {
            id: TipId::new_v7(Timestamp::from_unix_seconds(1), [9; 10]),
            tip: TipId::new_v7(Timestamp::from_unix_seconds(1), [0; 10]),
            from: "MX".parse().unwrap(),
            to: to.parse().unwrap(),
            by: by.parse().unwrap(),
            created: Timestamp::from_unix_seconds(2),
            outcome: tiprelay_proto::Outcome::Actioned,
            note: None,
        }
    }

    #[test]
    fn feedback_comes_from_the_recipient_on_a_tip_it_received() {
        let d = [7u8; 32];
        let held = Stored { digest: &d, seq: 3, to: "US", author: "tiprelay://MX/analyst/ana" };
        assert!(feedback_allowed(Some(held), &fb("tiprelay://US/analyst/sam", "US")).is_ok());
        let code = |r: Result<(), WireError>| r.unwrap_err().code;
        assert_eq!(code(feedback_allowed(None, &fb("tiprelay://US/analyst/sam", "US"))), ErrorCode::UnknownTip as u16);
        assert_eq!(
            code(feedback_allowed(Some(held), &fb("tiprelay://GT/analyst/g", "GT"))),
            ErrorCode::UnknownTip as u16
        );
        let own = Stored { author: "tiprelay://US/analyst/sam", ..held };
        assert_eq!(
            code(feedback_allowed(Some(own), &fb("tiprelay://US/analyst/sam", "US"))),
            ErrorCode::NotPermitted as u16
        );
    }

    #[test]
    fn acks_in_any_order_advance_the_cursor_over_every_consecutive_seq() {
        let mut above = std::collections::BTreeSet::new();
        let mut cursor = 0;
        for seq in [3u64, 1, 2, 5, 4] {
            if ack_step(cursor, seq, above.contains(&seq)) == AckStep::Record {
                above.insert(seq);
                cursor = advance::<()>(cursor, |s| Ok(above.remove(&s))).unwrap();
            }
        }
        assert_eq!(cursor, 5);
        assert!(above.is_empty());
        assert_eq!(ack_step(5, 2, false), AckStep::Known, "below the cursor");
        assert_eq!(ack_step(5, 9, true), AckStep::Known, "recorded already");
        assert!(!waiting(5, 5, false) && waiting(5, 6, false) && !waiting(5, 7, true));
        assert!(has_acked(5, 5, false) && has_acked(5, 9, true) && !has_acked(5, 6, false));
    }

    #[test]
    fn a_fetch_answer_holds_at_least_one_tip_then_stays_within_its_budget() {
        assert!(fits(0, 0, FETCH_BYTE_BUDGET * 2, 10), "one oversized delivery still goes");
        assert!(!fits(1, 10, FETCH_BYTE_BUDGET, 10));
        assert!(fits(1, 10, 100, 10));
        assert!(!fits(10, 0, 1, 10), "limit");
    }

    #[test]
    fn retention_waits_for_the_cutoff_and_every_known_receiver() {
        assert!(purgeable(10, 11, [true, true].into_iter()));
        assert!(!purgeable(11, 11, [true].into_iter()), "not before the cutoff");
        assert!(!purgeable(10, 11, [true, false].into_iter()), "one receiver has not acked");
        assert!(purgeable(10, 11, std::iter::empty()), "no other receivers known");
    }
}
