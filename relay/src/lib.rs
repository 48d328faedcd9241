//! # tiprelay
//!
//! The relay: authenticates both jurisdictions' principals over QUIC with mutual TLS,
//! verifies every tip, commits it durably before answering, returns a signed receipt,
//! and forwards tips and acknowledgements. See `docs/ARCHITECTURE.md`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod config;
pub mod core;
pub mod guard;
pub mod localize;
pub mod metrics;
pub use tiprelay_common::pkcs11;
pub mod server;
pub mod storage;
pub mod tls;
