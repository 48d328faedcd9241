//! `tipctl`'s exit codes, one per class of outcome (README "Exit codes").

/// Done.
pub const OK: u8 = 0;
/// Failed here: configuration, files, the local store, invalid input.
pub const FAILED: u8 = 1;
/// Usage: an unknown command or option, a missing or invalid argument.
pub const USAGE: u8 = 2;
/// The relay could not be reached (no answer, connection lost).
pub const UNREACHABLE: u8 = 3;
/// Refused: the relay refused a request or this client's certificate, or a tip for good.
pub const REFUSED: u8 = 4;
/// Verification failed: a signature, receipt, statement, audit log or bundle that does not verify.
pub const UNVERIFIED: u8 = 5;
/// Differences found: a reconciliation that does not agree.
pub const DIFFERENCES: u8 = 6;
/// Interrupted (Ctrl-C); nothing accepted is lost.
pub const INTERRUPTED: u8 = 130;

use crate::client::ClientError;
use crate::conn::ConnError;

/// The class of a connection failure.
pub fn of_conn(e: &ConnError) -> u8 {
    match e {
        ConnError::Setup(_) | ConnError::Protocol(_) => FAILED,
        ConnError::Connect { .. } | ConnError::Transport(_) => UNREACHABLE,
        ConnError::CertificateRefused { .. } | ConnError::Refused(_) | ConnError::BatchRefused(_) => REFUSED,
    }
}

/// The class of a client failure.
pub fn of_client(e: &ClientError) -> u8 {
    match e {
        ClientError::Conn(c) => of_conn(c),
        ClientError::Untrusted { .. } | ClientError::LogInconsistent(_) | ClientError::Trust(_) => UNVERIFIED,
        ClientError::OwnCertificateRevoked { .. } => REFUSED,
        _ => FAILED,
    }
}
