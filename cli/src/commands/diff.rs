use super::Outcome;
use crate::context::Context;
use crate::render::{self, Churn, Side, StatRow};
use anyhow::{bail, Result};
use pg_core::diff::{self, FileChange, FileState};
use pg_core::index::Index;
use pg_core::{revision, worktree, Repository};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Compare the index with HEAD (or with REV) instead of the working copy.
    #[arg(long, alias = "cached")]
    staged: bool,
    /// Compare from this revision (to the working copy, or to the second REV).
    revs: Vec<String>,
}

/// Where the new side's contents come from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NewSide {
    Store,
    WorkingCopy,
}

pub fn run(context: &Context, args: Args) -> Outcome {
    let repo = context.repo_to_read()?;
    let (changes, new_side) = changes(context, &repo, &args)?;
    let mut out = std::io::stdout().lock();
    write_patches(&mut out, context.color, &repo, &changes, new_side)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the patch of each change; new contents come from `new_side`.
pub fn write_patches(
    out: &mut dyn Write,
    color: bool,
    repo: &Repository,
    changes: &[FileChange],
    new_side: NewSide,
) -> Result<()> {
    for change in changes {
        let old_content = change.old.map(|s| content(repo, &change.path, &s, NewSide::Store)).transpose()?;
        let new_content = change.new.map(|s| content(repo, &change.path, &s, new_side)).transpose()?;
        let side = |(state, content)| side(repo, state, content);
        let old = change.old.zip(old_content.as_deref()).map(side);
        let new = change.new.zip(new_content.as_deref()).map(side);
        render::write_patch(out, color, &change.path, old, new)?;
    }
    Ok(())
}

/// The `--stat` rows of `changes`; new contents come from `new_side`.
pub fn stat_rows(repo: &Repository, changes: &[FileChange], new_side: NewSide) -> Result<Vec<StatRow>> {
    let mut rows = Vec::new();
    for change in changes {
        let old = change
            .old
            .map(|s| content(repo, &change.path, &s, NewSide::Store))
            .transpose()?
            .unwrap_or_default();
        let new =
            change.new.map(|s| content(repo, &change.path, &s, new_side)).transpose()?.unwrap_or_default();
        let churn = if diff::is_binary(&old) || diff::is_binary(&new) {
            Churn::Binary { old: old.len(), new: new.len() }
        } else {
            let (added, removed) = diff::line_counts(&old, &new);
            Churn::Lines { added, removed }
        };
        rows.push(StatRow { path: super::text(&change.path).into_owned(), churn });
    }
    Ok(rows)
}

fn side<'c>(repo: &Repository, state: FileState, content: &'c [u8]) -> Side<'c> {
    Side { state, abbrev: repo.store().abbreviate(&state.id), content }
}

fn changes(context: &Context, repo: &Repository, args: &Args) -> Result<(Vec<FileChange>, NewSide)> {
    let store = repo.store();
    match (args.revs.as_slice(), args.staged) {
        ([a, b], false) => {
            let (a, b) = (revision::resolve_tree(repo, a)?, revision::resolve_tree(repo, b)?);
            Ok((diff::diff_trees(&|id| store.read_tree(id), Some(&a), Some(&b))?, NewSide::Store))
        }
        ([rev], true) => {
            let mut index = context.load_index(repo)?;
            let base = revision::resolve_tree(repo, rev)?;
            Ok((worktree::staged_changes(store, &mut index, Some(&base))?, NewSide::Store))
        }
        ([], true) => {
            let mut index = context.load_index(repo)?;
            Ok((worktree::staged_changes(store, &mut index, repo.head_tree()?.as_ref())?, NewSide::Store))
        }
        ([], false) => {
            let mut index = context.load_index(repo)?;
            Ok((unstaged(repo, &mut index)?, NewSide::WorkingCopy))
        }
        ([rev], false) => {
            let mut index = context.load_index(repo)?;
            let base = revision::resolve_tree(repo, rev)?;
            let to_index = worktree::staged_changes(store, &mut index, Some(&base))?;
            Ok((compose(to_index, unstaged(repo, &mut index)?), NewSide::WorkingCopy))
        }
        _ => bail!("pg diff takes at most two revisions (one with --staged)"),
    }
}

fn unstaged(repo: &Repository, index: &mut Index) -> Result<Vec<FileChange>> {
    let head = repo.head_tree()?;
    Ok(worktree::status(repo, index, head.as_ref())?.0.unstaged)
}

/// Chains REV→index and index→working copy into REV→working copy.
fn compose(first: Vec<FileChange>, second: Vec<FileChange>) -> Vec<FileChange> {
    let mut by_path: BTreeMap<Vec<u8>, FileChange> = first.into_iter().map(|c| (c.path.clone(), c)).collect();
    for change in second {
        match by_path.get_mut(&change.path) {
            Some(existing) => existing.new = change.new,
            None => {
                by_path.insert(change.path.clone(), change);
            }
        }
    }
    by_path.into_values().filter(|c| c.old != c.new).collect()
}

/// A file's contents: from the store, or from disk when it is the working copy's
/// version (which is not stored).
fn content(repo: &Repository, path: &[u8], state: &FileState, side: NewSide) -> Result<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    if state.mode.kind() == pg_core::object::EntryKind::Gitlink {
        return Ok(format!("Subproject commit {}\n", state.id).into_bytes());
    }
    if side == NewSide::WorkingCopy {
        let full = repo.workdir().join(std::ffi::OsStr::from_bytes(path));
        if state.mode.kind() == pg_core::object::EntryKind::Symlink {
            return Ok(std::fs::read_link(&full)?.as_os_str().as_bytes().to_vec());
        }
        return Ok(std::fs::read(&full)?);
    }
    Ok(repo.store().read_blob(&state.id)?)
}
