//! Searching one snapshot: a revision's tree, or the tracked files of the
//! working copy. Files are searched on every core.

use super::{parallel, Error, Found, Pattern, Result};
use pg_core::id::ObjectId;
use pg_core::index::Index;
use pg_core::object::EntryKind;
use pg_core::store::Store;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What matched in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMatches {
    /// Its path from the top.
    pub path: Vec<u8>,
    /// What matched.
    pub found: Found,
}

/// Which paths a search looks at: those at or under one of the given paths
/// (repository paths; `""`, or none given, is everything).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathFilter {
    paths: Vec<Vec<u8>>,
}

impl PathFilter {
    /// A filter for `paths`.
    pub fn new(paths: Vec<Vec<u8>>) -> PathFilter {
        let everything = paths.iter().any(|p| p.is_empty());
        PathFilter { paths: if everything { Vec::new() } else { paths } }
    }

    /// Whether `path` is at or under one of the paths.
    pub fn includes(&self, path: &[u8]) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|p| within(path, p))
    }

    /// Whether something under directory `dir` may be included.
    pub fn may_include_under(&self, dir: &[u8]) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|p| within(dir, p) || within(p, dir))
    }
}

/// Whether `path` is `dir` or under it.
fn within(path: &[u8], dir: &[u8]) -> bool {
    path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/')
}

/// Whether a tree or index entry is a file git greps (regular or executable).
pub(crate) fn is_searched(kind: EntryKind) -> bool {
    matches!(kind, EntryKind::File | EntryKind::Executable)
}

/// Joins a directory's path and an entry's name.
pub(crate) fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    [dir, b"/", name].concat()
}

/// Searches the files of `tree` that `filter` includes, in path order.
pub fn search_tree(
    store: &Store,
    tree: &ObjectId,
    pattern: &Pattern,
    filter: &PathFilter,
) -> Result<Vec<FileMatches>> {
    let mut files = Vec::new();
    let mut pending = vec![(Vec::new(), *tree)];
    while let Some((dir, id)) = pending.pop() {
        for entry in store.read_tree(&id)?.entries {
            let path = join(&dir, &entry.name);
            match entry.mode.kind() {
                EntryKind::Tree if filter.may_include_under(&path) => pending.push((path, entry.id)),
                kind if is_searched(kind) && filter.includes(&path) => files.push((path, entry.id)),
                _ => {}
            }
        }
    }
    files.sort();
    parallel::filter_map(&files, |(path, id)| {
        Ok(pattern.search(&store.read_blob(id)?).map(|found| FileMatches { path: path.clone(), found }))
    })
}

/// Searches the tracked files of the working copy at `workdir` as they are on
/// disk (git's `git grep` without a revision), in path order. Files tracked but
/// gone are skipped.
pub fn search_working_copy(
    workdir: &Path,
    index: &Index,
    pattern: &Pattern,
    filter: &PathFilter,
) -> Result<Vec<FileMatches>> {
    let files: Vec<&[u8]> = index
        .entries()
        .iter()
        .filter(|e| is_searched(e.mode.kind()) && filter.includes(&e.path))
        .map(|e| e.path.as_slice())
        .collect();
    parallel::filter_map(&files, |path| {
        let full = workdir.join(std::ffi::OsStr::from_bytes(path));
        let bytes = match std::fs::read(&full) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Read { path: full.display().to_string(), source }),
        };
        Ok(pattern.search(&bytes).map(|found| FileMatches { path: path.to_vec(), found }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_take_paths_at_or_under_their_own() {
        let filter = PathFilter::new(vec![b"src/core".to_vec(), b"README.md".to_vec()]);
        assert!(filter.includes(b"src/core/lib.rs") && filter.includes(b"README.md"));
        assert!(!filter.includes(b"src/corelib.rs") && !filter.includes(b"docs/x"));
        assert!(filter.may_include_under(b"src") && filter.may_include_under(b"src/core/deep"));
        assert!(!filter.may_include_under(b"docs") && !filter.may_include_under(b"src/other"));
        assert!(PathFilter::new(vec![Vec::new()]).includes(b"anything"));
    }
}
