//! Where `HEAD` goes after a first import: as after `git clone`, onto the branch
//! the source's `HEAD` names, or else `main`, `master` or the only branch.

use pg_core::oplog::OpContext;
use pg_core::refs::{RefTarget, BRANCH_PREFIX, HEAD};
use pg_core::store::RefUpdate;
use pg_core::{repo, Repository};

/// Moves `HEAD` of `repo`, when its branch has no commit, to `preferred` (a full
/// branch name) if that is a branch, else to `main`, `master` or the only branch.
pub fn follow_imported_head(
    repo: &Repository,
    preferred: Option<&str>,
    context: &OpContext,
) -> Result<(), repo::Error> {
    if repo.head()?.commit().is_some() {
        return Ok(());
    }
    let Some(branch) = branch_to_follow(repo, preferred)? else { return Ok(()) };
    let update = RefUpdate {
        name: HEAD.into(),
        expected: repo.read_ref(HEAD)?,
        new: Some(RefTarget::Symbolic(branch)),
    };
    repo.update_refs(context, Vec::new(), vec![update])?;
    Ok(())
}

/// `preferred` if it is a branch, else `main`, `master`, or the only branch.
fn branch_to_follow(repo: &Repository, preferred: Option<&str>) -> Result<Option<String>, repo::Error> {
    let branches: Vec<String> = repo.list_refs(BRANCH_PREFIX)?.into_iter().map(|(name, _)| name).collect();
    let candidates = preferred
        .into_iter()
        .map(str::to_owned)
        .chain(["main", "master"].map(|name| format!("{BRANCH_PREFIX}{name}")));
    for candidate in candidates {
        if branches.contains(&candidate) {
            return Ok(Some(candidate));
        }
    }
    Ok(match branches.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    })
}
