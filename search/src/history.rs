//! Searching every version of every file a history holds, each read once.
//!
//! Commits are taken oldest first and each distinct tree is walked once: a tree
//! met before holds only blobs met before, so the first commit that reaches a
//! blob is the earliest that holds it, and the blob is searched then, once. A
//! second walk, newest first, finds the latest commit that holds each matching
//! blob, and stops as soon as every one is placed.
//!
//! What stays in memory is a 16-byte key per distinct tree and blob (not the
//! objects), the list of commits, and the matches.

use super::tree::{is_searched, join};
use super::{parallel, Found, PathFilter, Pattern, Result};
use pg_core::id::ObjectId;
use pg_core::object::EntryKind;
use pg_core::store::Store;
use pg_core::worktree::Progress;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A commit that holds a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Containing {
    /// The commit.
    pub commit: ObjectId,
    /// Its committer time (seconds since the Unix epoch).
    pub time: i64,
}

/// What matched in one version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMatches {
    /// The version.
    pub blob: ObjectId,
    /// Where the earliest commit holding it has it (it may have more paths).
    pub path: Vec<u8>,
    /// What matched.
    pub found: Found,
    /// The earliest commit that holds it.
    pub first: Containing,
    /// The latest commit that holds it.
    pub last: Containing,
}

/// How many new blobs are gathered before they are searched together.
const BATCH: usize = 1024;

/// Searches every file version reachable from `tips` that `filter` includes;
/// the matches in the order their earliest commits were made. `progress` counts
/// commits, twice (one per walk).
pub fn search_history(
    store: &Store,
    tips: &[ObjectId],
    pattern: &Pattern,
    filter: &PathFilter,
    progress: &dyn Progress,
) -> Result<Vec<BlobMatches>> {
    let commits = commits_oldest_first(store, tips)?;
    progress.start(2 * commits.len() as u64);
    let mut matches = Vec::new();
    let mut walk = Walk::new(filter);
    let mut batch: Vec<(Vec<u8>, ObjectId, Containing)> = Vec::new();
    for commit in &commits {
        walk.new_blobs(store, &commit.tree, &mut |path, blob| batch.push((path, blob, commit.at)))?;
        if batch.len() >= BATCH {
            matches.extend(search_batch(store, pattern, &mut batch)?);
        }
        progress.advance(1);
    }
    matches.extend(search_batch(store, pattern, &mut batch)?);
    place_latest(store, &commits, filter, &mut matches, progress)?;
    Ok(matches)
}

/// One commit of the history, as the walks need it.
struct HistoryCommit {
    tree: ObjectId,
    at: Containing,
}

/// Every commit reachable from `tips`, parents before children and, among
/// commits whose parents are all placed, the earlier committed first: the
/// commit times alone would misorder commits made in the same second, or on a
/// machine whose clock was wrong.
fn commits_oldest_first(store: &Store, tips: &[ObjectId]) -> Result<Vec<HistoryCommit>> {
    let mut slot: FxHashMap<ObjectId, usize> = FxHashMap::default();
    let mut nodes: Vec<(HistoryCommit, Vec<ObjectId>)> = Vec::new();
    let mut pending: Vec<ObjectId> = tips.to_vec();
    while let Some(id) = pending.pop() {
        if slot.contains_key(&id) {
            continue;
        }
        let commit = store.read_commit(&id)?;
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        slot.insert(id, nodes.len());
        pending.extend(commit.parents.iter().filter(|p| !slot.contains_key(p)));
        nodes
            .push((HistoryCommit { tree: commit.tree, at: Containing { commit: id, time } }, commit.parents));
    }
    let mut waiting: Vec<usize> = vec![0; nodes.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (child, (_, parents)) in nodes.iter().enumerate() {
        for parent in parents {
            waiting[child] += 1;
            children[slot[parent]].push(child);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, usize)>> =
        (0..nodes.len()).filter(|&i| waiting[i] == 0).map(|i| Reverse((nodes[i].0.at.time, i))).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &child in &children[i] {
            waiting[child] -= 1;
            if waiting[child] == 0 {
                ready.push(Reverse((nodes[child].0.at.time, child)));
            }
        }
    }
    let mut nodes: Vec<Option<HistoryCommit>> = nodes.into_iter().map(|(c, _)| Some(c)).collect();
    Ok(order.into_iter().map(|i| nodes[i].take().expect("each commit is placed once")).collect())
}

/// Searches the gathered blobs on all cores and empties the batch.
fn search_batch(
    store: &Store,
    pattern: &Pattern,
    batch: &mut Vec<(Vec<u8>, ObjectId, Containing)>,
) -> Result<Vec<BlobMatches>> {
    let found = parallel::filter_map(batch, |(path, blob, first)| {
        let found = pattern.search(&store.read_blob(blob)?);
        Ok(found.map(|found| BlobMatches {
            blob: *blob,
            path: path.clone(),
            found,
            first: *first,
            last: *first,
        }))
    });
    batch.clear();
    found
}

/// The newest-first walk: each match's latest commit.
fn place_latest(
    store: &Store,
    commits: &[HistoryCommit],
    filter: &PathFilter,
    matches: &mut [BlobMatches],
    progress: &dyn Progress,
) -> Result<()> {
    let mut unplaced: FxHashMap<u128, usize> =
        matches.iter().enumerate().map(|(i, m)| (key(&m.blob), i)).collect();
    let mut walk = Walk::new(filter);
    for (done, commit) in commits.iter().rev().enumerate() {
        if unplaced.is_empty() {
            progress.advance((commits.len() - done) as u64);
            break;
        }
        walk.new_blobs(store, &commit.tree, &mut |_, blob| {
            if let Some(i) = unplaced.remove(&key(&blob)) {
                matches[i].last = commit.at;
            }
        })?;
        progress.advance(1);
    }
    Ok(())
}

/// A walk over many commits' trees that enters each distinct tree once and
/// reports each distinct blob once.
struct Walk<'f> {
    filter: &'f PathFilter,
    trees: FxHashSet<u128>,
    blobs: FxHashSet<u128>,
}

/// The set key of an id: 16 of its digest bytes, which no two objects of a
/// history share (a collision is as likely as one of a 128-bit hash).
fn key(id: &ObjectId) -> u128 {
    let digest = id.digest();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(bytes)
}

impl<'f> Walk<'f> {
    fn new(filter: &'f PathFilter) -> Walk<'f> {
        Walk { filter, trees: FxHashSet::default(), blobs: FxHashSet::default() }
    }

    /// Calls `visit` with the path and id of each blob under `root` that the
    /// walk has not reported before. Inside an included directory a tree met
    /// before is skipped whole: its blobs were all reported when it was first met.
    /// Directories on the way to a filter's paths are entered every time, since
    /// what is included under them depends on where they are.
    fn new_blobs(
        &mut self,
        store: &Store,
        root: &ObjectId,
        visit: &mut dyn FnMut(Vec<u8>, ObjectId),
    ) -> Result<()> {
        let mut pending = vec![(Vec::new(), *root, self.filter.includes(b""))];
        while let Some((dir, id, included)) = pending.pop() {
            if included && !self.trees.insert(key(&id)) {
                continue;
            }
            for entry in store.read_tree(&id)?.entries {
                let path = join(&dir, &entry.name);
                let inside = included || self.filter.includes(&path);
                match entry.mode.kind() {
                    EntryKind::Tree if inside || self.filter.may_include_under(&path) => {
                        pending.push((path, entry.id, inside))
                    }
                    kind if is_searched(kind) && inside && self.blobs.insert(key(&entry.id)) => {
                        visit(path, entry.id)
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}
