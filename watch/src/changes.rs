//! The working copy's changes with the daemon's help: the client side of a
//! watched status, and the state it keeps between statuses.

use crate::{client, Error, Result};
use pg_core::index::Index;
use pg_core::repo::Location;
use pg_core::worktree::{self, Changed, WatchState, WorktreeChanges};
use std::path::Path;

/// Compares the working copy with `index`, looking only where the daemon saw
/// changes since the last watched status. With no daemon running, `start` is
/// called to start one and this comparison walks in full; a daemon that fails
/// to answer never fails the comparison, it only costs a full walk.
pub fn watched_changes(
    location: &Location,
    index: &Index,
    start: impl FnOnce() -> std::io::Result<()>,
) -> Result<WorktreeChanges> {
    let state_path = crate::watch_dir(&location.pg_dir).join("state");
    let previous = std::fs::read(&state_path).ok().and_then(|bytes| WatchState::decode(&bytes));
    let token = previous.as_ref().map_or(&[][..], |state| &state.token[..]);
    let (changed, token) = match client::changes(&location.pg_dir, token) {
        Ok(answer) => (answer.changed.map_or(Changed::Unknown, Changed::Paths), answer.token),
        Err(Error::NotRunning) => {
            start().map_err(|e| Error::io("starting the watcher", e))?;
            (Changed::Unknown, Vec::new())
        }
        Err(_) => (Changed::Unknown, Vec::new()),
    };
    let (changes, state) = worktree::watched_changes(location, index, previous.as_ref(), &changed, token)?;
    if previous.as_ref() != Some(&state) {
        // The state is a cache: failing to keep it costs the next status a walk.
        let _ = replace_cache(&state_path, &state.encode());
    }
    Ok(changes)
}

/// Writes a cache file through a rename; unlike the repository's own files it
/// is not synced to disk, as losing it costs only a walk.
fn replace_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}
