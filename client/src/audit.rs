//! The client's side of the relay's audit log (DESIGN §7): verify each checkpoint against
//! the one verified before (consistency proof), raise an alert on a fork or a rollback,
//! cosign consistent checkpoints, and prove a tip's acceptance entry.

use tiprelay_proto::audit::{AuditEntry, SignedCheckpoint};
use tiprelay_proto::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::{parse, verify, Checkpoint, Cosignature, Receipt, TipId};

use crate::client::{now, Client, ClientError};
use crate::conn::{ConnError, RelayConn};
use crate::i18n::{self, FluentValue, Locale};
use crate::t;

/// Fluent arguments: `args!("name" => value, …)`.
macro_rules! args {
    ($($k:literal => $v:expr),* $(,)?) => {
        &[$(($k, FluentValue::from($v))),*]
    };
}

/// What a log check established.
#[derive(Debug, Clone)]
pub struct LogStatus {
    /// The checkpoint now trusted (None: the relay has signed none yet).
    pub checkpoint: Option<Checkpoint>,
    /// The size of the checkpoint trusted before, if any.
    pub previous_size: Option<u64>,
    /// Principals whose cosignatures of it verified.
    pub cosigners: Vec<String>,
    /// True when this client cosigned it just now.
    pub witnessed: bool,
}

/// A proven acceptance.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The receipt of the tip.
    pub receipt: Receipt,
    /// The log entry of its acceptance.
    pub entry: AuditEntry,
    /// The checkpoint it was proven against.
    pub checkpoint: Checkpoint,
    /// The proof (RFC 9162 audit path).
    pub proof_len: usize,
    /// Principals who cosigned that checkpoint.
    pub cosigners: Vec<String>,
}

fn unexpected(what: &str) -> ClientError {
    ConnError::Protocol(t!("audit-unexpected-answer", "request" => what.to_owned())).into()
}

impl Client {
    fn verify_checkpoint(&self, sc: &SignedCheckpoint) -> Result<(Checkpoint, Vec<String>), ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "checkpoint", why };
        let at = parse::<Checkpoint>(&sc.checkpoint).map_err(|e| untrusted(e.to_string()))?.message.time;
        if at > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return Err(untrusted(t!("audit-future-checkpoint")));
        }
        let c = verify::<Checkpoint>(&sc.checkpoint, self.trust(), at).map_err(|e| untrusted(e.to_string()))?.message;
        if c.relay.kind() != tiprelay_proto::PrincipalKind::Relay {
            return Err(untrusted(t!("audit-local-not-relay", "log" => c.relay.to_string())));
        }
        // The log of this principal's own relay (never the other jurisdiction's, served by ours).
        self.own_relay(&c.relay).map_err(|e| untrusted(e.to_string()))?;
        let mut cosigners = Vec::new();
        let latest = now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS);
        for cs in &sc.cosignatures {
            let Ok(p) = parse::<Cosignature>(cs) else { continue };
            // Judged when it claims it was made, which may not be before the checkpoint
            // nor after our own clock.
            if p.message.created < at || p.message.created > latest {
                continue;
            }
            if let Ok(v) = verify::<Cosignature>(cs, self.trust(), p.message.created) {
                if v.message.covers(&c) {
                    cosigners.push(v.signer.to_string());
                }
            }
        }
        Ok((c, cosigners))
    }

    /// Records the alert `id` (in English: the local store and the log keep it as data, and
    /// `tipctl audit status --json` shows it as stored) and returns it as an error in this
    /// process's language.
    fn alert(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> ClientError {
        let stored = i18n::tr_in(Locale::En, id, args);
        let _ = self.store.add_audit_alert(now().as_unix_ms(), &stored);
        tracing::error!(alert = %stored, "audit log inconsistency");
        ClientError::LogInconsistent(i18n::tr(id, args))
    }

    /// Fetches the relay's newest checkpoint, verifies its signature and that it extends
    /// the checkpoint verified before (a consistency proof), stores it, and cosigns it when
    /// `[audit] witness` is on (or `witness` is true). A fork or a rollback is an error and
    /// an alert recorded in the local store.
    pub async fn check_log(&self, conn: &RelayConn, witness: bool) -> Result<LogStatus, ClientError> {
        self.check_log_fresh(conn, witness, false).await
    }

    /// Like [`Client::check_log`]; with `fresh`, the relay first signs a checkpoint of
    /// every entry so far.
    pub async fn check_log_fresh(
        &self,
        conn: &RelayConn,
        witness: bool,
        fresh: bool,
    ) -> Result<LogStatus, ClientError> {
        let sc = match conn.request(&Request::Checkpoint { fresh }).await? {
            Response::Checkpoint { checkpoint } => checkpoint,
            _ => return Err(unexpected("checkpoint")),
        };
        let prev = match self.store.audit_checkpoint()? {
            Some(b) => Some(parse::<Checkpoint>(&b).map_err(ClientError::Invalid)?.message),
            None => None,
        };
        let Some(sc) = sc else {
            if let Some(p) = prev {
                return Err(self.alert(
                    "audit-alert-no-checkpoint",
                    args!("size" => p.size.to_string(), "root" => p.root.to_hex()),
                ));
            }
            return Ok(LogStatus { checkpoint: None, previous_size: None, cosigners: vec![], witnessed: false });
        };
        let (c, cosigners) = match self.verify_checkpoint(&sc) {
            Ok(x) => x,
            Err(e) => return Err(self.alert("audit-alert-unverified", args!("reason" => e.to_string()))),
        };
        if let Some(p) = &prev {
            if c.time < p.time {
                return Err(self.alert(
                    "audit-alert-earlier",
                    args!("time" => c.time.to_string(), "before" => p.time.to_string()),
                ));
            }
        }
        if let Some(p) = &prev {
            if c.log != p.log {
                return Err(
                    self.alert("audit-alert-other-log", args!("log" => c.log.clone(), "before" => p.log.clone()))
                );
            }
            if c.size < p.size {
                return Err(self.alert(
                    "audit-alert-shrank",
                    args!(
                        "before" => p.size.to_string(),
                        "before_root" => p.root.to_hex(),
                        "size" => c.size.to_string(),
                        "root" => c.root.to_hex(),
                    ),
                ));
            }
            if c.size == p.size && c.root != p.root {
                return Err(self.alert(
                    "audit-alert-two-roots",
                    args!("size" => c.size.to_string(), "before_root" => p.root.to_hex(), "root" => c.root.to_hex()),
                ));
            }
            if c.size > p.size {
                let proof = match conn.request(&Request::Consistency { old: p.size, new: c.size }).await {
                    Ok(Response::Proof { proof, .. }) => proof,
                    Ok(_) | Err(ConnError::Refused(_)) | Err(ConnError::Protocol(_)) => {
                        return Err(self.alert(
                            "audit-alert-no-proof",
                            args!("size" => c.size.to_string(), "before" => p.size.to_string()),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                };
                if let Err(e) = verify_consistency(p.size, c.size, &p.root, &c.root, &proof) {
                    return Err(self.alert(
                        "audit-alert-not-extending",
                        args!("size" => c.size.to_string(), "before" => p.size.to_string(), "reason" => e.to_string()),
                    ));
                }
            }
        }
        self.store.set_audit_checkpoint(&sc.checkpoint)?;
        let mut witnessed = false;
        if witness && !cosigners.iter().any(|w| *w == self.cfg.principal.to_string()) {
            let cs = Cosignature {
                log: c.log.clone(),
                size: c.size,
                root: c.root,
                checkpoint_time: c.time,
                by: self.cfg.principal.clone(),
                created: now(),
            };
            let envelope = self.sign_message(&cs)?;
            match conn.request(&Request::Cosign { envelope }).await {
                Ok(_) => witnessed = true,
                // This principal's own certificate revoked: it cannot witness any more; that
                // is not an inconsistency of the relay's log.
                Err(ConnError::Refused(e))
                    if matches!(
                        self.refusal_error(e.clone(), String::new),
                        ClientError::OwnCertificateRevoked { .. }
                    ) =>
                {
                    return Err(self.refusal_error(e, || crate::t!("client-what-cosignature")));
                }
                Err(ConnError::Refused(e)) => {
                    return Err(self.alert("audit-alert-cosign-refused", args!("reason" => e.to_string())));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(LogStatus { checkpoint: Some(c), previous_size: prev.map(|p| p.size), cosigners, witnessed })
    }

    /// Proves that the relay's log holds the acceptance of tip `id` (sent or received
    /// here), against a fresh checkpoint consistent with every one verified before.
    pub async fn prove(&self, conn: &RelayConn, id: &TipId) -> Result<Proven, ClientError> {
        let receipt_bytes = match self.store.get_out(id.as_bytes())? {
            Some(r) => {
                r.receipt.ok_or_else(|| ClientError::NotFound(t!("audit-no-receipt-yet", "tip" => id.to_string())))?
            }
            None => self.find_received(id)?.ok_or_else(|| ClientError::NotFound(id.to_string()))?.1.receipt,
        };
        let receipt = parse::<Receipt>(&receipt_bytes).map_err(ClientError::Invalid)?.message;
        let mut status = self.check_log(conn, false).await?;
        if status.checkpoint.as_ref().is_none_or(|c| c.size <= receipt.log_index) {
            status = self.check_log_fresh(conn, false, true).await?;
        }
        let c = status.checkpoint.ok_or_else(|| ClientError::NotFound(t!("audit-a-relay-checkpoint")))?;
        let (entry, proof) = match conn.request(&Request::Inclusion { index: receipt.log_index, size: c.size }).await? {
            Response::Proof { entry: Some(entry), proof } => (entry, proof),
            Response::Proof { entry: None, .. } => {
                return Err(ClientError::Untrusted { what: "proof", why: t!("audit-no-entry") })
            }
            _ => return Err(unexpected("inclusion")),
        };
        let bad = |why: String| ClientError::Untrusted { what: "proof", why };
        let e = AuditEntry::decode(&entry).map_err(|e| bad(t!("audit-entry-unreadable", "reason" => e.to_string())))?;
        let matches = e.index == receipt.log_index
            && e.kind == "accepted"
            && e.tip.as_deref() == Some(id.to_string().as_str())
            && e.digest.as_deref() == Some(receipt.digest.to_hex().as_str())
            && e.seq == Some(receipt.seq);
        if !matches {
            return Err(bad(t!("audit-entry-mismatch", "index" => e.index.to_string(), "tip" => id.to_string())));
        }
        verify_inclusion(&leaf_hash(&entry), receipt.log_index, c.size, &proof, &c.root)
            .map_err(|err| bad(t!("audit-inclusion-failed", "reason" => err.to_string())))?;
        Ok(Proven { receipt, entry: e, proof_len: proof.len(), checkpoint: c, cosigners: status.cosigners })
    }
}
