//! Snapshots of the working copy, and the operations that move it between them:
//! restore, reset and undo. Each stores what it is about to discard before it
//! discards it, and records both snapshots in the operation log, so `pg undo`
//! can put back even edits that were never staged.

use super::{add, move_between, switch, CheckoutOutcome, Error, Progress, Result};
use crate::id::ObjectId;
use crate::index::Index;
use crate::oplog::{OpContext, Operation, Snapshot, WorkingCopyChange};
use crate::refs::{RefTarget, HEAD};
use crate::repo::Head;
use crate::store::{BulkWriter, RefUpdate, Store};
use crate::Repository;

/// Stores the working copy as a [`Snapshot`]: the tracked files' contents as
/// they are on disk (edits not staged included) and the trees of the index and
/// of those files.
pub fn snapshot(repo: &Repository, index: &Index, progress: &dyn Progress) -> Result<Snapshot> {
    let mut files = index.clone();
    if !files.entries().is_empty() {
        add(repo, &mut files, &[Vec::new()], true, progress)?;
    }
    let mut writer = BulkWriter::new(repo.store());
    let index_tree = store_tree(&mut writer, repo.store(), index)?;
    let files_tree = store_tree(&mut writer, repo.store(), &files)?;
    writer.finish()?;
    Ok(Snapshot { index: index_tree, files: files_tree })
}

/// Stores the tree of `index` (the trees it does not cache) and returns its id.
pub fn write_index_tree(store: &Store, index: &Index) -> Result<ObjectId> {
    let mut writer = BulkWriter::new(store);
    let root = store_tree(&mut writer, store, index)?;
    writer.finish()?;
    Ok(root)
}

fn store_tree(writer: &mut BulkWriter, store: &Store, index: &Index) -> Result<ObjectId> {
    let build = index.write_tree(store);
    let root = build.root();
    for (id, bytes) in build.objects {
        writer.add_encoded(id, bytes)?;
    }
    Ok(root)
}

/// What `pg restore` puts back, and from where.
#[derive(Clone, Debug)]
pub struct RestoreOptions {
    /// Repository paths (`""` is everything).
    pub paths: Vec<Vec<u8>>,
    /// The tree to take the paths from. `None`: `HEAD`'s when the index is
    /// restored, else the index (as in git).
    pub source: Option<ObjectId>,
    /// Put the paths back in the index.
    pub staged: bool,
    /// Put the paths back in the working copy's files.
    pub worktree: bool,
}

/// Puts `options.paths` back in the index and/or the files from the source
/// tree, removing tracked files the source lacks; untracked files are left
/// alone. Returns the operation recorded, or `None` when nothing differed.
pub fn restore(
    repo: &Repository,
    index: &mut Index,
    options: &RestoreOptions,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<Option<Operation>> {
    let before = snapshot(repo, index, progress)?;
    let source = match options.source {
        Some(tree) => Some(tree),
        None if options.staged => repo.head_tree()?,
        None => Some(before.index),
    };
    let store = repo.store();
    let source = source.map(|tree| Index::read_tree(store, &tree)).transpose()?.unwrap_or_default();
    let replace = |tree: ObjectId, wanted: bool| -> Result<ObjectId> {
        if !wanted {
            return Ok(tree);
        }
        replace_paths(store, &tree, &source, &options.paths)
    };
    let after = Snapshot {
        index: replace(before.index, options.staged)?,
        files: replace(before.files, options.worktree)?,
    };
    record_move(repo, index, moved(before, after, Vec::new()), context, progress)
}

/// Tree `tree` with the entries at or under each of `paths` taken from `source`.
fn replace_paths(store: &Store, tree: &ObjectId, source: &Index, paths: &[Vec<u8>]) -> Result<ObjectId> {
    let mut target = Index::read_tree(store, tree)?;
    for path in paths {
        let removed = target.remove_within(path);
        let taken = source.entries_within(path);
        if removed.is_empty() && taken.is_empty() {
            return Err(Error::NoMatch(String::from_utf8_lossy(path).into_owned()));
        }
        for entry in taken {
            target.upsert(entry.clone());
        }
    }
    let mut writer = BulkWriter::new(store);
    let root = store_tree(&mut writer, store, &target)?;
    writer.finish()?;
    Ok(root)
}

/// How much of the working copy `pg reset` moves to the new commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMode {
    /// Only the branch.
    Soft,
    /// The branch and the index; files keep their edits.
    Mixed,
    /// The branch, the index and the tracked files (untracked ones stay).
    Hard,
}

/// Points the current branch (or a detached `HEAD`) at `commit` and moves the
/// index and files as `mode` says. Returns the operation recorded.
pub fn reset(
    repo: &Repository,
    index: &mut Index,
    commit: ObjectId,
    mode: ResetMode,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<Option<Operation>> {
    let head = repo.head()?;
    let ref_name = match &head {
        Head::Branch { name, .. } => name.clone(),
        Head::Detached(_) => HEAD.to_owned(),
    };
    let tree = repo.store().read_commit(&commit)?.tree;
    let before = snapshot(repo, index, progress)?;
    let after = match mode {
        ResetMode::Soft => before,
        ResetMode::Mixed => Snapshot { index: tree, files: before.files },
        ResetMode::Hard => Snapshot::clean(tree),
    };
    let update = RefUpdate {
        name: ref_name,
        expected: head.commit().map(RefTarget::Object),
        new: Some(RefTarget::Object(commit)),
    };
    let updates = if head.commit() == Some(commit) { Vec::new() } else { vec![update] };
    record_move(repo, index, moved(before, after, updates), context, progress)
}

/// A move that stores nothing but the snapshots.
fn moved(before: Snapshot, after: Snapshot, updates: Vec<RefUpdate>) -> RecordedMove {
    RecordedMove { change: WorkingCopyChange { before, after }, objects: Vec::new(), updates }
}

/// What one recorded move of the working copy does: the move, the objects it
/// stores and the refs it changes, all in one operation.
pub struct RecordedMove {
    /// From which snapshot to which.
    pub change: WorkingCopyChange,
    /// Objects to store with the ref updates (a stash's commits).
    pub objects: Vec<(ObjectId, Vec<u8>)>,
    /// Refs to change.
    pub updates: Vec<RefUpdate>,
}

/// Moves the working copy and records that, with the objects and ref updates,
/// as one operation (so `pg undo` takes all of it back); records nothing when
/// nothing changes. Refuses, before writing anything, to overwrite a path that
/// is not as `change.before` has it.
pub fn record_move(
    repo: &Repository,
    index: &mut Index,
    recorded: RecordedMove,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<Option<Operation>> {
    let RecordedMove { change, objects, updates } = recorded;
    if change.before == change.after && updates.is_empty() {
        return Ok(None);
    }
    move_between(repo, index, &change.before, &change.after, progress)?;
    Ok(Some(repo.update_refs_and_working_copy(context, objects, updates, change)?))
}

/// Undoes the newest operation not yet undone: moves the working copy back (to
/// the snapshot it recorded before, when it recorded one; else following `HEAD`),
/// then the refs. Returns the operation undone.
pub fn undo(
    repo: &Repository,
    index: &mut Index,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<(Operation, CheckoutOutcome)> {
    let plan = repo.plan_undo()?;
    let moved = match &plan.working_copy {
        Some(change) => move_between(repo, index, &change.before, &change.after, progress)?,
        None => switch(repo, index, plan.head_before.as_ref(), plan.head_after.as_ref(), progress)?,
    };
    let target = plan.target.clone();
    repo.apply_undo(plan, context)?;
    Ok((target, moved))
}
