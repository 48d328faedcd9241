//! The relay's integration tests, in one binary (one link instead of one per file): real
//! relays on 127.0.0.1:0 with a fresh dev PKI, real clients, real QUIC, and the binaries.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod attacks;
mod audit;
mod backup;
mod cli;
mod crash;
mod deploy;
mod e2e;
mod federation;
mod feed;
mod ha;
mod hsm;
mod ledger;
mod lifecycle;
mod metrics;
mod rejections;
mod revocation;
mod rollover;
mod stix;
