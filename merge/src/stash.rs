//! The stash: uncommitted work put aside as commits, and brought back.
//!
//! An entry is a commit whose tree is the tracked files as they were, whose
//! first parent is the `HEAD` commit they were made on, and whose second parent
//! is a commit of the index (git's layout, so git tools read it). Each entry
//! has its own ref, `refs/stash/<n>`, `n` growing with each push: entries are
//! never renumbered, and every push, pop and drop is an operation that
//! `pg undo` takes back, the working copy included.

use crate::tree::{self, Merger};
use pg_core::diff;
use pg_core::index::{Index, IndexEntry, Stat};
use pg_core::object::{Commit, Object, Tree};
use pg_core::oplog::{OpContext, Snapshot, WorkingCopyChange};
use pg_core::refs::RefTarget;
use pg_core::store::{self, RefUpdate};
use pg_core::worktree::{self, Progress, RecordedMove};
use pg_core::{repo, ObjectId, Repository};

/// Where entries live.
pub const PREFIX: &str = "refs/stash/";

/// What can go wrong with the stash.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing differs from `HEAD`.
    #[error("no local changes to save")]
    NothingToSave,
    /// There is no commit to stash changes on.
    #[error("HEAD has no commit yet: commit something first")]
    UnbornHead,
    /// No entry with that number.
    #[error("no stash entry {0} (`pg stash list` shows them)")]
    NoEntry(usize),
    /// Bringing an entry back would overwrite local changes.
    #[error(
        "the working copy has changes `pg stash pop` would mix with the entry's: commit or stash them first"
    )]
    Dirty,
    /// The entry's changes conflict with what `HEAD` changed since.
    #[error("the entry conflicts with HEAD at {}; switch to the commit it was made on ({base}) to bring it back", .paths.join(", "))]
    Conflicts {
        /// The conflicted paths.
        paths: Vec<String>,
        /// The commit the entry was made on.
        base: String,
    },
    /// The merge with HEAD failed.
    #[error(transparent)]
    Merge(#[from] tree::Error),
    /// The working copy could not be moved.
    #[error(transparent)]
    Worktree(#[from] worktree::Error),
    /// A ref could not be read or moved.
    #[error(transparent)]
    Repo(#[from] repo::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// One entry of the stash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its number as shown: 0 is the newest.
    pub number: usize,
    /// Its ref.
    pub ref_name: String,
    /// Its commit.
    pub commit: ObjectId,
    /// Its message (`WIP on main: a476222 subject`, or the one given).
    pub message: String,
}

/// The entries, newest first.
pub fn list(repo: &Repository) -> Result<Vec<Entry>, Error> {
    let mut refs: Vec<(u64, String, ObjectId)> = repo
        .list_refs(PREFIX)?
        .into_iter()
        .filter_map(|(name, target)| {
            let seq = name.strip_prefix(PREFIX)?.parse().ok()?;
            Some((seq, name, *target.as_object()?))
        })
        .collect();
    refs.sort_by_key(|r| std::cmp::Reverse(r.0));
    refs.into_iter()
        .enumerate()
        .map(|(number, (_, ref_name, commit))| {
            let message = repo.store().read_commit(&commit)?.summary();
            Ok(Entry { number, ref_name, commit, message })
        })
        .collect()
}

/// Who makes the entry's commits.
pub struct Identity<'a> {
    /// The author line (`Name <email> seconds offset`).
    pub author: &'a [u8],
    /// The committer line.
    pub committer: &'a [u8],
}

/// Puts the working copy's tracked changes, staged and not, in a new entry and
/// leaves the working copy as `HEAD` has it. Untracked files stay, as git's.
pub fn push(
    repo: &Repository,
    index: &mut Index,
    message: Option<&str>,
    who: &Identity,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<Entry, Error> {
    let head_ref = repo.head()?;
    let head = head_ref.commit().ok_or(Error::UnbornHead)?;
    let head_commit = repo.store().read_commit(&head)?;
    let before = worktree::snapshot(repo, index, progress)?;
    let clean = Snapshot::clean(head_commit.tree);
    if before == clean {
        return Err(Error::NothingToSave);
    }
    let branch = head_ref.branch().unwrap_or("(no branch)");
    let message = match message {
        Some(text) => format!("On {branch}: {text}"),
        None => format!("WIP on {branch}: {} {}", repo.store().abbreviate(&head), head_commit.summary()),
    };
    let commit = |tree, parents, message: &str| Commit {
        tree,
        parents,
        author: who.author.to_vec(),
        committer: who.committer.to_vec(),
        extra_headers: Vec::new(),
        message: format!("{message}\n").into_bytes(),
    };
    let store = repo.store();
    let (index_id, index_bytes) =
        store.prepare(&Object::Commit(commit(before.index, vec![head], &format!("index on {branch}"))));
    let (id, bytes) = store.prepare(&Object::Commit(commit(before.files, vec![head, index_id], &message)));
    let ref_name = format!("{PREFIX}{}", next_seq(repo)?);
    let update = RefUpdate { name: ref_name.clone(), expected: None, new: Some(RefTarget::Object(id)) };
    let recorded = RecordedMove {
        change: WorkingCopyChange { before, after: clean },
        objects: vec![(index_id, index_bytes), (id, bytes)],
        updates: vec![update],
    };
    worktree::record_move(repo, index, recorded, context, progress)?;
    Ok(Entry { number: 0, ref_name, commit: id, message })
}

fn next_seq(repo: &Repository) -> Result<u64, Error> {
    let taken =
        repo.list_refs(PREFIX)?.into_iter().filter_map(|(name, _)| name.strip_prefix(PREFIX)?.parse().ok());
    Ok(taken.max().map_or(0, |n: u64| n + 1))
}

/// Brings entry `number` back into a working copy that has no tracked changes,
/// and drops it when `drop` (pop). On the commit it was made on, the index and
/// files come back exactly; on another, the entry's changes are merged into
/// `HEAD`'s files, left unstaged but for the files the entry adds, which are
/// staged (as git stages them: unstaged, they would read as untracked), and a
/// conflict refuses before anything moves.
pub fn apply(
    repo: &Repository,
    index: &mut Index,
    merger: &mut Merger,
    number: usize,
    drop: bool,
    context: &OpContext,
    progress: &dyn Progress,
) -> Result<Entry, Error> {
    let entry = list(repo)?.into_iter().nth(number).ok_or(Error::NoEntry(number))?;
    let stashed = repo.store().read_commit(&entry.commit)?;
    let head = repo.head()?.commit().ok_or(Error::UnbornHead)?;
    let head_tree = repo.store().read_commit(&head)?.tree;
    let before = worktree::snapshot(repo, index, progress)?;
    if before != Snapshot::clean(head_tree) {
        return Err(Error::Dirty);
    }
    let base = stashed.parents[0];
    let after = if base == head {
        let index_tree = repo.store().read_commit(&stashed.parents[1])?.tree;
        Snapshot { index: index_tree, files: stashed.tree }
    } else {
        let base_tree = repo.store().read_commit(&base)?.tree;
        let merged = merger.merge_trees(Some(base_tree), Some(head_tree), Some(stashed.tree))?;
        if !merged.conflicts.is_empty() {
            let paths =
                merged.conflicts.iter().map(|c| String::from_utf8_lossy(&c.path).into_owned()).collect();
            return Err(Error::Conflicts { paths, base: repo.store().abbreviate(&base) });
        }
        let files = match merged.tree {
            Some(tree) => tree,
            None => repo.store().write(&Object::Tree(Tree { entries: Vec::new() }))?,
        };
        Snapshot { index: staging_added(repo, &head_tree, &files)?, files }
    };
    let updates = match drop {
        true => vec![removal(&entry)],
        false => Vec::new(),
    };
    let recorded = RecordedMove { change: WorkingCopyChange { before, after }, objects: Vec::new(), updates };
    worktree::record_move(repo, index, recorded, context, progress)?;
    Ok(entry)
}

/// `HEAD`'s tree with the files of `files` that it lacks.
fn staging_added(repo: &Repository, head_tree: &ObjectId, files: &ObjectId) -> Result<ObjectId, Error> {
    let store = repo.store();
    let changes = diff::diff_trees(&|id| store.read_tree(id), Some(head_tree), Some(files))?;
    let added: Vec<_> =
        changes.into_iter().filter(|c| c.old.is_none()).filter_map(|c| Some((c.path, c.new?))).collect();
    if added.is_empty() {
        return Ok(*head_tree);
    }
    let mut index = Index::read_tree(store, head_tree).map_err(worktree::Error::from)?;
    for (path, file) in added {
        index.upsert(IndexEntry { path, mode: file.mode, id: file.id, stat: Stat::default() });
    }
    Ok(worktree::write_index_tree(store, &index)?)
}

fn removal(entry: &Entry) -> RefUpdate {
    RefUpdate { name: entry.ref_name.clone(), expected: Some(RefTarget::Object(entry.commit)), new: None }
}

/// Deletes entry `number` (its commits stay in the store until `pg gc`, and
/// `pg undo` brings the entry back).
pub fn drop(repo: &Repository, number: usize, context: &OpContext) -> Result<Entry, Error> {
    let entry = list(repo)?.into_iter().nth(number).ok_or(Error::NoEntry(number))?;
    repo.update_refs(context, Vec::new(), vec![removal(&entry)])?;
    Ok(entry)
}
