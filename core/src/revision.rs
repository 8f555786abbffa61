//! Revision expressions: what `pg log`, `pg show` and friends accept.
//!
//! A revision is a name followed by any number of `~N` (N-th first-parent
//! ancestor) and `^N` (N-th parent; `^0` is the commit itself) suffixes. A name is
//! `^{kind}` peels to an object of that kind (`^{tree}`, `^{commit}`), `^{}` peels
//! tags. A name is `HEAD` (or `@`), a full ref name, a branch, a tag, a full id or a unique id
//! prefix, tried in that order as git does.

use crate::id::{IdPrefix, ObjectId};
use crate::object::{Object, ObjectKind};
use crate::refs::{BRANCH_PREFIX, HEAD, TAG_PREFIX};
use crate::store::{self, PrefixError};
use crate::Repository;

/// Why a revision names no object.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing is called that.
    #[error("unknown revision '{0}': not a branch, tag or object id (see `pg branch`, `pg log`)")]
    Unknown(String),
    /// `HEAD` has no commit yet.
    #[error("HEAD has no commit yet: make one with `pg commit`")]
    UnbornHead,
    /// A `~`/`^` suffix is malformed.
    #[error("'{0}' is not a revision: after ~ or ^ only a number may follow")]
    Syntax(String),
    /// Walking past the root, or asking for a parent that does not exist.
    #[error("'{rev}' goes past the history: {id} has no parent {n}")]
    NoParent {
        /// The whole expression.
        rev: String,
        /// The commit that lacks it.
        id: ObjectId,
        /// The parent number asked for.
        n: usize,
    },
    /// The prefix is ambiguous or unknown.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
    /// Reading objects or refs failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The repository failed.
    #[error(transparent)]
    Repo(#[from] crate::repo::Error),
}

enum Step {
    Ancestor(usize),
    Parent(usize),
    /// `^{kind}`: peel to that kind; `^{}`: peel tags.
    Peel(Option<ObjectKind>),
}

fn split(rev: &str) -> Result<(&str, Vec<Step>), Error> {
    let cut = rev.find(['~', '^']).unwrap_or(rev.len());
    let (name, mut rest) = rev.split_at(cut);
    let mut steps = Vec::new();
    while let Some(op) = rest.chars().next() {
        if let Some(braced) = rest.strip_prefix("^{") {
            let close = braced.find('}').ok_or_else(|| Error::Syntax(rev.into()))?;
            let kind = &braced[..close];
            steps.push(Step::Peel(if kind.is_empty() {
                None
            } else {
                Some(kind.parse().map_err(|_| Error::Syntax(rev.into()))?)
            }));
            rest = &braced[close + 1..];
            continue;
        }
        let digits = rest[1..].bytes().take_while(u8::is_ascii_digit).count();
        let n = if digits == 0 {
            1
        } else {
            rest[1..1 + digits].parse().map_err(|_| Error::Syntax(rev.into()))?
        };
        steps.push(if op == '~' { Step::Ancestor(n) } else { Step::Parent(n) });
        rest = &rest[1 + digits..];
        if !rest.is_empty() && !rest.starts_with(['~', '^']) {
            return Err(Error::Syntax(rev.into()));
        }
    }
    Ok((name, steps))
}

fn resolve_name(repo: &Repository, name: &str) -> Result<ObjectId, Error> {
    if name == HEAD || name == "@" {
        return repo.head()?.commit().ok_or(Error::UnbornHead);
    }
    let candidates = [
        name.to_owned(),
        format!("{BRANCH_PREFIX}{name}"),
        format!("{TAG_PREFIX}{name}"),
        format!("refs/remotes/{name}"),
    ];
    for candidate in candidates.iter().filter(|c| c.starts_with("refs/")) {
        if let Some(id) = repo.resolve_ref(candidate)? {
            return Ok(id);
        }
    }
    if let Ok(id) = name.parse::<ObjectId>() {
        if repo.store().backend().has_object(&id)? {
            return Ok(id);
        }
    }
    match IdPrefix::new(name) {
        Some(prefix) => Ok(repo.store().resolve_prefix(&prefix)?),
        None => Err(Error::Unknown(name.to_owned())),
    }
}

/// Peels annotated tags until something else is reached.
pub fn peel(repo: &Repository, mut id: ObjectId) -> Result<(ObjectId, Object), Error> {
    loop {
        match repo.store().read(&id)? {
            Object::Tag(tag) => id = tag.object,
            other => return Ok((id, other)),
        }
    }
}

/// Resolves `rev` to an object (tags are not peeled unless a suffix needs a commit).
pub fn resolve(repo: &Repository, rev: &str) -> Result<ObjectId, Error> {
    let (name, steps) = split(rev)?;
    let mut id = resolve_name(repo, name)?;
    for step in steps {
        if let Step::Peel(kind) = step {
            id = peel_to(repo, id, kind)?;
            continue;
        }
        let commit = commit_of(repo, id)?;
        id = match step {
            Step::Peel(_) => unreachable!("handled above"),
            Step::Parent(0) => commit.0,
            Step::Parent(n) => {
                *commit.1.parents.get(n - 1).ok_or(Error::NoParent { rev: rev.into(), id: commit.0, n })?
            }
            Step::Ancestor(n) => {
                let mut current = commit;
                for _ in 0..n {
                    let parent = *current.1.parents.first().ok_or(Error::NoParent {
                        rev: rev.into(),
                        id: current.0,
                        n: 1,
                    })?;
                    current = (parent, repo.store().read_commit(&parent)?);
                }
                current.0
            }
        };
    }
    Ok(id)
}

fn peel_to(repo: &Repository, id: ObjectId, kind: Option<ObjectKind>) -> Result<ObjectId, Error> {
    let (peeled, object) = peel(repo, id)?;
    match (kind, object) {
        (None, _) => Ok(peeled),
        (Some(ObjectKind::Tree), Object::Commit(commit)) => Ok(commit.tree),
        (Some(wanted), object) if object.kind() == wanted => Ok(peeled),
        (Some(ObjectKind::Tag), _) if repo.store().kind(&id)? == ObjectKind::Tag => Ok(id),
        (Some(wanted), object) => {
            Err(store::Error::WrongKind { id: peeled, expected: wanted, actual: object.kind() }.into())
        }
    }
}

fn commit_of(repo: &Repository, id: ObjectId) -> Result<(ObjectId, crate::object::Commit), Error> {
    match peel(repo, id)? {
        (id, Object::Commit(commit)) => Ok((id, commit)),
        (id, other) => {
            Err(store::Error::WrongKind { id, expected: ObjectKind::Commit, actual: other.kind() }.into())
        }
    }
}

/// Resolves `rev` to a tree: a commit's (peeling tags), or a tree itself.
pub fn resolve_tree(repo: &Repository, rev: &str) -> Result<ObjectId, Error> {
    peel_to(repo, resolve(repo, rev)?, Some(ObjectKind::Tree))
}

/// Resolves `rev` to a commit, peeling tags.
pub fn resolve_commit(repo: &Repository, rev: &str) -> Result<ObjectId, Error> {
    let id = resolve(repo, rev)?;
    Ok(commit_of(repo, id)?.0)
}
