//! The message kinds other than the tip (DESIGN §2), and the [`Message`] trait that binds
//! each kind to its content type, `external_aad` label and signer rule.

use ciborium::Value;

use crate::cbor::{self, as_array, as_uint, MapReader, MapWriter};
use crate::error::{ErrorCode, FieldError, ProtoError};
use crate::ids::{Authority, Digest, Jurisdiction, MessageId, PrincipalId, PrincipalKind, TipId};
use crate::limits::*;
use crate::time::Timestamp;
use crate::tip::{check_line, closed_set, Category, Tip};

/// Who may sign a message of some kind, derived from the message itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerRule {
    /// The authority whose root the signer's certificate must chain to.
    pub authority: Authority,
    /// The payload field naming the signer (`author`, `by`, `relay`).
    pub field: &'static str,
    /// The identity that field holds: it must equal the certificate's identity.
    pub claimed: PrincipalId,
    /// The roles allowed to sign this kind.
    pub roles: &'static [PrincipalKind],
    /// The same roles in words, for error messages.
    pub roles_text: &'static str,
}

/// A signed message kind of protocol v1.
pub trait Message: Sized {
    /// Human name of the kind (`tip`, `receipt`, …).
    const KIND: &'static str;
    /// COSE content type (protected header label 3).
    const CONTENT_TYPE: &'static str;
    /// COSE `external_aad`: the domain-separation label of this kind.
    const AAD: &'static [u8];

    /// The payload as a CBOR value with deterministic key order.
    fn encode(&self) -> Value;
    /// Parses a payload and checks every time-independent field rule.
    fn decode(v: Value) -> Result<Self, FieldError>;
    /// Time-independent field rules (also run by the signer before signing).
    fn validate(&self) -> Result<(), FieldError>;
    /// Who may sign this message.
    fn signer_rule(&self) -> SignerRule;
    /// Rules that depend on the verifier's `now` (clock skew, expiry).
    fn check_time(&self, _now: Timestamp) -> Result<(), ProtoError> {
        Ok(())
    }
}

const ANALYST: &[PrincipalKind] = &[PrincipalKind::Analyst];
const AUTHORS: &[PrincipalKind] = &[PrincipalKind::Analyst, PrincipalKind::Feed];
const RELAY: &[PrincipalKind] = &[PrincipalKind::Relay];
/// Who may cosign a relay's checkpoint: a jurisdiction's principals, and in a federated
/// deployment the other jurisdiction's relay (PROTOCOL §14).
const WITNESSES: &[PrincipalKind] = &[PrincipalKind::Analyst, PrincipalKind::Feed, PrincipalKind::Relay];
/// Who may sign a ledger statement: an analyst of the stating jurisdiction, or in a
/// federated deployment that jurisdiction's relay, stating its own records (PROTOCOL §14.7).
const STATERS: &[PrincipalKind] = &[PrincipalKind::Analyst, PrincipalKind::Relay];

fn check_created(kind: &'static str, created: Timestamp, now: Timestamp) -> Result<(), ProtoError> {
    if created > now.saturating_add_ms(MAX_CLOCK_SKEW_MS) {
        return Err(ProtoError::CreatedInFuture { kind, created, now });
    }
    Ok(())
}

impl Message for Tip {
    const KIND: &'static str = "tip";
    const CONTENT_TYPE: &'static str = "application/tiprelay.tip+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/tip";

    fn encode(&self) -> Value {
        Tip::encode(self)
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        Tip::decode(v)
    }
    fn validate(&self) -> Result<(), FieldError> {
        Tip::validate(self)
    }
    fn signer_rule(&self) -> SignerRule {
        SignerRule {
            authority: Authority::Jurisdiction(self.from),
            field: "author",
            claimed: self.author.clone(),
            roles: AUTHORS,
            roles_text: "an analyst or a feed",
        }
    }
    fn check_time(&self, now: Timestamp) -> Result<(), ProtoError> {
        check_created(Self::KIND, self.created, now)?;
        if let Some(o) = self.observed_at {
            check_created(Self::KIND, o, now)?;
        }
        match self.valid_until {
            Some(valid_until) if valid_until <= now => Err(ProtoError::Expired { valid_until, now }),
            _ => Ok(()),
        }
    }
}

closed_set!(
    /// What a receipt is for. On the wire the `subject` key is absent for a tip.
    Subject, "subject", {
        /// A tip: `tip` is its id, `from → to` its direction.
        Tip = "tip",
        /// A Feedback: `tip` is the feedback's own id, `from → to` the direction of the
        /// tip it is about, `seq` counts feedback in that direction.
        Feedback = "feedback",
        /// A LedgerStatement: `tip` is the statement's id, `from` the stating
        /// jurisdiction, `to` its counterpart, `seq` counts statements in that direction.
        Statement = "statement",
    }
);

/// The relay's signed statement: "accepted and durably stored" (content type
/// `application/tiprelay.receipt+cbor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// What was accepted (a tip unless said otherwise).
    pub subject: Subject,
    /// The id of what was accepted: the tip's id (or the feedback's or statement's, per `subject`).
    pub tip: TipId,
    /// The tip's sending jurisdiction.
    pub from: Jurisdiction,
    /// The tip's receiving jurisdiction.
    pub to: Jurisdiction,
    /// SHA-256 of the tip envelope's exact bytes.
    pub digest: Digest,
    /// Gap-free sequence number in direction `from → to`, starting at 1.
    pub seq: u64,
    /// When the relay committed it (relay clock).
    pub accepted: Timestamp,
    /// Index of the acceptance event in the relay's audit log.
    pub log_index: u64,
    /// The relay that signed it.
    pub relay: PrincipalId,
}

impl Message for Receipt {
    const KIND: &'static str = "receipt";
    const CONTENT_TYPE: &'static str = "application/tiprelay.receipt+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/receipt";

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put_opt("subject", (self.subject != Subject::Tip).then(|| cbor::text(self.subject.as_str())))
            .put("tip", cbor::id(&self.tip))
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("digest", cbor::digest(&self.digest))
            .put("seq", cbor::uint(self.seq))
            .put("accepted", cbor::time(self.accepted))
            .put("log_index", cbor::uint(self.log_index))
            .put("relay", cbor::text(&self.relay.to_string()))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let subject = match m.take("subject") {
            None => Subject::Tip,
            // The default is encoded by absence only, so every receipt has one encoding.
            Some(v) => match Subject::decode(v)? {
                Subject::Tip => return Err(FieldError::OutOfRange("subject")),
                s => s,
            },
        };
        let r = Self {
            subject,
            tip: m.tip_id("tip")?,
            from: m.jurisdiction("from")?,
            to: m.jurisdiction("to")?,
            digest: m.digest("digest")?,
            seq: m.uint("seq")?,
            accepted: m.time("accepted")?,
            log_index: m.uint("log_index")?,
            relay: m.principal("relay")?,
        };
        m.finish()?;
        r.validate()?;
        Ok(r)
    }
    fn validate(&self) -> Result<(), FieldError> {
        if self.from == self.to {
            return Err(FieldError::SameJurisdiction(self.from.to_string()));
        }
        if self.seq == 0 {
            return Err(FieldError::OutOfRange("seq"));
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        // The operator's relay (hub), or a jurisdiction's own relay (federation): the
        // authority named in the identity certifies it.
        SignerRule {
            authority: self.relay.authority(),
            field: "relay",
            claimed: self.relay.clone(),
            roles: RELAY,
            roles_text: "a relay",
        }
    }
}

/// The recipient's signed statement: "received, verified and stored" (content type
/// `application/tiprelay.ack+cbor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAck {
    /// The tip's id.
    pub tip: TipId,
    /// The tip's sending jurisdiction.
    pub from: Jurisdiction,
    /// The tip's receiving jurisdiction (the acknowledger's).
    pub to: Jurisdiction,
    /// SHA-256 of the tip envelope the recipient verified.
    pub digest: Digest,
    /// The tip's sequence number in its direction.
    pub seq: u64,
    /// The acknowledging analyst, of jurisdiction `to`.
    pub by: PrincipalId,
    /// When the recipient stored it (recipient clock); for a refusal, when it refused it.
    pub received: Timestamp,
    /// A signed refusal (negative ack, PROTOCOL §5.3): the recipient could not accept the
    /// tip, for a reason that retrying cannot change. It moves the recipient's cursor like
    /// an ack and reaches the author as "refused". None: received, verified and stored.
    pub refused: Option<Refusal>,
}

/// Most characters of a refusal's reason.
pub const MAX_REFUSAL_REASON_CHARS: usize = 300;

/// Why a recipient refused a delivered tip for good: the wire code of the verification
/// failure, from [`Refusal::FINAL`], and a one-line reason (English).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The verification failure's code.
    pub code: ErrorCode,
    /// What failed (≤ [`MAX_REFUSAL_REASON_CHARS`], no control characters).
    pub reason: String,
}

impl Refusal {
    /// The failures a recipient refuses a tip for: only its author's certificate revoked
    /// at or before the relay accepted the tip (the relay's CRL was older than the
    /// recipient's), which no later attempt can change. Everything else the relay checked
    /// itself when it accepted the tip, with the same rules: a recipient that fails there
    /// differs from the relay in its trust files, clock or version (an unknown root, a
    /// stale CRL, a newer format), and fixing its side makes the tip verify, so the tip
    /// stays waiting. Keeping the set this small also keeps what one recipient analyst can
    /// claim about a tip to what a CRL can show.
    pub const FINAL: [ErrorCode; 1] = [ErrorCode::Revoked];

    /// Whether a verification failure with `code` is a reason to refuse a tip for good.
    pub fn is_final(code: ErrorCode) -> bool {
        Self::FINAL.contains(&code)
    }
}

impl Message for DeliveryAck {
    const KIND: &'static str = "delivery ack";
    const CONTENT_TYPE: &'static str = "application/tiprelay.ack+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/ack";

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("tip", cbor::id(&self.tip))
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("digest", cbor::digest(&self.digest))
            .put("seq", cbor::uint(self.seq))
            .put("by", cbor::text(&self.by.to_string()))
            .put("received", cbor::time(self.received))
            .put_opt("refused", self.refused.as_ref().map(|r| cbor::uint(u64::from(r.code as u16))))
            .put_opt("reason", self.refused.as_ref().map(|r| cbor::text(&r.reason)))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let tip = m.tip_id("tip")?;
        let from = m.jurisdiction("from")?;
        let to = m.jurisdiction("to")?;
        let digest = m.digest("digest")?;
        let seq = m.uint("seq")?;
        let by = m.principal("by")?;
        let received = m.time("received")?;
        let refused = match (m.opt_uint("refused")?, m.opt_text("reason")?) {
            (None, None) => None,
            (Some(code), Some(reason)) => {
                let code = u16::try_from(code)
                    .ok()
                    .and_then(|c| Refusal::FINAL.into_iter().find(|f| *f as u16 == c))
                    .ok_or(FieldError::OutOfRange("refused"))?;
                Some(Refusal { code, reason })
            }
            (Some(_), None) => return Err(FieldError::Missing("reason")),
            (None, Some(_)) => return Err(FieldError::Missing("refused")),
        };
        let a = Self { tip, from, to, digest, seq, by, received, refused };
        m.finish()?;
        a.validate()?;
        Ok(a)
    }
    fn validate(&self) -> Result<(), FieldError> {
        if self.from == self.to {
            return Err(FieldError::SameJurisdiction(self.from.to_string()));
        }
        if self.seq == 0 {
            return Err(FieldError::OutOfRange("seq"));
        }
        if let Some(r) = &self.refused {
            if !Refusal::is_final(r.code) {
                return Err(FieldError::OutOfRange("refused"));
            }
            if r.reason.trim().is_empty() {
                return Err(FieldError::Missing("reason"));
            }
            check_line("reason", &r.reason, MAX_REFUSAL_REASON_CHARS)?;
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        SignerRule {
            authority: Authority::Jurisdiction(self.to),
            field: "by",
            claimed: self.by.clone(),
            roles: ANALYST,
            roles_text: "an analyst of the receiving jurisdiction",
        }
    }
    fn check_time(&self, now: Timestamp) -> Result<(), ProtoError> {
        check_created(Self::KIND, self.received, now)
    }
}

closed_set!(
    /// What came of a tip, as reported by its recipient.
    Outcome, "outcome", {
        /// Being assessed.
        UnderReview = "under_review",
        /// Acted upon.
        Actioned = "actioned",
        /// Led to an interdiction.
        Interdicted = "interdicted",
        /// Led to an arrest.
        Arrest = "arrest",
        /// Led to a seizure.
        Seizure = "seizure",
        /// Found baseless.
        Unfounded = "unfounded",
        /// Already known.
        Duplicate = "duplicate",
        /// Not the recipient's jurisdiction.
        OutsideJurisdiction = "outside_jurisdiction",
    }
);

/// The recipient's signed report on a tip's outcome (content type
/// `application/tiprelay.feedback+cbor`). Several per tip are allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// This feedback's UUIDv7 (idempotency key).
    pub id: MessageId,
    /// The tip it is about.
    pub tip: TipId,
    /// The tip's sending jurisdiction (the feedback's recipient).
    pub from: Jurisdiction,
    /// The tip's receiving jurisdiction (the feedback's author side).
    pub to: Jurisdiction,
    /// The analyst giving feedback, of jurisdiction `to`.
    pub by: PrincipalId,
    /// The outcome.
    pub outcome: Outcome,
    /// Short note, ≤ 500 characters, no control characters.
    pub note: Option<String>,
    /// When it was written.
    pub created: Timestamp,
}

impl Message for Feedback {
    const KIND: &'static str = "feedback";
    const CONTENT_TYPE: &'static str = "application/tiprelay.feedback+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/feedback";

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("id", cbor::id(&self.id))
            .put("tip", cbor::id(&self.tip))
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("by", cbor::text(&self.by.to_string()))
            .put("outcome", cbor::text(self.outcome.as_str()))
            .put_opt("note", self.note.as_deref().map(cbor::text))
            .put("created", cbor::time(self.created))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let f = Self {
            id: m.tip_id("id")?,
            tip: m.tip_id("tip")?,
            from: m.jurisdiction("from")?,
            to: m.jurisdiction("to")?,
            by: m.principal("by")?,
            outcome: Outcome::decode(m.req("outcome")?)?,
            note: m.opt_text("note")?,
            created: m.time("created")?,
        };
        m.finish()?;
        f.validate()?;
        Ok(f)
    }
    fn validate(&self) -> Result<(), FieldError> {
        if self.from == self.to {
            return Err(FieldError::SameJurisdiction(self.from.to_string()));
        }
        if let Some(n) = &self.note {
            check_line("note", n, MAX_NOTE_CHARS)?;
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        SignerRule {
            authority: Authority::Jurisdiction(self.to),
            field: "by",
            claimed: self.by.clone(),
            roles: ANALYST,
            roles_text: "an analyst of the receiving jurisdiction",
        }
    }
    fn check_time(&self, now: Timestamp) -> Result<(), ProtoError> {
        check_created(Self::KIND, self.created, now)
    }
}

/// One row of a ledger statement: counts for one direction and category in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    /// Sending jurisdiction.
    pub from: Jurisdiction,
    /// Receiving jurisdiction.
    pub to: Jurisdiction,
    /// Category.
    pub category: Category,
    /// Tips written (only known to the sending side; 0 otherwise).
    pub sent: u64,
    /// Tips the relay receipted.
    pub accepted: u64,
    /// Tips delivered to the recipient.
    pub delivered: u64,
    /// Tips acknowledged by the recipient.
    pub acknowledged: u64,
    /// Tips with at least one feedback.
    pub with_feedback: u64,
    /// Feedback count per outcome (outcomes with zero omitted).
    pub outcomes: Vec<(Outcome, u64)>,
}

impl LedgerRow {
    /// A row with every count zero.
    pub fn zero(from: Jurisdiction, to: Jurisdiction, category: Category) -> Self {
        Self {
            from,
            to,
            category,
            sent: 0,
            accepted: 0,
            delivered: 0,
            acknowledged: 0,
            with_feedback: 0,
            outcomes: Vec::new(),
        }
    }

    fn encode(&self) -> Value {
        let outcomes = self.outcomes.iter().fold(MapWriter::new(), |w, (o, n)| w.put(o.as_str(), cbor::uint(*n)));
        MapWriter::new()
            .put("from", cbor::text(self.from.as_str()))
            .put("to", cbor::text(self.to.as_str()))
            .put("category", cbor::text(self.category.as_str()))
            .put("sent", cbor::uint(self.sent))
            .put("accepted", cbor::uint(self.accepted))
            .put("delivered", cbor::uint(self.delivered))
            .put("acknowledged", cbor::uint(self.acknowledged))
            .put("with_feedback", cbor::uint(self.with_feedback))
            .put("outcomes", outcomes.into_value())
            .into_value()
    }

    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "rows")?;
        let mut outcomes_map = MapReader::new(m.req("outcomes")?, "outcomes")?;
        let mut outcomes = Vec::new();
        for o in Outcome::ALL {
            if let Some(n) = outcomes_map.take(o.as_str()) {
                outcomes.push((*o, as_uint(n, "outcomes")?));
            }
        }
        outcomes_map.finish()?;
        let r = Self {
            from: m.jurisdiction("from")?,
            to: m.jurisdiction("to")?,
            category: Category::decode(m.req("category")?)?,
            sent: m.uint("sent")?,
            accepted: m.uint("accepted")?,
            delivered: m.uint("delivered")?,
            acknowledged: m.uint("acknowledged")?,
            with_feedback: m.uint("with_feedback")?,
            outcomes,
        };
        m.finish()?;
        Ok(r)
    }
}

/// A jurisdiction's signed reciprocity summary for a period (content type
/// `application/tiprelay.statement+cbor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerStatement {
    /// This statement's UUIDv7.
    pub id: MessageId,
    /// The jurisdiction making the statement.
    pub jurisdiction: Jurisdiction,
    /// The other party of the pair.
    pub counterpart: Jurisdiction,
    /// Period start (inclusive).
    pub period_start: Timestamp,
    /// Period end (exclusive); after `period_start`.
    pub period_end: Timestamp,
    /// The signing principal, of `jurisdiction`.
    pub by: PrincipalId,
    /// When it was made.
    pub created: Timestamp,
    /// Counts per direction and category (≤ 4096 rows).
    pub rows: Vec<LedgerRow>,
    /// Number of tip ids covered.
    pub tip_count: u64,
    /// SHA-256 over the covered tip ids' 16-byte forms, sorted ascending and concatenated.
    pub tips_digest: Digest,
}

impl LedgerStatement {
    /// The `tips_digest` of a set of tip ids (order-independent).
    pub fn digest_of_tips(ids: &[TipId]) -> Digest {
        let mut sorted: Vec<&TipId> = ids.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut buf = Vec::with_capacity(sorted.len() * 16);
        for id in sorted {
            buf.extend_from_slice(id.as_bytes());
        }
        Digest::of(&buf)
    }
}

impl Message for LedgerStatement {
    const KIND: &'static str = "ledger statement";
    const CONTENT_TYPE: &'static str = "application/tiprelay.statement+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/statement";

    fn encode(&self) -> Value {
        let period = MapWriter::new()
            .put("start", cbor::time(self.period_start))
            .put("end", cbor::time(self.period_end))
            .into_value();
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("id", cbor::id(&self.id))
            .put("jurisdiction", cbor::text(self.jurisdiction.as_str()))
            .put("counterpart", cbor::text(self.counterpart.as_str()))
            .put("period", period)
            .put("by", cbor::text(&self.by.to_string()))
            .put("created", cbor::time(self.created))
            .put("rows", Value::Array(self.rows.iter().map(LedgerRow::encode).collect()))
            .put("tip_count", cbor::uint(self.tip_count))
            .put("tips_digest", cbor::digest(&self.tips_digest))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let mut p = MapReader::new(m.req("period")?, "period")?;
        let (period_start, period_end) = (p.time("start")?, p.time("end")?);
        p.finish()?;
        let rows = as_array(m.req("rows")?, "rows")?;
        if rows.len() > MAX_STATEMENT_ROWS {
            return Err(FieldError::TooMany("rows"));
        }
        let s = Self {
            id: m.tip_id("id")?,
            jurisdiction: m.jurisdiction("jurisdiction")?,
            counterpart: m.jurisdiction("counterpart")?,
            period_start,
            period_end,
            by: m.principal("by")?,
            created: m.time("created")?,
            rows: rows.into_iter().map(LedgerRow::decode).collect::<Result<_, _>>()?,
            tip_count: m.uint("tip_count")?,
            tips_digest: m.digest("tips_digest")?,
        };
        m.finish()?;
        s.validate()?;
        Ok(s)
    }
    fn validate(&self) -> Result<(), FieldError> {
        if self.jurisdiction == self.counterpart {
            return Err(FieldError::SameJurisdiction(self.jurisdiction.to_string()));
        }
        if self.period_end <= self.period_start {
            return Err(FieldError::EmptyPeriod);
        }
        if self.rows.len() > MAX_STATEMENT_ROWS {
            return Err(FieldError::TooMany("rows"));
        }
        let pair = [self.jurisdiction, self.counterpart];
        for r in &self.rows {
            if r.from == r.to || !pair.contains(&r.from) || !pair.contains(&r.to) {
                return Err(FieldError::OutOfRange("rows"));
            }
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        SignerRule {
            authority: Authority::Jurisdiction(self.jurisdiction),
            field: "by",
            claimed: self.by.clone(),
            roles: STATERS,
            roles_text: "an analyst of the stating jurisdiction, or (federation) its relay",
        }
    }
    fn check_time(&self, now: Timestamp) -> Result<(), ProtoError> {
        check_created(Self::KIND, self.created, now)
    }
}

/// The relay's signed audit-log head: size and RFC 9162 root hash (content type
/// `application/tiprelay.checkpoint+cbor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log name: the relay's identity URI.
    pub log: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 9162 Merkle tree head over the first `size` entries.
    pub root: Digest,
    /// When it was made (relay clock).
    pub time: Timestamp,
    /// The relay that signed it.
    pub relay: PrincipalId,
}

impl Message for Checkpoint {
    const KIND: &'static str = "checkpoint";
    const CONTENT_TYPE: &'static str = "application/tiprelay.checkpoint+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/checkpoint";

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("log", cbor::text(&self.log))
            .put("size", cbor::uint(self.size))
            .put("root", cbor::digest(&self.root))
            .put("time", cbor::time(self.time))
            .put("relay", cbor::text(&self.relay.to_string()))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let c = Self {
            log: m.text("log")?,
            size: m.uint("size")?,
            root: m.digest("root")?,
            time: m.time("time")?,
            relay: m.principal("relay")?,
        };
        m.finish()?;
        c.validate()?;
        Ok(c)
    }
    fn validate(&self) -> Result<(), FieldError> {
        check_line("log", &self.log, 200)?;
        // A log is named after its signer: the relay's, or a principal's own local log.
        if self.log != self.relay.to_string() {
            return Err(FieldError::OutOfRange("log"));
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        match (self.relay.authority(), self.relay.kind()) {
            (a, PrincipalKind::Relay) => SignerRule {
                authority: a,
                field: "relay",
                claimed: self.relay.clone(),
                roles: RELAY,
                roles_text: "a relay",
            },
            (a, _) => SignerRule {
                authority: a,
                field: "relay",
                claimed: self.relay.clone(),
                roles: AUTHORS,
                roles_text: "the principal whose local audit log it is",
            },
        }
    }
}

/// A jurisdiction's countersignature of a relay checkpoint it verified as consistent with
/// every checkpoint it saw before (content type `application/tiprelay.cosignature+cbor`).
/// A checkpoint cosigned by both jurisdictions is the one the implementation group relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The checkpoint's log name.
    pub log: String,
    /// The checkpoint's size.
    pub size: u64,
    /// The checkpoint's root.
    pub root: Digest,
    /// The checkpoint's time.
    pub checkpoint_time: Timestamp,
    /// The witnessing principal (an analyst or feed of a jurisdiction).
    pub by: PrincipalId,
    /// When it was cosigned (witness clock).
    pub created: Timestamp,
}

impl Cosignature {
    /// Whether this cosignature is about exactly `c`.
    pub fn covers(&self, c: &Checkpoint) -> bool {
        self.log == c.log && self.size == c.size && self.root == c.root && self.checkpoint_time == c.time
    }
}

impl Message for Cosignature {
    const KIND: &'static str = "cosignature";
    const CONTENT_TYPE: &'static str = "application/tiprelay.cosignature+cbor";
    const AAD: &'static [u8] = b"tiprelay/v1/cosignature";

    fn encode(&self) -> Value {
        MapWriter::new()
            .put("v", cbor::uint(FORMAT_VERSION))
            .put("log", cbor::text(&self.log))
            .put("size", cbor::uint(self.size))
            .put("root", cbor::digest(&self.root))
            .put("checkpoint_time", cbor::time(self.checkpoint_time))
            .put("by", cbor::text(&self.by.to_string()))
            .put("created", cbor::time(self.created))
            .into_value()
    }
    fn decode(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "<payload>")?;
        m.version()?;
        let c = Self {
            log: m.text("log")?,
            size: m.uint("size")?,
            root: m.digest("root")?,
            checkpoint_time: m.time("checkpoint_time")?,
            by: m.principal("by")?,
            created: m.time("created")?,
        };
        m.finish()?;
        c.validate()?;
        Ok(c)
    }
    fn validate(&self) -> Result<(), FieldError> {
        check_line("log", &self.log, 200)?;
        if self.by.jurisdiction().is_none() {
            return Err(FieldError::OutOfRange("by"));
        }
        Ok(())
    }
    fn signer_rule(&self) -> SignerRule {
        SignerRule {
            authority: self.by.authority(),
            field: "by",
            claimed: self.by.clone(),
            roles: WITNESSES,
            roles_text: "an analyst, feed or relay of a jurisdiction",
        }
    }
    fn check_time(&self, now: Timestamp) -> Result<(), ProtoError> {
        check_created(Self::KIND, self.created, now)
    }
}
