//! Client operations: compose and send tips (outbox first), fetch, verify, store and ack
//! incoming tips, collect acks of sent tips, and report.

use tiprelay_proto::wire::{Request, Response, MAX_ACKS, MAX_FETCH};
use tiprelay_proto::{
    verify, Category, DeliveryAck, Digest, InfoCredibility, Jurisdiction, Lang, Location, ProtoError, Receipt, Signer,
    SourceReliability, Timestamp, Tip, TipId, Tlp, TrustStore, Urgency,
};

use crate::config::ClientConfig;
use crate::conn::{ConnError, RelayConn};
use crate::files;
use crate::store::{InRecord, LocalStore, OutRecord, ACK_CURSOR, BAD_ACKS};

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
    #[error("{0}")]
    Invalid(ProtoError),
    /// The tip is addressed to a jurisdiction this client does not know.
    #[error("{to} is not a jurisdiction this client exchanges tips with (configured: {known})")]
    UnknownRecipient {
        /// The recipient asked for.
        to: String,
        /// The configured ones.
        known: String,
    },
    /// The relay's answer does not verify.
    #[error("the relay's {what} does not verify: {why}")]
    Untrusted {
        /// Receipt, tip, ack.
        what: &'static str,
        /// Why.
        why: String,
    },
    /// No such tip here.
    #[error("no tip {0} in the local store")]
    NotFound(String),
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
}

/// Outcome of an inbox synchronisation.
#[derive(Debug, Default)]
pub struct InboxSync {
    /// Tips verified, stored and acknowledged.
    pub received: Vec<Received>,
    /// Deliveries that failed verification (left unacknowledged), with the reason.
    pub failed: Vec<String>,
}

/// Outcome of a resend round.
#[derive(Debug, Default)]
pub struct Resent {
    /// Tips now receipted.
    pub sent: Vec<SentTip>,
    /// Tips the relay refused for good (recorded, not resent).
    pub refused: Vec<(TipId, tiprelay_proto::wire::WireError)>,
}

/// Whether a relay refusal is final for this tip (retrying the same bytes cannot help).
pub fn is_permanent(e: &tiprelay_proto::wire::WireError) -> bool {
    use tiprelay_proto::ErrorCode as C;
    !matches!(C::from_u16(e.code), Some(C::Unavailable | C::StorageFull) | None)
}

/// Names an unexpected answer without echoing its content (it may carry envelopes).
fn unexpected(r: &Response) -> String {
    let kind = match r {
        Response::Submitted { .. } => "submitted",
        Response::Deliveries { .. } => "deliveries",
        Response::Acked => "acked",
        Response::Acks { .. } => "acks",
        Response::Status { .. } => "status",
        Response::Event { .. } => "event",
        Response::Error(_) => "error",
    };
    format!("unexpected `{kind}` answer")
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

/// A principal's client: its configuration, keys, trust and local store.
pub struct Client {
    /// Configuration.
    pub cfg: ClientConfig,
    /// Local store.
    pub store: LocalStore,
    trust: TrustStore,
    signer: Signer,
}

impl Client {
    /// Loads keys and trust and opens the local store.
    pub fn open(cfg: ClientConfig) -> Result<Self, ClientError> {
        let trust = files::load_trust(&cfg.trust)?;
        let signer = files::read_signer(&cfg.signing_key, &cfg.signing_cert)?;
        let store = LocalStore::open(&cfg.store)?;
        Ok(Self { cfg, store, trust, signer })
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
        };
        self.store.put_out(tip.id.as_bytes(), &rec)?;
        Ok((tip, envelope))
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
                return Err(ConnError::Refused(e).into());
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

    fn check_receipt(&self, bytes: &[u8], tip: &Tip, envelope: &[u8]) -> Result<Receipt, ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "receipt", why };
        let v = verify::<Receipt>(bytes, &self.trust, now()).map_err(|e| untrusted(e.to_string()))?;
        let r = v.message;
        if r.tip != tip.id || r.from != tip.from || r.to != tip.to || r.digest != Digest::of(envelope) {
            return Err(untrusted("it names another tip or another digest".into()));
        }
        Ok(r)
    }

    /// Sends every outbox tip that has no receipt yet and was not refused for good.
    /// Refusals are recorded and reported, not fatal; transport failures stop the round.
    pub async fn resend(&self, conn: &RelayConn) -> Result<Resent, ClientError> {
        let mut out = Resent::default();
        for id in self.store.pending_out()? {
            let id = TipId::from_bytes(id).map_err(|e| ClientError::NotFound(e.to_string()))?;
            match self.send(conn, &id).await {
                Ok(s) => out.sent.push(s),
                Err(ClientError::Conn(ConnError::Refused(e))) if is_permanent(&e) => out.refused.push((id, e)),
                Err(e) => return Err(e),
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
            for d in &items {
                match self.check_delivery(&d.tip, &d.receipt) {
                    Ok((got, _))
                        if self
                            .store
                            .seq_owner(got.tip.from.as_str(), got.receipt.seq)?
                            .is_some_and(|o| o != *got.tip.id.as_bytes()) =>
                    {
                        report.failed.push(format!(
                            "the relay numbered tip {} as seq {} from {}, a number it already gave another tip; refused",
                            got.tip.id, got.receipt.seq, got.tip.from
                        ));
                    }
                    Ok((got, rec)) => {
                        recs.push((got.tip.from.to_string(), *got.tip.id.as_bytes(), rec));
                        ok.push(got);
                    }
                    Err(e) => report.failed.push(e.to_string()),
                }
            }
            // Only failures came back: they will keep coming; stop this round.
            if ok.is_empty() {
                break;
            }
            let fresh = self.store.put_in_batch(&recs)?;
            for (g, f) in ok.iter_mut().zip(fresh) {
                g.fresh = f;
            }
            let acks = ok.iter().map(|g| self.ack_request(g)).collect::<Result<Vec<_>, _>>()?;
            let answers = conn.request_many(acks).await;
            let mut acked = Vec::with_capacity(ok.len());
            for (g, a) in ok.iter().zip(answers) {
                a?;
                acked.push((g.tip.from.to_string(), *g.tip.id.as_bytes()));
            }
            self.store.mark_acked(&acked)?;
            report.received.extend(ok);
        }
        Ok(report)
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
            .map_err(|e| ClientError::Untrusted { what: "receipt", why: e.to_string() })?
            .message
            .accepted;
        if accepted > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return Err(ClientError::Untrusted { what: "receipt", why: "its acceptance time is in the future".into() });
        }
        let rv = verify::<Receipt>(receipt_bytes, &self.trust, accepted)
            .map_err(|e| ClientError::Untrusted { what: "receipt", why: e.to_string() })?;
        let receipt = rv.message;
        let tv = verify::<Tip>(tip_bytes, &self.trust, receipt.accepted)
            .map_err(|e| ClientError::Untrusted { what: "tip", why: e.to_string() })?;
        if receipt.tip != tv.message.id
            || receipt.digest != tv.digest
            || receipt.from != tv.message.from
            || receipt.to != tv.message.to
        {
            return Err(ClientError::Untrusted {
                what: "receipt",
                why: "it does not match the tip it came with".into(),
            });
        }
        if tv.message.to != self.cfg.jurisdiction {
            return Err(ClientError::Untrusted {
                what: "tip",
                why: format!("it is addressed to {}, not to us", tv.message.to),
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
        Ok((Received { tip: tv.message, receipt, signer: tv.signer.to_string(), fresh: true }, rec))
    }

    fn ack_request(&self, got: &Received) -> Result<Request, ClientError> {
        let ack = DeliveryAck {
            tip: got.tip.id,
            from: got.tip.from,
            to: got.tip.to,
            digest: got.receipt.digest,
            seq: got.receipt.seq,
            by: self.cfg.principal.clone(),
            received: now(),
        };
        Ok(Request::Ack { envelope: self.signer.sign(&ack).map_err(ClientError::Invalid)? })
    }

    /// Sends the signed DeliveryAck for a stored tip and records that it was acked.
    pub async fn ack(&self, conn: &RelayConn, got: &Received) -> Result<(), ClientError> {
        conn.request(&self.ack_request(got)?).await?;
        self.store.mark_acked(&[(got.tip.from.to_string(), *got.tip.id.as_bytes())])?;
        Ok(())
    }

    /// Collects the first acks of tips this principal wrote; returns how many were new.
    pub async fn sync_acks(&self, conn: &RelayConn) -> Result<usize, ClientError> {
        let mut n = 0;
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
                // Judge the ack at the time it claims (bounded by our clock), so a signer's
                // certificate expiring later does not make it unverifiable; an ack that
                // fails is skipped (and counted), never allowed to block the ones after it.
                let at = match tiprelay_proto::parse::<DeliveryAck>(&a.ack) {
                    Ok(p)
                        if p.message.received <= now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) =>
                    {
                        p.message.received
                    }
                    _ => now(),
                };
                let Ok(v) = verify::<DeliveryAck>(&a.ack, &self.trust, at) else {
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
                    if Digest::of(&rec.envelope) == v.message.digest && rec.ack.is_none() {
                        rec.ack = Some(a.ack.clone());
                        rec.acked_by = Some(v.signer.to_string());
                        rec.acked_at = Some(now().as_unix_ms());
                        self.store.put_out(v.message.tip.as_bytes(), &rec)?;
                        n += 1;
                    }
                }
            }
            self.store.set_meta(ACK_CURSOR, last)?;
        }
        Ok(n)
    }
}
