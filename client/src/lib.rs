//! # tiprelay-client
//!
//! The client library behind `tipctl`: configuration, a local durable store (outbox,
//! inbox, receipts, acks), the QUIC connection to the relay, and the operations.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod client;
pub mod config;
pub mod conn;
pub mod exit;
pub mod feed;
pub mod output;
pub mod report;
pub mod stix;
pub mod store;

pub use tiprelay_common::{auditlog, files, i18n, ledger, localize, t};

pub use client::{Client, ClientError, Draft};
pub use config::{ClientConfig, ClientConfigError};
pub use conn::RelayConn;
