use super::Outcome;
use crate::context::Context;
use crate::render::{self, Churn, Side, StatRow};
use anyhow::{bail, Result};
use pg_core::diff::{self, FileChange, FileState};
use pg_core::index::Index;
use pg_core::{revision, worktree, Repository};
use pg_merge::rename;
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
    #[command(flatten)]
    renames: RenameArgs,
}

/// `-M`: whether and how alike a deleted and an added file must be to show as
/// one renamed.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct RenameArgs {
    /// Show a deleted and an added file as one renamed when they are alike at
    /// least to N, read as git reads it: a decimal fraction (`-M9`, `-M90`: 90%;
    /// `-M05`: 5%) or a percentage (`-M100%`). 50% when not given.
    #[arg(
        short = 'M',
        long = "find-renames",
        value_name = "N",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "50%",
        value_parser = rename_threshold
    )]
    pub threshold: Option<u8>,
}

/// A similarity threshold in percent, from git's notation: digits alone are the
/// fraction after a decimal point, digits before `%` a percentage.
fn rename_threshold(text: &str) -> Result<u8, String> {
    let (digits, percent) = match text.strip_suffix('%') {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{text}' is not a similarity: give digits such as 90 or 90%"));
    }
    let value: u64 = digits.parse().map_err(|e| format!("{e}"))?;
    let scale = if percent { 100 } else { 10u64.pow(digits.len() as u32) };
    Ok((value * 100 / scale).min(100) as u8)
}

/// One file's side of the comparison, as a patch shows it: a change of one path,
/// or a rename from one path to another.
pub struct FilePatch {
    /// The path before.
    pub old_path: Vec<u8>,
    /// The path after (the same unless renamed).
    pub new_path: Vec<u8>,
    /// The file before, if it existed.
    pub old: Option<FileState>,
    /// The file after, if it exists.
    pub new: Option<FileState>,
    /// For a rename: how alike the two versions are, in percent.
    pub similarity: Option<u8>,
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
    let patches = patches(&repo, changes, new_side, args.renames)?;
    let mut out = std::io::stdout().lock();
    write_patches(&mut out, context.color, &repo, &patches, new_side)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The patches of `changes`, with renames paired when `renames` asks for it
/// (a rename shows where its new path sorts, as git shows it).
pub fn patches(
    repo: &Repository,
    changes: Vec<FileChange>,
    new_side: NewSide,
    renames: RenameArgs,
) -> Result<Vec<FilePatch>> {
    let found = match renames.threshold {
        Some(threshold) => {
            // A rename's source is a deleted file, whose last version is stored;
            // its target is on the new side.
            let read = |path: &[u8], state: &FileState| {
                let deleted = changes.iter().any(|c| c.path == path && c.new.is_none());
                content(repo, path, state, if deleted { NewSide::Store } else { new_side })
            };
            rename::renames(read, &changes, threshold)?
        }
        None => Vec::new(),
    };
    let old_states: BTreeMap<&[u8], FileState> =
        changes.iter().filter_map(|c| Some((c.path.as_slice(), c.old?))).collect();
    let mut patches = Vec::with_capacity(changes.len());
    for change in &changes {
        if found.iter().any(|r| r.from == change.path) {
            continue;
        }
        let patch = match found.iter().find(|r| r.to == change.path) {
            Some(rename) => FilePatch {
                old_path: rename.from.clone(),
                new_path: rename.to.clone(),
                old: old_states.get(rename.from.as_slice()).copied(),
                new: change.new,
                similarity: Some(rename.similarity),
            },
            None => FilePatch {
                old_path: change.path.clone(),
                new_path: change.path.clone(),
                old: change.old,
                new: change.new,
                similarity: None,
            },
        };
        patches.push(patch);
    }
    Ok(patches)
}

/// Writes each file's patch; new contents come from `new_side`.
pub fn write_patches(
    out: &mut dyn Write,
    color: bool,
    repo: &Repository,
    patches: &[FilePatch],
    new_side: NewSide,
) -> Result<()> {
    for patch in patches {
        let old_content =
            patch.old.map(|s| content(repo, &patch.old_path, &s, NewSide::Store)).transpose()?;
        let new_content = patch.new.map(|s| content(repo, &patch.new_path, &s, new_side)).transpose()?;
        let side = |(state, content)| side(repo, state, content);
        let old = patch.old.zip(old_content.as_deref()).map(side);
        let new = patch.new.zip(new_content.as_deref()).map(side);
        let paths =
            render::PatchPaths { old: &patch.old_path, new: &patch.new_path, similarity: patch.similarity };
        render::write_patch(out, color, &paths, old, new)?;
    }
    Ok(())
}

/// The `--stat` rows of `patches`; new contents come from `new_side`.
pub fn stat_rows(repo: &Repository, patches: &[FilePatch], new_side: NewSide) -> Result<Vec<StatRow>> {
    let mut rows = Vec::new();
    for patch in patches {
        let old = patch
            .old
            .map(|s| content(repo, &patch.old_path, &s, NewSide::Store))
            .transpose()?
            .unwrap_or_default();
        let new =
            patch.new.map(|s| content(repo, &patch.new_path, &s, new_side)).transpose()?.unwrap_or_default();
        let churn = if diff::is_binary(&old) || diff::is_binary(&new) {
            Churn::Binary { old: old.len(), new: new.len() }
        } else {
            let (added, removed) = diff::line_counts(&old, &new);
            Churn::Lines { added, removed }
        };
        let path = match patch.similarity {
            Some(_) => render::rename_name(&super::text(&patch.old_path), &super::text(&patch.new_path)),
            None => super::text(&patch.new_path).into_owned(),
        };
        rows.push(StatRow { path, churn });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_as_git_reads_them() {
        for (text, percent) in
            [("5", 50), ("50", 50), ("05", 5), ("9", 90), ("100", 10), ("100%", 100), ("7%", 7)]
        {
            assert_eq!(rename_threshold(text), Ok(percent), "{text}");
        }
        assert_eq!(rename_threshold("250%"), Ok(100));
        for bad in ["", "%", "x", "9x", "1.5"] {
            assert!(rename_threshold(bad).is_err(), "{bad}");
        }
    }
}
