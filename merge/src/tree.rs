//! The 3-way merge of trees: which paths each side changed, renames, and a verdict
//! per path, with file contents settled by the cascade.
//!
//! Work is done only where it can matter: subtrees equal on two sides are never
//! read, paths neither side changed are kept from our tree by id, and renames are
//! looked for only among files whose source the other side changed (or deleted),
//! since any other rename merges the same with or without being detected.

use crate::attributes::{self, Attributes};
use crate::cache::Cache;
use crate::cascade::{self, Blobs, FileOutcome};
use crate::function::{trivial, FunctionId, MergeFunction, Registry};
use crate::rename;
use crate::text::{Labels, Markers, DEFAULT_MARKER_SIZE};
use pg_core::diff::{diff_trees, FileChange, FileState};
use pg_core::history;
use pg_core::index::join;
use pg_core::object::{EntryKind, Mode, Tree};
use pg_core::store::{self, Store};
use pg_core::tree_edit::edit_tree;
use pg_core::ObjectId;
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Errors of a merge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The two commits share no history.
    #[error("refusing to merge unrelated histories ({ours} and {theirs} have no common ancestor); pass --allow-unrelated-histories to merge them as if from an empty base")]
    Unrelated {
        /// Our commit (short id).
        ours: String,
        /// Their commit (short id).
        theirs: String,
    },
    /// `.pgattributes` names a function that does not exist.
    #[error("'{path}': its cascade names the merge function '{name}', which does not exist (check .pgattributes; `pg merge-functions` lists them)")]
    UnknownFunction {
        /// The path being merged.
        path: String,
        /// The unknown name.
        name: String,
    },
    /// A `.pgattributes` file is malformed.
    #[error(transparent)]
    Attributes(#[from] attributes::Error),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// How a merge runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Our side's name in conflict markers (`HEAD`).
    pub ours_label: String,
    /// Their side's name (the branch merged).
    pub theirs_label: String,
    /// The base's name in diff3-style markers.
    pub base_label: String,
    /// Minimum similarity, in percent, for an added and a deleted file to be a
    /// rename (git's default is 50).
    pub rename_threshold: u8,
    /// Write conflicted files with conflict markers (off when only the verdict
    /// matters, as in `pg bench-merge`).
    pub render_conflicts: bool,
    /// Merge histories without a common ancestor from an empty base.
    pub allow_unrelated: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ours_label: "ours".into(),
            theirs_label: "theirs".into(),
            base_label: "base".into(),
            rename_threshold: 50,
            render_conflicts: true,
            allow_unrelated: false,
        }
    }
}

/// What kind of conflict a path has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed the content and no function settled it.
    Content,
    /// Both sides added different files at the path, and no function settled it.
    AddAdd,
    /// One side changed (or renamed) the file, the other deleted it.
    ModifyDelete,
    /// Each side renamed the file to a different path.
    RenameRename,
    /// Both sides changed the executable bit differently.
    Mode,
    /// The sides made it different kinds of entry (file, symlink, submodule), or
    /// changed a symlink or submodule differently.
    Type,
    /// A file on one side is a directory on the other; the file was moved aside.
    FileDirectory,
}

/// A path no merge function settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Where the conflicted file is in the merged tree.
    pub path: Vec<u8>,
    /// What kind of conflict it is.
    pub kind: ConflictKind,
    /// The base version.
    pub base: Option<FileState>,
    /// Our version.
    pub ours: Option<FileState>,
    /// Their version.
    pub theirs: Option<FileState>,
    /// Functions that tried and found a conflict.
    pub tried: Vec<FunctionId>,
}

/// Provenance: the function that settled a path both sides changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The path in the merged tree.
    pub path: Vec<u8>,
    /// The function.
    pub function: FunctionId,
}

/// Counts of the work a merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Files both sides changed, which went through a cascade.
    pub files_merged: usize,
    /// Verdicts the cache answered.
    pub cache_hits: usize,
    /// Verdicts computed.
    pub cache_misses: usize,
    /// Renames detected.
    pub renames: usize,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The merged tree (`None`: empty). Conflicted files hold conflict markers (or
    /// our version where markers cannot show the conflict), as `git merge-tree`
    /// writes them.
    pub tree: Option<ObjectId>,
    /// The paths no function settled.
    pub conflicts: Vec<Conflict>,
    /// Which function settled each path both sides changed.
    pub settled: Vec<Settled>,
    /// The merge bases used (several: they were merged into a virtual base).
    pub bases: Vec<ObjectId>,
    /// Work done.
    pub stats: Stats,
}

/// Merges trees and commits, holding the functions and the cache.
pub struct Merger<'s> {
    store: &'s Store,
    trees: Trees<'s>,
    graph: history::Graph<'s>,
    registry: &'s Registry,
    cache: Cache<'s>,
    options: Options,
    stats: Stats,
    /// How deep in the merges of merge bases this merge is (0: the merge asked for).
    depth: usize,
}

/// The merge of several merge bases so far, as git's recursive merges build it:
/// a commit that is not stored, whose tree is `tree` and whose ancestors are
/// those of the bases merged.
struct VirtualCommit {
    tree: Option<ObjectId>,
    bases: Vec<ObjectId>,
}

impl<'s> Merger<'s> {
    /// A merger over `store` using `registry`'s functions.
    pub fn new(store: &'s Store, registry: &'s Registry, cache: Cache<'s>, options: Options) -> Merger<'s> {
        Merger {
            store,
            trees: Trees { store, read: FxHashMap::default() },
            graph: history::Graph::new(store),
            registry,
            cache,
            options,
            stats: Stats::default(),
            depth: 0,
        }
    }

    /// Names the sides in the conflict markers of the merges that follow: each
    /// step of a cherry-pick or rebase has its own.
    pub fn set_labels(&mut self, ours: String, theirs: String, base: String) {
        (self.options.ours_label, self.options.theirs_label, self.options.base_label) = (ours, theirs, base);
    }

    /// Merges commit `theirs` into commit `ours` from their merge base; several
    /// bases are merged first into a virtual one (as git's ort does).
    pub fn merge_commits(&mut self, ours: ObjectId, theirs: ObjectId) -> Result<Outcome, Error> {
        let bases = self.graph.merge_bases(ours, theirs)?;
        self.merge_from_bases(&bases, ours, theirs)
    }

    /// [`Merger::merge_commits`] with the merge bases already known.
    pub fn merge_from_bases(
        &mut self,
        bases: &[ObjectId],
        ours: ObjectId,
        theirs: ObjectId,
    ) -> Result<Outcome, Error> {
        if bases.is_empty() && !self.options.allow_unrelated {
            let short = |id: ObjectId| self.store.abbreviate(&id);
            return Err(Error::Unrelated { ours: short(ours), theirs: short(theirs) });
        }
        let base_tree = self.virtual_base(bases)?;
        let ours_tree = self.store.read_commit(&ours)?.tree;
        let theirs_tree = self.store.read_commit(&theirs)?.tree;
        let mut outcome = self.merge_trees(base_tree, Some(ours_tree), Some(theirs_tree))?;
        outcome.bases = bases.to_vec();
        Ok(outcome)
    }

    /// The tree to merge from: the one base's tree, or the bases merged pairwise,
    /// conflicts and all (markers become part of the virtual base), as git's ort
    /// does: oldest base first, each next one merged into the virtual commit of
    /// those before it, from their own merge bases, recursively.
    fn virtual_base(&mut self, bases: &[ObjectId]) -> Result<Option<ObjectId>, Error> {
        // Bases come newest first.
        let mut bases = bases.iter().rev();
        let Some(first) = bases.next() else { return Ok(None) };
        let mut merged =
            VirtualCommit { tree: Some(self.store.read_commit(first)?.tree), bases: vec![*first] };
        for next in bases {
            let inner_bases = self.graph.merge_bases_of_many(&merged.bases, *next)?;
            let next_tree = Some(self.store.read_commit(next)?.tree);
            let inner = Options {
                ours_label: "Temporary merge branch 1".into(),
                theirs_label: "Temporary merge branch 2".into(),
                base_label: match inner_bases.as_slice() {
                    [] => "empty tree".into(),
                    [one] => self.store.abbreviate(one),
                    _ => "merged common ancestors".into(),
                },
                render_conflicts: true,
                ..self.options.clone()
            };
            let outer = std::mem::replace(&mut self.options, inner);
            self.depth += 1;
            let tree = self
                .virtual_base(&inner_bases)
                .and_then(|base| self.merge_trees(base, merged.tree, next_tree));
            self.depth -= 1;
            self.options = outer;
            merged.tree = tree?.tree;
            merged.bases.push(*next);
        }
        Ok(merged.tree)
    }

    /// Merges trees `ours` and `theirs` from `base` (absent trees are empty).
    pub fn merge_trees(
        &mut self,
        base: Option<ObjectId>,
        ours: Option<ObjectId>,
        theirs: Option<ObjectId>,
    ) -> Result<Outcome, Error> {
        let done = |tree| {
            Ok::<_, Error>(Outcome {
                tree,
                conflicts: vec![],
                settled: vec![],
                bases: vec![],
                stats: Stats::default(),
            })
        };
        if ours == theirs || base == theirs {
            return done(ours);
        }
        if base == ours {
            return done(theirs);
        }
        let mut sides = Sides::default();
        sides.walk(&mut self.trees, &[], [base, ours, theirs])?;
        let ours_renames = sides.renames(Side::Ours, self.store, self.options.rename_threshold)?;
        let theirs_renames = sides.renames(Side::Theirs, self.store, self.options.rename_threshold)?;
        let mut triples = sides.triples();
        self.apply_renames(&sides, [ours_renames, theirs_renames], &mut triples);
        let mut attributes = Attributes::of_tree(self.store, ours);
        let mut results: BTreeMap<Vec<u8>, Option<FileState>> = BTreeMap::new();
        let mut conflicts = Vec::new();
        let mut settled = Vec::new();
        for (path, triple) in &triples {
            let mut verdict = self.resolve(path, triple, &mut attributes)?;
            if self.depth > 0 {
                verdict.for_virtual_base(triple);
            }
            results.insert(path.clone(), verdict.state);
            settled.extend(verdict.settled.map(|function| Settled { path: path.clone(), function }));
            conflicts.extend(verdict.conflict.map(|(kind, tried)| Conflict {
                path: path.clone(),
                kind,
                base: triple.base,
                ours: triple.ours,
                theirs: triple.theirs,
                tried,
            }));
        }
        self.move_files_out_of_directories(&triples, &mut results, &mut conflicts);
        let mut edits: BTreeMap<Vec<u8>, Option<FileState>> =
            results.into_iter().filter(|(path, state)| sides.ours_state(path) != *state).collect();
        // Directories only they changed are taken whole, unread.
        for whole in sides.whole.iter().filter(|w| w.side == Side::Theirs) {
            edits.insert(whole.dir.clone(), whole.tree.map(|id| FileState { mode: Mode::TREE, id }));
        }
        let tree = edit_tree(self.store, ours.as_ref(), &edits)?;
        self.stats.cache_hits = self.cache.hits;
        self.stats.cache_misses = self.cache.misses;
        conflicts.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Outcome { tree, conflicts, settled, bases: vec![], stats: self.stats })
    }

    /// Rewires the triples so each renamed file merges at its new path.
    fn apply_renames(
        &mut self,
        sides: &Sides,
        [ours, theirs]: [Renames; 2],
        triples: &mut BTreeMap<Vec<u8>, Triple>,
    ) {
        self.stats.renames += ours.len() + theirs.len();
        let theirs_by_source: BTreeMap<&[u8], &[u8]> =
            theirs.iter().map(|(s, t)| (s.as_slice(), t.as_slice())).collect();
        let ours_by_source: BTreeMap<&[u8], &[u8]> =
            ours.iter().map(|(s, t)| (s.as_slice(), t.as_slice())).collect();
        for (source, target) in &ours {
            let base = sides.base_state(source);
            match theirs_by_source.get(source.as_slice()) {
                Some(&their_target) if their_target != target.as_slice() => {
                    triples.insert(source.clone(), Triple::removed(base));
                    for path in [target.as_slice(), their_target] {
                        let mut triple = Triple::of(sides, path);
                        triple.rename_clash = true;
                        triple.base = base;
                        triples.insert(path.to_vec(), triple);
                    }
                }
                Some(_) => {
                    triples.insert(source.clone(), Triple::removed(base));
                    let mut triple = Triple::of(sides, target);
                    triple.base = base;
                    triples.insert(target.clone(), triple);
                }
                None => {
                    triples.insert(source.clone(), Triple::removed(base));
                    let mut triple = Triple::of(sides, target);
                    triple.base = base;
                    triple.theirs = sides.theirs_state(source);
                    triple.theirs_path = source.clone();
                    triples.insert(target.clone(), triple);
                }
            }
        }
        for (source, target) in theirs.iter().filter(|(s, _)| !ours_by_source.contains_key(s.as_slice())) {
            let base = sides.base_state(source);
            triples.insert(source.clone(), Triple::removed(base));
            let mut triple = Triple::of(sides, target);
            triple.base = base;
            triple.ours = sides.ours_state(source);
            triple.ours_path = source.clone();
            triples.insert(target.clone(), triple);
        }
    }

    /// The verdict on one path.
    fn resolve(
        &mut self,
        path: &[u8],
        triple: &Triple,
        attributes: &mut Attributes,
    ) -> Result<Verdict, Error> {
        let Triple { base, ours, theirs, .. } = *triple;
        if triple.removed {
            return Ok(Verdict::take(None));
        }
        if triple.rename_clash {
            let state = ours.or(theirs);
            return Ok(Verdict::conflict(state, ConflictKind::RenameRename, vec![]));
        }
        if ours == theirs {
            let settled = (ours != base).then(|| trivial().id());
            return Ok(Verdict { state: ours, settled, conflict: None });
        }
        // A side that renamed the file changed it even if its content is the base's:
        // renamed on one side and deleted on the other is a conflict, as in git.
        if base == ours {
            return Ok(match (triple.ours_renamed(), theirs) {
                (true, None) => Verdict::conflict(ours, ConflictKind::ModifyDelete, vec![]),
                _ => Verdict::take(theirs),
            });
        }
        if base == theirs {
            return Ok(match (triple.theirs_renamed(), ours) {
                (true, None) => Verdict::conflict(theirs, ConflictKind::ModifyDelete, vec![]),
                _ => Verdict::take(ours),
            });
        }
        let (Some(o), Some(t)) = (ours, theirs) else {
            return Ok(Verdict::conflict(ours.or(theirs), ConflictKind::ModifyDelete, vec![]));
        };
        if !is_file(o.mode) || !is_file(t.mode) {
            return Ok(Verdict::conflict(Some(o), ConflictKind::Type, vec![]));
        }
        let base_file = base.filter(|b| is_file(b.mode));
        let mode = merge_modes(base_file.map(|b| b.mode), o.mode, t.mode);
        let content_mode = mode.unwrap_or(o.mode);
        if o.id == t.id {
            return Ok(match mode {
                Some(mode) => Verdict {
                    state: Some(FileState { mode, id: o.id }),
                    settled: Some(trivial().id()),
                    conflict: None,
                },
                None => Verdict::conflict(Some(o), ConflictKind::Mode, vec![]),
            });
        }
        let functions = self.cascade_for(path, attributes)?;
        self.stats.files_merged += 1;
        let markers = self.options.render_conflicts.then(|| Markers {
            labels: self.labels(triple),
            // Conflicts of merge bases stand out from the conflicts of the merge.
            size: DEFAULT_MARKER_SIZE + 2 * self.depth,
        });
        let blobs = Blobs { path, base: base_file.map(|b| b.id), ours: o.id, theirs: t.id };
        let outcome = cascade::run(self.store, &mut self.cache, &functions, blobs, markers.as_ref())?;
        let kind = if base_file.is_some() { ConflictKind::Content } else { ConflictKind::AddAdd };
        Ok(match (outcome, mode) {
            (FileOutcome::Settled { function, blob }, Some(mode)) => {
                Verdict { state: Some(FileState { mode, id: blob }), settled: Some(function), conflict: None }
            }
            (FileOutcome::Settled { blob, .. }, None) => Verdict::conflict(
                Some(FileState { mode: content_mode, id: blob }),
                ConflictKind::Mode,
                vec![],
            ),
            (FileOutcome::Unsettled { tried, rendering }, _) => {
                let id = rendering.unwrap_or(o.id);
                Verdict::conflict(Some(FileState { mode: content_mode, id }), kind, tried)
            }
        })
    }

    fn cascade_for(
        &self,
        path: &[u8],
        attributes: &mut Attributes,
    ) -> Result<Vec<Arc<dyn MergeFunction>>, Error> {
        let names = attributes.cascade(path)?.unwrap_or_else(|| default_cascade(path));
        cascade::resolve(self.registry, &names)
            .map_err(|name| Error::UnknownFunction { path: String::from_utf8_lossy(path).into_owned(), name })
    }

    /// Marker labels; a side's path is added when a rename makes them differ.
    fn labels(&self, triple: &Triple) -> Labels {
        let renamed = triple.ours_path != triple.theirs_path;
        let label = |name: &str, path: &[u8]| {
            let mut label = name.as_bytes().to_vec();
            if renamed {
                label.push(b':');
                label.extend_from_slice(path);
            }
            Some(label)
        };
        Labels {
            ours: label(&self.options.ours_label, &triple.ours_path),
            base: Some(self.options.base_label.clone().into_bytes()),
            theirs: label(&self.options.theirs_label, &triple.theirs_path),
        }
    }

    /// A file that ends up where the other side has a directory moves aside to
    /// `<path>~<side>`, and is a conflict there.
    fn move_files_out_of_directories(
        &self,
        triples: &BTreeMap<Vec<u8>, Triple>,
        results: &mut BTreeMap<Vec<u8>, Option<FileState>>,
        conflicts: &mut Vec<Conflict>,
    ) {
        let present: BTreeSet<Vec<u8>> =
            results.iter().filter(|(_, s)| s.is_some()).map(|(p, _)| p.clone()).collect();
        let clashing: Vec<Vec<u8>> = present
            .iter()
            .filter(|path| {
                let mut dir = path.to_vec();
                dir.push(b'/');
                present.range(dir.clone()..).next().is_some_and(|next| next.starts_with(&dir))
            })
            .cloned()
            .collect();
        for path in clashing {
            let state = results.insert(path.clone(), None).flatten();
            let triple = &triples[&path];
            let from_theirs = state == triple.theirs && state != triple.ours;
            let side = if from_theirs { &self.options.theirs_label } else { &self.options.ours_label };
            let mut moved = path.clone();
            moved.push(b'~');
            moved.extend(side.bytes().map(|b| if b == b'/' { b'_' } else { b }));
            results.insert(moved.clone(), state);
            conflicts.retain(|c| c.path != path);
            conflicts.push(Conflict {
                path: moved,
                kind: ConflictKind::FileDirectory,
                base: triple.base,
                ours: triple.ours,
                theirs: triple.theirs,
                tried: vec![],
            });
        }
    }
}

/// The cascade for a path no `.pgattributes` line matches: the text merge, then
/// the structured function for its extension (JSON, TOML, YAML), which sees only
/// what the text merge leaves in conflict. Safe and cheap first: the line merge is
/// git's, and a structured result must keep all it settled ([`crate::gate`]).
fn default_cascade(path: &[u8]) -> Vec<String> {
    std::iter::once("text").chain(crate::structured::for_extension(path)).map(str::to_owned).collect()
}

fn is_file(mode: Mode) -> bool {
    matches!(mode.kind(), EntryKind::File | EntryKind::Executable)
}

/// The merged mode of a file, or `None` when both sides changed it differently.
fn merge_modes(base: Option<Mode>, ours: Mode, theirs: Mode) -> Option<Mode> {
    let kind = |mode: Mode| mode.kind();
    if kind(ours) == kind(theirs) {
        Some(ours)
    } else if base.map(kind) == Some(kind(ours)) {
        Some(theirs)
    } else if base.map(kind) == Some(kind(theirs)) {
        Some(ours)
    } else {
        None
    }
}

/// The verdict on one path: what goes in the tree, who settled it, or the conflict.
struct Verdict {
    state: Option<FileState>,
    settled: Option<FunctionId>,
    conflict: Option<(ConflictKind, Vec<FunctionId>)>,
}

impl Verdict {
    fn take(state: Option<FileState>) -> Verdict {
        Verdict { state, settled: None, conflict: None }
    }

    fn conflict(state: Option<FileState>, kind: ConflictKind, tried: Vec<FunctionId>) -> Verdict {
        Verdict { state, settled: None, conflict: Some((kind, tried)) }
    }

    /// A conflict in a merge of merge bases takes the base's version where no
    /// markers can show it (a file modified and deleted, a binary file), as git's
    /// ort does, so the virtual base leans to neither side.
    fn for_virtual_base(&mut self, triple: &Triple) {
        let unshown = match self.conflict {
            Some((ConflictKind::ModifyDelete, _)) => true,
            Some((ConflictKind::Content, _)) => self.state.map(|s| s.id) == triple.ours.map(|s| s.id),
            _ => false,
        };
        if unshown {
            self.state = triple.base;
        }
    }
}

/// One path's three versions, after renames are followed.
#[derive(Debug, Clone)]
struct Triple {
    base: Option<FileState>,
    ours: Option<FileState>,
    theirs: Option<FileState>,
    /// Where each side's version came from (differs from `target` for a rename).
    ours_path: Vec<u8>,
    theirs_path: Vec<u8>,
    /// The path this triple decides.
    target: Vec<u8>,
    /// A rename source: its content moved with the rename; the path goes.
    removed: bool,
    /// One target of a file each side renamed differently.
    rename_clash: bool,
}

impl Triple {
    /// Whether our side renamed the file here (its version is at the target, the
    /// other side's at the old path).
    fn ours_renamed(&self) -> bool {
        self.ours_path != self.theirs_path && self.ours_path == self.target
    }

    fn theirs_renamed(&self) -> bool {
        self.ours_path != self.theirs_path && self.theirs_path == self.target
    }

    fn of(sides: &Sides, path: &[u8]) -> Triple {
        Triple {
            base: sides.base_state(path),
            ours: sides.ours_state(path),
            theirs: sides.theirs_state(path),
            ours_path: path.to_vec(),
            theirs_path: path.to_vec(),
            target: path.to_vec(),
            removed: false,
            rename_clash: false,
        }
    }

    fn removed(base: Option<FileState>) -> Triple {
        Triple {
            base,
            ours: None,
            theirs: None,
            ours_path: vec![],
            theirs_path: vec![],
            target: vec![],
            removed: true,
            rename_clash: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Theirs,
}

/// Trees read so far, kept for the merges that follow (bases and sides of one
/// history share most of their trees).
struct Trees<'s> {
    store: &'s Store,
    read: FxHashMap<ObjectId, Arc<Tree>>,
}

impl Trees<'_> {
    /// Beyond this many trees the cache starts over, bounding its memory.
    const CAPACITY: usize = 100_000;

    fn get(&mut self, id: &ObjectId) -> store::Result<Arc<Tree>> {
        if let Some(tree) = self.read.get(id) {
            return Ok(tree.clone());
        }
        if self.read.len() >= Self::CAPACITY {
            self.read.clear();
        }
        let tree = Arc::new(self.store.read_tree(id)?);
        self.read.insert(*id, tree.clone());
        Ok(tree)
    }
}

/// Renames found on one side: (source, target) paths.
type Renames = Vec<(Vec<u8>, Vec<u8>)>;

/// A directory only one side changed: taken whole from that side, never read
/// (unless that side's renames need the files added in it).
#[derive(Debug, Clone)]
struct Whole {
    dir: Vec<u8>,
    side: Side,
    base: Option<ObjectId>,
    tree: Option<ObjectId>,
}

/// Each side's file changes from the base, by path, in the directories both sides
/// changed; and the directories only one side changed.
#[derive(Default)]
struct Sides {
    ours: BTreeMap<Vec<u8>, FileChange>,
    theirs: BTreeMap<Vec<u8>, FileChange>,
    whole: Vec<Whole>,
}

type Trio = [Option<ObjectId>; 3];

impl Sides {
    /// Walks the three trees of directory `dir` together, descending only where
    /// both sides changed something.
    fn walk(&mut self, trees: &mut Trees, dir: &[u8], [base, ours, theirs]: Trio) -> store::Result<()> {
        if ours == theirs {
            return Ok(());
        }
        if base == ours || base == theirs {
            let (side, tree) = if base == ours { (Side::Theirs, theirs) } else { (Side::Ours, ours) };
            self.whole.push(Whole { dir: dir.to_vec(), side, base, tree });
            return Ok(());
        }
        let mut names: BTreeMap<Vec<u8>, [Option<(Mode, ObjectId)>; 3]> = BTreeMap::new();
        for (i, tree) in [base, ours, theirs].into_iter().enumerate() {
            let Some(tree) = tree.map(|id| trees.get(&id)).transpose()? else { continue };
            for entry in &tree.entries {
                names.entry(entry.name.clone()).or_default()[i] = Some((entry.mode, entry.id));
            }
        }
        for (name, entries) in names {
            let path = join(dir, &name);
            let subtree = |e: Option<(Mode, ObjectId)>| {
                e.filter(|(m, _)| m.kind() == EntryKind::Tree).map(|(_, id)| id)
            };
            let file = |e: Option<(Mode, ObjectId)>| {
                e.filter(|(m, _)| m.kind() != EntryKind::Tree).map(|(mode, id)| FileState { mode, id })
            };
            let subtrees = entries.map(subtree);
            if subtrees.iter().any(Option::is_some) {
                self.walk(trees, &path, subtrees)?;
            }
            let [b, o, t] = entries.map(file);
            if o != b {
                self.ours.insert(path.clone(), FileChange { path: path.clone(), old: b, new: o });
            }
            if t != b {
                self.theirs.insert(path.clone(), FileChange { path, old: b, new: t });
            }
        }
        Ok(())
    }

    /// Lists the file changes inside `side`'s whole directories, which renames need
    /// as targets.
    fn expand(&mut self, side: Side, store: &Store) -> store::Result<()> {
        let (expand, keep): (Vec<Whole>, Vec<Whole>) =
            std::mem::take(&mut self.whole).into_iter().partition(|w| w.side == side);
        self.whole = keep;
        let read = |id: &ObjectId| store.read_tree(id);
        for whole in expand {
            for mut change in diff_trees(&read, whole.base.as_ref(), whole.tree.as_ref())? {
                change.path = join(&whole.dir, &change.path);
                let changes = if side == Side::Ours { &mut self.ours } else { &mut self.theirs };
                changes.insert(change.path.clone(), change);
            }
        }
        Ok(())
    }

    fn changes(&self, side: Side) -> &BTreeMap<Vec<u8>, FileChange> {
        match side {
            Side::Ours => &self.ours,
            Side::Theirs => &self.theirs,
        }
    }

    /// Every path either side changed, with its three versions.
    fn triples(&self) -> BTreeMap<Vec<u8>, Triple> {
        self.ours
            .keys()
            .chain(self.theirs.keys())
            .map(|path| (path.clone(), Triple::of(self, path)))
            .collect()
    }

    /// A path's base version. Only asked about paths one side changed (or the
    /// target of a rename, which the base does not have).
    fn base_state(&self, path: &[u8]) -> Option<FileState> {
        self.ours.get(path).or_else(|| self.theirs.get(path)).and_then(|c| c.old)
    }

    fn state(&self, side: Side, path: &[u8]) -> Option<FileState> {
        match self.changes(side).get(path) {
            Some(change) => change.new,
            None => self.base_state(path),
        }
    }

    fn ours_state(&self, path: &[u8]) -> Option<FileState> {
        self.state(Side::Ours, path)
    }

    fn theirs_state(&self, path: &[u8]) -> Option<FileState> {
        self.state(Side::Theirs, path)
    }

    /// Renames on `side` (source, target) whose source the other side also
    /// changed or deleted: the only renames that change the merge's result.
    fn renames(&mut self, side: Side, store: &Store, threshold: u8) -> store::Result<Renames> {
        let other = self.changes(if side == Side::Ours { Side::Theirs } else { Side::Ours });
        let regular = |state: &Option<FileState>| state.filter(|s| is_file(s.mode));
        let sources: Vec<(Vec<u8>, FileState)> = self
            .changes(side)
            .iter()
            .filter(|(path, change)| change.new.is_none() && other.contains_key(*path))
            .filter_map(|(path, change)| regular(&change.old).map(|old| (path.clone(), old)))
            .collect();
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        // Only now do the directories this side alone changed matter: files added
        // there may be where the sources went.
        self.expand(side, store)?;
        let targets: Vec<(Vec<u8>, FileState)> = self
            .changes(side)
            .values()
            .filter(|change| change.old.is_none())
            .filter_map(|change| regular(&change.new).map(|new| (change.path.clone(), new)))
            .collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let pairs = rename::detect(rename::stored(store), &sources, &targets, threshold)?;
        Ok(pairs.into_iter().map(|p| (sources[p.source].0.clone(), targets[p.target].0.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::function::Registry;
    use crate::text::ConflictStyle;
    use pg_core::object::Object;
    use pg_core::store::{Backend, Batch, Durability, OpenMode, RocksBackend, Table};
    use pg_core::HashAlgorithm;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    /// A backend that remembers which objects were read.
    struct Counting {
        inner: RocksBackend,
        read: Mutex<HashSet<ObjectId>>,
    }

    impl Backend for Counting {
        fn read_object(&self, id: &ObjectId) -> store::Result<Option<Vec<u8>>> {
            self.read.lock().unwrap().insert(*id);
            self.inner.read_object(id)
        }
        fn has_object(&self, id: &ObjectId) -> store::Result<bool> {
            self.inner.has_object(id)
        }
        fn ids_with_prefix(&self, leading: &[u8], limit: usize) -> store::Result<Vec<ObjectId>> {
            self.inner.ids_with_prefix(leading, limit)
        }
        fn for_each_object(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> store::Result<()> {
            self.inner.for_each_object(visit)
        }
        fn for_each_stored(
            &self,
            visit: &mut dyn FnMut(&[u8], pg_core::store::StoredAs) -> bool,
        ) -> store::Result<()> {
            self.inner.for_each_stored(visit)
        }
        fn rebuild_from(&self, id: &ObjectId, base: Option<&[u8]>) -> store::Result<Vec<u8>> {
            self.inner.rebuild_from(id, base)
        }
        fn read_ref(&self, name: &str) -> store::Result<Option<pg_core::refs::RefTarget>> {
            self.inner.read_ref(name)
        }
        fn list_refs(&self, prefix: &str) -> store::Result<Vec<(String, pg_core::refs::RefTarget)>> {
            self.inner.list_refs(prefix)
        }
        fn read_operations(&self, limit: usize) -> store::Result<Vec<(u64, Vec<u8>)>> {
            self.inner.read_operations(limit)
        }
        fn pg_id_for_git(&self, git: &ObjectId) -> store::Result<Option<ObjectId>> {
            self.inner.pg_id_for_git(git)
        }
        fn git_id_for_pg(&self, pg: &ObjectId) -> store::Result<Option<ObjectId>> {
            self.inner.git_id_for_pg(pg)
        }
        fn read_record(&self, table: Table, key: &[u8]) -> store::Result<Option<Vec<u8>>> {
            self.inner.read_record(table, key)
        }
        fn stored(&self, id: &ObjectId) -> store::Result<Option<store::Stored>> {
            self.inner.stored(id)
        }
        fn list_records(&self, table: Table, prefix: &[u8]) -> store::Result<Vec<(Vec<u8>, Vec<u8>)>> {
            self.inner.list_records(table, prefix)
        }
        fn write(&self, batch: Batch, durability: Durability) -> store::Result<()> {
            self.inner.write(batch, durability)
        }
        fn persist(&self) -> store::Result<()> {
            self.inner.persist()
        }
    }

    fn tree(store: &Store, files: &[(&str, &str)]) -> ObjectId {
        let edits = files
            .iter()
            .map(|(path, text)| {
                let id = store.write(&Object::Blob(text.as_bytes().to_vec())).unwrap();
                (path.as_bytes().to_vec(), Some(FileState { mode: Mode::FILE, id }))
            })
            .collect();
        edit_tree(store, None, &edits).unwrap().unwrap()
    }

    #[test]
    fn directories_only_one_side_changed_are_taken_whole_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let counting = Arc::new(Counting {
            inner: RocksBackend::open(dir.path(), OpenMode::Create).unwrap(),
            read: Mutex::new(HashSet::new()),
        });
        let store = Store::new(counting.clone(), HashAlgorithm::Blake3);
        let lines = "1\n2\n3\n4\n5\n";
        let base = tree(&store, &[("a.txt", lines), ("big/x", "x\n"), ("big/deep/y", "y\n")]);
        let ours = tree(&store, &[("a.txt", "one\n2\n3\n4\n5\n"), ("big/x", "x\n"), ("big/deep/y", "y\n")]);
        let theirs =
            tree(&store, &[("a.txt", "1\n2\n3\n4\nfive\n"), ("big/x", "X\n"), ("big/deep/y", "Y\n")]);
        let theirs_big = store.read_tree(&theirs).unwrap().get(b"big").unwrap().id;
        let registry = Registry::builtin(ConflictStyle::Merge);
        let mut merger = Merger::new(&store, &registry, Cache::new(&store, false), Options::default());
        counting.read.lock().unwrap().clear();
        let outcome = merger.merge_trees(Some(base), Some(ours), Some(theirs)).unwrap();
        assert!(outcome.conflicts.is_empty());
        assert!(!counting.read.lock().unwrap().contains(&theirs_big), "their big/ was read");
        let merged = store.read_tree(&outcome.tree.unwrap()).unwrap();
        assert_eq!(merged.get(b"big").unwrap().id, theirs_big, "their big/ was taken whole");
        let a = store.read_blob(&merged.get(b"a.txt").unwrap().id).unwrap();
        assert_eq!(a, b"one\n2\n3\n4\nfive\n");
    }
}
