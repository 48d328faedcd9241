//! Client operations: compose and send tips (outbox first), fetch, verify, store and ack
//! incoming tips, collect acks of sent tips, and report.

use tiprelay_proto::wire::{
    NoticeBody, Request, Response, WireError, MAX_ACKS, MAX_BATCH_REQUEST_BYTES, MAX_BATCH_TIPS, MAX_FETCH,
    MAX_RECORDS, MAX_STATEMENTS,
};
use tiprelay_proto::{
    verify, Category, DeliveryAck, Digest, Feedback, InfoCredibility, Jurisdiction, Lang, LedgerStatement, Location,
    Outcome, ProtoError, Receipt, RecordCursor, Signer, SourceReliability, Subject, Timestamp, Tip, TipFacts, TipId,
    Tlp, TrustStore, Urgency,
};

use crate::config::ClientConfig;
use crate::conn::{ConnError, RelayConn};
use crate::files;
use crate::store::{
    FeedbackRecord, InRecord, LocalStore, OutRecord, StatementRecord, ACK_CURSOR, BAD_ACKS, BAD_CROSSED, BAD_FEEDBACK,
    STATEMENT_CURSOR,
};

/// What can go wrong in a client operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Relay communication.
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// Local store.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Key or trust files.
    #[error(transparent)]
    Files(#[from] files::FileError),
    /// A tip could not be built or signed.
    #[error("{}", human(.0))]
    Invalid(ProtoError),
    /// The tip is addressed to a jurisdiction this client does not know.
    #[error("{}", crate::t!("client-unknown-recipient", "to" => to.clone(), "known" => known.clone()))]
    UnknownRecipient {
        /// The recipient asked for.
        to: String,
        /// The configured ones.
        known: String,
    },
    /// The relay's answer does not verify.
    #[error("{}", untrusted_text(what, why))]
    Untrusted {
        /// Receipt, tip, records, statement, peer relay statement.
        what: &'static str,
        /// Why (in this process's language).
        why: String,
    },
    /// No such tip here.
    #[error("{}", crate::t!("no-such-tip", "id" => .0.clone()))]
    NotFound(String),
    /// Not allowed (e.g. feedback on a tip this principal did not receive); the text is in
    /// this process's language.
    #[error("{0}")]
    NotPermitted(String),
    /// The relay's audit log is not consistent with a checkpoint this client verified
    /// before: a fork (two histories) or a rollback. Recorded as an alert in the store.
    #[error("{}", crate::t!("client-audit-alert", "why" => .0.clone()))]
    LogInconsistent(String),
    /// A revocation list older than one this client already accepted.
    #[error("{}", human(.0))]
    Trust(#[from] tiprelay_proto::TrustError),
    /// The relay refused what this principal signed because its own signing certificate
    /// is revoked (a tip, an ack, feedback, a cosignature): named as such, not as a
    /// generic refusal or an audit alarm.
    #[error("{}", crate::t!("client-own-cert-revoked", "identity" => identity.clone(), "cert" => cert.display().to_string(), "what" => what.clone()))]
    OwnCertificateRevoked {
        /// This principal.
        identity: String,
        /// Its signing certificate file.
        cert: std::path::PathBuf,
        /// What the relay refused (`tip 0193…`, `cosignature`, …).
        what: String,
    },
    /// A worker thread of this client failed (a bug, never input).
    #[error("{}", crate::t!("tipctl-internal", "what" => *.0))]
    Internal(&'static str),
}

impl ClientError {
    /// The text in English whatever this process's language, for machine-readable records
    /// (the feed's rejects file) of the errors signing a tip can give; other errors give
    /// their text for a person.
    pub fn english(&self) -> String {
        match self {
            ClientError::Invalid(p) => p.to_string(),
            ClientError::Trust(t) => t.to_string(),
            ClientError::UnknownRecipient { to, known } => crate::i18n::tr_in(
                crate::i18n::Locale::En,
                "client-unknown-recipient",
                &[("to", to.as_str().into()), ("known", known.as_str().into())],
            ),
            other => other.to_string(),
        }
    }
}

/// A proto error's text for a person, in this process's language.
fn human(e: &(dyn std::error::Error + 'static)) -> String {
    tiprelay_common::localize::localize_known(e).unwrap_or_else(|| e.to_string())
}

/// "The relay's receipt does not verify: …", in this process's language.
fn untrusted_text(what: &str, why: &str) -> String {
    crate::t!("tipctl-untrusted", "what" => what.to_owned(), "key" => what.replace(' ', "-"), "why" => why.to_owned())
}

/// What the author writes; the client fills in id, from, author and created.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Receiving jurisdiction.
    pub to: Jurisdiction,
    /// Category.
    pub category: Category,
    /// Urgency.
    pub urgency: Urgency,
    /// Summary line.
    pub summary: String,
    /// Details.
    pub details: Option<String>,
    /// Language (default: the configured one).
    pub lang: Option<Lang>,
    /// Location.
    pub location: Option<Location>,
    /// Observation time.
    pub observed_at: Option<Timestamp>,
    /// Expiry.
    pub valid_until: Option<Timestamp>,
    /// Admiralty reliability.
    pub source_reliability: Option<SourceReliability>,
    /// Admiralty credibility.
    pub info_credibility: Option<InfoCredibility>,
    /// TLP label.
    pub tlp: Tlp,
    /// Related tips.
    pub refs: Vec<TipId>,
}

/// A sent tip with its verified receipt.
#[derive(Debug, Clone)]
pub struct SentTip {
    /// The tip.
    pub tip: Tip,
    /// Its verified receipt.
    pub receipt: Receipt,
    /// True if the relay had it already (replay).
    pub duplicate: bool,
}

/// A received, verified tip.
#[derive(Debug, Clone)]
pub struct Received {
    /// The tip.
    pub tip: Tip,
    /// The relay's receipt.
    pub receipt: Receipt,
    /// Verified author.
    pub signer: String,
    /// First time here (false for a redelivery).
    pub fresh: bool,
    /// Set when the author's certificate has been revoked since: when the CRL says it
    /// stopped vouching for signatures, which is after the relay accepted the tip (else it
    /// would not have verified; PROTOCOL §6.3).
    pub author_revoked: Option<Timestamp>,
}

impl Received {
    /// "Signed by X; its certificate was revoked on D, after the relay accepted this tip
    /// on T", in this process's language, when the author's certificate has been revoked
    /// since the relay accepted the tip.
    pub fn revocation_note(&self) -> Option<String> {
        self.author_revoked.map(|revoked| revocation_note(&self.signer, revoked, self.receipt.accepted))
    }
}

/// The note shown with a tip whose author's certificate was revoked after the relay accepted
/// it, in this process's language.
pub fn revocation_note(signer: &str, revoked: Timestamp, accepted: Timestamp) -> String {
    crate::t!(
        "revocation-note",
        "signer" => signer.to_owned(), "revoked" => revoked.to_string(), "accepted" => accepted.to_string()
    )
}

/// Outcome of an inbox synchronisation.
#[derive(Debug, Default)]
pub struct InboxSync {
    /// Tips verified, stored and acknowledged.
    pub received: Vec<Received>,
    /// Deliveries that failed verification (left unacknowledged), with the reason.
    pub failed: Vec<String>,
    /// Deliveries refused for good (PROTOCOL §5.3): answered with a signed refusal, which
    /// moved this principal's cursor past them and reaches their authors.
    pub refused: Vec<RefusedDelivery>,
}

/// A delivered tip this principal refused for good.
#[derive(Debug, Clone)]
pub struct RefusedDelivery {
    /// The tip's id (from the relay's verified receipt).
    pub tip: TipId,
    /// Its sending jurisdiction.
    pub from: Jurisdiction,
    /// Its sequence number.
    pub seq: u64,
    /// Why.
    pub refusal: tiprelay_proto::Refusal,
}

/// Outcome of a resend round.
#[derive(Debug, Default)]
pub struct Resent {
    /// Tips now receipted.
    pub sent: Vec<SentTip>,
    /// Tips the relay refused for good (recorded, not resent).
    pub refused: Vec<(TipId, tiprelay_proto::wire::WireError)>,
}

/// What a notice synchronisation brought.
#[derive(Debug, Default)]
pub struct Notices {
    /// Tips of ours newly acknowledged.
    pub acks: Vec<TipId>,
    /// Verified feedback newly received on tips of ours.
    pub feedback: Vec<Feedback>,
    /// Federation: tips of ours newly receipted by the recipient jurisdiction's relay.
    pub crossed: Vec<TipId>,
    /// Tips of ours their recipient refused for good (a signed refusal): the tip, who
    /// refused it, and why.
    pub refused: Vec<(TipId, String, tiprelay_proto::Refusal)>,
}

/// A ledger statement received from the counterpart, verified.
#[derive(Debug, Clone)]
pub struct ReceivedStatement {
    /// The statement.
    pub statement: LedgerStatement,
    /// Its signer.
    pub signer: String,
}

/// Whether a relay refusal is final for this tip (retrying the same bytes cannot help).
pub fn is_permanent(e: &tiprelay_proto::wire::WireError) -> bool {
    use tiprelay_proto::ErrorCode as C;
    !matches!(
        C::from_u16(e.code),
        Some(C::Unavailable | C::StorageFull | C::RateLimited | C::QuotaExceeded | C::RevocationUnknown) | None
    )
}

/// Runs blocking work (signatures over a batch, a store commit with its fsync) so that, on a
/// multi-threaded runtime, the runtime moves its other tasks to another thread meanwhile
/// (a feed or `watch` keeps its connection served); elsewhere it simply runs it.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Maps `f` over `items` zipped with `extra`, in order; for 16 items or more the first
/// half runs on a scoped helper thread meanwhile. None only if the helper panicked.
fn par_map<T: Sync, E: Send, R: Send>(items: &[T], extra: Vec<E>, f: impl Fn(&T, E) -> R + Sync) -> Option<Vec<R>> {
    let serial = |items: &[T], extra: Vec<E>| items.iter().zip(extra).map(|(t, e)| f(t, e)).collect::<Vec<R>>();
    if items.len() < 16 {
        return Some(serial(items, extra));
    }
    let mid = items.len() / 2;
    let mut extra = extra;
    let second_extra = extra.split_off(mid.min(extra.len()));
    let (first, second) = items.split_at(mid);
    let first_extra = std::sync::Mutex::new(Some(extra));
    std::thread::scope(|scope| {
        let job = || first_extra.lock().ok().and_then(|mut g| g.take()).map(|e| serial(first, e));
        let helper = std::thread::Builder::new().name("tipctl-verify".into()).spawn_scoped(scope, job);
        let b = serial(second, second_extra);
        // No thread to be had: the first half runs here (its input is still in the mutex).
        let a = match helper {
            Ok(h) => h.join().ok().flatten(),
            Err(_) => job(),
        };
        let mut a = a?;
        a.extend(b);
        Some(a)
    })
}

/// Submits envelopes in `submit_batch` requests (each at most [`MAX_BATCH_TIPS`] tips and
/// [`MAX_BATCH_REQUEST_BYTES`]), several in flight, and returns one answer per envelope in
/// order, shaped as a single `submit` would be answered: `Submitted`, or the refusal. A
/// request that fails as a whole gives its error to each of its tips.
pub async fn submit_batches(conn: &RelayConn, envelopes: Vec<Vec<u8>>) -> Vec<Result<Response, ConnError>> {
    let batch = |envelopes| Request::SubmitBatch { envelopes };
    let single = |envelope| Request::Submit { envelope };
    let items = |r| match r {
        Response::SubmittedBatch { items } => Ok(items
            .into_iter()
            .map(|i| i.map(|(receipt, duplicate)| Response::Submitted { receipt, duplicate }))
            .collect()),
        other => Err(other),
    };
    let one = |r| match r {
        Response::Submitted { .. } => Ok(r),
        other => Err(other),
    };
    in_batches(conn, envelopes, Ops { batch, single, items, one }).await
}

/// How one kind of batch is asked and answered, and its one-item equivalent.
struct Ops<B, S, I, O> {
    /// The batch request.
    batch: B,
    /// The single request, for a relay that refuses batches as an unknown operation.
    single: S,
    /// Takes a batch answer apart (or hands back an unexpected answer).
    items: I,
    /// Checks a single answer (or hands back an unexpected answer).
    one: O,
}

/// Sends envelopes in batch requests (several in flight) and returns one outcome per
/// envelope, in order. Per-item refusals are `Refused`, as for single requests. A refusal
/// of a whole batch request is about the request or the connection, never one tip, so its
/// items get the retryable `BatchRefused`; but `bad_request` (a relay that predates batches
/// does not know the operation) is answered by sending that batch's items one by one.
async fn in_batches<T, B, S, I, O>(
    conn: &RelayConn,
    envelopes: Vec<Vec<u8>>,
    ops: Ops<B, S, I, O>,
) -> Vec<Result<T, ConnError>>
where
    B: Fn(Vec<Vec<u8>>) -> Request,
    S: Fn(Vec<u8>) -> Request,
    I: Fn(Response) -> Result<Vec<Result<T, WireError>>, Response>,
    O: Fn(Response) -> Result<T, Response>,
{
    let chunks = batch_chunks(envelopes);
    let answers = conn.request_many(chunks.iter().map(|c| (ops.batch)(c.clone())).collect()).await;
    let mut out = Vec::with_capacity(chunks.iter().map(Vec::len).sum());
    for (chunk, answer) in chunks.into_iter().zip(answers) {
        let n = chunk.len();
        let why = match answer.map(&ops.items) {
            Ok(Ok(got)) if got.len() == n => {
                out.extend(got.into_iter().map(|i| i.map_err(ConnError::Refused)));
                continue;
            }
            Ok(Ok(got)) => ConnError::Protocol(
                crate::t!("tipctl-batch-outcomes", "what" => crate::t!("tipctl-outcomes", "count" => got.len()), "n" => n),
            ),
            Ok(Err(other)) => {
                ConnError::Protocol(crate::t!("tipctl-batch-outcomes", "what" => unexpected(&other), "n" => n))
            }
            Err(ConnError::Refused(e)) if e.code == tiprelay_proto::ErrorCode::BadRequest as u16 => {
                let singles = conn.request_many(chunk.into_iter().map(&ops.single).collect()).await;
                out.extend(
                    singles
                        .into_iter()
                        .map(|a| a.and_then(|r| (ops.one)(r).map_err(|other| ConnError::Protocol(unexpected(&other))))),
                );
                continue;
            }
            Err(ConnError::Refused(e)) => ConnError::BatchRefused(e),
            Err(e) => e,
        };
        out.extend((0..n).map(|_| Err(why.clone())));
    }
    out
}

/// Splits envelopes into batch requests' worth: at most [`MAX_BATCH_TIPS`] each and
/// within [`MAX_BATCH_REQUEST_BYTES`] with the request's own encoding.
fn batch_chunks(envelopes: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    // Room for the request map, the array header and each byte string's header.
    let budget = MAX_BATCH_REQUEST_BYTES - 64;
    let mut chunks: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut size = 0usize;
    for e in envelopes {
        let cost = e.len() + 9;
        match chunks.last_mut() {
            Some(c) if c.len() < MAX_BATCH_TIPS && size + cost <= budget => {
                size += cost;
                c.push(e);
            }
            _ => {
                size = cost;
                chunks.push(vec![e]);
            }
        }
    }
    chunks
}

/// Sends DeliveryAck envelopes in `ack_batch` requests, several in flight; one outcome per
/// ack, in order. A request that fails as a whole gives its error to each of its acks.
pub async fn ack_batches(conn: &RelayConn, envelopes: Vec<Vec<u8>>) -> Vec<Result<(), ConnError>> {
    let batch = |envelopes| Request::AckBatch { envelopes };
    let single = |envelope| Request::Ack { envelope };
    let items = |r| match r {
        Response::AckedBatch { items } => Ok(items),
        other => Err(other),
    };
    let one = |r| match r {
        Response::Acked => Ok(()),
        other => Err(other),
    };
    in_batches(conn, envelopes, Ops { batch, single, items, one }).await
}

/// Names an unexpected answer without echoing its content (it may carry envelopes).
fn unexpected(r: &Response) -> String {
    crate::t!("tipctl-unexpected-answer", "kind" => r.kind().to_string())
}

/// Verifies a message a relay's receipt (verified by the caller) proves existed at
/// `accepted`, at that time: first as any message; if its signer's certificate is on the
/// CRL, once more through [`TrustStore::as_of_receipt`], which accepts it only when it was
/// revoked strictly after `accepted`. Returns when it was revoked in that case.
fn verify_as_of_receipt<M: tiprelay_proto::Message>(
    trust: &TrustStore,
    bytes: &[u8],
    accepted: Timestamp,
) -> Result<(tiprelay_proto::Verified<M>, Option<Timestamp>), ProtoError> {
    match verify::<M>(bytes, trust, accepted) {
        Err(ProtoError::Revoked(_)) => {
            let parsed = tiprelay_proto::parse::<M>(bytes)?;
            let cert = parsed.chain.first().cloned().unwrap_or_default();
            let v = tiprelay_proto::verify_parsed(parsed, &trust.as_of_receipt(accepted), accepted)?;
            let revoked = trust.revoked_at(&cert, v.signer.authority());
            Ok((v, revoked))
        }
        other => other.map(|v| (v, None)),
    }
}

/// The current time.
pub fn now() -> Timestamp {
    let ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    Timestamp::from_unix_ms(ms).unwrap_or_else(|| Timestamp::from_unix_seconds(0))
}

fn random10() -> [u8; 10] {
    let mut r = [0u8; 10];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut r);
    r
}

/// Refuses a CRL older than one this client already accepted (kept in its store across
/// runs, per root), and raises the kept numbers to the loaded ones.
fn keep_crl_floors(store: &LocalStore, trust: &TrustStore) -> Result<(), ClientError> {
    let meta = |k: &str| store.meta(k).map(|v| (v > 0).then_some(v));
    for (key, n) in files::crl_floors(trust, meta)?? {
        if store.meta(&key)? < n {
            store.set_meta(&key, n)?;
        }
    }
    Ok(())
}

/// A principal's client: its configuration, keys, trust and local store.
pub struct Client {
    /// Configuration.
    pub cfg: ClientConfig,
    /// Local store.
    pub store: LocalStore,
    trust: TrustStore,
    /// The trust files' fingerprint when `trust` was loaded ([`Client::reload_trust`]).
    trust_seen: Vec<u8>,
    signer: Signer,
}

impl Client {
    /// Loads keys and trust and opens the local store.
    pub fn open(cfg: ClientConfig) -> Result<Self, ClientError> {
        let trust_seen = files::trust_fingerprint(&cfg.trust);
        let mut trust = files::load_trust(&cfg.trust)?;
        trust.set_crl_grace(cfg.crl_grace);
        let signer = files::read_signer(&cfg.signing_key, &cfg.signing_cert)?;
        let mut store = LocalStore::open(&cfg.store)?;
        keep_crl_floors(&store, &trust)?;
        store.set_limit(cfg.max_store_mb.map(|mb| mb.saturating_mul(1024 * 1024)));
        Ok(Self { cfg, store, trust, trust_seen, signer })
    }

    /// Reloads the roots and CRLs when their files changed since they were loaded (a
    /// long-running `watch` takes a new CRL, or a CA rollover's new roots, as the relay
    /// does). Returns whether they changed; on an error (unreadable files, an older CRL)
    /// the loaded ones stay in use and the same files are not tried again.
    pub fn reload_trust(&mut self) -> Result<bool, ClientError> {
        let seen = files::trust_fingerprint(&self.cfg.trust);
        if seen == self.trust_seen {
            return Ok(false);
        }
        self.trust_seen = seen;
        let mut trust = files::load_trust(&self.cfg.trust)?;
        trust.set_crl_grace(self.cfg.crl_grace);
        keep_crl_floors(&self.store, &trust)?;
        self.trust = trust;
        Ok(true)
    }

    /// The trust store (roots and CRLs).
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Builds, signs and durably stores a tip in the outbox (before any network I/O).
    pub fn compose(&self, d: Draft) -> Result<(Tip, Vec<u8>), ClientError> {
        let created = now();
        self.compose_with_id(d, TipId::new_v7(created, random10()), created)
    }

    /// Like [`Client::compose`] with a caller-chosen id and time (idempotent feeds, tests).
    pub fn compose_with_id(&self, d: Draft, id: TipId, created: Timestamp) -> Result<(Tip, Vec<u8>), ClientError> {
        self.store.check_space()?;
        let (tip, rec) = self.sign_tip(d, id, created)?;
        self.store.put_out(tip.id.as_bytes(), &rec)?;
        Ok((tip, rec.envelope))
    }

    /// Builds and signs a tip and its outbox record without storing it (the feed stores a
    /// batch in one transaction).
    pub fn sign_tip(&self, d: Draft, id: TipId, created: Timestamp) -> Result<(Tip, OutRecord), ClientError> {
        let known: Vec<String> = self
            .cfg
            .trust
            .iter()
            .filter_map(|t| match t.authority {
                tiprelay_proto::Authority::Jurisdiction(j) if j != self.cfg.jurisdiction => Some(j.to_string()),
                _ => None,
            })
            .collect();
        if d.to != self.cfg.jurisdiction && !known.iter().any(|k| k == d.to.as_str()) {
            return Err(ClientError::UnknownRecipient { to: d.to.to_string(), known: known.join(", ") });
        }
        let tip = Tip {
            id,
            from: self.cfg.jurisdiction,
            to: d.to,
            author: self.cfg.principal.clone(),
            created,
            category: d.category,
            urgency: d.urgency,
            summary: d.summary,
            details: d.details,
            lang: d.lang.unwrap_or_else(|| self.cfg.lang.clone()),
            location: d.location,
            observed_at: d.observed_at,
            valid_until: d.valid_until,
            source_reliability: d.source_reliability,
            info_credibility: d.info_credibility,
            tlp: d.tlp,
            refs: d.refs,
        };
        let envelope = self.signer.sign(&tip).map_err(ClientError::Invalid)?;
        let rec = OutRecord {
            envelope: envelope.clone(),
            created: created.as_unix_ms(),
            receipt: None,
            seq: None,
            receipted_at: None,
            ack: None,
            acked_by: None,
            acked_at: None,
            rejected: None,
            across: None,
            across_at: None,
        };
        Ok((tip, rec))
    }

    /// Whether this principal's own signing certificate is revoked by the CRL it holds.
    pub fn own_certificate_revoked(&self) -> bool {
        let Ok(der) = files::read_cert(&self.cfg.signing_cert) else { return false };
        matches!(
            self.trust.verify_cert(
                &der,
                &[],
                self.cfg.principal.authority(),
                tiprelay_proto::CertUsage::Signing,
                now()
            ),
            Err(ProtoError::Revoked(_) | ProtoError::RevokedBefore { .. })
        )
    }

    /// The error for a relay's refusal of something this principal signed: when it is
    /// `revoked` (36) and this principal's own CRL lists its signing certificate,
    /// [`ClientError::OwnCertificateRevoked`]; else the refusal.
    pub fn refusal_error(&self, e: WireError, what: impl FnOnce() -> String) -> ClientError {
        // Judged by this principal's own CRL only: the relay's text is the relay's word, and
        // a relay that claimed it could hide a refused cosignature (an audit alert).
        let ours = e.code == tiprelay_proto::ErrorCode::Revoked as u16 && self.own_certificate_revoked();
        if ours {
            return ClientError::OwnCertificateRevoked {
                identity: self.cfg.principal.to_string(),
                cert: self.cfg.signing_cert.clone(),
                what: what(),
            };
        }
        ConnError::Refused(e).into()
    }

    /// Submits an outbox tip and stores the verified receipt.
    pub async fn send(&self, conn: &RelayConn, id: &TipId) -> Result<SentTip, ClientError> {
        let mut rec = self.store.get_out(id.as_bytes())?.ok_or_else(|| ClientError::NotFound(id.to_string()))?;
        let tip = tiprelay_proto::parse::<Tip>(&rec.envelope).map_err(ClientError::Invalid)?.message;
        let answer = conn.request(&Request::Submit { envelope: rec.envelope.clone() }).await;
        let (receipt_bytes, duplicate) = match answer {
            Ok(Response::Submitted { receipt, duplicate }) => (receipt, duplicate),
            Ok(other) => return Err(ConnError::Protocol(unexpected(&other)).into()),
            Err(ConnError::Refused(e)) if is_permanent(&e) => {
                // A definitive refusal: keep the tip for the record, but never resend it.
                rec.rejected = Some(format!("{}: {}", e.name, e.reason));
                self.store.put_out(id.as_bytes(), &rec)?;
                return Err(self.refusal_error(e, || crate::t!("client-what-tip", "id" => id.to_string())));
            }
            Err(e) => return Err(e.into()),
        };
        let receipt = self.check_receipt(&receipt_bytes, &tip, &rec.envelope)?;
        rec.seq = Some(receipt.seq);
        rec.receipt = Some(receipt_bytes);
        rec.receipted_at = Some(now().as_unix_ms());
        self.store.put_out(id.as_bytes(), &rec)?;
        Ok(SentTip { tip, receipt, duplicate })
    }

    /// Submits an outbox tip like [`Client::send`]; when the connection breaks mid-request
    /// or the relay answers with a retryable refusal (a relay that died, or lost its store's
    /// lease to another, mid-request), connects again (to the next relay address when the
    /// first is gone: [`RelayConn::connect`]) and submits the same bytes again, until
    /// `within` has passed. Resubmitting is safe: the relay answers a tip it already holds
    /// with the same receipt (`duplicate`). `conn` is replaced by the connection that
    /// answered.
    pub async fn send_failover(
        &self,
        conn: &mut RelayConn,
        id: &TipId,
        within: std::time::Duration,
    ) -> Result<SentTip, ClientError> {
        let deadline = tokio::time::Instant::now() + within;
        let mut connected = true;
        loop {
            let failure = if connected {
                match tokio::time::timeout_at(deadline, self.send(conn, id)).await {
                    Err(_) => return Err(ConnError::Transport(crate::t!("tipctl-no-answer-in-time")).into()),
                    Ok(Err(ClientError::Conn(e @ (ConnError::Transport(_) | ConnError::BatchRefused(_))))) => e,
                    Ok(Err(ClientError::Conn(ConnError::Refused(e)))) if !is_permanent(&e) => ConnError::Refused(e),
                    Ok(other) => return other,
                }
            } else {
                ConnError::Transport(crate::t!("tipctl-not-connected"))
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(failure.into());
            }
            tracing::info!(tip = %id, error = %failure, "submit failed; connecting again and resubmitting");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            match tokio::time::timeout_at(deadline, RelayConn::connect(&self.cfg)).await {
                Ok(Ok(c)) => {
                    *conn = c;
                    connected = true;
                }
                Ok(Err(e)) if tokio::time::Instant::now() >= deadline => return Err(e.into()),
                Ok(Err(_)) => connected = false,
                Err(_) => return Err(failure.into()),
            }
        }
    }

    /// Submits these outbox tips in `submit_batch` requests (at most 64 tips or 256 KiB
    /// each, several in flight) and stores every verified receipt, and every definitive
    /// refusal, in one transaction. A transport failure is returned after what did arrive
    /// is stored; those tips stay pending.
    pub async fn send_batch(&self, conn: &RelayConn, ids: &[[u8; 16]]) -> Result<Resent, ClientError> {
        let recs = self.unsent(ids)?;
        let answers = submit_batches(conn, recs.iter().map(|(_, r)| r.envelope.clone()).collect()).await;
        match self.settle(recs, answers)? {
            (_, Some(e)) => Err(e),
            (out, None) => Ok(out),
        }
    }

    /// The outbox records of these ids that still wait for a receipt (none yet, not
    /// refused for good).
    pub fn unsent(&self, ids: &[[u8; 16]]) -> Result<Vec<([u8; 16], OutRecord)>, ClientError> {
        let mut recs = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.store.get_out(id)? {
                if r.receipt.is_none() && r.rejected.is_none() {
                    recs.push((*id, r));
                }
            }
        }
        Ok(recs)
    }

    /// Takes the relay's answers to a submission of `recs` (one per record, in order, as
    /// [`submit_batches`] returns them): verifies each receipt (on two threads for a large
    /// batch) and stores every verified receipt, and every definitive refusal, in one
    /// transaction. Returns what was stored and the first transport failure or untrusted
    /// receipt, if any (those tips stay pending). An error, with nothing stored, when the
    /// store fails or a stored envelope cannot be read back.
    pub fn settle(
        &self,
        recs: Vec<([u8; 16], OutRecord)>,
        answers: Vec<Result<Response, ConnError>>,
    ) -> Result<(Resent, Option<ClientError>), ClientError> {
        let checked = par_map(&recs, answers, |(_, rec), answer| {
            let tip = tiprelay_proto::parse::<Tip>(&rec.envelope).map_err(ClientError::Invalid)?.message;
            let receipt = match &answer {
                Ok(Response::Submitted { receipt, .. }) => Some(self.check_receipt(receipt, &tip, &rec.envelope)),
                _ => None,
            };
            Ok::<_, ClientError>((tip, answer, receipt))
        })
        .ok_or(ClientError::Internal("the verifying thread failed"))?;
        let mut out = Resent::default();
        let mut updates = Vec::with_capacity(recs.len());
        let mut failure: Option<ClientError> = None;
        for ((id, mut rec), checked) in recs.into_iter().zip(checked) {
            let (tip, answer, receipt) = checked?;
            match answer {
                Ok(Response::Submitted { receipt: bytes, duplicate }) => match receipt {
                    Some(Ok(r)) => {
                        rec.seq = Some(r.seq);
                        rec.receipt = Some(bytes);
                        rec.receipted_at = Some(now().as_unix_ms());
                        updates.push((id, rec));
                        out.sent.push(SentTip { tip, receipt: r, duplicate });
                    }
                    Some(Err(e)) => failure = failure.or(Some(e)),
                    None => {
                        failure = failure.or(Some(ClientError::Untrusted {
                            what: "receipt",
                            why: crate::t!("tipctl-why-unchecked"),
                        }))
                    }
                },
                Ok(other) => failure = failure.or(Some(ConnError::Protocol(unexpected(&other)).into())),
                Err(ConnError::Refused(e)) if is_permanent(&e) => {
                    rec.rejected = Some(format!("{}: {}", e.name, e.reason));
                    updates.push((id, rec));
                    out.refused.push((tip.id, e));
                }
                Err(e) => failure = failure.or(Some(e.into())),
            }
        }
        self.store.put_out_batch(&updates)?;
        Ok((out, failure))
    }

    fn check_receipt(&self, bytes: &[u8], tip: &Tip, envelope: &[u8]) -> Result<Receipt, ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "receipt", why };
        let v = verify::<Receipt>(bytes, &self.trust, now()).map_err(|e| untrusted(human(&e)))?;
        self.own_relay(&v.signer)?;
        let r = v.message;
        if r.subject != Subject::Tip
            || r.tip != tip.id
            || r.from != tip.from
            || r.to != tip.to
            || r.digest != Digest::of(envelope)
        {
            return Err(untrusted(crate::t!("tipctl-why-other-tip")));
        }
        Ok(r)
    }

    /// Sends every outbox tip that has no receipt yet and was not refused for good, in
    /// batches. Refusals are recorded and reported, not fatal; transport failures stop the
    /// round (what did arrive is stored).
    pub async fn resend(&self, conn: &RelayConn) -> Result<Resent, ClientError> {
        let mut out = Resent::default();
        for chunk in self.store.pending_out()?.chunks(256) {
            let r = self.send_batch(conn, chunk).await?;
            out.sent.extend(r.sent);
            out.refused.extend(r.refused);
        }
        for (from, tip, rec) in self.store.pending_feedback()? {
            match self.send_feedback(conn, &from, &tip, rec).await {
                Ok(_) => {}
                Err(ClientError::Conn(ConnError::Refused(e))) if is_permanent(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The received tip with this id, if held: (from, record).
    pub fn find_received(&self, id: &TipId) -> Result<Option<(String, InRecord)>, ClientError> {
        for j in self.counterparts() {
            if let Some(r) = self.store.get_in(j.as_str(), id.as_bytes())? {
                return Ok(Some((j.to_string(), r)));
            }
        }
        Ok(None)
    }

    /// Jurisdictions this client has a trust root for, other than its own.
    pub fn counterparts(&self) -> Vec<Jurisdiction> {
        self.cfg
            .trust
            .iter()
            .filter_map(|t| match t.authority {
                tiprelay_proto::Authority::Jurisdiction(j) if j != self.cfg.jurisdiction => Some(j),
                _ => None,
            })
            .collect()
    }

    /// Writes, signs and durably stores a Feedback on a received tip (before any network I/O).
    pub fn compose_feedback(
        &self,
        tip: &TipId,
        outcome: Outcome,
        note: Option<String>,
    ) -> Result<(String, FeedbackRecord), ClientError> {
        let Some((from, rec)) = self.find_received(tip)? else {
            if self.store.get_out(tip.as_bytes())?.is_some() {
                return Err(ClientError::NotPermitted(crate::t!("tipctl-feedback-own-tip", "id" => tip.to_string())));
            }
            return Err(ClientError::NotFound(tip.to_string()));
        };
        let t = tiprelay_proto::parse::<Tip>(&rec.envelope).map_err(ClientError::Invalid)?.message;
        let created = now();
        let fb = Feedback {
            id: TipId::new_v7(created, random10()),
            tip: *tip,
            from: t.from,
            to: t.to,
            by: self.cfg.principal.clone(),
            outcome,
            note,
            created,
        };
        let envelope = self.signer.sign(&fb).map_err(ClientError::Invalid)?;
        let rec = FeedbackRecord {
            envelope,
            receipt: None,
            given: true,
            outcome: outcome.as_str().into(),
            by: fb.by.to_string(),
            id: fb.id.to_string(),
            created: created.as_unix_ms(),
            accepted: None,
            rejected: None,
        };
        self.store.put_feedback(&from, tip.as_bytes(), &rec)?;
        Ok((from, rec))
    }

    /// Submits a stored feedback and records the relay's verified receipt.
    pub async fn send_feedback(
        &self,
        conn: &RelayConn,
        tip_from: &str,
        tip: &[u8; 16],
        mut rec: FeedbackRecord,
    ) -> Result<Receipt, ClientError> {
        let fb = tiprelay_proto::parse::<Feedback>(&rec.envelope).map_err(ClientError::Invalid)?.message;
        let bytes = match conn.request(&Request::Feedback { envelope: rec.envelope.clone() }).await {
            Ok(Response::Submitted { receipt, .. }) => receipt,
            Ok(other) => return Err(ConnError::Protocol(unexpected(&other)).into()),
            Err(ConnError::Refused(e)) if is_permanent(&e) => {
                rec.rejected = Some(format!("{}: {}", e.name, e.reason));
                self.store.put_feedback(tip_from, tip, &rec)?;
                return Err(self.refusal_error(e, || crate::t!("client-what-feedback", "id" => fb.id.to_string())));
            }
            Err(e) => return Err(e.into()),
        };
        let r = self.check_subject_receipt(&bytes, Subject::Feedback, &fb.id, fb.from, fb.to, &rec.envelope)?;
        rec.receipt = Some(bytes);
        rec.accepted = Some(r.accepted.as_unix_ms());
        self.store.put_feedback(tip_from, tip, &rec)?;
        Ok(r)
    }

    /// The relay that receipts for this principal: the operator's shared relay when an
    /// operator root is configured (hub mode), else this jurisdiction's own relay
    /// (federation); never the other jurisdiction's.
    pub(crate) fn own_relay(&self, signer: &tiprelay_proto::PrincipalId) -> Result<(), ClientError> {
        let authority = if self.cfg.federated() {
            tiprelay_proto::Authority::Jurisdiction(self.cfg.jurisdiction)
        } else {
            tiprelay_proto::Authority::Operator
        };
        let ok = signer.kind() == tiprelay_proto::PrincipalKind::Relay && signer.authority() == authority;
        if ok {
            return Ok(());
        }
        Err(ClientError::Untrusted {
            what: "receipt",
            why: crate::t!(
                "tipctl-why-not-our-relay",
                "signer" => signer.to_string(), "jurisdiction" => self.cfg.jurisdiction.to_string()
            ),
        })
    }

    /// Verifies a message (§6) at the time it claims (`claimed`), bounded by this clock
    /// plus the allowed skew: what a relay forwarded may have waited, and a certificate that
    /// ended meanwhile does not void it.
    fn verify_as_claimed<M: tiprelay_proto::Message>(
        &self,
        bytes: &[u8],
        claimed: impl Fn(&M) -> tiprelay_proto::Timestamp,
    ) -> Result<tiprelay_proto::Verified<M>, tiprelay_proto::ProtoError> {
        let p = tiprelay_proto::parse::<M>(bytes)?;
        let at = claimed(&p.message).min(now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS));
        verify::<M>(bytes, &self.trust, at)
    }

    /// Verifies and stores a `crossed` notice: the recipient jurisdiction's relay's receipt
    /// of a tip of ours, with the same number as our own relay's receipt (federation).
    /// Returns `Some(Some(id))` when it is new here, `Some(None)` when it was stored
    /// before, and None when it does not check (counted in `bad_crossed`).
    fn accept_crossed(&self, bytes: &[u8]) -> Result<Option<Option<TipId>>, ClientError> {
        let Ok(v) = self.verify_as_claimed::<Receipt>(bytes, |r| r.accepted) else {
            return Ok(None);
        };
        let r = v.message;
        let across = v.signer.kind() == tiprelay_proto::PrincipalKind::Relay
            && v.signer.jurisdiction() == Some(r.to)
            && r.from == self.cfg.jurisdiction
            && r.subject == Subject::Tip;
        if !across {
            return Ok(None);
        }
        let Some(mut rec) = self.store.get_out(r.tip.as_bytes())? else {
            return Ok(None);
        };
        let home = rec.receipt.as_deref().and_then(|h| tiprelay_proto::parse::<Receipt>(h).ok()).map(|p| p.message);
        let same = home.is_some_and(|h| h.seq == r.seq && h.to == r.to && h.digest == r.digest)
            && Digest::of(&rec.envelope) == r.digest;
        if !same {
            return Ok(None);
        }
        if rec.across.is_some() {
            return Ok(Some(None));
        }
        rec.across = Some(bytes.to_vec());
        rec.across_at = Some(now().as_unix_ms());
        self.store.put_out(r.tip.as_bytes(), &rec)?;
        Ok(Some(Some(r.tip)))
    }

    /// Verifies a relay receipt for a feedback or statement.
    fn check_subject_receipt(
        &self,
        bytes: &[u8],
        subject: Subject,
        id: &TipId,
        from: Jurisdiction,
        to: Jurisdiction,
        envelope: &[u8],
    ) -> Result<Receipt, ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "receipt", why };
        let at = tiprelay_proto::parse::<Receipt>(bytes).map_err(|e| untrusted(human(&e)))?.message.accepted;
        if at > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return Err(untrusted(crate::t!("tipctl-why-future")));
        }
        let v = verify::<Receipt>(bytes, &self.trust, at).map_err(|e| untrusted(human(&e)))?;
        self.own_relay(&v.signer)?;
        let r = v.message;
        if r.subject != subject || r.tip != *id || r.from != from || r.to != to || r.digest != Digest::of(envelope) {
            return Err(untrusted(crate::t!("tipctl-why-not-this-receipt", "subject" => subject.as_str())));
        }
        Ok(r)
    }

    /// Signs a ledger statement made from this principal's records and stores it.
    pub fn sign_statement(&self, st: &LedgerStatement) -> Result<Vec<u8>, ClientError> {
        let envelope = self.signer.sign(st).map_err(ClientError::Invalid)?;
        self.store.put_statement(
            st.id.as_bytes(),
            &StatementRecord { envelope: envelope.clone(), receipt: None, own: true, stored_at: now().as_unix_ms() },
        )?;
        Ok(envelope)
    }

    /// Signs any message as this principal (the message names this principal as its signer).
    pub fn sign_message<M: tiprelay_proto::Message>(&self, m: &M) -> Result<Vec<u8>, ClientError> {
        self.signer.sign(m).map_err(ClientError::Invalid)
    }

    /// The signing identity's principal URI.
    pub fn principal(&self) -> &tiprelay_proto::PrincipalId {
        &self.cfg.principal
    }

    /// Sends a signed statement to the counterpart through the relay; returns its receipt.
    pub async fn send_statement(&self, conn: &RelayConn, envelope: &[u8]) -> Result<Receipt, ClientError> {
        let st = tiprelay_proto::parse::<LedgerStatement>(envelope).map_err(ClientError::Invalid)?.message;
        let bytes = match conn.request(&Request::Statement { envelope: envelope.to_vec() }).await? {
            Response::Submitted { receipt, .. } => receipt,
            other => return Err(ConnError::Protocol(unexpected(&other)).into()),
        };
        let r =
            self.check_subject_receipt(&bytes, Subject::Statement, &st.id, st.jurisdiction, st.counterpart, envelope)?;
        self.store.put_statement(
            st.id.as_bytes(),
            &StatementRecord {
                envelope: envelope.to_vec(),
                receipt: Some(bytes),
                own: true,
                stored_at: now().as_unix_ms(),
            },
        )?;
        Ok(r)
    }

    /// Verifies a ledger statement made by the counterpart for this jurisdiction.
    pub fn check_statement(&self, envelope: &[u8]) -> Result<ReceivedStatement, ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "statement", why };
        let at = tiprelay_proto::parse::<LedgerStatement>(envelope).map_err(|e| untrusted(human(&e)))?.message.created;
        let at = at.min(now());
        let v = verify::<LedgerStatement>(envelope, &self.trust, at).map_err(|e| untrusted(human(&e)))?;
        if v.message.counterpart != self.cfg.jurisdiction {
            return Err(untrusted(crate::t!(
                "tipctl-why-other-statement",
                "by" => v.message.jurisdiction.to_string(),
                "for" => v.message.counterpart.to_string(),
                "us" => self.cfg.jurisdiction.to_string()
            )));
        }
        Ok(ReceivedStatement { statement: v.message, signer: v.signer.to_string() })
    }

    /// Collects the counterpart's statements for this jurisdiction; returns the new ones.
    pub async fn sync_statements(&self, conn: &RelayConn) -> Result<Vec<ReceivedStatement>, ClientError> {
        let mut got = Vec::new();
        for _ in 0..1024 {
            let after = self.store.meta(STATEMENT_CURSOR)?;
            let items = match conn.request(&Request::Statements { after, limit: MAX_STATEMENTS }).await? {
                Response::Statements { items } => items,
                other => return Err(ConnError::Protocol(unexpected(&other)).into()),
            };
            let Some(last) = items.last().map(|s| s.index) else {
                break;
            };
            for s in items {
                match self.check_statement(&s.statement) {
                    Ok(rs) => {
                        self.store.put_statement(
                            rs.statement.id.as_bytes(),
                            &StatementRecord {
                                envelope: s.statement,
                                receipt: Some(s.receipt),
                                own: false,
                                stored_at: now().as_unix_ms(),
                            },
                        )?;
                        got.push(rs);
                    }
                    Err(e) => {
                        tracing::warn!(index = s.index, error = %e, "a forwarded statement does not verify; skipped")
                    }
                }
            }
            self.store.set_meta(STATEMENT_CURSOR, last)?;
        }
        Ok(got)
    }

    /// The relay's ledger facts for tips accepted in `[since, until)` (pairs this
    /// jurisdiction is part of), all pages.
    pub async fn relay_records(&self, conn: &RelayConn, since: u64, until: u64) -> Result<Vec<TipFacts>, ClientError> {
        self.records_of(conn, since, until, false).await
    }

    /// Federation: the **peer relay's** records of tips accepted in `[since, until)`, asked
    /// through this principal's own relay over the link (`peer_records`, PROTOCOL §14.7).
    pub async fn peer_records(&self, conn: &RelayConn, since: u64, until: u64) -> Result<Vec<TipFacts>, ClientError> {
        self.records_of(conn, since, until, true).await
    }

    /// Federation: the **peer relay's** LedgerStatement of its own records of the pair for
    /// `[since, until)`, asked through this principal's own relay (`peer_statement`,
    /// PROTOCOL §14.7), verified: signed by a relay of `peer`, stating for `peer`, for
    /// exactly that period.
    pub async fn peer_statement(
        &self,
        conn: &RelayConn,
        peer: Jurisdiction,
        since: u64,
        until: u64,
    ) -> Result<LedgerStatement, ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "peer relay statement", why };
        let envelope = match conn.request(&Request::PeerStatement { since, until }).await? {
            Response::RelayStatement { envelope } => envelope,
            other => return Err(ConnError::Protocol(unexpected(&other)).into()),
        };
        let v =
            self.verify_as_claimed::<LedgerStatement>(&envelope, |s| s.created).map_err(|e| untrusted(human(&e)))?;
        let st = v.message;
        if v.signer.kind() != tiprelay_proto::PrincipalKind::Relay || v.signer.jurisdiction() != Some(peer) {
            return Err(untrusted(
                crate::t!("tipctl-why-not-peer-relay", "signer" => v.signer.to_string(), "peer" => peer.to_string()),
            ));
        }
        if st.jurisdiction != peer || st.period_start.as_unix_ms() != since || st.period_end.as_unix_ms() != until {
            return Err(untrusted(crate::t!("tipctl-why-other-period")));
        }
        Ok(st)
    }

    async fn records_of(
        &self,
        conn: &RelayConn,
        since: u64,
        until: u64,
        peer: bool,
    ) -> Result<Vec<TipFacts>, ClientError> {
        let mut out = Vec::new();
        let mut after: Option<RecordCursor> = None;
        let bad = |id: &str| ClientError::Untrusted { what: "records", why: crate::t!(id) };
        // Bounded: at most 20 million records (a busy decade), and the cursor must advance.
        for _ in 0..20_000 {
            let req = if peer {
                Request::PeerRecords { since, until, after: after.clone(), limit: MAX_RECORDS }
            } else {
                Request::Records { since, until, after: after.clone(), limit: MAX_RECORDS }
            };
            let (items, next) = match conn.request(&req).await? {
                Response::Records { items, next } => (items, next),
                other => return Err(ConnError::Protocol(unexpected(&other)).into()),
            };
            if items.len() as u64 > MAX_RECORDS {
                return Err(bad("tipctl-why-too-many-records"));
            }
            for f in &items {
                let t = f.accepted.map_or(0, Timestamp::as_unix_ms);
                if t < since || t >= until {
                    return Err(bad("tipctl-why-record-outside"));
                }
            }
            out.extend(items);
            match next {
                Some(n) if after.as_ref().is_none_or(|a| n > *a) => after = Some(n),
                Some(_) => return Err(bad("tipctl-why-cursor-back")),
                None => break,
            }
        }
        Ok(out)
    }

    /// Fetches every pending tip: verifies each independently (author signature and chain
    /// to the sender's root; the relay's receipt), stores each batch durably in one
    /// transaction, then acknowledges the batch. Returns the tips processed (redeliveries
    /// have `fresh == false`). Deliveries that fail verification are left unacknowledged;
    /// [`Client::fetch_inbox`] reports them.
    pub async fn sync_inbox(&self, conn: &RelayConn) -> Result<Vec<Received>, ClientError> {
        Ok(self.fetch_inbox(conn).await?.received)
    }

    /// Like [`Client::sync_inbox`], also reporting deliveries that failed verification.
    pub async fn fetch_inbox(&self, conn: &RelayConn) -> Result<InboxSync, ClientError> {
        let mut report = InboxSync::default();
        // Bounded: at most 4096 rounds of up to 256 tips per call.
        for _ in 0..4096 {
            let items = match conn.request(&Request::Fetch { limit: MAX_FETCH }).await? {
                Response::Deliveries { items } => items,
                other => return Err(ConnError::Protocol(unexpected(&other)).into()),
            };
            let mut ok = Vec::with_capacity(items.len());
            let mut recs = Vec::with_capacity(items.len());
            // The signatures are checked on two threads; the sequence check reads the store.
            let checked =
                blocking(|| par_map(&items, vec![(); items.len()], |d, ()| self.check_delivery(&d.tip, &d.receipt)))
                    .ok_or(ClientError::Internal("the verifying thread failed"))?;
            let mut refusals = Vec::new();
            for (c, d) in checked.into_iter().zip(&items) {
                match c {
                    Ok((got, _))
                        if self
                            .store
                            .seq_owner(got.tip.from.as_str(), got.receipt.seq)?
                            .is_some_and(|o| o != *got.tip.id.as_bytes()) =>
                    {
                        report.failed.push(crate::t!(
                            "tipctl-seq-reused",
                            "id" => got.tip.id.to_string(), "seq" => got.receipt.seq, "from" => got.tip.from.to_string()
                        ));
                    }
                    Ok((got, rec)) => {
                        recs.push((got.tip.from.to_string(), *got.tip.id.as_bytes(), rec));
                        ok.push(got);
                    }
                    Err(e) => match self.final_refusal(&d.tip, &d.receipt) {
                        Some(r) => refusals.push(r),
                        None => report.failed.push(e.to_string()),
                    },
                }
            }
            // Only failures that may pass later came back: they will keep coming; stop
            // this round.
            if ok.is_empty() && refusals.is_empty() {
                break;
            }
            let fresh = blocking(|| self.store.put_in_batch(&recs))?;
            for (g, f) in ok.iter_mut().zip(fresh) {
                g.fresh = f;
            }
            let mut acks = blocking(|| par_map(&ok, vec![(); ok.len()], |g, ()| self.ack_envelope(g)))
                .ok_or(ClientError::Internal("the signing thread failed"))?
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            // A refusal that cannot be signed stays a failure to report (the tip waits).
            let mut signed = Vec::with_capacity(refusals.len());
            for (r, receipt) in refusals {
                match self.refusal_envelope(&receipt, &r.refusal) {
                    Ok(env) => {
                        acks.push(env);
                        signed.push(r);
                    }
                    Err(e) => report.failed.push(e.to_string()),
                }
            }
            let mut answers = ack_batches(conn, acks).await.into_iter();
            let mut acked = Vec::with_capacity(ok.len());
            for g in &ok {
                answers.next().ok_or(ClientError::Internal("an ack went unanswered"))??;
                acked.push((g.tip.from.to_string(), *g.tip.id.as_bytes()));
            }
            blocking(|| self.store.mark_acked(&acked))?;
            for r in signed {
                match answers.next().ok_or(ClientError::Internal("a refusal went unanswered"))? {
                    Ok(()) => report.refused.push(r),
                    // The relay did not take it (one older than refusals): the tip waits.
                    Err(ConnError::Refused(e)) => report.failed.push(crate::t!(
                        "tipctl-refusal-refused", "id" => r.tip.to_string(), "reason" => e.to_string()
                    )),
                    Err(e) => return Err(e.into()),
                }
            }
            report.received.extend(ok);
        }
        Ok(report)
    }

    /// Whether a delivery that failed verification is to be refused for good (PROTOCOL
    /// §5.3): the relay's receipt verifies and names exactly these tip bytes, this
    /// principal's CRLs are usable, and the tip itself fails, as of the receipt's
    /// acceptance time, with a code of [`Refusal::FINAL`] (e.g. its author's certificate
    /// was revoked before the relay accepted it). Anything else (a receipt that does not
    /// verify, a root or CRL this principal lacks, a clock rule) is not the tip's fault and
    /// leaves it waiting. Returns the refusal with the verified receipt.
    fn final_refusal(&self, tip_bytes: &[u8], receipt_bytes: &[u8]) -> Option<(RefusedDelivery, Receipt)> {
        if !self.trust.expired_crls(now()).is_empty() {
            return None;
        }
        let accepted = tiprelay_proto::parse::<Receipt>(receipt_bytes).ok()?.message.accepted;
        if accepted > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return None;
        }
        let rv = verify::<Receipt>(receipt_bytes, &self.trust, accepted).ok()?;
        self.own_relay(&rv.signer).ok()?;
        // A receipt of a jurisdiction's own relay (federation): its `accepted` is when the tip
        // crossed, not when it was first accepted, so it cannot prove a revocation came first.
        if rv.signer.jurisdiction().is_some() {
            return None;
        }
        let receipt = rv.message;
        if receipt.subject != Subject::Tip
            || receipt.digest != Digest::of(tip_bytes)
            || receipt.to != self.cfg.jurisdiction
        {
            return None;
        }
        let e = self.verify_tip_as_of(tip_bytes, accepted).err()?;
        if !tiprelay_proto::Refusal::is_final(e.code()) {
            return None;
        }
        let mut reason: String = e.to_string().chars().filter(|c| !tiprelay_proto::is_hidden_char(*c)).collect();
        if reason.chars().count() > tiprelay_proto::messages::MAX_REFUSAL_REASON_CHARS {
            reason = reason.chars().take(tiprelay_proto::messages::MAX_REFUSAL_REASON_CHARS - 1).collect();
            reason.push('…');
        }
        let refusal = tiprelay_proto::Refusal { code: e.code(), reason };
        Some((RefusedDelivery { tip: receipt.tip, from: receipt.from, seq: receipt.seq, refusal }, receipt))
    }

    /// The signed refusal (a DeliveryAck with `refused`) of the tip `receipt` names.
    fn refusal_envelope(&self, receipt: &Receipt, refusal: &tiprelay_proto::Refusal) -> Result<Vec<u8>, ClientError> {
        let ack = DeliveryAck {
            tip: receipt.tip,
            from: receipt.from,
            to: receipt.to,
            digest: receipt.digest,
            seq: receipt.seq,
            by: self.cfg.principal.clone(),
            received: now(),
            refused: Some(refusal.clone()),
        };
        self.signer.sign(&ack).map_err(ClientError::Invalid)
    }

    /// Verifies one delivery and stores it (no network). See [`Client::fetch_inbox`].
    pub fn accept_delivery(&self, tip_bytes: &[u8], receipt_bytes: &[u8]) -> Result<Received, ClientError> {
        let (mut got, rec) = self.check_delivery(tip_bytes, receipt_bytes)?;
        got.fresh = self.store.put_in(got.tip.from.as_str(), got.tip.id.as_bytes(), &rec)?;
        Ok(got)
    }

    /// Verifies one delivery independently of the relay and builds its inbox record.
    fn check_delivery(&self, tip_bytes: &[u8], receipt_bytes: &[u8]) -> Result<(Received, InRecord), ClientError> {
        // Judge receipt and tip at the instant the relay accepted the tip: a tip may expire
        // (and a certificate may reach its end) while it waits for us, and that must not make
        // it unverifiable. That instant may not lie in our future.
        let accepted = tiprelay_proto::parse::<Receipt>(receipt_bytes)
            .map_err(|e| ClientError::Untrusted { what: "receipt", why: human(&e) })?
            .message
            .accepted;
        if accepted > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return Err(ClientError::Untrusted { what: "receipt", why: crate::t!("tipctl-why-future") });
        }
        // The CRLs' freshness is judged now, not at the (relay-signed, so backdatable)
        // acceptance time: a CRL past its grace refuses its authority's tips today.
        if let Some((a, next)) = self.trust.expired_crls(now()).into_iter().next() {
            return Err(ClientError::Untrusted {
                what: "tip",
                why: crate::t!("tipctl-why-crl-expired", "authority" => a.to_string(), "next" => next.to_string()),
            });
        }
        let rv = verify::<Receipt>(receipt_bytes, &self.trust, accepted)
            .map_err(|e| ClientError::Untrusted { what: "receipt", why: human(&e) })?;
        self.own_relay(&rv.signer)?;
        let receipt = rv.message;
        let (tv, author_revoked) = self
            .verify_tip_as_of(tip_bytes, receipt.accepted)
            .map_err(|e| ClientError::Untrusted { what: "tip", why: human(&e) })?;
        if receipt.subject != Subject::Tip
            || receipt.tip != tv.message.id
            || receipt.digest != tv.digest
            || receipt.from != tv.message.from
            || receipt.to != tv.message.to
        {
            return Err(ClientError::Untrusted { what: "receipt", why: crate::t!("tipctl-why-receipt-mismatch") });
        }
        if tv.message.to != self.cfg.jurisdiction {
            return Err(ClientError::Untrusted {
                what: "tip",
                why: crate::t!("tipctl-why-not-ours", "to" => tv.message.to.to_string()),
            });
        }
        let rec = InRecord {
            envelope: tip_bytes.to_vec(),
            receipt: receipt_bytes.to_vec(),
            seq: receipt.seq,
            signer: tv.signer.to_string(),
            received_at: now().as_unix_ms(),
            acked: false,
            read: false,
        };
        Ok((Received { tip: tv.message, receipt, signer: tv.signer.to_string(), fresh: true, author_revoked }, rec))
    }

    /// Verifies a tip at `accepted`, the acceptance time of the relay's receipt (already
    /// verified by the caller). An author whose certificate the CRL lists still vouches for
    /// it when the revocation came strictly after that time (RFC 5280 §5.3.2, PROTOCOL
    /// §6.3): then also returns when the certificate was revoked, for the note shown with
    /// the tip. Revoked at or before `accepted`: [`ProtoError::RevokedBefore`].
    pub fn verify_tip_as_of(
        &self,
        tip_bytes: &[u8],
        accepted: Timestamp,
    ) -> Result<(tiprelay_proto::Verified<Tip>, Option<Timestamp>), ProtoError> {
        verify_as_of_receipt::<Tip>(&self.trust, tip_bytes, accepted)
    }

    /// The revocation note of a stored received tip (`tipctl show`, `inbox`): None when its
    /// author's certificate is not revoked, or when the tip no longer verifies as of its
    /// receipt (then there is nothing to explain, only a failure to report elsewhere).
    pub fn revocation_note_of(&self, envelope: &[u8], receipt: &[u8]) -> Option<String> {
        let accepted = tiprelay_proto::parse::<Receipt>(receipt).ok()?.message.accepted;
        let (v, revoked) = self.verify_tip_as_of(envelope, accepted).ok()?;
        revoked.map(|r| revocation_note(&v.signer.to_string(), r, accepted))
    }

    fn ack_request(&self, got: &Received) -> Result<Request, ClientError> {
        Ok(Request::Ack { envelope: self.ack_envelope(got)? })
    }

    /// The signed DeliveryAck of a received tip.
    fn ack_envelope(&self, got: &Received) -> Result<Vec<u8>, ClientError> {
        let ack = DeliveryAck {
            tip: got.tip.id,
            from: got.tip.from,
            to: got.tip.to,
            digest: got.receipt.digest,
            seq: got.receipt.seq,
            by: self.cfg.principal.clone(),
            received: now(),
            refused: None,
        };
        self.signer.sign(&ack).map_err(ClientError::Invalid)
    }

    /// Sends the signed DeliveryAck for a stored tip and records that it was acked.
    pub async fn ack(&self, conn: &RelayConn, got: &Received) -> Result<(), ClientError> {
        conn.request(&self.ack_request(got)?).await?;
        self.store.mark_acked(&[(got.tip.from.to_string(), *got.tip.id.as_bytes())])?;
        Ok(())
    }

    /// Collects the first acks of tips this principal wrote; returns how many were new.
    /// Feedback arriving on the same channel is stored too (see [`Client::sync_notices`]).
    pub async fn sync_acks(&self, conn: &RelayConn) -> Result<usize, ClientError> {
        Ok(self.sync_notices(conn).await?.acks.len())
    }

    /// Verifies and stores a forwarded feedback on a tip of ours; None when it is not
    /// acceptable (counted in `bad_feedback`).
    fn accept_feedback(&self, fb_bytes: &[u8], receipt: &[u8]) -> Result<Option<Feedback>, ClientError> {
        let v = match self.verify_as_claimed::<Feedback>(fb_bytes, |f| f.created) {
            Ok(v) => v,
            // Its signer's certificate has been revoked since: the relay's receipt may prove
            // the feedback older than the revocation (PROTOCOL §6.3).
            Err(ProtoError::Revoked(_)) => {
                let Ok(p) = tiprelay_proto::parse::<Feedback>(fb_bytes) else {
                    return Ok(None);
                };
                let f = p.message;
                let Ok(r) = self.check_subject_receipt(receipt, Subject::Feedback, &f.id, f.from, f.to, fb_bytes)
                else {
                    return Ok(None);
                };
                match verify_as_of_receipt::<Feedback>(&self.trust, fb_bytes, r.accepted) {
                    Ok((v, _)) => v,
                    Err(_) => return Ok(None),
                }
            }
            Err(_) => return Ok(None),
        };
        let fb = v.message;
        if fb.from != self.cfg.jurisdiction || self.store.get_out(fb.tip.as_bytes())?.is_none() {
            return Ok(None);
        }
        let Ok(r) = self.check_subject_receipt(receipt, Subject::Feedback, &fb.id, fb.from, fb.to, fb_bytes) else {
            return Ok(None);
        };
        let from = fb.from.to_string();
        if self.store.feedback_for(&from, fb.tip.as_bytes())?.iter().any(|x| x.id == fb.id.to_string()) {
            return Ok(None);
        }
        let rec = FeedbackRecord {
            envelope: fb_bytes.to_vec(),
            receipt: Some(receipt.to_vec()),
            given: false,
            outcome: fb.outcome.as_str().into(),
            by: fb.by.to_string(),
            id: fb.id.to_string(),
            created: fb.created.as_unix_ms(),
            accepted: Some(r.accepted.as_unix_ms()),
            rejected: None,
        };
        self.store.put_feedback(&from, fb.tip.as_bytes(), &rec)?;
        Ok(Some(fb))
    }

    /// Collects notices about tips this principal wrote: first acks and feedback.
    pub async fn sync_notices(&self, conn: &RelayConn) -> Result<Notices, ClientError> {
        let mut got = Notices::default();
        for _ in 0..1024 {
            let after = self.store.meta(ACK_CURSOR)?;
            let items = match conn.request(&Request::Acks { after, limit: MAX_ACKS }).await? {
                Response::Acks { items } => items,
                other => return Err(ConnError::Protocol(unexpected(&other)).into()),
            };
            let Some(last) = items.last().map(|a| a.index) else {
                break;
            };
            for a in items {
                let ack = match a.body {
                    NoticeBody::Ack(ack) => ack,
                    NoticeBody::Crossed(receipt) => {
                        match self.accept_crossed(&receipt)? {
                            Some(Some(id)) => got.crossed.push(id),
                            Some(None) => {}
                            None => self.store.set_meta(BAD_CROSSED, self.store.meta(BAD_CROSSED)? + 1)?,
                        }
                        continue;
                    }
                    NoticeBody::Feedback { feedback, receipt } => {
                        match self.accept_feedback(&feedback, &receipt)? {
                            Some(fb) => got.feedback.push(fb),
                            None => self.store.set_meta(BAD_FEEDBACK, self.store.meta(BAD_FEEDBACK)? + 1)?,
                        }
                        continue;
                    }
                };
                // Judge the ack at the time it claims (bounded by our clock), so a signer's
                // certificate expiring later does not make it unverifiable; an ack that
                // fails is skipped (and counted), never allowed to block the ones after it.
                let at = match tiprelay_proto::parse::<DeliveryAck>(&ack) {
                    Ok(p)
                        if p.message.received <= now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) =>
                    {
                        p.message.received
                    }
                    _ => now(),
                };
                let Ok(v) = verify::<DeliveryAck>(&ack, &self.trust, at) else {
                    self.store.set_meta(BAD_ACKS, self.store.meta(BAD_ACKS)? + 1)?;
                    continue;
                };
                if let Some(mut rec) = self.store.get_out(v.message.tip.as_bytes())? {
                    let receipt = rec
                        .receipt
                        .as_deref()
                        .and_then(|r| tiprelay_proto::parse::<Receipt>(r).ok())
                        .map(|p| p.message);
                    let matches = receipt.is_some_and(|r| {
                        r.seq == v.message.seq
                            && r.from == v.message.from
                            && r.to == v.message.to
                            && r.digest == v.message.digest
                    });
                    if !matches {
                        self.store.set_meta(BAD_ACKS, self.store.meta(BAD_ACKS)? + 1)?;
                        continue;
                    }
                    // The first answer of the recipient side is kept: an ack, or a signed
                    // refusal (then the outbox shows the tip as refused, with its reason).
                    if Digest::of(&rec.envelope) == v.message.digest && rec.ack.is_none() {
                        rec.ack = Some(ack.clone());
                        rec.acked_by = Some(v.signer.to_string());
                        rec.acked_at = Some(now().as_unix_ms());
                        self.store.put_out(v.message.tip.as_bytes(), &rec)?;
                        match v.message.refused {
                            Some(r) => got.refused.push((v.message.tip, v.signer.to_string(), r)),
                            None => got.acks.push(v.message.tip),
                        }
                    }
                }
            }
            self.store.set_meta(ACK_CURSOR, last)?;
        }
        Ok(got)
    }
}
