//! pg-import: pg's bridges to git.
//!
//! [`fast_import`] reads `git fast-import` streams (what `git fast-export` writes)
//! into a repository, [`fast_export`] writes them, and [`git_repo`] reads and writes
//! git repositories directly (reading through gix, object by object, and writing
//! one pack with [`git_pack`]), so that git -> pg -> git keeps every id. After a
//! first import, [`head`] puts `HEAD` where `git clone` would.
#![warn(missing_docs)]

pub mod fast_export;
pub mod fast_import;
pub mod git_pack;
pub mod git_repo;
pub mod head;
