//! Making a commit from the index.

use crate::id::ObjectId;
use crate::index::Index;
use crate::object::{Commit, Header, Object};
use crate::oplog::OpContext;
use crate::refs::{RefTarget, HEAD};
use crate::repo::{self, Head};
use crate::store::{self, RefUpdate};
use crate::Repository;

/// Errors making a commit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index equals `HEAD`'s tree.
    #[error(
        "nothing to commit: the index matches HEAD (stage changes with `pg add`, or pass --allow-empty)"
    )]
    NothingToCommit,
    /// `--amend` with no commit to amend.
    #[error("nothing to amend: HEAD has no commit yet")]
    NothingToAmend,
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Updating refs failed.
    #[error(transparent)]
    Repo(#[from] repo::Error),
}

/// What goes into a new commit beside the index.
#[derive(Clone, Debug)]
pub struct Options {
    /// The message.
    pub message: Vec<u8>,
    /// Raw author identity (`Name <email> seconds ±hhmm`).
    pub author: Vec<u8>,
    /// Raw committer identity.
    pub committer: Vec<u8>,
    /// Headers after the committer (e.g. `encoding`).
    pub extra_headers: Vec<Header>,
    /// Commit even when nothing changed.
    pub allow_empty: bool,
    /// Replace `HEAD`'s commit (the new one takes its parents) instead of adding
    /// one on top of it.
    pub amend: bool,
}

/// What [`commit`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The new commit.
    pub id: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
    /// The branch moved (`None`: detached `HEAD` moved).
    pub branch: Option<String>,
    /// Whether it is the branch's first commit.
    pub root: bool,
}

/// Commits the index on top of `HEAD` (or in its place, with `amend`): the trees, the commit, the ref update and
/// the operation record are written in one synced batch, so a crash leaves the
/// branch at the old commit or the new one.
pub fn commit(
    repo: &Repository,
    index: &mut Index,
    options: &Options,
    context: &OpContext,
) -> Result<Outcome, Error> {
    let store = repo.store();
    let head = repo.head()?;
    let replaced = head.commit();
    let parents = match (options.amend, replaced) {
        (false, _) => replaced.into_iter().collect(),
        (true, Some(id)) => store.read_commit(&id)?.parents,
        (true, None) => return Err(Error::NothingToAmend),
    };
    let mut build = index.write_tree(store);
    let tree = build.root();
    let parent_tree = parents.first().map(|p| store.read_commit(p)).transpose()?.map(|c| c.tree);
    if !options.allow_empty && parent_tree == Some(tree) {
        return Err(Error::NothingToCommit);
    }
    if !options.allow_empty && parents.is_empty() && index.entries().is_empty() {
        return Err(Error::NothingToCommit);
    }
    let root = parents.is_empty();
    let commit = Commit {
        tree,
        parents,
        author: options.author.clone(),
        committer: options.committer.clone(),
        extra_headers: options.extra_headers.clone(),
        message: options.message.clone(),
    };
    let (id, bytes) = store.prepare(&Object::Commit(commit));
    let mut objects = std::mem::take(&mut build.objects);
    objects.push((id, bytes));
    let (ref_name, branch) = match &head {
        Head::Branch { name, .. } => (name.clone(), Some(head.branch().unwrap_or(name).to_owned())),
        Head::Detached(_) => (HEAD.to_owned(), None),
    };
    let update = RefUpdate {
        name: ref_name,
        expected: replaced.map(RefTarget::Object),
        new: Some(RefTarget::Object(id)),
    };
    repo.update_refs(context, objects, vec![update])?;
    index.remember_trees(build);
    Ok(Outcome { id, tree, branch, root })
}
