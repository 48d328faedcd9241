//! The request/response layer carried over QUIC (docs/PROTOCOL.md §10): frames, requests,
//! responses. Pure: encodes to and decodes from byte buffers; the async code only moves
//! them.
//!
//! A **frame** is a 4-byte big-endian length followed by that many bytes of one CBOR map.
//! Every request uses its own bidirectional stream: the client writes one request frame
//! and finishes its side; the relay answers with one response frame and finishes, except
//! for `subscribe`, where the relay keeps writing event frames until either side closes.

use ciborium::Value;

use crate::audit::SignedCheckpoint;
use crate::cbor::{self, as_array, as_bytes, MapReader, MapWriter};
use crate::error::{ErrorCode, FieldError};
use crate::ids::Digest;
use crate::ledger::{RecordCursor, TipFacts};

/// Largest frame body accepted (a `fetch` answer holds several envelopes): 1 MiB.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Largest request frame body: one envelope plus a little framing.
pub const MAX_REQUEST_BYTES: usize = crate::limits::MAX_ENVELOPE_BYTES + 1024;
/// Largest `submit_batch` or `ack_batch` frame body: 256 KiB (the stream receive window).
pub const MAX_BATCH_REQUEST_BYTES: usize = 256 * 1024;
/// Most envelopes in one `submit_batch` or `ack_batch`.
pub const MAX_BATCH_TIPS: usize = 64;
/// Most deliveries in one `fetch` answer.
pub const MAX_FETCH: u64 = 256;
/// Most notices in one `acks` answer.
pub const MAX_ACKS: u64 = 1024;
/// Most tip records in one `records` answer.
pub const MAX_RECORDS: u64 = 1024;
/// Most statements in one `statements` answer.
pub const MAX_STATEMENTS: u64 = 8;

/// A request from a principal to the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Submit a signed tip envelope; the answer is the relay's receipt.
    Submit {
        /// The tip envelope, exactly as signed.
        envelope: Vec<u8>,
    },
    /// Submit up to [`MAX_BATCH_TIPS`] tip envelopes at once (frame body at most
    /// [`MAX_BATCH_REQUEST_BYTES`]); each is checked and answered on its own, as `submit`
    /// would, and the answer lists the outcomes in request order.
    SubmitBatch {
        /// The tip envelopes, exactly as signed.
        envelopes: Vec<Vec<u8>>,
    },
    /// Acknowledge up to [`MAX_BATCH_TIPS`] delivered tips at once (frame body at most
    /// [`MAX_BATCH_REQUEST_BYTES`]); each DeliveryAck is checked and answered on its own, as
    /// `ack` would.
    AckBatch {
        /// The DeliveryAck envelopes.
        envelopes: Vec<Vec<u8>>,
    },
    /// Fetch up to `limit` tips not yet acknowledged by this principal, in sequence order.
    Fetch {
        /// At most this many (1..=256).
        limit: u64,
    },
    /// Acknowledge a delivered tip with a signed DeliveryAck.
    Ack {
        /// The DeliveryAck envelope.
        envelope: Vec<u8>,
    },
    /// Notices about tips this principal wrote (first acknowledgements and feedback), after
    /// notice index `after`.
    Acks {
        /// Ack index already seen (0 for all).
        after: u64,
        /// At most this many (1..=1024).
        limit: u64,
    },
    /// Relay identity, time and this principal's pending count.
    Status,
    /// Keep the stream open and receive an event frame whenever tips or notices arrive.
    Subscribe,
    /// Submit a signed Feedback on a tip this principal's jurisdiction received; the answer
    /// is the relay's receipt (subject `feedback`).
    Feedback {
        /// The Feedback envelope, exactly as signed.
        envelope: Vec<u8>,
    },
    /// Submit a signed LedgerStatement for the counterpart; the answer is the relay's
    /// receipt (subject `statement`).
    Statement {
        /// The LedgerStatement envelope, exactly as signed.
        envelope: Vec<u8>,
    },
    /// The relay's per-tip accounting facts for tips accepted in `[since, until)` in either
    /// direction of a pair this principal's jurisdiction is part of, in (accepted, from,
    /// id) order.
    Records {
        /// Start (ms, inclusive).
        since: u64,
        /// End (ms, exclusive).
        until: u64,
        /// Resume after this item (the previous answer's `next`).
        after: Option<RecordCursor>,
        /// At most this many (1..=1024).
        limit: u64,
    },
    /// Ledger statements made by the counterpart for this principal's jurisdiction, after
    /// statement index `after`.
    Statements {
        /// Index already seen (0 for all).
        after: u64,
        /// At most this many (1..=8).
        limit: u64,
    },
    /// The relay's newest signed audit checkpoint with its cosignatures; with `fresh`, the
    /// relay first signs one covering every entry so far.
    Checkpoint {
        /// Sign a new checkpoint first if the log grew.
        fresh: bool,
    },
    /// An RFC 9162 inclusion proof of audit entry `index` in the tree of `size` entries.
    Inclusion {
        /// Entry index.
        index: u64,
        /// Tree size (a signed checkpoint's).
        size: u64,
    },
    /// An RFC 9162 consistency proof from tree size `old` to `new`.
    Consistency {
        /// Older size (≥ 1).
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// A Cosignature of one of the relay's checkpoints, by the connection's principal.
    Cosign {
        /// The Cosignature envelope.
        envelope: Vec<u8>,
    },
    /// Federation (PROTOCOL §14.7): the **peer relay's** per-tip facts for `[since, until)`,
    /// which this principal's own relay asks of its peer over the link and passes on
    /// unchanged (answered like `records`), so the two relays' records can be reconciled.
    PeerRecords {
        /// Start (ms, inclusive).
        since: u64,
        /// End (ms, exclusive).
        until: u64,
        /// Resume after this record.
        after: Option<RecordCursor>,
        /// At most this many (1..=1024).
        limit: u64,
    },
    /// Federation (PROTOCOL §14.7): the peer relay's signed LedgerStatement of its own
    /// records of the pair for `[since, until)`, asked by this principal's own relay over
    /// the link (`relay_statement`) and passed on unchanged.
    PeerStatement {
        /// Start (ms, inclusive).
        since: u64,
        /// End (ms, exclusive).
        until: u64,
    },
    /// Relay to relay (federation, PROTOCOL §14.7): this relay's LedgerStatement of its own
    /// records of the pair for `[since, until)`, signed with its key; answered
    /// `relay_statement`.
    RelayStatement {
        /// Start (ms, inclusive).
        since: u64,
        /// End (ms, exclusive).
        until: u64,
    },
    /// Relay to relay (federation, PROTOCOL §14): up to [`MAX_BATCH_TIPS`] tips the
    /// sending relay accepted, each with its own receipt, in home sequence order (frame body
    /// at most [`MAX_BATCH_REQUEST_BYTES`]). Answered like `submit_batch`, with the
    /// receiving relay's receipts.
    Forward {
        /// The forwarded tips.
        items: Vec<ForwardedTip>,
    },
}

/// A tip crossing the peering link: the author's envelope and the home relay's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedTip {
    /// The tip envelope, byte for byte as the author signed it.
    pub tip: Vec<u8>,
    /// The home relay's receipt envelope for it.
    pub receipt: Vec<u8>,
}

/// One tip waiting for a principal: the author's envelope and the relay's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The tip envelope, byte for byte as the author signed it.
    pub tip: Vec<u8>,
    /// The relay's receipt envelope for it.
    pub receipt: Vec<u8>,
}

/// A notice to a tip's author: the first acknowledgement of the tip, or a feedback on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The relay's notice index (ascending, gap-free across all authors).
    pub index: u64,
    /// What it carries.
    pub body: NoticeBody,
}

/// The content of a [`Notice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeBody {
    /// The DeliveryAck envelope signed by the recipient (wire key `ack`).
    Ack(Vec<u8>),
    /// A Feedback envelope signed by the recipient and the relay's receipt for it (wire
    /// keys `feedback` and `receipt`).
    Feedback {
        /// The Feedback envelope.
        feedback: Vec<u8>,
        /// The relay's receipt (subject `feedback`).
        receipt: Vec<u8>,
    },
    /// Federation (PROTOCOL §14): the receipt the recipient jurisdiction's relay signed
    /// when the tip crossed the peering link (wire key `crossed`): "accepted across the
    /// border".
    Crossed(Vec<u8>),
}

/// A forwarded ledger statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedStatement {
    /// The relay's statement index (ascending).
    pub index: u64,
    /// The LedgerStatement envelope.
    pub statement: Vec<u8>,
    /// The relay's receipt (subject `statement`).
    pub receipt: Vec<u8>,
}

/// One outcome of a `submit_batch`: (receipt, duplicate) as `submitted` carries them, or
/// the refusal `submit` would have answered.
pub type BatchOutcome = Result<(Vec<u8>, bool), WireError>;

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Answer to `submit`: the receipt (the original one for a replay).
    Submitted {
        /// The receipt envelope.
        receipt: Vec<u8>,
        /// True when the tip had been accepted before (idempotent replay).
        duplicate: bool,
    },
    /// Answer to `submit_batch`: one outcome per envelope, in request order.
    SubmittedBatch {
        /// `Ok((receipt, duplicate))` as `submitted` would carry, or the refusal.
        items: Vec<BatchOutcome>,
    },
    /// Answer to `ack_batch`: one outcome per envelope, in request order.
    AckedBatch {
        /// `Ok(())` as `acked`, or the refusal `ack` would have answered.
        items: Vec<Result<(), WireError>>,
    },
    /// Answer to `fetch`.
    Deliveries {
        /// Tips in (from, seq) order.
        items: Vec<Delivery>,
    },
    /// Answer to `ack`.
    Acked,
    /// Answer to `acks`.
    Acks {
        /// Notices in index order.
        items: Vec<Notice>,
    },
    /// Answer to `status`.
    Status {
        /// The relay's identity URI.
        relay: String,
        /// The connection's authenticated identity URI.
        you: String,
        /// Relay time (ms since the epoch).
        time: u64,
        /// Tips waiting for this principal.
        pending: u64,
    },
    /// An event on a `subscribe` stream.
    Event {
        /// `tips` (new tips for you) or `acks` (new acks for your tips).
        kind: String,
    },
    /// Answer to `records`.
    Records {
        /// Facts in (accepted, from, id) order.
        items: Vec<TipFacts>,
        /// Present when more may follow: ask again with `after` set to it.
        next: Option<RecordCursor>,
    },
    /// Answer to `statements`.
    Statements {
        /// Statements in index order.
        items: Vec<ForwardedStatement>,
    },
    /// Answer to `checkpoint` (None before the first checkpoint).
    Checkpoint {
        /// The newest checkpoint and its cosignatures.
        checkpoint: Option<SignedCheckpoint>,
    },
    /// Answer to `inclusion` and `consistency`.
    Proof {
        /// The entry's canonical bytes (inclusion, when it concerns the asker's jurisdiction).
        entry: Option<Vec<u8>>,
        /// The proof's hashes, in RFC 9162 order.
        proof: Vec<Digest>,
    },
    /// Answer to `relay_statement` and `peer_statement` (federation): a LedgerStatement
    /// envelope signed by a relay.
    RelayStatement {
        /// The LedgerStatement envelope.
        envelope: Vec<u8>,
    },
    /// An error.
    Error(WireError),
}

/// A typed error on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Numeric code (see [`ErrorCode`]).
    pub code: u16,
    /// Its snake_case name.
    pub name: String,
    /// A short human reason (never message content).
    pub reason: String,
    /// For `rate_limited`: milliseconds to wait before retrying (the map key `retry_after`,
    /// present only when set).
    pub retry_after: Option<u64>,
}

impl WireError {
    /// From a code and reason.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        let mut reason: String = reason.into();
        if reason.len() > 500 {
            let mut cut = 500;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        Self { code: code as u16, name: code.name().to_owned(), reason, retry_after: None }
    }

    /// `rate_limited`, retryable after `ms` milliseconds.
    pub fn rate_limited(ms: u64, reason: impl Into<String>) -> Self {
        Self { retry_after: Some(ms), ..Self::new(ErrorCode::RateLimited, reason) }
    }
}

impl WireError {
    fn to_value(&self) -> Value {
        MapWriter::new()
            .put("code", cbor::uint(u64::from(self.code)))
            .put("name", cbor::text(&self.name))
            .put("reason", cbor::text(&self.reason))
            .put_opt("retry_after", self.retry_after.map(cbor::uint))
            .into_value()
    }

    fn from_value(v: Value) -> Result<Self, FieldError> {
        let mut m = MapReader::new(v, "error")?;
        let code = u16::try_from(m.uint("code")?).map_err(|_| FieldError::OutOfRange("code"))?;
        let e = WireError {
            code,
            name: m.text("name")?,
            reason: m.text("reason")?,
            retry_after: m.opt_uint("retry_after")?,
        };
        m.finish()?;
        Ok(e)
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.name, self.code, self.reason)
    }
}

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// Shorter than its length prefix says, or no prefix.
    #[error("truncated frame")]
    Truncated,
    /// Longer than allowed.
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// Bytes after the frame.
    #[error("trailing bytes after the frame")]
    Trailing,
    /// Not CBOR.
    #[error("frame body is not CBOR: {0}")]
    Cbor(String),
    /// A field rule.
    #[error("{0}")]
    Field(#[from] FieldError),
    /// An unknown `op` or response shape.
    #[error("unknown operation `{0}`")]
    UnknownOp(String),
}

/// Prefixes a CBOR body with its length.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits exactly one frame (prefix + body) and returns the body.
pub fn unframe(bytes: &[u8], max: usize) -> Result<&[u8], FrameError> {
    let (len, body) = bytes.split_first_chunk::<4>().ok_or(FrameError::Truncated)?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > max {
        return Err(FrameError::TooLarge(len));
    }
    match body.len().cmp(&len) {
        std::cmp::Ordering::Less => Err(FrameError::Truncated),
        std::cmp::Ordering::Greater => Err(FrameError::Trailing),
        std::cmp::Ordering::Equal => Ok(body),
    }
}

/// Encodes a batch answer's items: the `ok` map of each success, `{"error": …}` otherwise.
fn encode_outcomes<T>(items: &[Result<T, WireError>], ok: impl Fn(&T) -> MapWriter) -> Value {
    Value::Array(
        items
            .iter()
            .map(|i| match i {
                Ok(t) => ok(t).into_value(),
                Err(e) => MapWriter::new().put("error", e.to_value()).into_value(),
            })
            .collect(),
    )
}

/// Decodes a batch answer's items (at most [`MAX_BATCH_TIPS`]); `ok` reads a success map.
fn decode_outcomes<T>(
    v: Value,
    ok: impl Fn(&mut MapReader) -> Result<T, FieldError>,
) -> Result<Vec<Result<T, WireError>>, FieldError> {
    let items = as_array(v, "items")?;
    if items.len() > MAX_BATCH_TIPS {
        return Err(FieldError::TooMany("items"));
    }
    items
        .into_iter()
        .map(|i| {
            let mut d = MapReader::new(i, "items")?;
            let out = match d.take("error") {
                Some(e) => Err(WireError::from_value(e)?),
                None => Ok(ok(&mut d)?),
            };
            d.finish()?;
            Ok(out)
        })
        .collect()
}

/// The `envelopes` of a batch request: 1 to [`MAX_BATCH_TIPS`] byte strings.
fn batch_envelopes(m: &mut MapReader) -> Result<Vec<Vec<u8>>, FrameError> {
    let items = as_array(m.req("envelopes")?, "envelopes")?;
    if items.is_empty() {
        return Err(FieldError::OutOfRange("envelopes").into());
    }
    if items.len() > MAX_BATCH_TIPS {
        return Err(FieldError::TooMany("envelopes").into());
    }
    Ok(items.into_iter().map(|e| as_bytes(e, "envelopes")).collect::<Result<_, _>>()?)
}

/// The `items` of a `forward` request: 1 to [`MAX_BATCH_TIPS`] maps `{tip, receipt}`.
fn forwarded_tips(m: &mut MapReader) -> Result<Vec<ForwardedTip>, FrameError> {
    let items = as_array(m.req("items")?, "items")?;
    if items.is_empty() {
        return Err(FieldError::OutOfRange("items").into());
    }
    if items.len() > MAX_BATCH_TIPS {
        return Err(FieldError::TooMany("items").into());
    }
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let mut d = MapReader::new(i, "items")?;
        let tip = as_bytes(d.req("tip")?, "tip")?;
        let receipt = as_bytes(d.req("receipt")?, "receipt")?;
        d.finish()?;
        out.push(ForwardedTip { tip, receipt });
    }
    Ok(out)
}

fn op(o: &str) -> Value {
    cbor::text(o)
}

impl Request {
    /// Encodes as a framed CBOR map.
    pub fn encode(&self) -> Vec<u8> {
        let v = match self {
            Self::Submit { envelope } => {
                MapWriter::new().put("op", op("submit")).put("envelope", Value::Bytes(envelope.clone()))
            }
            Self::SubmitBatch { envelopes } => MapWriter::new()
                .put("op", op("submit_batch"))
                .put("envelopes", Value::Array(envelopes.iter().map(|e| Value::Bytes(e.clone())).collect())),
            Self::AckBatch { envelopes } => MapWriter::new()
                .put("op", op("ack_batch"))
                .put("envelopes", Value::Array(envelopes.iter().map(|e| Value::Bytes(e.clone())).collect())),
            Self::Fetch { limit } => MapWriter::new().put("op", op("fetch")).put("limit", cbor::uint(*limit)),
            Self::Ack { envelope } => {
                MapWriter::new().put("op", op("ack")).put("envelope", Value::Bytes(envelope.clone()))
            }
            Self::Acks { after, limit } => {
                MapWriter::new().put("op", op("acks")).put("after", cbor::uint(*after)).put("limit", cbor::uint(*limit))
            }
            Self::Status => MapWriter::new().put("op", op("status")),
            Self::Subscribe => MapWriter::new().put("op", op("subscribe")),
            Self::Feedback { envelope } => {
                MapWriter::new().put("op", op("feedback")).put("envelope", Value::Bytes(envelope.clone()))
            }
            Self::Statement { envelope } => {
                MapWriter::new().put("op", op("statement")).put("envelope", Value::Bytes(envelope.clone()))
            }
            Self::Records { since, until, after, limit } => MapWriter::new()
                .put("op", op("records"))
                .put("since", cbor::uint(*since))
                .put("until", cbor::uint(*until))
                .put_opt("after", after.as_ref().map(RecordCursor::encode))
                .put("limit", cbor::uint(*limit)),
            Self::Statements { after, limit } => MapWriter::new()
                .put("op", op("statements"))
                .put("after", cbor::uint(*after))
                .put("limit", cbor::uint(*limit)),
            Self::Checkpoint { fresh } => {
                MapWriter::new().put("op", op("checkpoint")).put("fresh", Value::Bool(*fresh))
            }
            Self::Inclusion { index, size } => MapWriter::new()
                .put("op", op("inclusion"))
                .put("index", cbor::uint(*index))
                .put("size", cbor::uint(*size)),
            Self::Consistency { old, new } => {
                MapWriter::new().put("op", op("consistency")).put("old", cbor::uint(*old)).put("new", cbor::uint(*new))
            }
            Self::Cosign { envelope } => {
                MapWriter::new().put("op", op("cosign")).put("envelope", Value::Bytes(envelope.clone()))
            }
            Self::PeerStatement { since, until } => MapWriter::new()
                .put("op", op("peer_statement"))
                .put("since", cbor::uint(*since))
                .put("until", cbor::uint(*until)),
            Self::RelayStatement { since, until } => MapWriter::new()
                .put("op", op("relay_statement"))
                .put("since", cbor::uint(*since))
                .put("until", cbor::uint(*until)),
            Self::PeerRecords { since, until, after, limit } => MapWriter::new()
                .put("op", op("peer_records"))
                .put("since", cbor::uint(*since))
                .put("until", cbor::uint(*until))
                .put_opt("after", after.as_ref().map(RecordCursor::encode))
                .put("limit", cbor::uint(*limit)),
            Self::Forward { items } => MapWriter::new().put("op", op("forward")).put(
                "items",
                Value::Array(
                    items
                        .iter()
                        .map(|f| {
                            MapWriter::new()
                                .put("tip", Value::Bytes(f.tip.clone()))
                                .put("receipt", Value::Bytes(f.receipt.clone()))
                                .into_value()
                        })
                        .collect(),
                ),
            ),
        };
        frame(&cbor::encode_value(&v.into_value()))
    }

    /// Decodes one framed request: a body of at most [`MAX_BATCH_REQUEST_BYTES`] for
    /// `submit_batch` and `ack_batch`, [`MAX_REQUEST_BYTES`] for every other operation.
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        Self::decode_body(unframe(bytes, MAX_BATCH_REQUEST_BYTES)?)
    }

    /// Decodes one request body (already unframed), with the bounds of [`Request::decode`].
    pub fn decode_body(body: &[u8]) -> Result<Self, FrameError> {
        if body.len() > MAX_BATCH_REQUEST_BYTES {
            return Err(FrameError::TooLarge(body.len()));
        }
        let v = cbor::decode_value(body).map_err(FrameError::Cbor)?;
        let mut m = MapReader::new(v, "<request>")?;
        let op = m.text("op")?;
        if op != "submit_batch" && op != "ack_batch" && op != "forward" && body.len() > MAX_REQUEST_BYTES {
            return Err(FrameError::TooLarge(body.len()));
        }
        let r = match op.as_str() {
            "submit" => Self::Submit { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "submit_batch" => Self::SubmitBatch { envelopes: batch_envelopes(&mut m)? },
            "ack_batch" => Self::AckBatch { envelopes: batch_envelopes(&mut m)? },
            "fetch" => Self::Fetch { limit: m.uint("limit")?.clamp(1, MAX_FETCH) },
            "ack" => Self::Ack { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "acks" => Self::Acks { after: m.uint("after")?, limit: m.uint("limit")?.clamp(1, MAX_ACKS) },
            "status" => Self::Status,
            "subscribe" => Self::Subscribe,
            "feedback" => Self::Feedback { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "statement" => Self::Statement { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "records" => Self::Records {
                since: m.uint("since")?,
                until: m.uint("until")?,
                after: m.take("after").map(RecordCursor::decode).transpose()?,
                limit: m.uint("limit")?.clamp(1, MAX_RECORDS),
            },
            "statements" => {
                Self::Statements { after: m.uint("after")?, limit: m.uint("limit")?.clamp(1, MAX_STATEMENTS) }
            }
            "checkpoint" => Self::Checkpoint {
                fresh: match m.req("fresh")? {
                    Value::Bool(b) => b,
                    _ => return Err(FieldError::OutOfRange("fresh").into()),
                },
            },
            "inclusion" => Self::Inclusion { index: m.uint("index")?, size: m.uint("size")? },
            "consistency" => Self::Consistency { old: m.uint("old")?, new: m.uint("new")? },
            "cosign" => Self::Cosign { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "forward" => Self::Forward { items: forwarded_tips(&mut m)? },
            "peer_statement" => Self::PeerStatement { since: m.uint("since")?, until: m.uint("until")? },
            "relay_statement" => Self::RelayStatement { since: m.uint("since")?, until: m.uint("until")? },
            "peer_records" => Self::PeerRecords {
                since: m.uint("since")?,
                until: m.uint("until")?,
                after: m.take("after").map(RecordCursor::decode).transpose()?,
                limit: m.uint("limit")?.clamp(1, MAX_RECORDS),
            },
            other => return Err(FrameError::UnknownOp(other.chars().take(40).collect())),
        };
        m.finish()?;
        Ok(r)
    }
}

impl Response {
    /// The answer's `kind` on the wire (`error` for an error), for messages and logs that
    /// must name an answer without echoing its content.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Submitted { .. } => "submitted",
            Self::SubmittedBatch { .. } => "submitted_batch",
            Self::AckedBatch { .. } => "acked_batch",
            Self::Deliveries { .. } => "deliveries",
            Self::Acked => "acked",
            Self::Acks { .. } => "acks",
            Self::Status { .. } => "status",
            Self::Event { .. } => "event",
            Self::Records { .. } => "records",
            Self::Statements { .. } => "statements",
            Self::Checkpoint { .. } => "checkpoint",
            Self::Proof { .. } => "proof",
            Self::RelayStatement { .. } => "relay_statement",
            Self::Error(_) => "error",
        }
    }

    /// Encodes as a framed CBOR map: `{"ok": {...}}` or `{"error": {...}}`.
    pub fn encode(&self) -> Vec<u8> {
        let ok = |kind: &str, w: MapWriter| MapWriter::new().put("ok", w.put("kind", cbor::text(kind)).into_value());
        let v = match self {
            Self::Submitted { receipt, duplicate } => ok(
                "submitted",
                MapWriter::new()
                    .put("receipt", Value::Bytes(receipt.clone()))
                    .put("duplicate", Value::Bool(*duplicate)),
            ),
            Self::SubmittedBatch { items } => ok(
                "submitted_batch",
                MapWriter::new().put(
                    "items",
                    encode_outcomes(items, |(receipt, duplicate)| {
                        MapWriter::new()
                            .put("receipt", Value::Bytes(receipt.clone()))
                            .put("duplicate", Value::Bool(*duplicate))
                    }),
                ),
            ),
            Self::AckedBatch { items } => {
                ok("acked_batch", MapWriter::new().put("items", encode_outcomes(items, |()| MapWriter::new())))
            }
            Self::Deliveries { items } => ok(
                "deliveries",
                MapWriter::new().put(
                    "items",
                    Value::Array(
                        items
                            .iter()
                            .map(|d| {
                                MapWriter::new()
                                    .put("tip", Value::Bytes(d.tip.clone()))
                                    .put("receipt", Value::Bytes(d.receipt.clone()))
                                    .into_value()
                            })
                            .collect(),
                    ),
                ),
            ),
            Self::Acked => ok("acked", MapWriter::new()),
            Self::Acks { items } => ok(
                "acks",
                MapWriter::new().put(
                    "items",
                    Value::Array(
                        items
                            .iter()
                            .map(|a| {
                                let w = MapWriter::new().put("index", cbor::uint(a.index));
                                match &a.body {
                                    NoticeBody::Ack(ack) => w.put("ack", Value::Bytes(ack.clone())),
                                    NoticeBody::Feedback { feedback, receipt } => w
                                        .put("feedback", Value::Bytes(feedback.clone()))
                                        .put("receipt", Value::Bytes(receipt.clone())),
                                    NoticeBody::Crossed(receipt) => w.put("crossed", Value::Bytes(receipt.clone())),
                                }
                                .into_value()
                            })
                            .collect(),
                    ),
                ),
            ),
            Self::Status { relay, you, time, pending } => ok(
                "status",
                MapWriter::new()
                    .put("relay", cbor::text(relay))
                    .put("you", cbor::text(you))
                    .put("time", cbor::uint(*time))
                    .put("pending", cbor::uint(*pending)),
            ),
            Self::Event { kind } => ok("event", MapWriter::new().put("event", cbor::text(kind))),
            Self::Records { items, next } => ok(
                "records",
                MapWriter::new()
                    .put("items", Value::Array(items.iter().map(TipFacts::encode).collect()))
                    .put_opt("next", next.as_ref().map(RecordCursor::encode)),
            ),
            Self::Statements { items } => ok(
                "statements",
                MapWriter::new().put(
                    "items",
                    Value::Array(
                        items
                            .iter()
                            .map(|s| {
                                MapWriter::new()
                                    .put("index", cbor::uint(s.index))
                                    .put("statement", Value::Bytes(s.statement.clone()))
                                    .put("receipt", Value::Bytes(s.receipt.clone()))
                                    .into_value()
                            })
                            .collect(),
                    ),
                ),
            ),
            Self::Checkpoint { checkpoint } => ok(
                "checkpoint",
                MapWriter::new().put_opt("checkpoint", checkpoint.as_ref().map(SignedCheckpoint::encode)),
            ),
            Self::RelayStatement { envelope } => {
                ok("relay_statement", MapWriter::new().put("envelope", Value::Bytes(envelope.clone())))
            }
            Self::Proof { entry, proof } => ok(
                "proof",
                MapWriter::new()
                    .put_opt("entry", entry.clone().map(Value::Bytes))
                    .put("proof", Value::Array(proof.iter().map(cbor::digest).collect())),
            ),
            Self::Error(e) => MapWriter::new().put("error", e.to_value()),
        };
        frame(&cbor::encode_value(&v.into_value()))
    }

    /// Decodes one framed response body (already unframed).
    pub fn decode_body(body: &[u8]) -> Result<Self, FrameError> {
        let v = cbor::decode_value(body).map_err(FrameError::Cbor)?;
        let mut top = MapReader::new(v, "<response>")?;
        if let Some(e) = top.take("error") {
            let r = Self::Error(WireError::from_value(e)?);
            top.finish()?;
            return Ok(r);
        }
        let mut m = MapReader::new(top.req("ok")?, "ok")?;
        top.finish()?;
        let kind = m.text("kind")?;
        let r = match kind.as_str() {
            "submitted" => Self::Submitted {
                receipt: as_bytes(m.req("receipt")?, "receipt")?,
                duplicate: matches!(m.req("duplicate")?, Value::Bool(true)),
            },
            "submitted_batch" => Self::SubmittedBatch {
                items: decode_outcomes(m.req("items")?, |d| {
                    Ok((as_bytes(d.req("receipt")?, "receipt")?, matches!(d.req("duplicate")?, Value::Bool(true))))
                })?,
            },
            "acked_batch" => Self::AckedBatch { items: decode_outcomes(m.req("items")?, |_| Ok(()))? },
            "deliveries" => Self::Deliveries {
                items: as_array(m.req("items")?, "items")?
                    .into_iter()
                    .map(|i| {
                        let mut d = MapReader::new(i, "items")?;
                        let out = Delivery {
                            tip: as_bytes(d.req("tip")?, "tip")?,
                            receipt: as_bytes(d.req("receipt")?, "receipt")?,
                        };
                        d.finish()?;
                        Ok(out)
                    })
                    .collect::<Result<_, FieldError>>()?,
            },
            "acked" => Self::Acked,
            "acks" => Self::Acks {
                items: as_array(m.req("items")?, "items")?
                    .into_iter()
                    .map(|i| {
                        let mut d = MapReader::new(i, "items")?;
                        let index = d.uint("index")?;
                        let body = match (d.take("ack"), d.take("crossed")) {
                            (Some(a), None) => NoticeBody::Ack(as_bytes(a, "ack")?),
                            (Some(_), Some(_)) => return Err(FieldError::OutOfRange("crossed")),
                            (None, Some(c)) => NoticeBody::Crossed(as_bytes(c, "crossed")?),
                            (None, None) => NoticeBody::Feedback {
                                feedback: as_bytes(d.req("feedback")?, "feedback")?,
                                receipt: as_bytes(d.req("receipt")?, "receipt")?,
                            },
                        };
                        d.finish()?;
                        Ok(Notice { index, body })
                    })
                    .collect::<Result<_, FieldError>>()?,
            },
            "status" => Self::Status {
                relay: m.text("relay")?,
                you: m.text("you")?,
                time: m.uint("time")?,
                pending: m.uint("pending")?,
            },
            "event" => Self::Event { kind: m.text("event")? },
            "records" => Self::Records {
                items: TipFacts::decode_all(m.req("items")?)?,
                next: m.take("next").map(RecordCursor::decode).transpose()?,
            },
            "statements" => Self::Statements {
                items: as_array(m.req("items")?, "items")?
                    .into_iter()
                    .map(|i| {
                        let mut d = MapReader::new(i, "items")?;
                        let out = ForwardedStatement {
                            index: d.uint("index")?,
                            statement: as_bytes(d.req("statement")?, "statement")?,
                            receipt: as_bytes(d.req("receipt")?, "receipt")?,
                        };
                        d.finish()?;
                        Ok(out)
                    })
                    .collect::<Result<_, FieldError>>()?,
            },
            "checkpoint" => {
                Self::Checkpoint { checkpoint: m.take("checkpoint").map(SignedCheckpoint::decode).transpose()? }
            }
            "relay_statement" => Self::RelayStatement { envelope: as_bytes(m.req("envelope")?, "envelope")? },
            "proof" => Self::Proof {
                entry: m.take("entry").map(|e| as_bytes(e, "entry")).transpose()?,
                proof: {
                    let items = as_array(m.req("proof")?, "proof")?;
                    if items.len() > 128 {
                        return Err(FieldError::TooMany("proof").into());
                    }
                    items
                        .into_iter()
                        .map(|d| {
                            <[u8; 32]>::try_from(as_bytes(d, "proof")?.as_slice())
                                .map(Digest)
                                .map_err(|_| FieldError::OutOfRange("proof"))
                        })
                        .collect::<Result<_, _>>()?
                },
            },
            other => return Err(FrameError::UnknownOp(other.chars().take(40).collect())),
        };
        m.finish()?;
        Ok(r)
    }

    /// Decodes one framed response (at most [`MAX_FRAME_BYTES`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, FrameError> {
        Self::decode_body(unframe(bytes, MAX_FRAME_BYTES)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_round_trip() {
        for r in [
            Request::Submit { envelope: vec![1, 2, 3] },
            Request::SubmitBatch { envelopes: vec![vec![1, 2], vec![3]] },
            Request::AckBatch { envelopes: vec![vec![4], vec![5, 6]] },
            Request::Fetch { limit: 10 },
            Request::Ack { envelope: vec![9] },
            Request::Acks { after: 5, limit: 100 },
            Request::Status,
            Request::Subscribe,
            Request::Feedback { envelope: vec![7] },
            Request::Statement { envelope: vec![8] },
            Request::Records { since: 1, until: 2, after: None, limit: 10 },
            Request::Records {
                since: 1,
                until: 2,
                after: Some(RecordCursor {
                    accepted: 5,
                    from: "MX".parse().unwrap(),
                    id: crate::TipId::new_v7(crate::Timestamp::from_unix_ms(1).unwrap(), [3; 10]),
                }),
                limit: 10,
            },
            Request::Statements { after: 1, limit: 2 },
            Request::Checkpoint { fresh: true },
            Request::Inclusion { index: 3, size: 9 },
            Request::Consistency { old: 3, new: 9 },
            Request::Cosign { envelope: vec![1] },
            Request::PeerRecords { since: 1, until: 2, after: None, limit: 10 },
            Request::PeerStatement { since: 1, until: 2 },
            Request::RelayStatement { since: 3, until: 4 },
            Request::Forward {
                items: vec![
                    ForwardedTip { tip: vec![1, 2], receipt: vec![3] },
                    ForwardedTip { tip: vec![4], receipt: vec![5, 6] },
                ],
            },
        ] {
            assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        }
        // A forward carries 1 to 64 items.
        let empty = Request::Forward { items: vec![] }.encode();
        assert!(Request::decode(&empty).is_err());
        let many =
            Request::Forward { items: vec![ForwardedTip { tip: vec![1], receipt: vec![2] }; MAX_BATCH_TIPS + 1] };
        assert!(Request::decode(&many.encode()).is_err());
        for r in [
            Response::Submitted { receipt: vec![1], duplicate: true },
            Response::AckedBatch { items: vec![Ok(()), Err(WireError::new(ErrorCode::UnknownTip, "y")), Ok(())] },
            Response::SubmittedBatch {
                items: vec![Ok((vec![1], false)), Err(WireError::new(ErrorCode::Conflict, "x")), Ok((vec![2], true))],
            },
            Response::Deliveries { items: vec![Delivery { tip: vec![1], receipt: vec![2] }] },
            Response::Acked,
            Response::Acks {
                items: vec![
                    Notice { index: 3, body: NoticeBody::Ack(vec![4]) },
                    Notice { index: 4, body: NoticeBody::Feedback { feedback: vec![5], receipt: vec![6] } },
                    Notice { index: 5, body: NoticeBody::Crossed(vec![7]) },
                ],
            },
            Response::Records { items: vec![], next: None },
            Response::RelayStatement { envelope: vec![9, 9] },
            Response::Statements { items: vec![ForwardedStatement { index: 1, statement: vec![2], receipt: vec![3] }] },
            Response::Checkpoint { checkpoint: None },
            Response::Checkpoint {
                checkpoint: Some(SignedCheckpoint { checkpoint: vec![1], cosignatures: vec![vec![2], vec![3]] }),
            },
            Response::Proof { entry: Some(vec![1]), proof: vec![Digest([7; 32])] },
            Response::Proof { entry: None, proof: vec![] },
            Response::Status { relay: "r".into(), you: "y".into(), time: 1, pending: 2 },
            Response::Event { kind: "tips".into() },
            Response::Error(WireError::new(ErrorCode::Conflict, "x")),
        ] {
            assert_eq!(Response::decode(&r.encode()).unwrap(), r);
        }
    }

    #[test]
    fn frames_are_bounded_and_exact() {
        let f = Request::Status.encode();
        assert_eq!(Request::decode(&f[..f.len() - 1]), Err(FrameError::Truncated));
        let mut long = f.clone();
        long.push(0);
        assert_eq!(Request::decode(&long), Err(FrameError::Trailing));
        let mut huge = vec![0xff, 0xff, 0xff, 0xff];
        huge.extend_from_slice(&[0; 8]);
        assert!(matches!(Request::decode(&huge), Err(FrameError::TooLarge(_))));
        assert!(Request::decode(&[]).is_err());
    }

    #[test]
    fn batches_are_bounded_in_count_and_bytes() {
        let ok = Request::SubmitBatch { envelopes: vec![vec![0; 10]; MAX_BATCH_TIPS] };
        assert_eq!(Request::decode(&ok.encode()).unwrap(), ok);
        let many = Request::SubmitBatch { envelopes: vec![vec![0; 10]; MAX_BATCH_TIPS + 1] };
        assert!(matches!(Request::decode(&many.encode()), Err(FrameError::Field(FieldError::TooMany(_)))));
        let empty = Request::SubmitBatch { envelopes: vec![] };
        assert!(matches!(Request::decode(&empty.encode()), Err(FrameError::Field(FieldError::OutOfRange(_)))));
        // A batch may be larger than a single request, up to its own bound.
        let big = Request::SubmitBatch { envelopes: vec![vec![0; 60 * 1024]; 4] };
        assert_eq!(Request::decode(&big.encode()).unwrap(), big);
        let huge = Request::SubmitBatch { envelopes: vec![vec![0; 60 * 1024]; 5] };
        assert!(matches!(Request::decode(&huge.encode()), Err(FrameError::TooLarge(_))));
        // Every other operation keeps the single-request bound.
        let single = Request::Submit { envelope: vec![0; MAX_REQUEST_BYTES] };
        assert!(matches!(Request::decode(&single.encode()), Err(FrameError::TooLarge(_))));
    }
}
