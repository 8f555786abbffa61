//! pg-core: the foundation of pg.
//!
//! Ids ([`id`]), objects and their canonical encoding ([`object`]), the object store
//! on RocksDB behind a backend trait ([`store`]), refs ([`refs`]), the operation log
//! ([`oplog`]), and the repository that ties them to a working copy ([`repo`],
//! [`index`], [`worktree`]). Nothing here prints or reads the terminal; the CLI does.
#![warn(missing_docs)]

pub mod bytes;
pub mod commit;
pub mod config;
pub mod diff;
pub mod fsck;
mod fsutil;
pub mod gc;
pub mod history;
pub mod id;
pub mod index;
pub mod object;
pub mod oplog;
pub mod refs;
pub mod repo;
pub mod revision;
pub mod store;
pub mod tree_edit;
pub mod worktree;

pub use id::{HashAlgorithm, ObjectId};
pub use repo::Repository;
