//! # tiprelay-certs
//!
//! PKI tooling for tiprelay. Each jurisdiction runs its own root CA and issues only its
//! own principals' identities; the relay operator runs a separate CA for the relay. Keys
//! are Ed25519, written as PKCS#8 v1 PEM (what OpenSSL 3.0 reads) with mode 0600; certificates follow the profiles of
//! `docs/PROTOCOL.md` §2. The `tipcerts` binary is a thin front end over this library.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod ca;
pub mod dev;
pub mod error;
pub mod fixture;
pub mod fsutil;
pub mod keys;

pub mod profile;
pub mod show;

pub use ca::Ca;
pub use error::CertsError;
pub use tiprelay_common::localize::Msg;
