//! Which objects a fetch moves: everything the wanted objects reach, except what
//! the asker's commits already reach.
//!
//! Commits are walked from the wants, stopping at commits the asker has (their
//! whole history is the asker's too). The trees of the commits where the walk
//! stopped are what the asker certainly has; their objects are skipped when the
//! new commits' trees are walked, so an incremental fetch reads and sends only
//! the directories and files that changed.

use pg_core::object::{self, DecodeError, EntriesIn, EntryKind, EntryRef, IdForm, Object, ObjectKind};
use pg_core::store::{self, Store, Stored};
use pg_core::ObjectId;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::collections::BinaryHeap;
use std::sync::Arc;

/// Objects the asker will have when an object reaches it: those sent before it
/// (`sent`) and those it had (`known`: the trees and blobs of the commits where
/// the walk stopped, and what it said it has whole). Either is a safe delta base.
pub struct Bases<'a> {
    /// Sent earlier in this transfer.
    pub sent: &'a HashSet<ObjectId>,
    /// Had by the asker.
    pub known: &'a HashSet<ObjectId>,
    /// The asker's version of the object: what was at the same path in the tree
    /// of the commit it builds on (for the new commits whose first parent the
    /// asker has), if that was of the same kind. The base a patch made for the
    /// asker would be made against.
    pub previous: Option<ObjectId>,
}

impl Bases<'_> {
    /// Whether `id` can be the base of a delta sent now.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.sent.contains(id) || self.known.contains(id)
    }
}

/// Walks the objects to send for `wants`, given the commits the asker has and the
/// trees and blobs it has whole (`stored`), handing each to `emit` in sending
/// order: commits first, each tree before its entries, and older commits' trees
/// before newer ones' (so a file's older version, the base its newer versions are
/// stored as deltas against, goes first). Emitting as the walk goes lets the first
/// objects leave while later trees are still being read.
pub fn objects_to_send<E: From<store::Error>>(
    store: &Store,
    wants: &[ObjectId],
    haves: &[ObjectId],
    stored: &[ObjectId],
    emit: &mut dyn FnMut(ObjectId, Stored, Bases<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let haves: Vec<ObjectId> = haves.iter().copied().filter(|id| is_commit(store, id)).collect();
    let mut sent = HashSet::default();
    let mut known: HashSet<ObjectId> = HashSet::default();
    let mut send = |id: ObjectId,
                    stored: Stored,
                    previous: Option<ObjectId>,
                    sent: &mut HashSet<ObjectId>,
                    known: &HashSet<ObjectId>| {
        if sent.insert(id) {
            emit(id, stored, Bases { sent, known, previous })?;
        }
        Ok::<_, E>(())
    };
    // Roots of the trees to send: new commits' trees, and trees or blobs wanted.
    let mut roots = Vec::new();
    let mut want_commits = Vec::new();
    for want in wants {
        let mut id = *want;
        // Tags (of tags) go with what they tag.
        loop {
            match store.read_unverified(&id)? {
                Object::Tag(tag) => {
                    send(id, stored_form(store, &id)?, None, &mut sent, &known)?;
                    id = tag.object;
                }
                Object::Commit(_) => break want_commits.push(id),
                Object::Tree(_) | Object::Blob(_) => break roots.push((id, None)),
                Object::Conflict(_) | Object::Promise(_) | Object::Revocation(_) => {
                    break send(id, stored_form(store, &id)?, None, &mut sent, &known)?
                }
            }
        }
    }
    // New commits leave as the walk finds them, while it goes on.
    let mut send_commit = |id: ObjectId| send(id, stored_form(store, &id)?, None, &mut sent, &known);
    let (commits, boundary) = new_commits(store, &want_commits, &haves, &mut send_commit)?;
    let mut boundary_trees = HashMap::default();
    for commit in boundary {
        let tree = read_commit(store, &commit)?.tree;
        walk_tree::<E>(store, tree, None, &mut known, None)?;
        boundary_trees.insert(commit, tree);
    }
    // A new commit on top of the asker's history changes its parent's tree: what
    // was at each changed path is the asker's version of what is there now.
    let previous = |parent: Option<ObjectId>| parent.and_then(|p| boundary_trees.get(&p).copied());
    roots.extend(commits.into_iter().map(|(_, tree, parent)| (tree, previous(parent))));
    // What the asker says it has whole; only what is here can be walked.
    for id in stored {
        match store.kind(id) {
            Ok(ObjectKind::Tree) => walk_tree::<E>(store, *id, None, &mut known, None)?,
            _ => {
                known.insert(*id);
            }
        }
    }
    // The walk below grows its skip set with what it sends; what the asker had
    // is kept apart, as the only safe delta bases besides objects already sent.
    let mut skip = known.clone();
    // Commits were walked newest first: their trees go oldest first.
    for (root, previous) in roots.into_iter().rev() {
        let mut send_entry = |id, stored, previous| send(id, stored, previous, &mut sent, &known);
        walk_tree(store, root, previous, &mut skip, Some(&mut send_entry))?;
    }
    Ok(())
}

// The walks below read without hashing: the asker checks every object it is sent,
// so a damaged object here cannot get past it, and hashing every tree twice (here
// and there) would double the cost of a clone.

fn read_commit(store: &Store, id: &ObjectId) -> store::Result<pg_core::object::Commit> {
    match store.read_unverified(id)? {
        Object::Commit(commit) => Ok(commit),
        other => Err(store::Error::WrongKind { id: *id, expected: ObjectKind::Commit, actual: other.kind() }),
    }
}

/// How `id` is stored.
fn stored_form(store: &Store, id: &ObjectId) -> store::Result<Stored> {
    store.backend().stored(id)?.ok_or(store::Error::Missing(*id))
}

/// Visits the entries of tree `id`, encoded as `bytes`, read in place; given the
/// encoding of a tree whose entries are all walked (`base`), only the entries
/// that base does not hold as they are.
fn for_each_entry(
    id: &ObjectId,
    bytes: &[u8],
    base: Option<&[u8]>,
    visit: &mut dyn FnMut(EntryRef<'_>),
) -> store::Result<()> {
    let corrupt = |e: DecodeError| store::Error::Corrupt { id: *id, reason: e.to_string() };
    let body = match object::split_header(bytes).map_err(corrupt)? {
        (ObjectKind::Tree, body) => body,
        (actual, _) => return Err(store::Error::WrongKind { id: *id, expected: ObjectKind::Tree, actual }),
    };
    match base.map(object::split_header) {
        Some(Ok((ObjectKind::Tree, base))) => {
            object::entries_beyond(body, base, IdForm::Pg).try_for_each(|entry| entry.map(&mut *visit))
        }
        _ => EntriesIn::new(body, IdForm::Pg).try_for_each(|entry| entry.map(&mut *visit)),
    }
    .map_err(corrupt)
}

/// The entries of tree `id` by name (but gitlinks), with whether each is a tree.
fn entries_by_name(store: &Store, id: &ObjectId) -> store::Result<HashMap<Vec<u8>, (ObjectId, bool)>> {
    let bytes = store.backend().read_object(id)?.ok_or(store::Error::Missing(*id))?;
    let mut entries = HashMap::default();
    for_each_entry(id, &bytes, None, &mut |entry| match entry.mode.kind() {
        // Another repository's commit: not here, so nobody's version of anything.
        EntryKind::Gitlink => {}
        kind => {
            entries.insert(entry.name.to_vec(), (entry.id, kind == EntryKind::Tree));
        }
    })?;
    Ok(entries)
}

fn is_commit(store: &Store, id: &ObjectId) -> bool {
    matches!(store.kind(id), Ok(ObjectKind::Commit))
}

/// New commits (with their trees and first parents), newest first, and the
/// boundary: commits of the haves' history that new commits have as parents.
type Walked = (Vec<(ObjectId, ObjectId, Option<ObjectId>)>, Vec<ObjectId>);

/// The commits reachable from `wants` but not from `haves`.
///
/// Both sides are walked together, newest committer date first, as git's revision
/// walk does: what a have reaches is painted uninteresting, and the walk stops once
/// only uninteresting commits are queued, so the asker's history is walked only as
/// far back as the new commits reach, not to its root.
/// Each new commit is handed to `found` as soon as it is known to be new.
fn new_commits<E: From<store::Error>>(
    store: &Store,
    wants: &[ObjectId],
    haves: &[ObjectId],
    found: &mut dyn FnMut(ObjectId) -> Result<(), E>,
) -> Result<Walked, E> {
    const WANTED: u8 = 1;
    const HAD: u8 = 2;
    let mut flags: HashMap<ObjectId, u8> = HashMap::default();
    let mut queue = BinaryHeap::new();
    let mut order = 0u64;
    let mut enqueue = |queue: &mut BinaryHeap<_>, id: ObjectId| -> store::Result<()> {
        let commit = read_commit(store, &id)?;
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
            found(id)?;
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
    let commits = taken.into_iter().map(|(id, tree, parents)| (id, tree, parents.first().copied())).collect();
    Ok((commits, boundary))
}

/// What an object sent by [`walk_tree`] is handed to: its id, how it is stored,
/// and the asker's version of it (see [`Bases::previous`]).
type SendEntry<'a, E> = &'a mut dyn FnMut(ObjectId, Stored, Option<ObjectId>) -> Result<(), E>;

/// Visits `root` and everything below it not in `skip` (which grows), entries
/// after their tree, handing each with how it is stored to `send` (without one,
/// only trees are read); gitlinks (other repositories' commits) are not followed.
/// `previous`: the asker's version of `root`, whose entries are the asker's
/// versions of the entries of the same names.
fn walk_tree<E: From<store::Error>>(
    store: &Store,
    root: ObjectId,
    previous: Option<ObjectId>,
    skip: &mut HashSet<ObjectId>,
    mut send: Option<SendEntry<'_, E>>,
) -> Result<(), E> {
    let backend = store.backend();
    let missing = |id: &ObjectId| store::Error::Missing(*id);
    let mut stack = vec![(root, true, previous)];
    while let Some((id, is_tree, previous)) = stack.pop() {
        if !skip.insert(id) {
            continue;
        }
        let (tree, walked_base) = match (&mut send, is_tree) {
            (Some(send), true) => {
                let (stored, bytes) = backend.stored_and_read(&id)?.ok_or_else(|| missing(&id))?;
                // A directory's next version, stored as a delta of the version
                // walked before: only what changed needs a look.
                let walked_base = match &stored {
                    Stored::Delta { base, .. } if skip.contains(base) => backend.read_object(base)?,
                    _ => None,
                };
                send(id, stored, previous)?;
                (bytes, walked_base)
            }
            (Some(send), false) => {
                send(id, stored_form(store, &id)?, previous)?;
                continue;
            }
            (None, true) => (Arc::new(backend.read_object(&id)?.ok_or_else(|| missing(&id))?), None),
            (None, false) => continue,
        };
        let previous_entries = match previous {
            Some(previous) => entries_by_name(store, &previous)?,
            None => HashMap::default(),
        };
        for_each_entry(&id, &tree, walked_base.as_deref(), &mut |entry| {
            let is_tree = match entry.mode.kind() {
                EntryKind::Gitlink => return,
                kind => kind == EntryKind::Tree,
            };
            let previous = previous_entries.get(entry.name).filter(|(_, was_tree)| *was_tree == is_tree);
            stack.push((entry.id, is_tree, previous.map(|(id, _)| *id)));
        })?;
    }
    Ok(())
}
