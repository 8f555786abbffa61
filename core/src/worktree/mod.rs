//! The working copy: comparing it with the index (status), staging from it (add,
//! rm, mv), and writing trees into it (checkout).
//!
//! `.pgignore` files use gitignore syntax. The `.pg` and `.git` directories are
//! never part of the working copy (so pg can live beside git in one directory).

use crate::diff::{self, FileChange, FileState};
use crate::id::ObjectId;
use crate::index::{self, Index, IndexEntry, Stat};
use crate::object::{EntryKind, Mode, ObjectKind, Tree};
use crate::repo::Location;
use crate::store::{self, BulkWriter, Store};
use crate::{HashAlgorithm, Repository};
use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

mod checkout;
mod paths;
mod snapshot;
mod walk;
mod watched;

pub use checkout::{checkout_merge, move_between, restore_path, switch, CheckoutOutcome};
pub use paths::{relative_path, repo_path};
pub use snapshot::{
    record_move, reset, restore, snapshot, undo, write_index_tree, RecordedMove, ResetMode, RestoreOptions,
};

use walk::{abs, scan, FileMeta, Found};
pub use walk::{is_ignored, IGNORE_FILE};
pub use watched::{watched_changes, Changed, WatchState};

/// Errors from working-copy operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A path names nothing pg can stage.
    #[error("pathspec '{0}' did not match any files")]
    NoMatch(String),
    /// A path lies outside the working copy.
    #[error("'{0}' is outside the repository")]
    Outside(String),
    /// Removing files with changes that are not committed.
    #[error("these files have local modifications: {}; commit them, or use --cached to keep the file or -f to discard", .0.join(", "))]
    LocalChanges(Vec<String>),
    /// A checkout would overwrite changes.
    #[error("your local changes to these files would be overwritten: {}; commit or discard them first", .0.join(", "))]
    WouldOverwrite(Vec<String>),
    /// Removing a directory without asking for recursion.
    #[error("not removing '{0}' recursively without -r")]
    NotRecursive(String),
    /// A move onto an existing path.
    #[error("destination '{0}' exists")]
    DestinationExists(String),
    /// A tree holds a name that cannot be written safely.
    #[error("refusing to write unsafe path '{0}' from a tree")]
    UnsafePath(String),
    /// Walking the working copy failed.
    #[error("walking the working copy: {0}")]
    Walk(String),
    /// The index failed.
    #[error(transparent)]
    Index(#[from] index::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Reading or moving refs failed.
    #[error(transparent)]
    Repo(#[from] crate::repo::Error),
}

/// A result with a working-copy [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

/// Reports progress of long operations to whoever shows it; the library never
/// draws anything itself.
pub trait Progress: Sync {
    /// The total amount of work is known.
    fn start(&self, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
}

/// Progress reporting that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}

fn gitlink_paths(index: &Index) -> HashSet<Vec<u8>> {
    index.entries().iter().filter(|e| e.mode.kind() == EntryKind::Gitlink).map(|e| e.path.clone()).collect()
}

/// The mode a file on disk would be staged with.
fn mode_of(meta: &FileMeta) -> Mode {
    if meta.is_symlink() {
        Mode::SYMLINK
    } else if meta.is_executable() {
        Mode::EXECUTABLE
    } else {
        Mode::FILE
    }
}

/// The content pg stores for a file: its bytes, or a symlink's target.
fn read_content(root: &Path, path: &[u8], meta: &FileMeta) -> Result<Vec<u8>> {
    let full = abs(root, path);
    if meta.is_symlink() {
        Ok(std::fs::read_link(&full).map_err(io(&full))?.as_os_str().as_bytes().to_vec())
    } else {
        std::fs::read(&full).map_err(io(&full))
    }
}

/// Where a tracked file stands against its index entry.
enum EntryState {
    /// Same as staged; `Some` when its stat data should be refreshed.
    Clean(Option<Stat>),
    /// Different: the file as it is now.
    Changed(FileState),
}

fn compare_entry(
    algorithm: HashAlgorithm,
    root: &Path,
    entry: &IndexEntry,
    meta: &FileMeta,
) -> Result<EntryState> {
    let mode = mode_of(meta);
    let stat = meta.stat;
    if entry.mode.kind() == EntryKind::Gitlink {
        return Ok(EntryState::Clean(None));
    }
    let same_kind = mode.kind() == entry.mode.kind();
    if same_kind && stat == entry.stat {
        return Ok(EntryState::Clean(None));
    }
    let content = read_content(root, &entry.path, meta)?;
    let id = algorithm.hash(&crate::object::encode_with_header(ObjectKind::Blob, &content));
    if same_kind && id == entry.id {
        return Ok(EntryState::Clean(Some(stat)));
    }
    Ok(EntryState::Changed(FileState { mode, id }))
}

/// What is at `path` if it is not a directory.
fn lstat(path: &Path) -> Result<Option<FileMeta>> {
    Ok(lstat_any(path)?.filter(|m| !m.is_dir()))
}

/// What is at `path`, if anything is.
fn lstat_any(path: &Path) -> Result<Option<FileMeta>> {
    match FileMeta::lstat(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => Ok(None),
        Err(e) => Err(Error::Io { path: path.to_owned(), source: e }),
    }
}

/// What `pg status` reports.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Differences from `HEAD` to the index.
    pub staged: Vec<FileChange>,
    /// Differences from the index to the working copy.
    pub unstaged: Vec<FileChange>,
    /// Files nobody tracks; a directory with no tracked file shows as `dir/`.
    pub untracked: Vec<Vec<u8>>,
}

/// Compares `HEAD`'s tree, the index and the working copy. Entries whose stat data
/// went stale but whose content is unchanged are refreshed in `index`; the return
/// says whether that happened, so the caller can save it.
pub fn status(repo: &Repository, index: &mut Index, head_tree: Option<&ObjectId>) -> Result<(Status, bool)> {
    let changes = worktree_changes(repo.location(), index)?;
    complete_status(repo.store(), index, head_tree, changes)
}

/// How the working copy differs from the index: the half of a status that needs no
/// object store, so it can run while the store opens
/// ([`Repository::discover_read_only_alongside`]).
#[derive(Debug, Default)]
pub struct WorktreeChanges {
    unstaged: Vec<FileChange>,
    untracked: Vec<Vec<u8>>,
    refreshed: Vec<(Vec<u8>, Stat)>,
}

/// Compares the working copy with `index`.
pub fn worktree_changes(location: &Location, index: &Index) -> Result<WorktreeChanges> {
    Ok(compare_all(location, index)?.0)
}

/// Compares the whole working copy with `index`; also returns the positions of
/// the entries no walk met (hidden by a `.pgignore`, gitlinks, gone).
fn compare_all(location: &Location, index: &Index) -> Result<(WorktreeChanges, Vec<usize>)> {
    let comparison = Comparison::new(location, index);
    let mut findings = comparison.scan(b"")?;
    let unwalked = comparison.check_unwalked(|_| true, &mut findings)?;
    Ok((WorktreeChanges::from_findings(findings), unwalked))
}

/// Compares files of the working copy with their index entries, on the walking
/// threads, remembering which entries it met.
struct Comparison<'a> {
    root: &'a Path,
    algorithm: HashAlgorithm,
    index: &'a Index,
    walked: Vec<AtomicBool>,
    gitlinks: HashSet<Vec<u8>>,
}

impl<'a> Comparison<'a> {
    fn new(location: &'a Location, index: &'a Index) -> Comparison<'a> {
        Comparison {
            root: &location.workdir,
            algorithm: location.algorithm,
            index,
            walked: index.entries().iter().map(|_| AtomicBool::new(false)).collect(),
            gitlinks: gitlink_paths(index),
        }
    }

    fn visit(&self, path: &[u8], metadata: FileMeta) -> Result<Option<Finding>> {
        let Some(i) = self.index.find(path) else { return Ok(Some(Finding::Untracked(path.to_vec()))) };
        self.walked[i].store(true, Ordering::Relaxed);
        entry_finding(self.algorithm, self.root, &self.index.entries()[i], &metadata)
    }

    /// Walks the files at or under `within`, comparing each.
    fn scan(&self, within: &[u8]) -> Result<Vec<Finding>> {
        walk::scan_with(self.root, within, &self.gitlinks, &|path, meta| self.visit(path, meta))
    }

    /// Compares the entries that `wanted` picks (by position) and no walk met:
    /// tracked files a `.pgignore` hides, gitlinks, and files gone. Returns
    /// their positions.
    fn check_unwalked(
        &self,
        wanted: impl Fn(usize) -> bool,
        findings: &mut Vec<Finding>,
    ) -> Result<Vec<usize>> {
        let entries = self.index.entries();
        let mut checked = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if !wanted(i) || self.walked[i].load(Ordering::Relaxed) {
                continue;
            }
            checked.push(i);
            match lstat(&abs(self.root, &entry.path))? {
                Some(metadata) => {
                    findings.extend(entry_finding(self.algorithm, self.root, entry, &metadata)?)
                }
                None if entry.mode.kind() == EntryKind::Gitlink => {}
                None => findings.push(Finding::Changed(FileChange {
                    path: entry.path.clone(),
                    old: Some(state(entry)),
                    new: None,
                })),
            }
        }
        Ok(checked)
    }
}

impl WorktreeChanges {
    fn from_findings(findings: Vec<Finding>) -> WorktreeChanges {
        let mut changes = WorktreeChanges::default();
        for finding in findings {
            match finding {
                Finding::Untracked(path) => changes.untracked.push(path),
                Finding::Changed(change) => changes.unstaged.push(change),
                Finding::Refresh(path, stat) => changes.refreshed.push((path, stat)),
            }
        }
        changes.unstaged.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        changes.untracked.sort_unstable();
        changes
    }
}

/// Completes a status from the working copy's changes: adds the staged changes,
/// refreshes stale stat data in `index` (the return says whether it did).
pub fn complete_status(
    store: &Store,
    index: &mut Index,
    head_tree: Option<&ObjectId>,
    changes: WorktreeChanges,
) -> Result<(Status, bool)> {
    let staged = staged_changes(store, index, head_tree)?;
    let refreshed = !changes.refreshed.is_empty();
    for (path, stat) in changes.refreshed {
        index.refresh(&path, stat);
    }
    let untracked = collapse_untracked(index, changes.untracked);
    Ok((Status { staged, unstaged: changes.unstaged, untracked }, refreshed))
}

/// What status learns about one file.
enum Finding {
    /// Not in the index.
    Untracked(Vec<u8>),
    /// Differs from its index entry.
    Changed(FileChange),
    /// Same content; the index's stat data is stale.
    Refresh(Vec<u8>, Stat),
}

fn entry_finding(
    algorithm: HashAlgorithm,
    root: &Path,
    entry: &IndexEntry,
    metadata: &FileMeta,
) -> Result<Option<Finding>> {
    Ok(match compare_entry(algorithm, root, entry, metadata)? {
        EntryState::Clean(None) => None,
        EntryState::Clean(Some(stat)) => Some(Finding::Refresh(entry.path.clone(), stat)),
        EntryState::Changed(now) => Some(Finding::Changed(FileChange {
            path: entry.path.clone(),
            old: Some(state(entry)),
            new: Some(now),
        })),
    })
}

fn state(entry: &IndexEntry) -> FileState {
    FileState { mode: entry.mode, id: entry.id }
}

/// Differences from tree `base` to the index, reading only directories whose
/// cached tree differs. When there are none, the index caches `base`'s trees
/// (which are stored), so the next call is cheaper still.
pub fn staged_changes(store: &Store, index: &mut Index, base: Option<&ObjectId>) -> Result<Vec<FileChange>> {
    if index.entries().is_empty() {
        return Ok(diff::diff_trees(&|id| store.read_tree(id), base, None)?);
    }
    let build = index.write_tree(store);
    let index_tree = build.root();
    if Some(&index_tree) == base {
        index.remember_trees(build);
        return Ok(Vec::new());
    }
    let overlay: HashMap<&ObjectId, &[u8]> =
        build.objects.iter().map(|(id, bytes)| (id, bytes.as_slice())).collect();
    let read_tree = |id: &ObjectId| -> store::Result<Tree> {
        match overlay.get(id) {
            Some(bytes) => match crate::object::Object::decode(bytes) {
                Ok(crate::object::Object::Tree(tree)) => Ok(tree),
                _ => unreachable!("write_tree encodes trees"),
            },
            None => store.read_tree(id),
        }
    };
    Ok(diff::diff_trees(&read_tree, base, Some(&index_tree))?)
}

/// Shows a directory that holds no tracked file as `dir/` instead of its files.
fn collapse_untracked(index: &Index, untracked: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for path in untracked {
        let top_untracked_dir = path
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| &path[..i])
            .find(|dir| !index.has_dir(dir));
        let shown = match top_untracked_dir {
            Some(dir) => [dir, b"/"].concat(),
            None => path,
        };
        if out.last() != Some(&shown) {
            out.push(shown);
        }
    }
    out
}

/// What [`add`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddOutcome {
    /// Files whose content was (re)staged.
    pub staged: usize,
    /// Tracked files removed from the index because they are gone.
    pub removed: usize,
}

/// Stages the files at or under each of `paths` (`""` is everything): new and
/// changed files are hashed and stored, vanished ones unstaged. With
/// `tracked_only`, untracked files are left alone (`pg commit -a`).
pub fn add(
    repo: &Repository,
    index: &mut Index,
    paths: &[Vec<u8>],
    tracked_only: bool,
    progress: &dyn Progress,
) -> Result<AddOutcome> {
    let root = repo.workdir();
    let gitlinks = gitlink_paths(index);
    let mut candidates = Vec::new();
    let mut outcome = AddOutcome::default();
    for path in paths {
        let found = scan(root, path, &gitlinks)?;
        let tracked: Vec<Vec<u8>> = index.entries_within(path).iter().map(|e| e.path.clone()).collect();
        if found.is_empty() && tracked.is_empty() {
            return Err(Error::NoMatch(String::from_utf8_lossy(path).into_owned()));
        }
        let present: HashSet<&[u8]> = found.iter().map(|f| f.path.as_slice()).collect();
        for gone in tracked.iter().filter(|p| !present.contains(p.as_slice())) {
            if gitlinks.contains(gone) || lstat(&abs(root, gone))?.is_some() {
                continue;
            }
            outcome.removed += index.remove_within(gone).len();
        }
        candidates.extend(found.into_iter().filter(|f| !tracked_only || index.get(&f.path).is_some()));
    }
    let changed = changed_files(index, candidates);
    progress.start(changed.len() as u64);
    outcome.staged = changed.len();
    let mut writer = BulkWriter::new(repo.store());
    for chunk in changed.chunks(64) {
        for (file, id, encoded) in read_and_hash(repo.store(), root, chunk)? {
            // The staged version is the best base to keep the new one as a delta of.
            writer.add_encoded_with_base(id, encoded, index.get(&file.path).map(|e| e.id))?;
            let stat = file.meta.stat;
            index.upsert(IndexEntry { path: file.path.clone(), mode: mode_of(&file.meta), id, stat });
        }
        progress.advance(chunk.len() as u64);
    }
    writer.finish()?;
    Ok(outcome)
}

/// The files whose stat data or kind differs from their index entry (all untracked
/// ones too); unchanged content with stale stat data is refreshed in place.
fn changed_files(index: &Index, candidates: Vec<Found>) -> Vec<Found> {
    candidates
        .into_iter()
        .filter(|file| match index.get(&file.path) {
            None => true,
            Some(entry) => {
                mode_of(&file.meta) != Mode::for_kind(entry.mode.kind()) || file.meta.stat != entry.stat
            }
        })
        .collect()
}

/// A file read, encoded as a blob and hashed.
type Hashed<'f> = (&'f Found, ObjectId, Vec<u8>);

/// Reads and hashes a chunk of files on two threads.
fn read_and_hash<'f>(store: &Store, root: &Path, files: &'f [Found]) -> Result<Vec<Hashed<'f>>> {
    let half = files.len().div_ceil(2);
    let (left, right) = files.split_at(half);
    let read = |part: &'f [Found]| -> Result<Vec<Hashed<'f>>> {
        part.iter()
            .map(|f| {
                let content = read_content(root, &f.path, &f.meta)?;
                let encoded = crate::object::encode_with_header(ObjectKind::Blob, &content);
                Ok((f, store.algorithm().hash(&encoded), encoded))
            })
            .collect()
    };
    let (a, b) = std::thread::scope(|s| {
        let handle = s.spawn(|| read(right));
        (read(left), handle.join().expect("reader thread does not panic"))
    });
    let mut all = a?;
    all.extend(b?);
    Ok(all)
}

fn display(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Tracked files at or under `path` whose working-copy content differs from the index.
fn modified_within(store: &Store, root: &Path, index: &Index, path: &[u8]) -> Result<Vec<String>> {
    let mut modified = Vec::new();
    for entry in index.entries_within(path) {
        if let Some(metadata) = lstat(&abs(root, &entry.path))? {
            if let EntryState::Changed(_) = compare_entry(store.algorithm(), root, entry, &metadata)? {
                modified.push(display(&entry.path));
            }
        }
    }
    Ok(modified)
}

/// How [`remove`] may proceed.
#[derive(Clone, Copy, Debug, Default)]
pub struct RemoveOptions {
    /// Only unstage; keep the files.
    pub cached: bool,
    /// Remove files with unstaged changes too.
    pub force: bool,
    /// Remove directories with everything in them.
    pub recursive: bool,
}

/// Unstages the files at or under each of `paths` and (unless `cached`) deletes
/// them. Refuses files with unstaged changes unless `force`, and directories unless
/// `recursive`. Returns what it removed.
pub fn remove(
    repo: &Repository,
    index: &mut Index,
    paths: &[Vec<u8>],
    options: RemoveOptions,
) -> Result<Vec<Vec<u8>>> {
    let RemoveOptions { cached, force, recursive } = options;
    let root = repo.workdir();
    let mut modified = Vec::new();
    for path in paths {
        if index.entries_within(path).is_empty() {
            return Err(Error::NoMatch(display(path)));
        }
        if !recursive && index.get(path).is_none() {
            return Err(Error::NotRecursive(display(path)));
        }
        if !cached && !force {
            modified.extend(modified_within(repo.store(), root, index, path)?);
        }
    }
    if !modified.is_empty() {
        return Err(Error::LocalChanges(modified));
    }
    let mut removed = Vec::new();
    for path in paths {
        for entry in index.remove_within(path) {
            if !cached {
                remove_file(root, &entry.path)?;
            }
            removed.push(entry.path);
        }
    }
    Ok(removed)
}

/// Deletes a file and then any directories it leaves empty.
fn remove_file(root: &Path, path: &[u8]) -> Result<()> {
    let full = abs(root, path);
    match std::fs::remove_file(&full) {
        Ok(()) => {}
        // Gone already, or a file stands where its directory was: nothing to remove.
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {}
        Err(e) => return Err(Error::Io { path: full, source: e }),
    }
    let mut dir = full.parent();
    while let Some(d) = dir.filter(|d| *d != root) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Moves a tracked file or directory, on disk and in the index. When `to` is an
/// existing directory, the source moves into it.
pub fn move_path(repo: &Repository, index: &mut Index, from: &[u8], to: &[u8]) -> Result<Vec<u8>> {
    let root = repo.workdir();
    if index.entries_within(from).is_empty() {
        return Err(Error::NoMatch(display(from)));
    }
    let mut to = to.to_vec();
    if abs(root, &to).is_dir() {
        let name = from.rsplit(|&b| b == b'/').next().unwrap_or(from);
        to = index::join(&to, name);
    }
    let target = abs(root, &to);
    if std::fs::symlink_metadata(&target).is_ok() || !index.entries_within(&to).is_empty() {
        return Err(Error::DestinationExists(display(&to)));
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::rename(abs(root, from), &target).map_err(io(&target))?;
    for mut entry in index.remove_within(from) {
        entry.path = [to.as_slice(), &entry.path[from.len()..]].concat();
        index.upsert(entry);
    }
    Ok(to)
}
