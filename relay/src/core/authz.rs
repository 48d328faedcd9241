//! Who may make which request (PROTOCOL §10.6): the authorization table by principal kind.
//!
//! | request | analyst | feed | relay (peer) |
//! |---|---|---|---|
//! | `submit`, `submit_batch` | yes | yes | no |
//! | `acks` (own notices), `subscribe` | yes | yes | no |
//! | `status` | yes | yes | yes |
//! | `fetch`, `ack` | yes | no | no |
//! | `ack_batch`, `feedback`, `statement` | yes | no | yes (its jurisdiction's) |
//! | `statements`, `inclusion`, `peer_records` | yes | no | no |
//! | `records` | yes | no | yes (for reconciliation across the link) |
//! | `checkpoint`, `consistency`, `cosign` | yes | no | yes |
//! | `forward`, `relay_statement` | no | no | yes |
//! | `peer_statement` | yes | no | no |
//!
//! Feeds only send: they read nothing of the bilateral exchange but the notices about
//! their own tips. A principal of kind `relay` connects only to a federated relay, as its
//! peer (PROTOCOL §14): it forwards its jurisdiction's tips, acks, feedback and statements,
//! and witnesses this relay's log.
//!
//! Who may connect at all ([`admitted`]) is decided at the TLS handshake: on the shared
//! relay (hub mode) any analyst or feed of a served jurisdiction; on a federated relay only
//! its own jurisdiction's analysts and feeds, and the peer jurisdiction's relay.

use tiprelay_proto::wire::{Request, WireError};
use tiprelay_proto::{ErrorCode, Jurisdiction, PrincipalId, PrincipalKind};

/// Whether `identity` (whose certificate already verified against its authority's root)
/// may connect to this relay: `federation` is `(home, peer relay)` on a federated relay,
/// None on the shared one. The refusal says why, for the relay's log (the TLS handshake
/// fails).
pub fn admitted(identity: &PrincipalId, federation: Option<(Jurisdiction, &PrincipalId)>) -> Result<(), String> {
    let j = identity.jurisdiction();
    match (federation, identity.kind()) {
        (None, PrincipalKind::Analyst | PrincipalKind::Feed) => Ok(()),
        (None, PrincipalKind::Relay) => {
            Err(format!("{identity} is a relay: relays peer only with a federated relay, not with the shared one"))
        }
        (Some((home, _)), PrincipalKind::Analyst | PrincipalKind::Feed) if j == Some(home) => Ok(()),
        (Some((home, _)), PrincipalKind::Analyst | PrincipalKind::Feed) => Err(format!(
            "this is {home}'s own relay: {identity} is not a principal of {home}; principals connect to their own \
             jurisdiction's relay"
        )),
        (Some((_, peer)), PrincipalKind::Relay) if identity == peer => Ok(()),
        (Some((_, peer)), PrincipalKind::Relay) => {
            Err(format!("{identity} is not {peer}, the only relay that peers with this one"))
        }
    }
}

/// The request's name on the wire (PROTOCOL §10), for messages, logs and metrics.
pub fn request_name(req: &Request) -> &'static str {
    match req {
        Request::Submit { .. } => "submit",
        Request::SubmitBatch { .. } => "submit_batch",
        Request::AckBatch { .. } => "ack_batch",
        Request::Fetch { .. } => "fetch",
        Request::Ack { .. } => "ack",
        Request::Acks { .. } => "acks",
        Request::Status => "status",
        Request::Subscribe => "subscribe",
        Request::Feedback { .. } => "feedback",
        Request::Statement { .. } => "statement",
        Request::Records { .. } => "records",
        Request::Statements { .. } => "statements",
        Request::Checkpoint { .. } => "checkpoint",
        Request::Inclusion { .. } => "inclusion",
        Request::Consistency { .. } => "consistency",
        Request::Cosign { .. } => "cosign",
        Request::Forward { .. } => "forward",
        Request::PeerRecords { .. } => "peer_records",
        Request::PeerStatement { .. } => "peer_statement",
        Request::RelayStatement { .. } => "relay_statement",
    }
}

/// Whether a principal of `kind` may make `req`; the refusal is `not_permitted`.
pub fn authorize(kind: PrincipalKind, req: &Request) -> Result<(), WireError> {
    let allowed = match kind {
        PrincipalKind::Analyst => !matches!(req, Request::Forward { .. } | Request::RelayStatement { .. }),
        PrincipalKind::Feed => matches!(
            req,
            Request::Submit { .. }
                | Request::SubmitBatch { .. }
                | Request::Acks { .. }
                | Request::Status
                | Request::Subscribe
        ),
        PrincipalKind::Relay => matches!(
            req,
            Request::Forward { .. }
                | Request::AckBatch { .. }
                | Request::Feedback { .. }
                | Request::Statement { .. }
                | Request::Status
                | Request::Records { .. }
                | Request::RelayStatement { .. }
                | Request::Checkpoint { .. }
                | Request::Consistency { .. }
                | Request::Cosign { .. }
        ),
    };
    if allowed {
        return Ok(());
    }
    let why = match kind {
        PrincipalKind::Feed => "feeds may only submit tips and read the status and notices of their own tips",
        PrincipalKind::Analyst => "`forward` and `relay_statement` are the peer relay's requests (federation)",
        PrincipalKind::Relay => {
            "a peer relay forwards its jurisdiction's messages and witnesses the log; it does not \
                                 submit, fetch or read as a principal"
        }
    };
    Err(WireError::new(
        ErrorCode::NotPermitted,
        format!("a {} principal may not make `{}` requests: {why}", kind.as_str(), request_name(req)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_request() -> Vec<Request> {
        vec![
            Request::Submit { envelope: vec![] },
            Request::SubmitBatch { envelopes: vec![] },
            Request::AckBatch { envelopes: vec![] },
            Request::Fetch { limit: 1 },
            Request::Ack { envelope: vec![] },
            Request::Acks { after: 0, limit: 1 },
            Request::Status,
            Request::Subscribe,
            Request::Feedback { envelope: vec![] },
            Request::Statement { envelope: vec![] },
            Request::Records { since: 0, until: 1, after: None, limit: 1 },
            Request::Statements { after: 0, limit: 1 },
            Request::Checkpoint { fresh: false },
            Request::Inclusion { index: 0, size: 1 },
            Request::Consistency { old: 1, new: 2 },
            Request::Cosign { envelope: vec![] },
            Request::Forward { items: vec![] },
            Request::PeerRecords { since: 0, until: 1, after: None, limit: 1 },
            Request::PeerStatement { since: 0, until: 1 },
            Request::RelayStatement { since: 0, until: 1 },
        ]
    }

    #[test]
    fn analysts_may_make_every_request_but_forward() {
        let refused: Vec<&str> = every_request()
            .iter()
            .filter(|r| authorize(PrincipalKind::Analyst, r).is_err())
            .map(request_name)
            .collect();
        assert_eq!(refused, ["forward", "relay_statement"]);
    }

    #[test]
    fn feeds_send_and_read_only_their_own_notices() {
        let allowed: Vec<&str> =
            every_request().iter().filter(|r| authorize(PrincipalKind::Feed, r).is_ok()).map(request_name).collect();
        assert_eq!(allowed, ["submit", "submit_batch", "acks", "status", "subscribe"]);
        let e = authorize(PrincipalKind::Feed, &Request::Records { since: 0, until: 1, after: None, limit: 1 })
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotPermitted as u16);
        assert!(e.reason.contains("`records`"), "{}", e.reason);
    }

    #[test]
    fn a_peer_relay_forwards_and_witnesses_but_makes_no_principal_requests() {
        let allowed: Vec<&str> =
            every_request().iter().filter(|r| authorize(PrincipalKind::Relay, r).is_ok()).map(request_name).collect();
        assert_eq!(
            allowed,
            [
                "ack_batch",
                "status",
                "feedback",
                "statement",
                "records",
                "checkpoint",
                "consistency",
                "cosign",
                "forward",
                "relay_statement"
            ]
        );
        let e = authorize(PrincipalKind::Relay, &Request::Fetch { limit: 1 }).unwrap_err();
        assert_eq!(e.name, "not_permitted");
    }

    #[test]
    fn who_may_connect_to_a_shared_or_a_federated_relay() {
        let id = |s: &str| s.parse::<PrincipalId>().unwrap();
        let mx: Jurisdiction = "MX".parse().unwrap();
        let us_relay = id("tiprelay://US/relay/us");
        // Shared relay: any analyst or feed; no relay.
        assert!(admitted(&id("tiprelay://US/analyst/a"), None).is_ok());
        assert!(admitted(&id("tiprelay://MX/feed/f"), None).is_ok());
        assert!(admitted(&id("tiprelay://US/relay/us"), None).unwrap_err().contains("shared"));
        // MX's own relay: MX principals and the US relay only.
        let fed = Some((mx, &us_relay));
        assert!(admitted(&id("tiprelay://MX/analyst/a"), fed).is_ok());
        assert!(admitted(&id("tiprelay://MX/feed/f"), fed).is_ok());
        assert!(admitted(&id("tiprelay://US/relay/us"), fed).is_ok());
        let e = admitted(&id("tiprelay://US/analyst/a"), fed).unwrap_err();
        assert!(e.contains("own jurisdiction's relay"), "{e}");
        assert!(admitted(&id("tiprelay://MX/relay/other"), fed).unwrap_err().contains("not tiprelay://US/relay/us"));
        // Another relay of the peer's jurisdiction (a staging relay) is not the peer.
        assert!(admitted(&id("tiprelay://US/relay/staging"), fed).is_err());
        assert!(admitted(&id("tiprelay://OPERATOR/relay/r"), fed).is_err());
    }
}
