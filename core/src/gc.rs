//! Garbage collection: deleting the objects nothing can reach, such as those an
//! import or a transfer stored before it failed.
//!
//! Reachable means reachable from a ref, from any ref value the operation log
//! records or any working-copy snapshot it keeps (so `pg undo` always finds what
//! it needs), from the repository's identity record, or from a root the caller
//! names (the index, a merge in progress, the conflict queue, an unfinished
//! transfer: things this crate does not know). An object stored as a delta keeps
//! its base, reachable or not.
//!
//! # Deviation from git
//! git keeps unreachable objects for two weeks, since another process may be
//! about to reference them. A pg store has one writer at a time (RocksDB's lock),
//! and a collection holds it for its whole run, so nothing is written meanwhile
//! and there is no grace period.

use crate::id::ObjectId;
use crate::object::{EntryKind, Object};
use crate::refs::RefTarget;
use crate::store::{self, Batch, Durability, StoredAs};
use crate::Repository;
use std::collections::HashSet;

/// Errors of a collection.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the store failed; nothing was deleted unless a batch of
    /// deletions had been written (each batch deletes only unreachable objects).
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The repository (refs, operation log) could not be read.
    #[error(transparent)]
    Repo(#[from] crate::repo::Error),
}

/// What a collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    /// Stored objects kept: reachable, or the base of a kept delta.
    pub kept: u64,
    /// Objects deleted.
    pub removed: u64,
}

/// How many objects one batch deletes.
const BATCH: usize = 10_000;

/// Deletes every object that neither the refs, the operation log nor `roots`
/// reach. With `dry_run`, only counts.
pub fn collect(repo: &Repository, roots: &[ObjectId], dry_run: bool) -> Result<Outcome, Error> {
    let mut reachable = reachable(repo, roots)?;
    let backend = repo.store().backend();
    let mut unreachable = Vec::new();
    let mut bases = Vec::new();
    let mut stored = 0u64;
    backend.for_each_stored(&mut |key, stored_as| {
        // A damaged record is fsck's to report; it is not collected.
        let Ok(id) = ObjectId::from_bytes(key) else { return true };
        stored += 1;
        let base = match stored_as {
            StoredAs::Delta(base) => Some(base),
            StoredAs::Whole => None,
            StoredAs::Unreadable(_) => {
                reachable.insert(id);
                return true;
            }
        };
        match reachable.contains(&id) {
            true => bases.extend(base),
            false => unreachable.push((id, base)),
        }
        true
    })?;
    // Bases of kept deltas are kept, and so are their own bases.
    let base_of: std::collections::HashMap<ObjectId, ObjectId> =
        unreachable.iter().filter_map(|(id, base)| base.map(|b| (*id, b))).collect();
    while let Some(base) = bases.pop() {
        if reachable.insert(base) {
            bases.extend(base_of.get(&base).copied());
        }
    }
    let removed: Vec<ObjectId> =
        unreachable.into_iter().map(|(id, _)| id).filter(|id| !reachable.contains(id)).collect();
    let outcome = Outcome { kept: stored - removed.len() as u64, removed: removed.len() as u64 };
    if !dry_run {
        for chunk in removed.chunks(BATCH) {
            let batch = Batch { removed_objects: chunk.to_vec(), ..Batch::default() };
            backend.write(batch, Durability::Synced)?;
        }
    }
    Ok(outcome)
}

/// Every stored object reachable from the refs, the operation log and `roots`.
/// Blobs are recognised by their tree entries' modes and never read.
fn reachable(repo: &Repository, roots: &[ObjectId]) -> Result<HashSet<ObjectId>, Error> {
    let mut stack: Vec<ObjectId> = roots.to_vec();
    let target = |t: &RefTarget| match t {
        RefTarget::Object(id) => Some(*id),
        RefTarget::Symbolic(_) => None,
    };
    stack.extend(repo.list_refs("")?.iter().filter_map(|(_, t)| target(t)));
    stack.extend(repo.repository_id()?);
    for operation in repo.operations(usize::MAX)? {
        for change in &operation.changes {
            stack.extend(change.before.iter().chain(&change.after).filter_map(target));
        }
        for snapshot in operation.working_copy.iter().flat_map(|c| [c.before, c.after]) {
            stack.extend([snapshot.index, snapshot.files]);
        }
    }
    let store = repo.store();
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        let object = match store.read(&id) {
            Ok(object) => object,
            // An id the log recalls may name an object collected long ago.
            Err(store::Error::Missing(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        match object {
            Object::Tree(tree) => {
                for entry in &tree.entries {
                    match entry.mode.kind() {
                        EntryKind::Tree => stack.push(entry.id),
                        EntryKind::Gitlink => {}
                        _ => {
                            seen.insert(entry.id);
                        }
                    }
                }
            }
            other => stack.extend(other.references()),
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oplog::OpContext;
    use crate::repo::InitOptions;
    use crate::store::{RefUpdate, Stored};

    #[test]
    fn an_unreachable_base_of_a_kept_delta_is_kept_and_the_rest_goes() {
        let dir = tempfile::tempdir().unwrap();
        let context = OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo = Repository::init(dir.path(), &InitOptions::default(), &context).unwrap();
        let store = repo.store();
        let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let (base_id, base) = store.prepare(&Object::Blob(text.clone().into_bytes()));
        let (kept_id, kept) = store.prepare(&Object::Blob(format!("{text}one more\n").into_bytes()));
        let (lost_id, lost) = store.prepare(&Object::Blob(b"nobody's".to_vec()));
        let batch = Batch {
            objects: vec![(base_id, base), (kept_id, kept), (lost_id, lost)],
            delta_bases: [(kept_id, base_id)].into(),
            ..Batch::default()
        };
        store.backend().write(batch, Durability::Synced).unwrap();
        assert!(
            matches!(store.backend().stored(&kept_id).unwrap(), Some(Stored::Delta { base, .. }) if base == base_id)
        );
        let update = RefUpdate {
            name: "refs/tags/kept".into(),
            expected: None,
            new: Some(RefTarget::Object(kept_id)),
        };
        repo.update_refs(&context, Vec::new(), vec![update]).unwrap();
        let outcome = collect(&repo, &[], false).unwrap();
        assert_eq!(outcome.removed, 1);
        assert!(!store.backend().has_object(&lost_id).unwrap());
        assert_eq!(store.read_blob(&kept_id).unwrap(), format!("{text}one more\n").into_bytes());
        assert!(store.backend().has_object(&base_id).unwrap(), "the delta's base stays");
    }
}
