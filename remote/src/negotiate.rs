//! Which objects a fetch moves: everything the wanted objects reach, except what
//! the asker's commits already reach.
//!
//! Commits are walked from the wants, stopping at commits the asker has (their
//! whole history is the asker's too). The trees of the commits where the walk
//! stopped are what the asker certainly has; their objects are skipped when the
//! new commits' trees are walked, so an incremental fetch reads and sends only
//! the directories and files that changed.

use pg_core::object::{EntryKind, Object};
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use std::collections::HashSet;

/// What to send for a fetch.
#[derive(Debug, Default)]
pub struct Plan {
    /// The objects, commits first, each tree before its entries, and older
    /// commits' trees before newer ones' (so a file's older version, the base its
    /// newer versions are stored as deltas against, goes first).
    pub send: Vec<ObjectId>,
    /// Trees and blobs the asker certainly has (those of the commits where the
    /// walk stopped): good delta bases.
    pub known: HashSet<ObjectId>,
}

/// The objects to send for `wants`, given the commits the asker has.
pub fn objects_to_send(store: &Store, wants: &[ObjectId], haves: &[ObjectId]) -> store::Result<Plan> {
    let haves: Vec<ObjectId> =
        haves.iter().copied().filter(|id| store.backend().has_object(id).unwrap_or(false)).collect();
    let known_commits = ancestors(store, &haves)?;
    let mut send = Vec::new();
    let mut sent = HashSet::new();
    // Roots of the trees to send: new commits' trees, and trees or blobs wanted.
    let mut roots = Vec::new();
    let mut boundary = Vec::new();
    let mut stack: Vec<ObjectId> = wants.to_vec();
    while let Some(id) = stack.pop() {
        if known_commits.contains(&id) || !sent.insert(id) {
            continue;
        }
        match store.read(&id)? {
            Object::Commit(commit) => {
                send.push(id);
                for parent in &commit.parents {
                    if known_commits.contains(parent) {
                        boundary.push(*parent);
                    } else {
                        stack.push(*parent);
                    }
                }
                roots.push(commit.tree);
            }
            Object::Tag(tag) => {
                send.push(id);
                stack.push(tag.object);
            }
            Object::Tree(_) | Object::Blob(_) => {
                sent.remove(&id);
                roots.push(id);
            }
            Object::Conflict(_) => send.push(id),
        }
    }
    let mut known: HashSet<ObjectId> = HashSet::new();
    for commit in boundary {
        let tree = store.read_commit(&commit)?.tree;
        walk_tree(store, tree, &mut known, &mut |_| {})?;
    }
    // The walk below grows its skip set with what it sends; what the asker had
    // is kept apart, as the only safe delta bases besides objects already sent.
    let mut skip = known.clone();
    // Commits were walked newest first: their trees go oldest first.
    for root in roots.into_iter().rev() {
        walk_tree(store, root, &mut skip, &mut |id| {
            if sent.insert(id) {
                send.push(id)
            }
        })?;
    }
    Ok(Plan { send, known })
}

/// Every commit reachable from `tips` (tips that are not commits are ignored).
fn ancestors(store: &Store, tips: &[ObjectId]) -> store::Result<HashSet<ObjectId>> {
    let mut seen = HashSet::new();
    let is_commit = |id: &ObjectId| matches!(store.kind(id), Ok(pg_core::object::ObjectKind::Commit));
    let mut stack: Vec<ObjectId> = tips.iter().copied().filter(is_commit).collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(store.read_commit(&id)?.parents);
        }
    }
    Ok(seen)
}

/// Visits `root` and everything below it not in `skip` (which grows), entries
/// after their tree; gitlinks (other repositories' commits) are not followed.
fn walk_tree(
    store: &Store,
    root: ObjectId,
    skip: &mut HashSet<ObjectId>,
    visit: &mut dyn FnMut(ObjectId),
) -> store::Result<()> {
    let mut stack = vec![(root, true)];
    while let Some((id, is_tree)) = stack.pop() {
        if !skip.insert(id) {
            continue;
        }
        visit(id);
        if is_tree {
            for entry in store.read_tree(&id)?.entries {
                match entry.mode.kind() {
                    EntryKind::Gitlink => {}
                    EntryKind::Tree => stack.push((entry.id, true)),
                    _ => stack.push((entry.id, false)),
                }
            }
        }
    }
    Ok(())
}
