//! Rename detection by content similarity, as git scores it: files are cut into
//! chunks (at newlines, or every 64 bytes), and the similarity of two files is the
//! number of bytes in chunks they share, over the size of the larger one.

use pg_core::diff::{diff_trees, FileChange, FileState};
use pg_core::object::EntryKind;
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use rustc_hash::FxHashMap;
use std::hash::{BuildHasher, BuildHasherDefault};

/// A chunk longer than this is cut (git's diffcore-delta does the same).
const MAX_CHUNK: usize = 64;

/// How many bytes of each chunk a file holds, by chunk hash.
struct Fingerprint {
    size: usize,
    chunks: FxHashMap<u64, usize>,
}

impl Fingerprint {
    fn of(data: &[u8]) -> Fingerprint {
        let mut chunks: FxHashMap<u64, usize> = FxHashMap::default();
        let mut start = 0;
        for (i, &byte) in data.iter().enumerate() {
            if byte == b'\n' || i + 1 - start == MAX_CHUNK {
                *chunks.entry(hash(&data[start..=i])).or_default() += i + 1 - start;
                start = i + 1;
            }
        }
        if start < data.len() {
            *chunks.entry(hash(&data[start..])).or_default() += data.len() - start;
        }
        Fingerprint { size: data.len(), chunks }
    }

    /// Similarity to `other` in percent.
    fn similarity(&self, other: &Fingerprint) -> u8 {
        let larger = self.size.max(other.size);
        if larger == 0 {
            return 100;
        }
        let shared: usize =
            self.chunks.iter().map(|(h, n)| (*n).min(other.chunks.get(h).copied().unwrap_or(0))).sum();
        (shared * 100 / larger) as u8
    }
}

/// A chunk's hash: only compared between two files, so fast beats strong.
fn hash(bytes: &[u8]) -> u64 {
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(bytes)
}

/// A deleted file paired with an added one: indices into the sources and targets
/// given to [`detect`], and how alike their contents are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pairing {
    /// The index of the deleted file.
    pub source: usize,
    /// The index of the added file.
    pub target: usize,
    /// Percent of the larger file's bytes found in the other.
    pub similarity: u8,
}

/// Pairs deleted files with added files: exact matches (same content) first, then
/// the most similar pairs at or above `threshold` percent, each file in at most one
/// pair. `read` gives a file's contents (stored, or on disk for a working copy).
pub fn detect<E>(
    read: impl Fn(&[u8], &FileState) -> Result<Vec<u8>, E>,
    sources: &[(Vec<u8>, FileState)],
    targets: &[(Vec<u8>, FileState)],
    threshold: u8,
) -> Result<Vec<Pairing>, E> {
    let mut pairs = Vec::new();
    let mut source_taken = vec![false; sources.len()];
    let mut target_taken = vec![false; targets.len()];
    for (s, (_, source)) in sources.iter().enumerate() {
        let exact =
            targets.iter().enumerate().find(|(t, (_, target))| !target_taken[*t] && target.id == source.id);
        if let Some((t, _)) = exact {
            pairs.push(Pairing { source: s, target: t, similarity: 100 });
            source_taken[s] = true;
            target_taken[t] = true;
        }
    }
    let open_sources: Vec<usize> = (0..sources.len()).filter(|&s| !source_taken[s]).collect();
    let open_targets: Vec<usize> = (0..targets.len()).filter(|&t| !target_taken[t]).collect();
    if open_sources.is_empty() || open_targets.is_empty() {
        return Ok(pairs);
    }
    let contents = |open: &[usize], files: &[(Vec<u8>, FileState)]| -> Result<Vec<Vec<u8>>, E> {
        open.iter().map(|&i| read(&files[i].0, &files[i].1)).collect()
    };
    let source_data = contents(&open_sources, sources)?;
    let target_data = contents(&open_targets, targets)?;
    // Only pairs whose sizes allow the threshold are compared; a file in none of
    // them is never fingerprinted.
    let mut source_prints: Vec<Option<Fingerprint>> = (0..source_data.len()).map(|_| None).collect();
    let mut target_prints: Vec<Option<Fingerprint>> = (0..target_data.len()).map(|_| None).collect();
    let mut scored = Vec::new();
    for (i, source) in source_data.iter().enumerate() {
        for (j, target) in target_data.iter().enumerate() {
            if !sizes_allow(source.len(), target.len(), threshold) {
                continue;
            }
            let source = source_prints[i].get_or_insert_with(|| Fingerprint::of(source));
            let target = target_prints[j].get_or_insert_with(|| Fingerprint::of(target));
            let score = source.similarity(target);
            if score >= threshold {
                scored.push((score, i, j));
            }
        }
    }
    // Best pairs first; ties in path order, so the result does not depend on hashing.
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (similarity, i, j) in scored {
        let (s, t) = (open_sources[i], open_targets[j]);
        if !source_taken[s] && !target_taken[t] {
            source_taken[s] = true;
            target_taken[t] = true;
            pairs.push(Pairing { source: s, target: t, similarity });
        }
    }
    Ok(pairs)
}

/// git's default: files at least half alike are taken as one renamed.
pub const DEFAULT_THRESHOLD: u8 = 50;

/// A file moved from one path to another, its contents kept at least in part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rename {
    /// The path it left.
    pub from: Vec<u8>,
    /// The path it went to.
    pub to: Vec<u8>,
    /// How alike the two versions are, in percent.
    pub similarity: u8,
}

/// Reads a file's contents from the store, for [`detect`] and [`renames`].
pub fn stored(store: &Store) -> impl Fn(&[u8], &FileState) -> store::Result<Vec<u8>> + '_ {
    |_, state| store.read_blob(&state.id)
}

/// The renames among `changes` (such as what the index stages against `HEAD`):
/// deleted paths paired with added ones at least `threshold` percent alike, in
/// the order of the targets' paths. `read` gives a file's contents.
pub fn renames<E>(
    read: impl Fn(&[u8], &FileState) -> Result<Vec<u8>, E>,
    changes: &[FileChange],
    threshold: u8,
) -> Result<Vec<Rename>, E> {
    let sources = deleted_files(changes);
    let targets: Vec<(Vec<u8>, FileState)> = changes
        .iter()
        .filter_map(|c| match (c.old, c.new) {
            (None, Some(new)) if is_regular(&new) => Some((c.path.clone(), new)),
            _ => None,
        })
        .collect();
    if sources.is_empty() || targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut found: Vec<Rename> = detect(read, &sources, &targets, threshold)?
        .into_iter()
        .map(|p| Rename {
            from: sources[p.source].0.clone(),
            to: targets[p.target].0.clone(),
            similarity: p.similarity,
        })
        .collect();
    found.sort_by(|a, b| a.to.cmp(&b.to));
    Ok(found)
}

/// The path of `parent` that `tree` renamed to `path`, if `tree` added `path`
/// by renaming: `path` is the only target, as with git's `--follow` and blame,
/// so a better match of the same source elsewhere does not hide it.
pub fn source_of(
    store: &Store,
    parent: &ObjectId,
    tree: &ObjectId,
    path: &[u8],
) -> store::Result<Option<Vec<u8>>> {
    let changes = diff_trees(&|id| store.read_tree(id), Some(parent), Some(tree))?;
    let Some(added) = changes.iter().find(|c| c.path == path && c.old.is_none()).and_then(|c| c.new) else {
        return Ok(None);
    };
    if !is_regular(&added) {
        return Ok(None);
    }
    let sources = deleted_files(&changes);
    let target = [(path.to_vec(), added)];
    let pairs = detect(stored(store), &sources, &target, DEFAULT_THRESHOLD)?;
    Ok(pairs.first().map(|p| sources[p.source].0.clone()))
}

/// Whether a file's contents can be compared (a submodule's cannot).
fn is_regular(state: &FileState) -> bool {
    state.mode.kind() != EntryKind::Gitlink
}

/// The comparable files `changes` deletes, with their last states.
fn deleted_files(changes: &[FileChange]) -> Vec<(Vec<u8>, FileState)> {
    changes
        .iter()
        .filter_map(|c| match (c.old, c.new) {
            (Some(old), None) if is_regular(&old) => Some((c.path.clone(), old)),
            _ => None,
        })
        .collect()
}

/// Files whose sizes differ by more than the threshold allows cannot be that
/// similar; skipping them saves reading pairs that cannot match.
fn sizes_allow(a: usize, b: usize, threshold: u8) -> bool {
    let (small, large) = (a.min(b), a.max(b));
    (large - small) * 100 <= large * (100 - threshold as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_counts_shared_lines_over_the_larger_file() {
        let a = Fingerprint::of(b"one\ntwo\nthree\nfour\n");
        let b = Fingerprint::of(b"one\ntwo\nthree\nFOUR\n");
        assert_eq!(a.similarity(&b), 73, "14 of 19 bytes shared");
        assert_eq!(a.similarity(&a), 100);
        let long = vec![b'x'; 200];
        assert_eq!(
            Fingerprint::of(&long).chunks.values().sum::<usize>(),
            200,
            "long lines are cut, not lost"
        );
        assert!(!sizes_allow(10, 100, 50) && sizes_allow(60, 100, 50));
    }
}
