//! pg-remote: where pg's peer-to-peer layer will live.
//!
//! Planned (see the peers issue): a libp2p node (TCP + noise + yamux, QUIC,
//! identify, ping, mDNS, Kademlia, gossipsub), the streaming sync protocol whose
//! messages start with the multihash of the function that handles them, and
//! `pg serve`, clone, fetch, pull and push. Nothing is implemented yet.
#![warn(missing_docs)]
