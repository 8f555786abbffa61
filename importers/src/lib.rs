//! pg-import: pg's bridges to other systems.
//!
//! Now: [`fast_import`], a streaming parser of `git fast-import` streams (what
//! `git fast-export` writes). Planned (git-interop issue): applying streams to a pg
//! repository, writing them back, and reading and writing git repositories through
//! gix so that git -> pg -> git keeps every commit id.
#![warn(missing_docs)]

pub mod fast_export;
pub mod fast_import;
pub mod git_repo;
