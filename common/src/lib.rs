//! # tiprelay-common
//!
//! The pieces the relay and the client both use, in a crate of their own so that neither
//! depends on the other:
//!
//! * [`auditlog`]: the RFC 9162 Merkle audit log stored in redb tables (append, roots,
//!   proofs, bundle items);
//! * [`expiry`]: which configured certificates end within 30 days (warnings, the relay's
//!   expiry metric);
//! * [`files`]: loading keys, certificates, roots and CRLs from files, paths relative to a
//!   configuration file, owner-only file writing;
//! * [`ledger`]: reciprocity accounting by period, category and direction, statements, and
//!   reconciliation tip by tip;
//! * [`i18n`] and [`localize`]: Spanish and English for every user-facing string.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod auditlog;
pub mod expiry;
pub mod files;
pub mod i18n;
pub mod ledger;
pub mod localize;
pub mod pkcs11;
