//! Code search: a regular expression (Rust's `regex` syntax, through ripgrep's
//! `grep-*` crates) over the working copy, the tree of a revision, or every
//! version of every file in a history.
//!
//! The history search reads each distinct blob once, however many commits hold
//! it, and walks each distinct tree once: what `git grep PATTERN $(git rev-list
//! --all)` does per commit, it does per version.

mod history;
mod parallel;
mod pattern;
mod tree;

pub use history::{search_history, BlobMatches, Containing};
pub use pattern::{Found, Line, Pattern, PatternOptions};
pub use tree::{search_tree, search_working_copy, FileMatches, PathFilter};

/// What can go wrong in a search.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pattern is not a regular expression.
    #[error("invalid pattern: {0}")]
    Pattern(String),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] pg_core::store::Error),
    /// Reading a file of the working copy failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The result of a search.
pub type Result<T> = std::result::Result<T, Error>;
