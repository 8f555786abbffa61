//! pg-blame: for each line of a file, the commit that last changed it, and the
//! line's path and number there; renames are followed, as `git blame` follows
//! them.
//!
//! The walk goes newest commit first, as git's does. Each commit holds the
//! lines it is *suspected* of, as chunks of consecutive lines. A parent whose
//! version of the file is the same blob takes all of them without a diff;
//! otherwise the file is diffed against each parent in turn (the same
//! xdiff-compatible Myers diff the text merge uses), and the lines a parent has
//! unchanged pass to it. What no parent takes was written by the commit.
//!
//! Most commits do not touch the file: finding that out costs reading the
//! parent's trees down the path only as far as they differ from the child's
//! (a subtree with the same id holds the same file).
#![warn(missing_docs)]

use pg_core::object::{Commit, EntryKind};
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use pg_merge::rename;
use pg_merge::text::xdiff::{self, Algorithm};
use rustc_hash::FxHashMap;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not in the commit blamed.
    #[error("'{path}' is not a file in {commit}")]
    NoSuchFile {
        /// The path.
        path: String,
        /// The commit (short id).
        commit: String,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Where one line of the blamed file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The commit that last changed the line.
    pub commit: ObjectId,
    /// Index into [`Blame::paths`]: the file's path in that commit.
    pub path: usize,
    /// The line's number there, from 1.
    pub line: usize,
}

/// A file blamed.
#[derive(Debug, Clone)]
pub struct Blame {
    /// The file's bytes in the commit blamed.
    pub content: Vec<u8>,
    /// Each line's origin, in order.
    pub lines: Vec<Origin>,
    /// The paths the file had along its history; the first is the path blamed.
    pub paths: Vec<Vec<u8>>,
}

/// Consecutive lines of the blamed file, and where they start in a suspect's
/// version of it (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    final_start: usize,
    origin_start: usize,
    len: usize,
}

/// A version of the file some lines are suspected to come from.
#[derive(Debug, Clone)]
struct Suspect {
    path: usize,
    /// The tree ids down the path from the root, then the blob's.
    chain: Vec<ObjectId>,
    chunks: Vec<Chunk>,
}

impl Suspect {
    fn blob(&self) -> ObjectId {
        *self.chain.last().expect("a chain ends at the blob")
    }
}

/// Blames `path` as commit `start` has it.
pub fn blame(store: &Store, start: ObjectId, path: &[u8]) -> Result<Blame, Error> {
    let mut walk = Walker::new(store, path.to_vec());
    let commit = store.read_commit(&start)?;
    let Some(chain) = walk.locate(commit.tree, 0, None)? else {
        let shown = String::from_utf8_lossy(path).into_owned();
        return Err(Error::NoSuchFile { path: shown, commit: store.abbreviate(&start) });
    };
    let content = store.read_blob(chain.last().expect("a chain ends at the blob"))?;
    let len = xdiff::split_lines(&content).len();
    let whole = Chunk { final_start: 0, origin_start: 0, len };
    walk.lines = vec![None; len];
    walk.enqueue(start, commit, Suspect { path: 0, chain, chunks: vec![whole] });
    while let Some(id) = walk.next_commit() {
        walk.pass_on(id)?;
    }
    let lines = walk.lines.into_iter().map(|line| line.expect("every line is blamed")).collect();
    Ok(Blame { content, lines, paths: walk.paths })
}

/// The walk's state.
struct Walker<'s> {
    store: &'s Store,
    /// Every path the file had, by index.
    paths: Vec<Vec<u8>>,
    /// Commits waiting, newest committer date first.
    queue: BinaryHeap<(i64, std::cmp::Reverse<u64>, ObjectId)>,
    order: u64,
    /// The commits waiting, with what they are suspected of.
    waiting: FxHashMap<ObjectId, (Commit, Vec<Suspect>)>,
    /// Lines of blobs read, kept while a few steps may ask for them again.
    blobs: FxHashMap<ObjectId, Arc<Vec<u8>>>,
    /// Each line's origin, once blamed.
    lines: Vec<Option<Origin>>,
}

/// Blobs kept for the next diffs; beyond this many the cache starts afresh, so
/// memory stays bounded however long the history.
const BLOB_CACHE: usize = 64;

impl<'s> Walker<'s> {
    fn new(store: &'s Store, path: Vec<u8>) -> Walker<'s> {
        Walker {
            store,
            paths: vec![path],
            queue: BinaryHeap::new(),
            order: 0,
            waiting: FxHashMap::default(),
            blobs: FxHashMap::default(),
            lines: Vec::new(),
        }
    }

    fn next_commit(&mut self) -> Option<ObjectId> {
        self.queue.pop().map(|(_, _, id)| id)
    }

    /// Adds `suspect` to what commit `id` is suspected of, queueing it if new.
    fn enqueue(&mut self, id: ObjectId, commit: Commit, suspect: Suspect) {
        if let Some((_, suspects)) = self.waiting.get_mut(&id) {
            match suspects.iter_mut().find(|s| s.path == suspect.path) {
                Some(same) => same.chunks.extend(suspect.chunks),
                None => suspects.push(suspect),
            }
            return;
        }
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        self.order += 1;
        self.queue.push((time, std::cmp::Reverse(self.order), id));
        self.waiting.insert(id, (commit, vec![suspect]));
    }

    /// The chain of ids down path `self.paths[path]` in tree `root`, if it names a
    /// file there. `known` is a chain in another tree: where a subtree has the
    /// same id, the rest of the chain is the same and is not read.
    fn locate(
        &self,
        root: ObjectId,
        path: usize,
        known: Option<&[ObjectId]>,
    ) -> Result<Option<Vec<ObjectId>>, Error> {
        let names: Vec<&[u8]> = self.paths[path].split(|&b| b == b'/').collect();
        let mut chain = vec![root];
        for (depth, name) in names.iter().enumerate() {
            if let Some(known) = known.filter(|k| k[depth] == chain[depth]) {
                return Ok(Some(known.to_vec()));
            }
            let tree = self.store.read_tree(&chain[depth])?;
            let Some(entry) = tree.get(name) else { return Ok(None) };
            let last = depth + 1 == names.len();
            if last != is_file(entry.mode.kind()) || (!last && entry.mode.kind() != EntryKind::Tree) {
                return Ok(None);
            }
            chain.push(entry.id);
        }
        Ok(Some(chain))
    }

    fn read_blob(&mut self, id: &ObjectId) -> Result<Arc<Vec<u8>>, Error> {
        if let Some(blob) = self.blobs.get(id) {
            return Ok(blob.clone());
        }
        if self.blobs.len() >= BLOB_CACHE {
            self.blobs.clear();
        }
        let blob = Arc::new(self.store.read_blob(id)?);
        self.blobs.insert(*id, blob.clone());
        Ok(blob)
    }

    /// Passes what commit `id` is suspected of on to its parents, and blames it
    /// for what none of them has.
    fn pass_on(&mut self, id: ObjectId) -> Result<(), Error> {
        let (commit, suspects) = self.waiting.remove(&id).expect("queued commits wait");
        let mut parents = Vec::with_capacity(commit.parents.len());
        for parent in &commit.parents {
            parents.push((*parent, self.store.read_commit(parent)?));
        }
        for suspect in suspects {
            let left = self.pass_suspect(&commit, &parents, suspect.clone())?;
            for chunk in left {
                for i in 0..chunk.len {
                    let origin = Origin { commit: id, path: suspect.path, line: chunk.origin_start + i + 1 };
                    self.lines[chunk.final_start + i] = Some(origin);
                }
            }
        }
        Ok(())
    }

    /// Passes a suspect's chunks to the parents that have their lines; returns
    /// the chunks none has.
    fn pass_suspect(
        &mut self,
        commit: &Commit,
        parents: &[(ObjectId, Commit)],
        suspect: Suspect,
    ) -> Result<Vec<Chunk>, Error> {
        let mut versions = Vec::with_capacity(parents.len());
        for (_, parent) in parents {
            let found = self.locate(parent.tree, suspect.path, Some(&suspect.chain))?;
            let found = match found {
                Some(chain) => Some((suspect.path, chain)),
                None => self.renamed_from(parent.tree, commit.tree, suspect.path)?,
            };
            // The same blob in a parent: it takes every line, no diff needed.
            if let Some((path, chain)) =
                found.as_ref().filter(|(_, chain)| chain.last() == Some(&suspect.blob()))
            {
                let (id, parent) = parents[versions.len()].clone();
                self.enqueue(
                    id,
                    parent,
                    Suspect { path: *path, chain: chain.clone(), chunks: suspect.chunks },
                );
                return Ok(Vec::new());
            }
            versions.push(found);
        }
        let mut left = suspect.chunks.clone();
        let ours = self.read_blob(&suspect.blob())?;
        for ((id, parent), version) in parents.iter().zip(versions) {
            let Some((path, chain)) = version else { continue };
            if left.is_empty() {
                break;
            }
            let theirs = self.read_blob(chain.last().expect("a chain ends at the blob"))?;
            let (passed, kept) = split_by_diff(&theirs, &ours, &left);
            left = kept;
            if !passed.is_empty() {
                self.enqueue(*id, parent.clone(), Suspect { path, chain, chunks: passed });
            }
        }
        Ok(left)
    }

    /// The path in `parent` that `commit` renamed to `self.paths[path]`, found by
    /// content similarity among the files the commit added and deleted, with its
    /// chain.
    fn renamed_from(
        &mut self,
        parent: ObjectId,
        commit: ObjectId,
        path: usize,
    ) -> Result<Option<(usize, Vec<ObjectId>)>, Error> {
        let Some(from) = rename::source_of(self.store, &parent, &commit, &self.paths[path])? else {
            return Ok(None);
        };
        let index = match self.paths.iter().position(|p| *p == from) {
            Some(index) => index,
            None => {
                self.paths.push(from);
                self.paths.len() - 1
            }
        };
        Ok(self.locate(parent, index, None)?.map(|chain| (index, chain)))
    }
}

/// Whether an entry of this kind holds a blob whose lines can be blamed.
fn is_file(kind: EntryKind) -> bool {
    matches!(kind, EntryKind::File | EntryKind::Executable | EntryKind::Symlink)
}

/// Splits `chunks` (lines of `ours`) into those `theirs` has unchanged, renumbered
/// as lines of `theirs`, and those it does not.
fn split_by_diff(theirs: &[u8], ours: &[u8], chunks: &[Chunk]) -> (Vec<Chunk>, Vec<Chunk>) {
    let (a, b) = (xdiff::split_lines(theirs), xdiff::split_lines(ours));
    let changes = xdiff::diff(&a, &b, Algorithm::Myers);
    // The stretches both have: (start in ours, start in theirs, length).
    let mut same = Vec::with_capacity(changes.len() + 1);
    let (mut at_a, mut at_b) = (0, 0);
    for change in changes.iter().chain(std::iter::once(&xdiff::Change {
        a_start: a.len(),
        b_start: b.len(),
        len_a: 0,
        len_b: 0,
    })) {
        if change.b_start > at_b {
            same.push((at_b, at_a, change.b_start - at_b));
        }
        (at_a, at_b) = (change.a_start + change.len_a, change.b_start + change.len_b);
    }
    let (mut passed, mut kept) = (Vec::new(), Vec::new());
    for chunk in chunks {
        split_chunk(*chunk, &same, &mut passed, &mut kept);
    }
    (passed, kept)
}

/// Cuts one chunk at the edges of the stretches `same` (sorted, in our lines).
fn split_chunk(chunk: Chunk, same: &[(usize, usize, usize)], passed: &mut Vec<Chunk>, kept: &mut Vec<Chunk>) {
    let end = chunk.origin_start + chunk.len;
    let mut at = chunk.origin_start;
    let first = same.partition_point(|(start, _, len)| start + len <= at);
    for &(start, theirs, len) in &same[first..] {
        if start >= end {
            break;
        }
        if start > at {
            kept.push(Chunk {
                final_start: chunk.final_start + (at - chunk.origin_start),
                origin_start: at,
                len: start - at,
            });
            at = start;
        }
        let stop = end.min(start + len);
        passed.push(Chunk {
            final_start: chunk.final_start + (at - chunk.origin_start),
            origin_start: theirs + (at - start),
            len: stop - at,
        });
        at = stop;
    }
    if at < end {
        kept.push(Chunk {
            final_start: chunk.final_start + (at - chunk.origin_start),
            origin_start: at,
            len: end - at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_a_parent_has_pass_to_it_renumbered() {
        let whole = |len| vec![Chunk { final_start: 0, origin_start: 0, len }];
        let (passed, kept) = split_by_diff(b"a\nb\nc\n", b"x\na\nb\ny\nc\n", &whole(5));
        assert_eq!(
            passed,
            vec![
                Chunk { final_start: 1, origin_start: 0, len: 2 },
                Chunk { final_start: 4, origin_start: 2, len: 1 }
            ]
        );
        assert_eq!(
            kept,
            vec![
                Chunk { final_start: 0, origin_start: 0, len: 1 },
                Chunk { final_start: 3, origin_start: 3, len: 1 }
            ]
        );
    }

    proptest! {
        /// Every line of every chunk ends up passed or kept, once, and a passed
        /// line is the same text in the parent.
        #[test]
        fn splitting_keeps_every_line_once(
            theirs in proptest::collection::vec(0u8..4, 0..30),
            ours in proptest::collection::vec(0u8..4, 0..30),
        ) {
            let text = |lines: &[u8]| lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
            let (theirs, ours) = (text(&theirs), text(&ours));
            let ours_lines = xdiff::split_lines(&ours);
            let theirs_lines = xdiff::split_lines(&theirs);
            let chunks = vec![Chunk { final_start: 0, origin_start: 0, len: ours_lines.len() }];
            let (passed, kept) = split_by_diff(&theirs, &ours, &chunks);
            let mut seen = vec![0; ours_lines.len()];
            for chunk in passed.iter().chain(&kept) {
                for i in 0..chunk.len {
                    seen[chunk.final_start + i] += 1;
                }
            }
            prop_assert!(seen.iter().all(|&n| n == 1), "{:?}", seen);
            for chunk in &passed {
                for i in 0..chunk.len {
                    prop_assert_eq!(ours_lines[chunk.final_start + i], theirs_lines[chunk.origin_start + i]);
                }
            }
        }
    }
}
