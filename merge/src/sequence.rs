//! Moving commits: `pg cherry-pick`, `pg revert` and `pg rebase`, each a
//! sequence of steps that applies one commit's change on top of the commit the
//! last step made, through the merge engine.
//!
//! Steps that merge cleanly are made in the store only, as git's merge-ort
//! rebase makes them: the working copy moves once, to the last of them, in one
//! operation (so one `pg undo` takes them all back). A step with conflicts stops
//! the sequence there. Its merge waits in `.pg/MERGE_STATE`, as a merge's does,
//! and the steps still to apply wait in `.pg/SEQUENCE_STATE`. `--continue`
//! commits the step and goes on, `--skip` leaves the step out, and `--abort`
//! puts the branch and the working copy back where they were.

use crate::operation::{self, Command, Merge, Started, Step};
use crate::provenance::{self, Entry};
use crate::state_file;
use crate::tree::{self, Merger, Outcome};
use pg_core::history;
use pg_core::index::Index;
use pg_core::object::{Commit, Object, Tree};
use pg_core::oplog::OpContext;
use pg_core::refs::{RefTarget, HEAD};
use pg_core::repo::{self, Head};
use pg_core::store::{self, RefUpdate};
use pg_core::worktree::{self, NoProgress};
use pg_core::{ObjectId, Repository};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The state file's name in `.pg/`.
pub const STATE_FILE: &str = "SEQUENCE_STATE";

/// What can go wrong moving commits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A cherry-pick, revert or rebase waits already.
    #[error("a {0} is in progress; finish it with `pg {0} --continue`, skip its commit with `pg {0} --skip`, or leave it with `pg {0} --abort`")]
    InProgress(&'static str),
    /// `--continue`, `--skip` or `--abort` with nothing in progress.
    #[error("no {0} is in progress")]
    NotInProgress(&'static str),
    /// A merge commit was given; which parent's change to apply is ambiguous.
    #[error("{commit} is a merge commit; pg {command} applies commits of one parent (pick the commits merged instead)")]
    MergeCommit {
        /// Its short id.
        commit: String,
        /// The command.
        command: &'static str,
    },
    /// There is no commit to apply changes on.
    #[error("HEAD has no commit yet: commit something first")]
    UnbornHead,
    /// The ref the sequence moves was moved by something else.
    #[error("{name} moved during the {command} (it is not where the {command} left it); `pg {command} --abort` cannot put it back, so look at `pg op log`")]
    Moved {
        /// The ref.
        name: String,
        /// The command.
        command: &'static str,
    },
    /// The state file cannot be read.
    #[error("{path}: unreadable state ({reason}); remove it to forget the sequence")]
    BadState {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The state file could not be read or written.
    #[error(transparent)]
    StateFile(#[from] state_file::Error),
    /// The step's merge could not start or finish.
    #[error(transparent)]
    Operation(#[from] operation::Error),
    /// A merge failed.
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

/// What `.pg/SEQUENCE_STATE` holds while a step waits for its conflicts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The command.
    pub command: Command,
    /// The ref the sequence moves: the branch `HEAD` names, or `HEAD`.
    pub ref_name: String,
    /// Where it pointed before the command (hex); `--abort` returns there.
    pub original: String,
    /// The commits still to apply after the waiting step, in order (hex).
    pub todo: Vec<String>,
}

/// What to move.
#[derive(Debug, Clone)]
pub struct Request {
    /// Cherry-pick, revert or rebase.
    pub command: Command,
    /// The commits to apply, in order.
    pub commits: Vec<ObjectId>,
    /// Where the first applies (a rebase's new base); `None`: on `HEAD`.
    pub onto: Option<ObjectId>,
}

/// One commit applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The commit whose change was applied.
    pub from: ObjectId,
    /// The commit made; `None` when the change was there already, so the step
    /// made no commit (git's rebase drops such commits too).
    pub to: Option<ObjectId>,
}

/// How a sequence ended, for now.
#[derive(Debug)]
pub struct Ended {
    /// The steps applied (all of them, or those before the one that stopped).
    pub applied: Vec<Applied>,
    /// Set when a step conflicts: its conflicts are in the working copy and the
    /// queue. Otherwise `HEAD` is at the last commit made.
    pub stopped: Option<Stopped>,
}

/// The step a sequence stopped at.
#[derive(Debug)]
pub struct Stopped {
    /// The commit whose change conflicts.
    pub at: ObjectId,
    /// Its merge.
    pub outcome: Outcome,
    /// The queue items made, one per conflict.
    pub items: Vec<ObjectId>,
}

fn state_path(repo: &Repository) -> PathBuf {
    repo.pg_dir().join(STATE_FILE)
}

/// The sequence in progress, if any.
pub fn load_state(repo: &Repository) -> Result<Option<State>, Error> {
    Ok(state_file::load(&state_path(repo))?)
}

fn save_state(repo: &Repository, state: &State) -> Result<(), Error> {
    Ok(state_file::save(&state_path(repo), state)?)
}

fn remove_state(repo: &Repository) -> Result<(), Error> {
    Ok(state_file::remove(&state_path(repo))?)
}

/// The state of `command` in progress.
fn load_state_of(repo: &Repository, command: Command) -> Result<State, Error> {
    match load_state(repo)? {
        Some(state) if state.command == command => Ok(state),
        Some(state) => Err(Error::InProgress(state.command.name())),
        None => Err(Error::NotInProgress(command.name())),
    }
}

impl State {
    fn ids(&self) -> Result<(ObjectId, Vec<ObjectId>), String> {
        let parse = |text: &String| text.parse().map_err(|e| format!("bad id '{text}': {e}"));
        Ok((parse(&self.original)?, self.todo.iter().map(parse).collect::<Result<_, _>>()?))
    }

    /// The commits the state keeps alive: `pg gc` must not delete them.
    pub fn roots(&self) -> Vec<ObjectId> {
        self.ids().map(|(original, todo)| [vec![original], todo].concat()).unwrap_or_default()
    }
}

/// The commits of `upstream..head` a rebase replays, parents first, without
/// merge commits (a rebase makes the history linear, as git's does by default).
pub fn to_rebase(repo: &Repository, upstream: ObjectId, head: ObjectId) -> Result<Vec<ObjectId>, Error> {
    let store = repo.store();
    let mut commits = Vec::new();
    for id in history::Graph::new(store).only_in(head, upstream)? {
        if store.read_commit(&id)?.parents.len() < 2 {
            commits.push(id);
        }
    }
    Ok(commits)
}

/// Starts moving `request.commits` onto `HEAD` (or onto `request.onto`, moving
/// the branch there first) and goes as far as it can. `committer` is the
/// committer line of the commits made (and a revert's author).
pub fn start(
    repo: &Repository,
    index: &mut Index,
    merger: &mut Merger,
    request: &Request,
    committer: &[u8],
    context: &OpContext,
) -> Result<Ended, Error> {
    let command = request.command;
    if let Some(state) = load_state(repo)? {
        return Err(Error::InProgress(state.command.name()));
    }
    operation::refuse_in_progress(repo)?;
    let (ref_name, head) = head_ref(repo)?;
    let head = head.ok_or(Error::UnbornHead)?;
    operation::refuse_staged(repo, index, head)?;
    for commit in &request.commits {
        if repo.store().read_commit(commit)?.parents.len() > 1 {
            let commit = repo.store().abbreviate(commit);
            return Err(Error::MergeCommit { commit, command: command.name() });
        }
    }
    let state = State {
        command,
        ref_name,
        original: head.to_string(),
        todo: request.commits.iter().map(ToString::to_string).collect(),
    };
    run(repo, index, merger, state, (head, request.onto.unwrap_or(head)), committer, context)
}

/// What to do with the step that waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Commit it (its conflicts resolved), then go on: `--continue`.
    Continue,
    /// Leave its commit out, then go on: `--skip`.
    Skip,
}

/// Finishes or drops the waiting step as `how` says, and goes on.
pub fn resume(
    repo: &Repository,
    index: &mut Index,
    merger: &mut Merger,
    (command, how): (Command, Resume),
    committer: &[u8],
    context: &OpContext,
) -> Result<Ended, Error> {
    let state = load_state_of(repo, command)?;
    if operation::load_state(repo)?.is_some() {
        match how {
            Resume::Continue => {
                operation::finish(repo, index, command, (committer, committer), context)?;
            }
            Resume::Skip => operation::abort(repo, index, command, context)?,
        }
    }
    let head = current(repo, &state)?;
    run(repo, index, merger, state, (head, head), committer, context)
}

/// Puts the ref and the working copy back as they were before the command.
/// Returns where the ref is again.
pub fn abort(
    repo: &Repository,
    index: &mut Index,
    command: Command,
    context: &OpContext,
) -> Result<ObjectId, Error> {
    let state = load_state_of(repo, command)?;
    if operation::load_state(repo)?.is_some() {
        operation::abort(repo, index, command, context)?;
    }
    let bad = |reason| Error::BadState { path: state_path(repo), reason };
    let (original, _) = state.ids().map_err(bad)?;
    let head = current(repo, &state)?;
    move_ref(repo, index, &state.ref_name, head, original, context)?;
    remove_state(repo)?;
    Ok(original)
}

/// Where `HEAD` points: the ref to move and the commit it names.
fn head_ref(repo: &Repository) -> Result<(String, Option<ObjectId>), Error> {
    Ok(match repo.head()? {
        Head::Branch { name, commit } => (name, commit),
        Head::Detached(id) => (HEAD.to_owned(), Some(id)),
    })
}

/// The commit the sequence's ref is at, which must be where `HEAD` is.
fn current(repo: &Repository, state: &State) -> Result<ObjectId, Error> {
    let moved = || Error::Moved { name: state.ref_name.clone(), command: state.command.name() };
    let (ref_name, head) = head_ref(repo)?;
    match head {
        Some(head) if ref_name == state.ref_name => Ok(head),
        _ => Err(moved()),
    }
}

/// Applies the state's commits in turn, the first on `tip`, with the working
/// copy at `at`: moves the ref to the last commit made, and stops at the first
/// step that conflicts.
fn run(
    repo: &Repository,
    index: &mut Index,
    merger: &mut Merger,
    mut state: State,
    (at, mut tip): (ObjectId, ObjectId),
    committer: &[u8],
    context: &OpContext,
) -> Result<Ended, Error> {
    let store = repo.store();
    let bad = |reason| Error::BadState { path: state_path(repo), reason };
    let (_, todo) = state.ids().map_err(bad)?;
    let mut applied = Vec::new();
    let mut tip_tree = store.read_commit(&tip)?.tree;
    for (done, commit) in todo.iter().enumerate() {
        let change = Change::of(repo, state.command, *commit, committer)?;
        if state.command == Command::Rebase && change.parent == Some(tip) {
            // Already where it would go: keep it as it is, as git's rebase does.
            (tip, tip_tree) = (*commit, store.read_commit(commit)?.tree);
            applied.push(Applied { from: *commit, to: Some(*commit) });
            continue;
        }
        let (theirs_label, base_label) = change.labels.clone();
        merger.set_labels("HEAD".into(), theirs_label, base_label);
        let outcome = merger.merge_trees(change.base, Some(tip_tree), change.theirs)?;
        if !outcome.conflicts.is_empty() {
            move_ref(repo, index, &state.ref_name, at, tip, context)?;
            state.todo.drain(..=done);
            save_state(repo, &state)?;
            let step = Step { command: state.command, author: change.author };
            let merge =
                Merge { ours: tip, theirs: *commit, message: change.message, outcome, step: Some(step) };
            return match operation::land(repo, index, merge, (committer, committer), context)? {
                Started::Conflicted { outcome, items } => {
                    Ok(Ended { applied, stopped: Some(Stopped { at: *commit, outcome, items }) })
                }
                _ => unreachable!("a merge with conflicts waits for them"),
            };
        }
        let tree = match outcome.tree {
            Some(tree) => tree,
            None => store.write(&Object::Tree(Tree { entries: Vec::new() }))?,
        };
        if tree == tip_tree {
            applied.push(Applied { from: *commit, to: None });
            continue;
        }
        let settled =
            outcome.settled.iter().map(|s| Entry::Settled { function: s.function, path: s.path.clone() });
        let made = Commit {
            tree,
            parents: vec![tip],
            author: change.author,
            committer: committer.to_vec(),
            extra_headers: provenance::header(&settled.collect::<Vec<_>>()).into_iter().collect(),
            message: change.message.into_bytes(),
        };
        tip = store.write(&Object::Commit(made))?;
        tip_tree = tree;
        applied.push(Applied { from: *commit, to: Some(tip) });
    }
    move_ref(repo, index, &state.ref_name, at, tip, context)?;
    remove_state(repo)?;
    Ok(Ended { applied, stopped: None })
}

/// Moves the working copy and `ref_name` from commit `from` to commit `to`, in one
/// operation; refuses, before writing anything, to overwrite local changes.
fn move_ref(
    repo: &Repository,
    index: &mut Index,
    ref_name: &str,
    from: ObjectId,
    to: ObjectId,
    context: &OpContext,
) -> Result<(), Error> {
    if from == to {
        return Ok(());
    }
    // The commits made are durable before a ref names them.
    repo.store().backend().persist()?;
    worktree::switch(repo, index, Some(&from), Some(&to), &NoProgress)?;
    let update = RefUpdate {
        name: ref_name.to_owned(),
        expected: Some(RefTarget::Object(from)),
        new: Some(RefTarget::Object(to)),
    };
    repo.update_refs(context, Vec::new(), vec![update])?;
    Ok(())
}

/// One commit's change, as a step applies it: from `base` to `theirs`.
struct Change {
    /// The commit's parent.
    parent: Option<ObjectId>,
    base: Option<ObjectId>,
    theirs: Option<ObjectId>,
    /// How conflict markers name theirs and the base: `1a2b3c4 (subject)` and
    /// `parent of 1a2b3c4 (subject)`, the other way round for a revert.
    labels: (String, String),
    author: Vec<u8>,
    message: String,
}

impl Change {
    fn of(repo: &Repository, command: Command, id: ObjectId, committer: &[u8]) -> Result<Change, Error> {
        let store = repo.store();
        let commit = store.read_commit(&id)?;
        let parent = commit.parents.first().copied();
        let parent_tree = parent.map(|p| store.read_commit(&p)).transpose()?.map(|c| c.tree);
        let label = format!("{} ({})", store.abbreviate(&id), commit.summary());
        let parent_label = format!("parent of {label}");
        Ok(match command {
            Command::Revert => Change {
                parent,
                base: Some(commit.tree),
                theirs: parent_tree,
                labels: (parent_label, label),
                author: committer.to_vec(),
                message: format!("Revert \"{}\"\n\nThis reverts commit {id}.\n", commit.summary()),
            },
            _ => Change {
                parent,
                base: parent_tree,
                theirs: Some(commit.tree),
                labels: (label, parent_label),
                author: commit.author.clone(),
                message: String::from_utf8_lossy(&commit.message).into_owned(),
            },
        })
    }
}
