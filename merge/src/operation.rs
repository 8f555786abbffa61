//! A merge in a repository, from `pg merge` to the merge commit: the working copy,
//! the index, the state kept while conflicts wait for a person (`.pg/MERGE_STATE`),
//! `--continue` and `--abort`.
//!
//! Crash safety: the merge's objects are made durable before the state file is
//! written, and the state file (which lists every path the merge will write) before
//! the working copy is touched, so `--abort` can always put those paths back.

use crate::provenance::{self, Entry};
use crate::queue::{self, ItemState};
use crate::state_file;
use crate::tree::{self, ConflictKind, Merger, Outcome};
use pg_core::diff::{diff_trees, FileState};
use pg_core::history;
use pg_core::index::{self, Index};
use pg_core::object::{Commit, Object, Version};
use pg_core::oplog::OpContext;
use pg_core::refs::{RefTarget, HEAD};
use pg_core::repo::{self, Head};
use pg_core::store::{self, Batch, Durability, RefUpdate, Table};
use pg_core::worktree::{self, NoProgress};
use pg_core::{ObjectId, Repository};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The state file's name in `.pg/`.
pub const STATE_FILE: &str = "MERGE_STATE";

/// Errors of merge operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A merge (or a cherry-pick, revert or rebase: the command named) is already
    /// waiting for its conflicts.
    #[error("a {0} is in progress; resolve its conflicts and run `pg {0} --continue`, or `pg {0} --abort`")]
    InProgress(&'static str),
    /// `--continue`, `--abort` or `resolve` without a merge.
    #[error("no merge is in progress")]
    NotInProgress,
    /// The index holds staged changes, which a merge commit would not include.
    #[error("the index has staged changes; commit them (or unstage them) before merging")]
    StagedChanges,
    /// Conflicts remain.
    #[error("{} conflicted path(s) are not resolved: {}; resolve them with `pg resolve`", .0.len(), .0.join(", "))]
    Unresolved(Vec<String>),
    /// The path is not one of the merge's conflicts.
    #[error("'{0}' is not a conflicted path of this merge")]
    NotConflicted(String),
    /// The chosen side does not have the path.
    #[error("'{path}' does not exist on {side}; to resolve by deleting it, delete the file and run `pg resolve {path}`")]
    SideMissing {
        /// The path.
        path: String,
        /// `ours` or `theirs`.
        side: &'static str,
    },
    /// HEAD moved away from where the merge started.
    #[error("HEAD moved since the merge started (it was {expected}); finish or abort by hand")]
    HeadMoved {
        /// Where it was.
        expected: ObjectId,
    },
    /// The state file cannot be read.
    #[error("{path}: unreadable merge state ({reason}); remove it to forget the merge")]
    BadState {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The merge itself failed.
    #[error(transparent)]
    Merge(#[from] tree::Error),
    /// The working copy could not be updated.
    #[error(transparent)]
    Worktree(#[from] worktree::Error),
    /// The index could not be written.
    #[error(transparent)]
    Index(#[from] index::Error),
    /// A ref update failed.
    #[error(transparent)]
    Repo(#[from] repo::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The state file could not be read or written.
    #[error(transparent)]
    StateFile(#[from] state_file::Error),
}

/// A conflict waiting for a person.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// The path.
    pub path: Vec<u8>,
    /// Its kind.
    pub kind: ConflictKind,
    /// Its queue item (hex id; absent only if the merge was interrupted before the
    /// items were made).
    pub item: Option<String>,
    /// Whether a person resolved it.
    pub resolved: bool,
}

/// What `.pg/MERGE_STATE` holds while a merge waits for its conflicts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// Our commit when the merge started (hex).
    pub ours: String,
    /// Their commit (hex).
    pub theirs: String,
    /// The merge commit's message.
    pub message: String,
    /// Every path the merge writes in the working copy; `--abort` restores them.
    pub touched: Vec<Vec<u8>>,
    /// The conflicts.
    pub conflicts: Vec<Pending>,
    /// Paths settled by merge functions, with the function ids (hex).
    pub settled: Vec<(Vec<u8>, String)>,
    /// Set when this is one step of a cherry-pick, revert or rebase, whose
    /// commit has one parent (ours), not two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

/// One commit of a cherry-pick, revert or rebase being applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Step {
    /// The command that applies it.
    pub command: Command,
    /// The author line of the commit to make (the picked commit's, for a pick).
    pub author: Vec<u8>,
}

/// The commands that merge: each waits for its conflicts the same way.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Command {
    /// `pg merge`.
    Merge,
    /// `pg cherry-pick`.
    CherryPick,
    /// `pg revert`.
    Revert,
    /// `pg rebase`.
    Rebase,
}

impl Command {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Command::Merge => "merge",
            Command::CherryPick => "cherry-pick",
            Command::Revert => "revert",
            Command::Rebase => "rebase",
        }
    }
}

impl State {
    fn id(text: &str) -> Result<ObjectId, String> {
        text.parse().map_err(|e| format!("bad id '{text}': {e}"))
    }

    /// Our commit.
    pub fn ours(&self) -> Result<ObjectId, String> {
        Self::id(&self.ours)
    }

    /// Their commit.
    pub fn theirs(&self) -> Result<ObjectId, String> {
        Self::id(&self.theirs)
    }

    /// The command this state belongs to.
    pub fn command(&self) -> Command {
        self.step.as_ref().map_or(Command::Merge, |step| step.command)
    }

    /// The parents of the commit it makes.
    fn parents(&self) -> Result<Vec<ObjectId>, String> {
        match self.step {
            Some(_) => Ok(vec![self.ours()?]),
            None => Ok(vec![self.ours()?, self.theirs()?]),
        }
    }
}

fn state_path(repo: &Repository) -> PathBuf {
    repo.pg_dir().join(STATE_FILE)
}

/// The merge in progress, if any.
pub fn load_state(repo: &Repository) -> Result<Option<State>, Error> {
    Ok(state_file::load(&state_path(repo))?)
}

/// The state of `command`'s merge in progress; fails when there is none, or
/// when it is another command's (which must be finished by that command).
fn load_state_of(repo: &Repository, command: Command) -> Result<State, Error> {
    let state = load_state(repo)?.ok_or(Error::NotInProgress)?;
    match state.command() {
        found if found == command => Ok(state),
        other => Err(Error::InProgress(other.name())),
    }
}

fn save_state(repo: &Repository, state: &State) -> Result<(), Error> {
    Ok(state_file::save(&state_path(repo), state)?)
}

fn remove_state(repo: &Repository) -> Result<(), Error> {
    Ok(state_file::remove(&state_path(repo))?)
}

/// What a merge is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// The commit to merge into `HEAD`.
    pub theirs: ObjectId,
    /// The merge commit's message.
    pub message: String,
    /// Raw author line for the merge commit.
    pub author: Vec<u8>,
    /// Raw committer line.
    pub committer: Vec<u8>,
    /// Make a merge commit even when `HEAD` could fast-forward.
    pub no_fast_forward: bool,
}

/// How [`start`] ended.
#[derive(Debug)]
pub enum Started {
    /// `theirs` is already in `HEAD`'s history.
    UpToDate,
    /// `HEAD` moved forward to `theirs`; no merge commit.
    FastForward {
        /// Where it was (`None`: the branch had no commit).
        from: Option<ObjectId>,
    },
    /// Merged cleanly and committed.
    Committed {
        /// The merge commit.
        commit: ObjectId,
        /// The merge.
        outcome: Outcome,
    },
    /// Conflicts went to the queue; the merge waits for `--continue`.
    Conflicted {
        /// The merge.
        outcome: Outcome,
        /// The queue items made, one per conflict.
        items: Vec<ObjectId>,
    },
}

/// Where `HEAD` points: the ref to move and the commit it names.
fn head_ref(repo: &Repository) -> Result<(String, Option<ObjectId>), Error> {
    Ok(match repo.head()? {
        Head::Branch { name, commit } => (name, commit),
        Head::Detached(id) => (HEAD.to_owned(), Some(id)),
    })
}

/// Merges `request.theirs` into `HEAD`: fast-forwards when it can, commits a clean
/// merge, or leaves the conflicts in the working copy and the queue. The index is
/// saved by this function (the order of its writes is what makes it crash-safe).
pub fn start(
    repo: &Repository,
    index: &mut Index,
    merger: &mut Merger,
    request: &Request,
    context: &OpContext,
) -> Result<Started, Error> {
    refuse_in_progress(repo)?;
    let store = repo.store();
    let (ref_name, ours) = head_ref(repo)?;
    let theirs = request.theirs;
    let Some(ours) = ours else {
        return fast_forward(repo, index, &ref_name, None, theirs, context);
    };
    if ours == theirs || history::is_ancestor(store, theirs, ours)? {
        return Ok(Started::UpToDate);
    }
    if !request.no_fast_forward && history::is_ancestor(store, ours, theirs)? {
        return fast_forward(repo, index, &ref_name, Some(ours), theirs, context);
    }
    refuse_staged(repo, index, ours)?;
    let outcome = merger.merge_commits(ours, theirs)?;
    let merge = Merge { ours, theirs, message: request.message.clone(), outcome, step: None };
    land(repo, index, merge, (&request.author, &request.committer), context)
}

/// Fails when a merge, or a step of another command, waits for its conflicts.
pub fn refuse_in_progress(repo: &Repository) -> Result<(), Error> {
    match load_state(repo)? {
        Some(state) => Err(Error::InProgress(state.command().name())),
        None => Ok(()),
    }
}

/// Fails when the index differs from commit `head`'s tree: a merge's commit would
/// not include those changes.
pub fn refuse_staged(repo: &Repository, index: &mut Index, head: ObjectId) -> Result<(), Error> {
    match index.write_tree(repo.store()).root() == repo.store().read_commit(&head)?.tree {
        true => Ok(()),
        false => Err(Error::StagedChanges),
    }
}

/// A merge made in the store, to land in the working copy.
pub struct Merge {
    /// The commit merged into (`HEAD`).
    pub ours: ObjectId,
    /// The commit merged (for a step: the commit picked or reverted).
    pub theirs: ObjectId,
    /// The message of the commit to make.
    pub message: String,
    /// The merge.
    pub outcome: Outcome,
    /// Set for a step of a cherry-pick, revert or rebase.
    pub step: Option<Step>,
}

/// Lands a merge on `HEAD` (which is `merge.ours`): records the state, writes the
/// working copy and the index, then commits when nothing conflicts, or queues
/// the conflicts to wait for `--continue`. `who` is the (author, committer) of
/// a merge commit; a step keeps its own author. The index is saved here (the
/// order of the writes is what makes it crash-safe).
pub fn land(
    repo: &Repository,
    index: &mut Index,
    merge: Merge,
    who: (&[u8], &[u8]),
    context: &OpContext,
) -> Result<Started, Error> {
    let store = repo.store();
    let Merge { ours, theirs, message, outcome, step } = merge;
    let ours_tree = store.read_commit(&ours)?.tree;
    store.backend().persist()?;
    let read = |id: &ObjectId| store.read_tree(id);
    let mut touched: Vec<Vec<u8>> =
        diff_trees(&read, Some(&ours_tree), outcome.tree.as_ref())?.into_iter().map(|c| c.path).collect();
    touched.extend(outcome.conflicts.iter().map(|c| c.path.clone()));
    touched.sort();
    touched.dedup();
    let mut state = State {
        ours: ours.to_string(),
        theirs: theirs.to_string(),
        message,
        touched,
        conflicts: outcome
            .conflicts
            .iter()
            .map(|c| Pending { path: c.path.clone(), kind: c.kind, item: None, resolved: false })
            .collect(),
        settled: outcome.settled.iter().map(|s| (s.path.clone(), s.function.to_string())).collect(),
        step,
    };
    save_state(repo, &state)?;
    if let Err(e) = worktree::checkout_merge(repo, index, &ours_tree, outcome.tree.as_ref()) {
        // The checkout refuses before writing anything: nothing to undo.
        remove_state(repo)?;
        return Err(e.into());
    }
    // A conflicted path stays at our version in the index, so it shows as changed
    // until a person resolves it.
    for conflict in &outcome.conflicts {
        index.remove_within(&conflict.path);
        if let Some(ours) = conflict.ours.filter(|_| conflict.path_is_ours()) {
            index.upsert(pg_core::index::IndexEntry {
                path: conflict.path.clone(),
                mode: ours.mode,
                id: ours.id,
                stat: Default::default(),
            });
        }
    }
    index.save(&repo.index_path())?;
    if outcome.conflicts.is_empty() {
        let commit = commit_merge(repo, index, &state, who, context)?;
        remove_state(repo)?;
        return Ok(Started::Committed { commit, outcome });
    }
    let items = queue::add(store, queue_items(&outcome, ours, theirs))?;
    for (pending, item) in state.conflicts.iter_mut().zip(&items) {
        pending.item = Some(item.to_string());
    }
    save_state(repo, &state)?;
    Ok(Started::Conflicted { outcome, items })
}

impl tree::Conflict {
    /// Whether our version lives at this path (a file moved aside for a
    /// directory keeps its version at another path).
    fn path_is_ours(&self) -> bool {
        self.kind != ConflictKind::FileDirectory
    }
}

fn queue_items(outcome: &Outcome, ours: ObjectId, theirs: ObjectId) -> Vec<pg_core::object::Conflict> {
    let version = |s: Option<FileState>| s.map(|s| Version { mode: s.mode, id: s.id });
    let kind_name =
        |kind: ConflictKind| serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned));
    outcome
        .conflicts
        .iter()
        .map(|c| pg_core::object::Conflict {
            ours_commit: ours,
            theirs_commit: theirs,
            kind: kind_name(c.kind).unwrap_or_else(|| "content".into()),
            base: version(c.base),
            ours: version(c.ours),
            theirs: version(c.theirs),
            tried: c.tried.clone(),
            rendering: None,
            path: c.path.clone(),
        })
        .collect()
}

fn fast_forward(
    repo: &Repository,
    index: &mut Index,
    ref_name: &str,
    from: Option<ObjectId>,
    to: ObjectId,
    context: &OpContext,
) -> Result<Started, Error> {
    worktree::switch(repo, index, from.as_ref(), Some(&to), &NoProgress)?;
    let update = RefUpdate {
        name: ref_name.to_owned(),
        expected: from.map(RefTarget::Object),
        new: Some(RefTarget::Object(to)),
    };
    repo.update_refs(context, Vec::new(), vec![update])?;
    Ok(Started::FastForward { from })
}

/// Commits the index as the merge of the state's two commits, with provenance.
fn commit_merge(
    repo: &Repository,
    index: &mut Index,
    state: &State,
    (author, committer): (&[u8], &[u8]),
    context: &OpContext,
) -> Result<ObjectId, Error> {
    let store = repo.store();
    let bad = |reason| Error::BadState { path: state_path(repo), reason };
    let (ours, parents) = (state.ours().map_err(bad)?, state.parents().map_err(bad)?);
    let author = state.step.as_ref().map_or(author, |step| &step.author);
    let (ref_name, head) = head_ref(repo)?;
    if head != Some(ours) {
        return Err(Error::HeadMoved { expected: ours });
    }
    let mut entries = Vec::new();
    for (path, function) in &state.settled {
        let function = State::id(function).map_err(bad)?;
        entries.push(Entry::Settled { function, path: path.clone() });
    }
    for pending in &state.conflicts {
        if let Some(item) = &pending.item {
            entries.push(Entry::Resolved { item: State::id(item).map_err(bad)?, path: pending.path.clone() });
        }
    }
    entries.sort_by(|a, b| entry_path(a).cmp(entry_path(b)));
    let mut build = index.write_tree(store);
    let commit = Commit {
        tree: build.root(),
        parents,
        author: author.to_vec(),
        committer: committer.to_vec(),
        extra_headers: provenance::header(&entries).into_iter().collect(),
        message: state.message.clone().into_bytes(),
    };
    let (id, bytes) = store.prepare(&Object::Commit(commit));
    let mut objects = std::mem::take(&mut build.objects);
    objects.push((id, bytes));
    let update = RefUpdate {
        name: ref_name,
        expected: Some(RefTarget::Object(ours)),
        new: Some(RefTarget::Object(id)),
    };
    repo.update_refs(context, objects, vec![update])?;
    index.remember_trees(build);
    index.save(&repo.index_path())?;
    Ok(id)
}

fn entry_path(entry: &Entry) -> &[u8] {
    match entry {
        Entry::Settled { path, .. } | Entry::Resolved { path, .. } => path,
    }
}

/// Commits a merge whose conflicts are all resolved (`pg merge --continue`).
pub fn finish(
    repo: &Repository,
    index: &mut Index,
    command: Command,
    who: (&[u8], &[u8]),
    context: &OpContext,
) -> Result<ObjectId, Error> {
    let state = load_state_of(repo, command)?;
    let unresolved: Vec<String> = state
        .conflicts
        .iter()
        .filter(|c| !c.resolved)
        .map(|c| String::from_utf8_lossy(&c.path).into_owned())
        .collect();
    if !unresolved.is_empty() {
        return Err(Error::Unresolved(unresolved));
    }
    let commit = commit_merge(repo, index, &state, who, context)?;
    remove_state(repo)?;
    Ok(commit)
}

/// Puts everything back as it was before the merge (`pg merge --abort`): the paths
/// the merge wrote return to our commit's version, local changes elsewhere stay,
/// the queue items it opened are dropped, and a merge commit made by an
/// interrupted merge is taken back.
pub fn abort(
    repo: &Repository,
    index: &mut Index,
    command: Command,
    context: &OpContext,
) -> Result<(), Error> {
    let state = load_state_of(repo, command)?;
    let store = repo.store();
    let bad = |reason| Error::BadState { path: state_path(repo), reason };
    let (ours, parents) = (state.ours().map_err(bad)?, state.parents().map_err(bad)?);
    let (ref_name, head) = head_ref(repo)?;
    if head != Some(ours) {
        // Interrupted between its commit and removing this file: take the commit back.
        let merged = head.map(|id| store.read_commit(&id)).transpose()?;
        if merged.is_none_or(|c| c.parents != parents) {
            return Err(Error::HeadMoved { expected: ours });
        }
        let update = RefUpdate {
            name: ref_name,
            expected: head.map(RefTarget::Object),
            new: Some(RefTarget::Object(ours)),
        };
        repo.update_refs(context, Vec::new(), vec![update])?;
    }
    let ours_tree = store.read_commit(&ours)?.tree;
    let mut versions = Vec::with_capacity(state.touched.len());
    for path in &state.touched {
        versions.push((path, file_at(store, &ours_tree, path)?));
    }
    // Removals first, deepest first, so a file can take back its directory's place.
    for (path, _) in versions.iter().rev().filter(|(_, v)| v.is_none()) {
        worktree::restore_path(repo, index, path, None)?;
    }
    for (path, version) in versions.iter().filter(|(_, v)| v.is_some()) {
        worktree::restore_path(repo, index, path, version.as_ref())?;
    }
    index.save(&repo.index_path())?;
    let records = state
        .conflicts
        .iter()
        .filter_map(|c| c.item.as_deref().and_then(|item| State::id(item).ok()))
        .map(|item| (Table::Queue, item.as_bytes().to_vec(), None))
        .collect();
    store.backend().write(Batch { records, ..Batch::default() }, Durability::Synced)?;
    remove_state(repo)
}

/// The file at `path` in tree `root`, if there is one.
fn file_at(store: &store::Store, root: &ObjectId, path: &[u8]) -> Result<Option<FileState>, Error> {
    let mut tree = *root;
    let mut parts = path.split(|&b| b == b'/').peekable();
    while let Some(part) = parts.next() {
        let entries = store.read_tree(&tree)?;
        let Some(entry) = entries.get(part) else { return Ok(None) };
        let is_tree = entry.mode.kind() == pg_core::object::EntryKind::Tree;
        match (parts.peek().is_some(), is_tree) {
            (true, true) => tree = entry.id,
            (false, false) => return Ok(Some(FileState { mode: entry.mode, id: entry.id })),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

fn bytes_path(path: &[u8]) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(path))
}

/// How a person resolves a conflicted path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// The file as edited in the working copy (deleted if it is gone).
    WorkingCopy,
    /// Our version.
    Ours,
    /// Their version.
    Theirs,
}

/// Resolves one conflicted path (`pg resolve`): stages the chosen content and
/// records in the queue who resolved it with what.
pub fn resolve(
    repo: &Repository,
    index: &mut Index,
    path: &[u8],
    take: Take,
    by: &str,
    time: i64,
) -> Result<(), Error> {
    let mut state = load_state(repo)?.ok_or(Error::NotInProgress)?;
    let command = state.command().name();
    let shown = || String::from_utf8_lossy(path).into_owned();
    let pending =
        state.conflicts.iter_mut().find(|c| c.path == path).ok_or_else(|| Error::NotConflicted(shown()))?;
    let item = pending
        .item
        .as_deref()
        .map(State::id)
        .transpose()
        .map_err(|reason| Error::BadState { path: state_path(repo), reason })?;
    match take {
        // A file deleted in the working copy resolves the conflict by deletion.
        Take::WorkingCopy if std::fs::symlink_metadata(repo.workdir().join(bytes_path(path))).is_err() => {
            index.remove_within(path);
        }
        Take::WorkingCopy => {
            worktree::add(repo, index, &[path.to_vec()], false, &NoProgress)?;
        }
        Take::Ours | Take::Theirs => {
            let item = item.ok_or(Error::InProgress(command))?;
            let conflict = queue::read(repo.store(), &item)?;
            let (version, side) =
                if take == Take::Ours { (conflict.ours, "ours") } else { (conflict.theirs, "theirs") };
            let version = version.ok_or(Error::SideMissing { path: shown(), side })?;
            worktree::restore_path(
                repo,
                index,
                path,
                Some(&FileState { mode: version.mode, id: version.id }),
            )?;
        }
    }
    index.save(&repo.index_path())?;
    if let Some(item) = item {
        let result = index.get(path).map(|entry| entry.id);
        queue::set_state(repo.store(), &item, &ItemState::Resolved { by: by.to_owned(), time, result })?;
    }
    pending.resolved = true;
    save_state(repo, &state)
}
