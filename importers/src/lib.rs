//! pg-import: where pg's bridges to other systems will live.
//!
//! Planned (see the git-interop issue): a streaming reader of `git fast-export`
//! streams, a writer of fast-import streams, and a reader and writer of git
//! repositories through gix, so that git -> pg -> git keeps every commit id.
//! Nothing is implemented yet.
#![warn(missing_docs)]
