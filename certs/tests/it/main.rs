//! The certs crate's integration tests, in one binary: the `tipcerts` CLI, the dependency
//! floors, the PROTOCOL.md test vectors, and verification of every certificate rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli;
mod lockfloors;
mod renew;
mod rollover;
mod vectors;
mod verify;
