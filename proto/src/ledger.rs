//! Reciprocity accounting facts: what one party knows about one tip (docs/PROTOCOL.md §12).
//!
//! The relay, each client and the offline tools all count from the same per-tip record,
//! [`TipFacts`]: the relay sends its facts over the wire (`records`, CBOR maps) and the
//! stores keep them in a compact fixed binary form ([`TipFacts::pack`]) so a ledger over a
//! million tips is a sequential scan, not a million envelope parses.

use ciborium::Value;

use crate::cbor::{self, as_array, as_text, as_uint, MapReader, MapWriter};
use crate::error::FieldError;
use crate::ids::{Jurisdiction, TipId};
use crate::messages::Outcome;
use crate::time::Timestamp;
use crate::tip::Category;

/// Number of feedback outcomes ([`Outcome::ALL`]).
pub const OUTCOMES: usize = 8;

/// What one party knows about one tip. Times are relay times where the relay made them
/// (`accepted`, relay-side `delivered`/`acked`/`first_feedback`) and the recording party's
/// clock otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TipFacts {
    /// The tip's id.
    pub id: TipId,
    /// Sending jurisdiction.
    pub from: Jurisdiction,
    /// Receiving jurisdiction.
    pub to: Jurisdiction,
    /// Category.
    pub category: Category,
    /// The author's identity URI.
    pub author: String,
    /// When the author wrote it (author clock).
    pub created: Timestamp,
    /// Written by the party keeping these facts (a sending client's own tip).
    pub sent: bool,
    /// The relay refused it for good (sending client only).
    pub rejected: bool,
    /// When the relay accepted it (from the receipt), if it did.
    pub accepted: Option<Timestamp>,
    /// Its sequence number in its direction, once accepted.
    pub seq: Option<u64>,
    /// When it was first delivered to (fetched by) a recipient.
    pub delivered: Option<Timestamp>,
    /// When it was first acknowledged by a recipient.
    pub acked: Option<Timestamp>,
    /// When its first feedback was given.
    pub first_feedback: Option<Timestamp>,
    /// Feedback count per outcome, indexed like [`Outcome::ALL`].
    pub outcomes: [u32; OUTCOMES],
}

/// Why packed facts could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt ledger record: {0}")]
pub struct PackError(&'static str);

const PACK_VERSION: u8 = 1;
const FLAG_SENT: u8 = 1;
const FLAG_REJECTED: u8 = 2;

impl TipFacts {
    /// Facts with only the identity fields set.
    pub fn new(id: TipId, from: Jurisdiction, to: Jurisdiction, category: Category, author: String) -> Self {
        Self {
            id,
            from,
            to,
            category,
            author,
            created: Timestamp::from_unix_seconds(0),
            sent: false,
            rejected: false,
            accepted: None,
            seq: None,
            delivered: None,
            acked: None,
            first_feedback: None,
            outcomes: [0; OUTCOMES],
        }
    }

    /// Total feedback messages.
    pub fn feedback_count(&self) -> u64 {
        self.outcomes.iter().map(|n| u64::from(*n)).sum()
    }

    /// Records one feedback at `at`.
    pub fn add_feedback(&mut self, outcome: Outcome, at: Timestamp) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome) {
            self.outcomes[i] = self.outcomes[i].saturating_add(1);
        }
        if self.first_feedback.is_none_or(|f| at < f) {
            self.first_feedback = Some(at);
        }
    }

    /// The time a ledger files this tip under: acceptance when known, else creation.
    pub fn period_time(&self) -> Timestamp {
        self.accepted.unwrap_or(self.created)
    }

    /// The compact store form (the key holds `from` and `id`).
    pub fn pack(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.push(PACK_VERSION);
        out.push(Category::ALL.iter().position(|c| *c == self.category).unwrap_or(0) as u8);
        push_str(&mut out, self.to.as_str());
        push_str(&mut out, &self.author);
        out.push(if self.sent { FLAG_SENT } else { 0 } | if self.rejected { FLAG_REJECTED } else { 0 });
        out.extend_from_slice(&self.created.as_unix_ms().to_be_bytes());
        for t in [self.accepted, self.delivered, self.acked, self.first_feedback] {
            out.extend_from_slice(&t.map_or(0, Timestamp::as_unix_ms).to_be_bytes());
        }
        out.extend_from_slice(&self.seq.unwrap_or(0).to_be_bytes());
        for n in self.outcomes {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out
    }

    /// Reads the compact store form.
    pub fn unpack(from: Jurisdiction, id: TipId, b: &[u8]) -> Result<Self, PackError> {
        let mut r = Reader(b);
        if r.u8()? != PACK_VERSION {
            return Err(PackError("unknown version"));
        }
        let category = *Category::ALL.get(usize::from(r.u8()?)).ok_or(PackError("category"))?;
        let to = r.str()?.parse().map_err(|_| PackError("jurisdiction"))?;
        let author = r.str()?.to_owned();
        let flags = r.u8()?;
        let created = Timestamp::from_unix_ms(r.u64()?).ok_or(PackError("time"))?;
        let mut times = [None; 4];
        for t in &mut times {
            let ms = r.u64()?;
            *t = if ms == 0 { None } else { Some(Timestamp::from_unix_ms(ms).ok_or(PackError("time"))?) };
        }
        let seq = Some(r.u64()?).filter(|s| *s != 0);
        let mut outcomes = [0; OUTCOMES];
        for n in &mut outcomes {
            *n = r.u32()?;
        }
        if !r.0.is_empty() {
            return Err(PackError("trailing bytes"));
        }
        Ok(Self {
            id,
            from,
            to,
            category,
            author,
            created,
            sent: flags & FLAG_SENT != 0,
            rejected: flags & FLAG_REJECTED != 0,
            accepted: times[0],
            seq,
            delivered: times[1],
            acked: times[2],
            first_feedback: times[3],
            outcomes,
        })
    }

    /// The wire form (an item of a `records` answer).
    pub fn encode(&self) -> Value {
        let outcomes = Outcome::ALL
            .iter()
            .zip(self.outcomes)
            .filter(|(_, n)| *n > 0)
            .fold(MapWriter::new(), |w, (o, n)| w.put(o.as_str(), cbor::uint(u64::from(n))));
        MapWriter::new()
            .put("id", cbor::id(&self.id))
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("category", cbor::text(self.category.as_str()))
            .put("author", cbor::text(&self.author))
            .put("created", cbor::time(self.created))
            .put_opt("accepted", self.accepted.map(cbor::time))
            .put_opt("seq", self.seq.map(cbor::uint))
            .put_opt("delivered", self.delivered.map(cbor::time))
            .put_opt("acked", self.acked.map(cbor::time))
            .put_opt("first_feedback", self.first_feedback.map(cbor::time))
            .put("outcomes", outcomes.into_value())
            .into_value()
    }

    /// Reads the wire form (`sent` and `rejected` are always false: they are a client's own view).
    pub fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "records")?;
        let mut om = MapReader::new(m.req("outcomes")?, "outcomes")?;
        let mut outcomes = [0; OUTCOMES];
        for (i, o) in Outcome::ALL.iter().enumerate() {
            if let Some(n) = om.take(o.as_str()) {
                outcomes[i] = u32::try_from(as_uint(n, "outcomes")?).map_err(|_| FieldError::OutOfRange("outcomes"))?;
            }
        }
        om.finish()?;
        let f = Self {
            id: m.tip_id("id")?,
            from: m.jurisdiction("from")?,
            to: m.jurisdiction("to")?,
            category: Category::decode(m.req("category")?)?,
            author: m.text("author")?,
            created: m.time("created")?,
            sent: false,
            rejected: false,
            accepted: m.opt_time("accepted")?,
            seq: m.opt_uint("seq")?,
            delivered: m.opt_time("delivered")?,
            acked: m.opt_time("acked")?,
            first_feedback: m.opt_time("first_feedback")?,
            outcomes,
        };
        m.finish()?;
        if f.author.len() > 300 {
            return Err(FieldError::OutOfRange("author"));
        }
        Ok(f)
    }

    /// Reads an array of wire forms.
    pub fn decode_all(v: Value) -> Result<Vec<Self>, FieldError> {
        as_array(v, "items")?.into_iter().map(Self::decode).collect()
    }
}

/// The resume point of a paged `records` request: the last item's (accepted time, from, id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordCursor {
    /// Acceptance time (ms).
    pub accepted: u64,
    /// Sending jurisdiction.
    pub from: Jurisdiction,
    /// Tip id.
    pub id: TipId,
}

impl RecordCursor {
    /// Wire form: `[accepted, from, id]`.
    pub fn encode(&self) -> Value {
        Value::Array(vec![cbor::uint(self.accepted), cbor::text(self.from.as_str()), cbor::id(&self.id)])
    }

    /// Reads the wire form.
    pub fn decode(v: Value) -> Result<Self, FieldError> {
        let mut a = as_array(v, "after")?.into_iter();
        let (Some(t), Some(f), Some(i), None) = (a.next(), a.next(), a.next(), a.next()) else {
            return Err(FieldError::OutOfRange("after"));
        };
        Ok(Self {
            accepted: as_uint(t, "after")?,
            from: as_text(f, "after")?.parse().map_err(|_| FieldError::OutOfRange("after"))?,
            id: cbor::as_tip_id(i, "after")?,
        })
    }
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(255);
    out.push(n as u8);
    out.extend_from_slice(&b[..n]);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PackError> {
        if self.0.len() < n {
            return Err(PackError("truncated"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, PackError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, PackError> {
        let mut a = [0; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(a))
    }
    fn u64(&mut self) -> Result<u64, PackError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn str(&mut self) -> Result<&'a str, PackError> {
        let n = usize::from(self.u8()?);
        std::str::from_utf8(self.take(n)?).map_err(|_| PackError("utf-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(seed: u64) -> TipFacts {
        let mut f = TipFacts::new(
            TipId::new_v7(Timestamp::from_unix_ms(1_700_000_000_000).unwrap(), [seed as u8; 10]),
            "MX".parse().unwrap(),
            "US".parse().unwrap(),
            Category::ALL[(seed % 10) as usize],
            "tiprelay://MX/analyst/a-1".into(),
        );
        f.created = Timestamp::from_unix_ms(1_700_000_000_000 + seed).unwrap();
        f.sent = seed % 2 == 0;
        f.rejected = seed % 3 == 0;
        if seed % 5 != 0 {
            f.accepted = Timestamp::from_unix_ms(1_700_000_000_100 + seed);
            f.seq = Some(seed + 1);
        }
        if seed % 7 != 0 {
            f.acked = Timestamp::from_unix_ms(1_700_000_001_000 + seed);
        }
        f.add_feedback(Outcome::ALL[(seed % 8) as usize], Timestamp::from_unix_ms(1_700_000_002_000).unwrap());
        f
    }

    proptest! {
        #[test]
        fn pack_and_wire_round_trip(seed in 0u64..10_000) {
            let f = sample(seed);
            let back = TipFacts::unpack(f.from, f.id, &f.pack()).unwrap();
            prop_assert_eq!(&back, &f);
            let wire = TipFacts::decode(f.encode()).unwrap();
            prop_assert_eq!(TipFacts { sent: f.sent, rejected: f.rejected, ..wire }, f);
        }

        #[test]
        fn unpack_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = TipFacts::unpack("MX".parse().unwrap(), sample(1).id, &bytes);
        }
    }

    #[test]
    fn truncated_and_padded_records_are_refused() {
        let p = sample(3).pack();
        for n in 0..p.len() {
            assert!(TipFacts::unpack("MX".parse().unwrap(), sample(1).id, &p[..n]).is_err());
        }
        let mut long = p.clone();
        long.push(0);
        assert_eq!(TipFacts::unpack("MX".parse().unwrap(), sample(1).id, &long), Err(PackError("trailing bytes")));
    }
}
