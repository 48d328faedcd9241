//! Who may make which request (PROTOCOL §10.6): the authorization table by principal kind.
//!
//! | request | analyst | feed | relay |
//! |---|---|---|---|
//! | `submit`, `submit_batch` | yes | yes | no |
//! | `acks` (own notices), `status`, `subscribe` | yes | yes | no |
//! | `fetch`, `ack`, `ack_batch`, `feedback` | yes | no | no |
//! | `statement`, `statements`, `records` | yes | no | no |
//! | `checkpoint`, `inclusion`, `consistency`, `cosign` | yes | no | no |
//!
//! Feeds only send: they read nothing of the bilateral exchange but the notices about
//! their own tips. A principal of kind `relay` is reserved for federation peering and
//! makes none of the principal requests.

use tiprelay_proto::wire::{Request, WireError};
use tiprelay_proto::{ErrorCode, PrincipalKind};

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
    }
}

/// Whether a principal of `kind` may make `req`; the refusal is `not_permitted`.
pub fn authorize(kind: PrincipalKind, req: &Request) -> Result<(), WireError> {
    let allowed = match kind {
        PrincipalKind::Analyst => true,
        PrincipalKind::Feed => matches!(
            req,
            Request::Submit { .. }
                | Request::SubmitBatch { .. }
                | Request::Acks { .. }
                | Request::Status
                | Request::Subscribe
        ),
        PrincipalKind::Relay => false,
    };
    if allowed {
        return Ok(());
    }
    let why = match kind {
        PrincipalKind::Feed => "feeds may only submit tips and read the status and notices of their own tips",
        _ => "relay principals only peer with relays; they make no principal requests",
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
        ]
    }

    #[test]
    fn analysts_may_make_every_request() {
        for r in every_request() {
            assert!(authorize(PrincipalKind::Analyst, &r).is_ok(), "{}", request_name(&r));
        }
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
    fn relay_principals_make_no_principal_requests() {
        for r in every_request() {
            let e = authorize(PrincipalKind::Relay, &r).unwrap_err();
            assert_eq!(e.name, "not_permitted");
        }
    }
}
