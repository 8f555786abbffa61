//! Which objects a fetch moves: everything the wanted objects reach, except what
//! the asker's commits already reach.
//!
//! Commits are walked from the wants, stopping at commits the asker has (their
//! whole history is the asker's too). The trees of the commits where the walk
//! stopped are what the asker certainly has; their objects are skipped when the
//! new commits' trees are walked, so an incremental fetch reads and sends only
//! the directories and files that changed.

use pg_core::object::{EntryKind, Object, ObjectKind};
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BinaryHeap;

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

/// The objects to send for `wants`, given the commits the asker has and the trees
/// and blobs it has whole (`stored`).
pub fn objects_to_send(
    store: &Store,
    wants: &[ObjectId],
    haves: &[ObjectId],
    stored: &[ObjectId],
) -> store::Result<Plan> {
    let haves: Vec<ObjectId> = haves.iter().copied().filter(|id| is_commit(store, id)).collect();
    let mut send = Vec::new();
    let mut sent = HashSet::default();
    // Roots of the trees to send: new commits' trees, and trees or blobs wanted.
    let mut roots = Vec::new();
    let mut want_commits = Vec::new();
    for want in wants {
        let mut id = *want;
        // Tags (of tags) go with what they tag.
        loop {
            match store.read(&id)? {
                Object::Tag(tag) => {
                    if sent.insert(id) {
                        send.push(id);
                    }
                    id = tag.object;
                }
                Object::Commit(_) => break want_commits.push(id),
                Object::Tree(_) | Object::Blob(_) => break roots.push(id),
                Object::Conflict(_) => {
                    if sent.insert(id) {
                        send.push(id);
                    }
                    break;
                }
            }
        }
    }
    let (commits, boundary) = new_commits(store, &want_commits, &haves)?;
    for (id, tree) in commits {
        if sent.insert(id) {
            send.push(id);
            roots.push(tree);
        }
    }
    let mut known: HashSet<ObjectId> = HashSet::default();
    for commit in boundary {
        let tree = store.read_commit(&commit)?.tree;
        walk_tree(store, tree, &mut known, &mut |_| {})?;
    }
    // What the asker says it has whole; only what is here can be walked.
    for id in stored {
        match store.kind(id) {
            Ok(ObjectKind::Tree) => walk_tree(store, *id, &mut known, &mut |_| {})?,
            _ => {
                known.insert(*id);
            }
        }
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

fn is_commit(store: &Store, id: &ObjectId) -> bool {
    matches!(store.kind(id), Ok(ObjectKind::Commit))
}

/// New commits (with their trees), newest first, and the boundary: commits of the
/// haves' history that new commits have as parents.
type Walked = (Vec<(ObjectId, ObjectId)>, Vec<ObjectId>);

/// The commits reachable from `wants` but not from `haves`.
///
/// Both sides are walked together, newest committer date first, as git's revision
/// walk does: what a have reaches is painted uninteresting, and the walk stops once
/// only uninteresting commits are queued, so the asker's history is walked only as
/// far back as the new commits reach, not to its root.
fn new_commits(store: &Store, wants: &[ObjectId], haves: &[ObjectId]) -> store::Result<Walked> {
    const WANTED: u8 = 1;
    const HAD: u8 = 2;
    let mut flags: HashMap<ObjectId, u8> = HashMap::default();
    let mut queue = BinaryHeap::new();
    let mut order = 0u64;
    let mut enqueue = |queue: &mut BinaryHeap<_>, id: ObjectId| -> store::Result<()> {
        let commit = store.read_commit(&id)?;
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        order += 1;
        queue.push((time, std::cmp::Reverse(order), id, commit.tree, commit.parents));
        Ok(())
    };
    for (list, flag) in [(haves, HAD), (wants, WANTED)] {
        for id in list {
            let known = flags.entry(*id).or_insert(0);
            if *known & flag == 0 {
                *known |= flag;
                enqueue(&mut queue, *id)?;
            }
        }
    }
    let mut taken: Vec<(ObjectId, ObjectId, Vec<ObjectId>)> = Vec::new();
    let mut seen = HashSet::default();
    while queue.iter().any(|(_, _, id, _, _)| flags[id] & HAD == 0) {
        let Some((_, _, id, tree, parents)) = queue.pop() else { break };
        let had = flags[&id] & HAD != 0;
        for parent in &parents {
            let known = flags.entry(*parent).or_insert(0);
            // Paint uninteresting through anything; interesting only onto the unseen.
            let grows = if had { *known & HAD == 0 } else { *known == 0 };
            if grows {
                *known |= if had { HAD } else { WANTED };
                enqueue(&mut queue, *parent)?;
            }
        }
        if !had && seen.insert(id) {
            taken.push((id, tree, parents));
        }
    }
    // The boundary is known only now: a parent may be painted after its child left.
    let mut boundary = Vec::new();
    for parent in taken.iter().flat_map(|(_, _, parents)| parents) {
        if flags.get(parent).is_some_and(|f| f & HAD != 0) && !boundary.contains(parent) {
            boundary.push(*parent);
        }
    }
    Ok((taken.into_iter().map(|(id, tree, _)| (id, tree)).collect(), boundary))
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
