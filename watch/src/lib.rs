//! pg-watch: a daemon that watches a working copy and remembers which paths
//! changed, so that `pg status` looks only at those instead of walking every
//! directory (git's fsmonitor does this job for git).
//!
//! The daemon ([`daemon::run`]) watches each directory of the working copy
//! with Linux's inotify, except `.pg`, `.git` and directories a `.pgignore`
//! hides, and keeps a [`journal`] of changed paths numbered by a sequence.
//! Clients ([`client`]) ask over a Unix socket what changed since a *token*
//! (the daemon's instance and a sequence number); the daemon first syncs with
//! the kernel through a cookie file, so every change made before the question
//! is in the answer. When the daemon cannot tell (it restarted, it lost events,
//! its journal grew past its bound) it says so and the client walks in full.
//! The wire format is in `docs/FORMAT.md` ("watch protocol").
//!
//! # Deviation from git
//! git's daemon watches ignored directories too and filters later; pg's does
//! not watch them at all, so a build directory's churn costs it nothing.
//! Tracked files under an ignored directory are looked at by every status
//! instead (see `pg_core::worktree::watched_changes`).
#![warn(missing_docs)]

mod changes;
pub mod client;
pub mod daemon;
pub mod journal;
pub mod protocol;
#[cfg(target_os = "linux")]
mod tree;

pub use changes::watched_changes;

use std::path::{Path, PathBuf};

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No daemon answers for this repository.
    #[error("no watcher is running for this repository (start one with 'pg watch start')")]
    NotRunning,
    /// Another daemon already watches this repository.
    #[error("a watcher is already running for this repository")]
    AlreadyRunning,
    /// The kernel will not watch more directories.
    #[error(
        "the kernel refused to watch more directories after {watched}; raise the limit with \
         'sysctl fs.inotify.max_user_watches=524288'"
    )]
    TooManyDirectories {
        /// How many directories were being watched.
        watched: usize,
    },
    /// This system has no watcher pg can use.
    #[error("pg watch needs Linux's inotify; on this system status walks the working copy in full")]
    Unsupported,
    /// A message on the socket was not one of the protocol's.
    #[error("the watcher sent or received a malformed message: {0}")]
    Protocol(&'static str),
    /// Comparing the working copy failed.
    #[error(transparent)]
    Worktree(#[from] pg_core::worktree::Error),
    /// Reading or writing a file, the socket or the kernel's queue failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

/// The result of a watcher operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn io(what: impl Into<String>, source: impl Into<std::io::Error>) -> Error {
        Error::Io { what: what.into(), source: source.into() }
    }
}

/// The directory inside `.pg` where the watcher keeps its cookies and where
/// status keeps its [`pg_core::worktree::WatchState`]. Removing it stops the
/// daemon.
pub fn watch_dir(pg_dir: &Path) -> PathBuf {
    pg_dir.join("watch")
}

/// The address a repository's daemon listens on: a name in Linux's abstract
/// namespace (no file to leave behind), derived from the `.pg` directory's
/// canonical path so each repository has its own.
#[cfg(target_os = "linux")]
fn socket_address(pg_dir: &Path) -> Result<std::os::unix::net::SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    let canonical =
        std::fs::canonicalize(pg_dir).map_err(|e| Error::io(format!("reading {}", pg_dir.display()), e))?;
    let hash = blake3::hash(canonical.as_os_str().as_bytes());
    let name = format!("pg-watch/{}", &hash.to_hex()[..32]);
    std::os::unix::net::SocketAddr::from_abstract_name(name)
        .map_err(|e| Error::io("naming the watcher's socket", e))
}
