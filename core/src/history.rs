//! Walking commit history.

use crate::id::ObjectId;
use crate::object::Commit;
use crate::store::{Result, Store};
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Commits reachable from `start`, newest committer date first (ties in the
/// order they were reached), at most `limit`.
pub fn walk(store: &Store, start: ObjectId, limit: usize) -> Result<Vec<(ObjectId, Commit)>> {
    let time = |c: &Commit| c.committer_signature().map_or(0, |s| s.seconds);
    let mut pending: HashMap<ObjectId, Commit> = HashMap::new();
    let mut queue = BinaryHeap::new();
    let mut seen = HashSet::new();
    let mut reached = 0usize;
    let mut enqueue = |id: ObjectId, pending: &mut HashMap<ObjectId, Commit>, queue: &mut BinaryHeap<_>| {
        let commit = store.read_commit(&id)?;
        reached += 1;
        queue.push((time(&commit), std::cmp::Reverse(reached), id));
        pending.insert(id, commit);
        Ok::<_, crate::store::Error>(())
    };
    seen.insert(start);
    enqueue(start, &mut pending, &mut queue)?;
    let mut out = Vec::new();
    while let Some((_, _, id)) = queue.pop() {
        if out.len() == limit {
            break;
        }
        let commit = pending.remove(&id).expect("queued commits are pending");
        for parent in &commit.parents {
            if seen.insert(*parent) {
                enqueue(*parent, &mut pending, &mut queue)?;
            }
        }
        out.push((id, commit));
    }
    Ok(out)
}

/// Whether `ancestor` is `descendant` or one of its ancestors.
pub fn is_ancestor(store: &Store, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
    let mut stack = vec![descendant];
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if id == ancestor {
            return Ok(true);
        }
        if seen.insert(id) {
            stack.extend(store.read_commit(&id)?.parents);
        }
    }
    Ok(false)
}
