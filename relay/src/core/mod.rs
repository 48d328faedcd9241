//! The relay's rules as plain code: no tokio, quinn or database types, time passed in.
//!
//! The network layer (`server`) moves bytes and asks these modules what to do; they are
//! unit-tested without sockets.

pub mod admission;
pub mod audit;
pub mod authz;
pub mod bucket;
pub mod delivery;
pub mod export;
pub mod federation;
pub mod rejections;
pub mod tips;
