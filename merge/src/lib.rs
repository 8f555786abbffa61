//! pg-merge: pg's merge engine.
//!
//! Merging is where PromiseGrid decides consensus. This crate holds the tiers of the
//! cascade of merge functions; the first is [`text`], a 3-way line merge
//! byte-identical to git's.
#![warn(missing_docs)]

pub mod attributes;
pub mod cache;
pub mod cascade;
pub mod function;
pub mod gate;
pub mod operation;
pub mod provenance;
pub mod queue;
pub mod rename;
pub mod replay;
pub mod sequence;
pub mod stash;
pub mod state_file;
pub mod structured;
pub mod text;
pub mod tree;
