//! pg-remote: pg's peers.
//!
//! A node ([`node`]) is a libp2p swarm (TCP with noise and yamux, QUIC; identify)
//! with a persistent ed25519 key ([`key`]). Repositories move between nodes
//! with the sync protocol ([`protocol`], [`wire`]): every message starts with the
//! multihash of the protocol function that handles it, then a CBOR payload.
//! Served repositories announce ref changes on gossipsub, and mirrors follow
//! them ([`follow`]).
#![warn(missing_docs)]

pub mod compress;
pub mod follow;
pub mod key;
pub mod negotiate;
pub mod node;
pub mod protocol;
pub mod receive;
pub mod sync;
pub mod wire;
