//! The JSON files in `.pg/` that hold a command waiting for a person
//! (`MERGE_STATE`, `SEQUENCE_STATE`): read whole, written atomically.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// It is there but does not parse.
    #[error("{path}: unreadable state ({reason}); remove it to forget what it waits for")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Reading, writing or removing it failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The state in `path`, if the file is there.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Unreadable { path: path.to_owned(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path: path.to_owned(), source }),
    }
}

/// Writes `state` to `path` atomically: a new file, synced, renamed over the old.
pub fn save<T: Serialize>(path: &Path, state: &T) -> Result<(), Error> {
    let temporary = path.with_extension("new");
    let bytes = serde_json::to_vec_pretty(state).expect("states serialize");
    let io = |source| Error::Io { path: path.to_owned(), source };
    std::fs::write(&temporary, bytes).map_err(io)?;
    std::fs::File::open(&temporary).and_then(|f| f.sync_all()).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// Removes the file at `path`; it may be gone already.
pub fn remove(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::Io { path: path.to_owned(), source: e })
        }
        _ => Ok(()),
    }
}
