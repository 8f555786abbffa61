//! Writing trees into the working copy: moving it from one commit to another,
//! and putting single paths back.

use super::walk::{abs, FileMeta};
use super::{compare_entry, display, io, lstat, remove_file, state, EntryState, Error, Progress, Result};
use crate::diff::{self, ChangeKind, FileChange, FileState};
use crate::id::ObjectId;
use crate::index::{Index, IndexEntry, Stat};
use crate::object::EntryKind;
use crate::oplog::Snapshot;
use crate::store::Store;
use crate::Repository;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a checkout did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckoutOutcome {
    /// Files written.
    pub written: usize,
    /// Files deleted.
    pub deleted: usize,
}

/// Moves the working copy from commit `from` to commit `to` (`None`: no commit,
/// an empty tree) and saves the index: what switch, clone, fast-forward, undo and
/// mirroring do. Only paths that differ between the two commits are touched;
/// local changes elsewhere are kept, and a local change on a path that would
/// change makes it refuse before writing anything.
pub fn switch(
    repo: &Repository,
    index: &mut Index,
    from: Option<&ObjectId>,
    to: Option<&ObjectId>,
    progress: &dyn Progress,
) -> Result<CheckoutOutcome> {
    let tree = |commit: Option<&ObjectId>| -> Result<Option<ObjectId>> {
        Ok(commit.map(|id| repo.store().read_commit(id)).transpose()?.map(|c| c.tree))
    };
    let outcome = checkout(repo, index, (tree(from)?.as_ref(), tree(to)?.as_ref()), progress)?;
    index.save(&repo.index_path())?;
    Ok(outcome)
}

/// [`switch`] from tree `ours` to the tree a merge made (`None`: empty), leaving
/// the index unsaved, since the merge changes it further before it saves it.
pub fn checkout_merge(
    repo: &Repository,
    index: &mut Index,
    ours: &ObjectId,
    merged: Option<&ObjectId>,
) -> Result<CheckoutOutcome> {
    checkout(repo, index, (Some(ours), merged), &super::NoProgress)
}

/// Moves the working copy between the trees `(from, to)`.
fn checkout(
    repo: &Repository,
    index: &mut Index,
    (from, to): (Option<&ObjectId>, Option<&ObjectId>),
    progress: &dyn Progress,
) -> Result<CheckoutOutcome> {
    let changes = diff::diff_trees(&|id| repo.store().read_tree(id), from, to)?;
    let outcome = apply(repo, index, &changes, &changes, progress)?;
    // A clean switch leaves the index equal to `to`, whose trees are stored:
    // cache them so the next status and commit need not rebuild them.
    let build = index.write_tree(repo.store());
    if Some(&build.root()) == to {
        index.remember_trees(build);
    }
    Ok(outcome)
}

/// Moves the working copy from snapshot `from` to snapshot `to` and saves the
/// index: the index goes from one index tree to the other, the tracked files
/// from one files tree to the other. Every path either changes must be as `from`
/// has it (or already as `to` has it), so nothing that `from` does not hold is
/// lost; otherwise it refuses before writing anything.
pub fn move_between(
    repo: &Repository,
    index: &mut Index,
    from: &Snapshot,
    to: &Snapshot,
    progress: &dyn Progress,
) -> Result<CheckoutOutcome> {
    let read = |id: &ObjectId| repo.store().read_tree(id);
    let files = diff::diff_trees(&read, Some(&from.files), Some(&to.files))?;
    let staged = diff::diff_trees(&read, Some(&from.index), Some(&to.index))?;
    let outcome = apply(repo, index, &files, &staged, progress)?;
    index.save(&repo.index_path())?;
    Ok(outcome)
}

/// Writes the file changes `files` into the working copy and the entry changes
/// `staged` into the index, after checking that neither overwrites anything.
fn apply(
    repo: &Repository,
    index: &mut Index,
    files: &[FileChange],
    staged: &[FileChange],
    progress: &dyn Progress,
) -> Result<CheckoutOutcome> {
    let (store, root) = (repo.store(), repo.workdir());
    check_safe_paths(files)?;
    let mut blocked = changed_on_disk(store, root, index, files)?;
    blocked.extend(changed_in_index(index, staged));
    blocked.sort();
    blocked.dedup();
    if !blocked.is_empty() {
        return Err(Error::WouldOverwrite(blocked));
    }
    progress.start(files.len() as u64);
    let mut outcome = CheckoutOutcome::default();
    // Deletions first, so a file can become a directory of the same name.
    for change in files.iter().filter(|c| c.new.is_none() || c.kind() == ChangeKind::TypeChanged) {
        remove_file(root, &change.path)?;
        outcome.deleted += usize::from(change.new.is_none());
    }
    let writes: Vec<(&[u8], &FileState)> =
        files.iter().filter_map(|c| c.new.as_ref().map(|new| (c.path.as_slice(), new))).collect();
    progress.advance((files.len() - writes.len()) as u64);
    let stats = write_files(store, root, &writes, progress)?;
    outcome.written = writes.len();
    // Removals first here too: a file's removal also removes a directory's
    // entries under the same name.
    for change in staged {
        index.remove_within(&change.path);
    }
    for change in staged {
        let Some(new) = &change.new else { continue };
        index.upsert(IndexEntry {
            path: change.path.clone(),
            mode: new.mode,
            id: new.id,
            stat: Stat::default(),
        });
    }
    // An entry is clean against a file just written with its content; any other
    // keeps no stat data, so the next status reads its file.
    for ((path, new), stat) in writes.iter().zip(stats) {
        if index.get(path).is_some_and(|entry| state(entry).same_as(new)) {
            index.refresh(path, stat);
        }
    }
    Ok(outcome)
}

/// Puts one path of the working copy and the index in `state` (`None`: removes
/// it), whatever is there now. For merges, which restore paths they wrote.
pub fn restore_path(
    repo: &Repository,
    index: &mut Index,
    path: &[u8],
    state: Option<&FileState>,
) -> Result<()> {
    let root = repo.workdir();
    check_safe_paths(&[FileChange { path: path.to_vec(), old: None, new: state.copied() }])?;
    index.remove_within(path);
    match state {
        Some(state) => {
            let stat = FileWriter::new(repo.store(), root).write(path, state)?;
            index.upsert(IndexEntry { path: path.to_vec(), mode: state.mode, id: state.id, stat });
        }
        None => remove_file(root, path)?,
    }
    Ok(())
}

fn check_safe_paths(changes: &[FileChange]) -> Result<()> {
    for change in changes.iter().filter(|c| c.new.is_some()) {
        let unsafe_part = change.path.split(|&b| b == b'/').any(|part| {
            part.is_empty()
                || part == b"."
                || part == b".."
                || part.eq_ignore_ascii_case(b".pg")
                || part.eq_ignore_ascii_case(b".git")
        });
        if unsafe_part {
            return Err(Error::UnsafePath(display(&change.path)));
        }
    }
    Ok(())
}

/// Paths of `changes` whose file on disk is neither as the change has it before
/// nor as after: edits, or an untracked file where a new one would go. A file
/// already gone is no loss.
fn changed_on_disk(store: &Store, root: &Path, index: &Index, changes: &[FileChange]) -> Result<Vec<String>> {
    let mut blocked = Vec::new();
    for change in changes {
        let Some(metadata) = lstat(&abs(root, &change.path))? else { continue };
        let is = |expected: &Option<FileState>| -> Result<bool> {
            let Some(expected) = expected else { return Ok(false) };
            // The index's stat data vouches for the file when its entry matches.
            let entry = index.get(&change.path).filter(|e| state(e).same_as(expected));
            let entry = entry.cloned().unwrap_or_else(|| IndexEntry {
                path: change.path.clone(),
                mode: expected.mode,
                id: expected.id,
                stat: Stat::default(),
            });
            Ok(matches!(compare_entry(store.algorithm(), root, &entry, &metadata)?, EntryState::Clean(_)))
        };
        if !is(&change.old)? && !is(&change.new)? {
            blocked.push(display(&change.path));
        }
    }
    Ok(blocked)
}

/// Paths of `changes` whose index entry is neither as the change has it before
/// nor as after: staged changes.
fn changed_in_index(index: &Index, changes: &[FileChange]) -> Vec<String> {
    let same = |staged: Option<&FileState>, expected: Option<&FileState>| match (staged, expected) {
        (Some(a), Some(b)) => a.same_as(b),
        (None, None) => true,
        _ => false,
    };
    changes
        .iter()
        .filter(|c| {
            let staged = index.get(&c.path).map(state);
            !same(staged.as_ref(), c.old.as_ref()) && !same(staged.as_ref(), c.new.as_ref())
        })
        .map(|c| display(&c.path))
        .collect()
}

/// Writes files of a tree on several threads, returning their stat data in
/// order: creating thousands of files costs the filesystem more than reading
/// their blobs costs the store, and the filesystem takes them on every core.
fn write_files(
    store: &Store,
    root: &Path,
    files: &[(&[u8], &FileState)],
    progress: &dyn Progress,
) -> Result<Vec<Stat>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    // Neighbours share directories: each thread takes a run of them.
    let run = files.len().div_ceil(threads).max(256);
    let parts = std::thread::scope(|s| {
        let workers: Vec<_> = files
            .chunks(run)
            .map(|part| {
                s.spawn(move || {
                    let mut writer = FileWriter::new(store, root);
                    let write = |(path, state): &(&[u8], &FileState)| {
                        let stat = writer.write(path, state);
                        progress.advance(1);
                        stat
                    };
                    part.iter().map(write).collect::<Result<Vec<Stat>>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("checkout writers do not panic")).collect::<Vec<_>>()
    });
    Ok(parts.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten().collect())
}

/// Writes files of a tree, remembering the last directory it made so that the
/// files of one directory make it once.
struct FileWriter<'a> {
    store: &'a Store,
    root: &'a Path,
    made: Option<PathBuf>,
}

impl<'a> FileWriter<'a> {
    fn new(store: &'a Store, root: &'a Path) -> Self {
        FileWriter { store, root, made: None }
    }

    /// Writes one file and returns its stat data.
    fn write(&mut self, path: &[u8], state: &FileState) -> Result<Stat> {
        use std::os::unix::fs::PermissionsExt;
        let full = abs(self.root, path);
        let parent = full.parent().expect("a file path has a parent");
        if self.made.as_deref() != Some(parent) {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
            self.made = Some(parent.to_owned());
        }
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&full).map_err(io(&full))?,
            Ok(_) => std::fs::remove_file(&full).map_err(io(&full))?,
            Err(_) => {}
        }
        match state.mode.kind() {
            EntryKind::Gitlink => {
                std::fs::create_dir_all(&full).map_err(io(&full))?;
                return Ok(Stat::default());
            }
            EntryKind::Symlink => {
                let target = self.store.read_blob(&state.id)?;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), &full).map_err(io(&full))?;
            }
            EntryKind::File | EntryKind::Executable => {
                std::fs::write(&full, self.store.read_blob(&state.id)?).map_err(io(&full))?;
                if state.mode.kind() == EntryKind::Executable {
                    let mut perms = std::fs::metadata(&full).map_err(io(&full))?.permissions();
                    perms.set_mode(perms.mode() | ((perms.mode() & 0o444) >> 2));
                    std::fs::set_permissions(&full, perms).map_err(io(&full))?;
                }
            }
            EntryKind::Tree => unreachable!("diff_trees yields files only"),
        }
        Ok(FileMeta::lstat(&full).map_err(io(&full))?.stat)
    }
}
