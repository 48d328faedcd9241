//! The client's side of the relay's audit log (DESIGN §7): verify each checkpoint against
//! the one verified before (consistency proof), raise an alert on a fork or a rollback,
//! cosign consistent checkpoints, and prove a tip's acceptance entry.

use tiprelay_proto::audit::{AuditEntry, SignedCheckpoint};
use tiprelay_proto::merkle::{leaf_hash, verify_consistency, verify_inclusion};
use tiprelay_proto::wire::{Request, Response};
use tiprelay_proto::{parse, verify, Checkpoint, Cosignature, Receipt, TipId};

use crate::client::{now, Client, ClientError};
use crate::conn::{ConnError, RelayConn};

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
    ConnError::Protocol(format!("unexpected answer to `{what}`")).into()
}

impl Client {
    fn verify_checkpoint(&self, sc: &SignedCheckpoint) -> Result<(Checkpoint, Vec<String>), ClientError> {
        let untrusted = |why: String| ClientError::Untrusted { what: "checkpoint", why };
        let at = parse::<Checkpoint>(&sc.checkpoint).map_err(|e| untrusted(e.to_string()))?.message.time;
        if at > now().saturating_add_ms(tiprelay_proto::limits::MAX_CLOCK_SKEW_MS) {
            return Err(untrusted("it is dated in the future".into()));
        }
        let c = verify::<Checkpoint>(&sc.checkpoint, self.trust(), at).map_err(|e| untrusted(e.to_string()))?.message;
        if c.relay.kind() != tiprelay_proto::PrincipalKind::Relay {
            return Err(untrusted(format!("it is {}'s local log, not the relay's", c.relay)));
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

    fn alert(&self, text: String) -> ClientError {
        let _ = self.store.add_audit_alert(now().as_unix_ms(), &text);
        tracing::error!(alert = %text, "audit log inconsistency");
        ClientError::LogInconsistent(text)
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
                return Err(self.alert(format!(
                    "the relay now shows no signed checkpoint at all, but this client verified one of size {} \
                     (root {}): its log was rolled back or replaced",
                    p.size,
                    p.root.to_hex()
                )));
            }
            return Ok(LogStatus { checkpoint: None, previous_size: None, cosigners: vec![], witnessed: false });
        };
        let (c, cosigners) = match self.verify_checkpoint(&sc) {
            Ok(x) => x,
            Err(e) => return Err(self.alert(format!("the relay's newest checkpoint does not verify: {e}"))),
        };
        if let Some(p) = &prev {
            if c.time < p.time {
                return Err(self.alert(format!(
                    "the relay's checkpoint is dated {} , before the one verified earlier ({})",
                    c.time, p.time
                )));
            }
        }
        if let Some(p) = &prev {
            if c.log != p.log {
                return Err(self.alert(format!("the relay's log is now {}, not {}", c.log, p.log)));
            }
            if c.size < p.size {
                return Err(self.alert(format!(
                    "the relay's log shrank from {} entries (verified before, root {}) to {} (root {}): \
                     it was rolled back",
                    p.size,
                    p.root.to_hex(),
                    c.size,
                    c.root.to_hex()
                )));
            }
            if c.size == p.size && c.root != p.root {
                return Err(self.alert(format!(
                    "two different signed roots for the first {} entries ({} verified before, {} now): \
                     the relay shows different histories",
                    c.size,
                    p.root.to_hex(),
                    c.root.to_hex()
                )));
            }
            if c.size > p.size {
                let proof = match conn.request(&Request::Consistency { old: p.size, new: c.size }).await {
                    Ok(Response::Proof { proof, .. }) => proof,
                    Ok(_) | Err(ConnError::Refused(_)) | Err(ConnError::Protocol(_)) => {
                        return Err(self.alert(format!(
                            "the relay signed a checkpoint of {} entries but will not prove it extends the one of {} \
                             verified before",
                            c.size, p.size
                        )))
                    }
                    Err(e) => return Err(e.into()),
                };
                if let Err(e) = verify_consistency(p.size, c.size, &p.root, &c.root, &proof) {
                    return Err(self.alert(format!(
                        "the relay's checkpoint of {} entries does not extend the one of {} verified before \
                         ({e}): the relay shows different histories",
                        c.size, p.size
                    )));
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
                Err(ConnError::Refused(e)) => {
                    return Err(self.alert(format!("the relay refused this client's cosignature: {e}")));
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
            Some(r) => r.receipt.ok_or_else(|| ClientError::NotFound(format!("{id} (it has no receipt yet)")))?,
            None => self.find_received(id)?.ok_or_else(|| ClientError::NotFound(id.to_string()))?.1.receipt,
        };
        let receipt = parse::<Receipt>(&receipt_bytes).map_err(ClientError::Invalid)?.message;
        let mut status = self.check_log(conn, false).await?;
        if status.checkpoint.as_ref().is_none_or(|c| c.size <= receipt.log_index) {
            status = self.check_log_fresh(conn, false, true).await?;
        }
        let c = status.checkpoint.ok_or_else(|| ClientError::NotFound("a relay checkpoint".into()))?;
        let (entry, proof) = match conn.request(&Request::Inclusion { index: receipt.log_index, size: c.size }).await? {
            Response::Proof { entry: Some(entry), proof } => (entry, proof),
            Response::Proof { entry: None, .. } => {
                return Err(ClientError::Untrusted {
                    what: "proof",
                    why: "the relay did not return the entry of this tip".into(),
                })
            }
            _ => return Err(unexpected("inclusion")),
        };
        let bad = |why: String| ClientError::Untrusted { what: "proof", why };
        let e = AuditEntry::decode(&entry).map_err(|e| bad(format!("the log entry is unreadable: {e}")))?;
        let matches = e.index == receipt.log_index
            && e.kind == "accepted"
            && e.tip.as_deref() == Some(id.to_string().as_str())
            && e.digest.as_deref() == Some(receipt.digest.to_hex().as_str())
            && e.seq == Some(receipt.seq);
        if !matches {
            return Err(bad(format!("entry {} is not the acceptance of tip {id} named by its receipt", e.index)));
        }
        verify_inclusion(&leaf_hash(&entry), receipt.log_index, c.size, &proof, &c.root)
            .map_err(|err| bad(format!("the inclusion proof does not verify: {err}")))?;
        Ok(Proven { receipt, entry: e, proof_len: proof.len(), checkpoint: c, cosigners: status.cosigners })
    }
}
