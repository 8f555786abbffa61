//! Status with a file-system watcher's help: instead of walking the whole working
//! copy, look only at the paths the watcher saw change since the last status and
//! at the index entries that changed since then.
//!
//! What the last status learned is kept as a [`WatchState`]: the watcher's token
//! it was taken at, the checksum of the index it compared with, which entries it
//! found not clean, a fingerprint of every entry it found clean, and the
//! untracked files. When the index is the one it compared with, an entry it
//! found clean whose path the watcher does not name is clean without a look;
//! when the index changed since, the same holds of an entry whose fingerprint
//! is there. Whenever that reasoning could be wrong (no state, the watcher
//! cannot tell, a `.pgignore` changed, an entry left the index) the walk is done
//! in full, so the answer is always a full walk's.

use super::{walk, Comparison, Finding, Result, WorktreeChanges};
use crate::bytes::{put_bytes, put_u32, put_u64, Reader, Truncated};
use crate::index::{Index, IndexEntry, Stat};
use crate::repo::Location;
use rustc_hash::{FxHashMap, FxHashSet};
use std::hash::{Hash, Hasher};

/// What a watcher says of the working copy since a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// It cannot tell (it started since, or it lost events): look at everything.
    Unknown,
    /// Nothing but these paths (files or directories, `/`-separated) changed.
    Paths(Vec<Vec<u8>>),
}

/// What one status learned of the working copy, kept for the next. Its encoding
/// is in `docs/FORMAT.md` ("watch state").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchState {
    /// The watcher's token this state was taken at (opaque here).
    pub token: Vec<u8>,
    /// The checksum of the index compared with ([`Index::checksum`]).
    index: Option<[u8; 32]>,
    /// Positions in that index of the entries not found clean, sorted.
    dirty: Vec<u32>,
    /// (path fingerprint, entry fingerprint) of each index entry found clean, sorted.
    clean: Vec<(u64, u64)>,
    /// Untracked files (not collapsed into directories), sorted.
    untracked: Vec<Vec<u8>>,
}

const MAGIC: &[u8; 8] = b"PGWATCH2";

impl WatchState {
    /// The state's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + self.dirty.len() * 4 + self.clean.len() * 16);
        out.extend_from_slice(MAGIC);
        put_bytes(&mut out, &self.token);
        put_bytes(&mut out, self.index.as_ref().map_or(&[][..], |checksum| &checksum[..]));
        put_u32(&mut out, self.dirty.len() as u32);
        for position in &self.dirty {
            put_u32(&mut out, *position);
        }
        put_u32(&mut out, self.clean.len() as u32);
        for (path, entry) in &self.clean {
            put_u64(&mut out, *path);
            put_u64(&mut out, *entry);
        }
        put_u32(&mut out, self.untracked.len() as u32);
        for path in &self.untracked {
            put_bytes(&mut out, path);
        }
        out
    }

    /// A state from its bytes; `None` if they are not one (a state is only a
    /// cache: the caller walks in full instead).
    pub fn decode(bytes: &[u8]) -> Option<WatchState> {
        let mut input = Reader::new(bytes.strip_prefix(MAGIC)?);
        Self::read(&mut input).ok().flatten().filter(|_| input.rest().is_empty())
    }

    fn read(input: &mut Reader) -> Result<Option<WatchState>, Truncated> {
        let token = input.bytes()?.to_vec();
        let index = match input.bytes()? {
            [] => None,
            checksum => match checksum.try_into() {
                Ok(checksum) => Some(checksum),
                Err(_) => return Ok(None),
            },
        };
        let count = input.u32()? as usize;
        let mut dirty = Vec::with_capacity(count.min(input.rest().len() / 4));
        for _ in 0..count {
            dirty.push(input.u32()?);
        }
        let count = input.u32()? as usize;
        let mut clean = Vec::with_capacity(count.min(input.rest().len() / 16));
        for _ in 0..count {
            clean.push((input.u64()?, input.u64()?));
        }
        let count = input.u32()? as usize;
        let mut untracked = Vec::with_capacity(count.min(input.rest().len() / 4));
        for _ in 0..count {
            untracked.push(input.bytes()?.to_vec());
        }
        Ok(Some(WatchState { token, index, dirty, clean, untracked }))
    }
}

/// Fingerprints of an entry: of its path, and of everything a status compares
/// (path, mode, id, stat data). SipHash with fixed keys: a cache key, not a
/// defence; a change of algorithm only costs one full walk.
fn fingerprint(entry: &IndexEntry, stat: &Stat) -> (u64, u64) {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    entry.path.hash(&mut hasher);
    let path = hasher.finish();
    (entry.mode, entry.id, stat).hash(&mut hasher);
    (path, hasher.finish())
}

/// Which entries a status without a full walk looks at, which is also how the
/// next state's fingerprints are made.
enum Suspects {
    /// The index is the previous state's: the entries at these positions (sorted).
    Positions(Vec<usize>),
    /// The index changed since the previous state: every entry's fingerprints.
    Fingerprints(Vec<(u64, u64)>),
}

/// Compares the working copy with `index` as [`super::worktree_changes`] does,
/// looking only where `changed` and `previous` say it must; returns the changes
/// and the state to keep for the next status (with `token`).
///
/// Entries no walk would meet (under an ignored directory, gitlinks) are looked
/// at every time: a watcher need not watch ignored directories.
pub fn watched_changes(
    location: &Location,
    index: &Index,
    previous: Option<&WatchState>,
    changed: &Changed,
    token: Vec<u8>,
) -> Result<(WorktreeChanges, WatchState)> {
    let known = match (previous, changed) {
        (Some(previous), Changed::Paths(paths)) => {
            suspects(index, previous, paths).map(|suspects| (previous, paths, suspects))
        }
        _ => None,
    };
    let (changes, unwatched) = match &known {
        Some((previous, paths, suspects)) => incremental(location, index, previous, paths, suspects)?,
        None => super::compare_all(location, index)?,
    };
    let basis = known.map(|(previous, _, suspects)| (previous, suspects));
    let state = remember(index, basis, &changes, &unwatched, token);
    Ok((changes, state))
}

/// Which entries must be looked at, given the paths changed since `previous`;
/// `None` when only a full walk can tell.
fn suspects(index: &Index, previous: &WatchState, paths: &[Vec<u8>]) -> Option<Suspects> {
    let ignore_file = walk::IGNORE_FILE.as_bytes();
    if paths.iter().any(|p| p.rsplit(|&b| b == b'/').next() == Some(ignore_file)) {
        return None;
    }
    let entries = index.entries();
    if previous.index.is_some() && previous.index.as_ref() == index.checksum() {
        let mut positions: Vec<usize> = previous.dirty.iter().map(|&i| i as usize).collect();
        for path in paths {
            positions.extend(index.range_within(path));
        }
        positions.retain(|&i| i < entries.len());
        positions.sort_unstable();
        positions.dedup();
        return Some(Suspects::Positions(positions));
    }
    let now: Vec<(u64, u64)> = entries.iter().map(|e| fingerprint(e, &e.stat)).collect();
    let tracked_now: FxHashSet<u64> = now.iter().map(|(path, _)| *path).collect();
    // An entry that left the index: its file may now be untracked, and nothing
    // on disk changed to say so.
    let left = previous.clean.iter().any(|(path, _)| !tracked_now.contains(path));
    (!left).then_some(Suspects::Fingerprints(now))
}

/// The changes from `previous` and the paths changed since, looking at the
/// entries `suspects` names, with the positions of the entries no watcher watches.
fn incremental(
    location: &Location,
    index: &Index,
    previous: &WatchState,
    paths: &[Vec<u8>],
    suspects: &Suspects,
) -> Result<(WorktreeChanges, Vec<usize>)> {
    let entries = index.entries();
    let changed: FxHashSet<&[u8]> = paths.iter().map(Vec::as_slice).collect();
    let covered = |path: &[u8]| {
        !changed.is_empty()
            && (changed.contains(path)
                || path.iter().enumerate().any(|(i, &b)| b == b'/' && changed.contains(&path[..i])))
    };
    let comparison = Comparison::new(location, index);
    let mut findings = Vec::new();
    for path in paths {
        findings.extend(look_at(&comparison, path)?);
    }
    let checked = match suspects {
        Suspects::Positions(positions) => {
            let mut wanted = vec![false; entries.len()];
            positions.iter().for_each(|&i| wanted[i] = true);
            comparison.check_unwalked(|i| wanted[i], &mut findings)?
        }
        Suspects::Fingerprints(now) => {
            let suspect =
                |i: usize| covered(&entries[i].path) || previous.clean.binary_search(&now[i]).is_err();
            comparison.check_unwalked(suspect, &mut findings)?
        }
    };
    let unwatched = checked.into_iter().filter(|&i| unwatched(&comparison, &entries[i])).collect();
    let mut changes = WorktreeChanges::from_findings(findings);
    let kept = previous.untracked.iter().filter(|p| !covered(p) && index.find(p).is_none());
    changes.untracked.extend(kept.cloned());
    changes.untracked.sort_unstable();
    changes.untracked.dedup();
    Ok((changes, unwatched))
}

/// The state after a status found `changes`: every entry neither changed nor
/// `unwatched` is clean (with its refreshed stat data, as the index will be
/// saved). Only the fingerprints of entries looked at are computed anew.
fn remember(
    index: &Index,
    basis: Option<(&WatchState, Suspects)>,
    changes: &WorktreeChanges,
    unwatched: &[usize],
    token: Vec<u8>,
) -> WatchState {
    let entries = index.entries();
    let mut dirty: Vec<u32> =
        changes.unstaged.iter().filter_map(|c| index.find(&c.path)).map(|i| i as u32).collect();
    dirty.extend(unwatched.iter().map(|&i| i as u32));
    dirty.sort_unstable();
    dirty.dedup();
    let refreshed: FxHashMap<&[u8], &Stat> =
        changes.refreshed.iter().map(|(p, s)| (p.as_slice(), s)).collect();
    let is_clean = |i: &usize| dirty.binary_search(&(*i as u32)).is_err();
    // An entry's fingerprints as the saved index will have them.
    let saved = |i: usize, now: Option<(u64, u64)>| {
        let entry = &entries[i];
        match (refreshed.get(entry.path.as_slice()), now) {
            (None, Some(now)) => now,
            (stat, _) => fingerprint(entry, stat.copied().unwrap_or(&entry.stat)),
        }
    };
    let mut clean: Vec<(u64, u64)> = match basis {
        Some((previous, Suspects::Positions(positions))) => {
            // Entries not looked at keep their fingerprints; those looked at
            // lose their old ones and, if clean, get new ones.
            let looked_at: FxHashSet<u64> =
                positions.iter().map(|&i| fingerprint(&entries[i], &entries[i].stat).0).collect();
            let mut clean: Vec<(u64, u64)> =
                previous.clean.iter().filter(|(path, _)| !looked_at.contains(path)).copied().collect();
            clean.extend(positions.iter().filter(|i| is_clean(i)).map(|&i| saved(i, None)));
            clean
        }
        Some((_, Suspects::Fingerprints(now))) => {
            (0..entries.len()).filter(is_clean).map(|i| saved(i, Some(now[i]))).collect()
        }
        None => (0..entries.len()).filter(is_clean).map(|i| saved(i, None)).collect(),
    };
    // Mostly sorted already: a stable sort finds the runs.
    clean.sort();
    clean.dedup();
    let untracked = changes.untracked.clone();
    WatchState { token, index: index.checksum().copied(), dirty, clean, untracked }
}

/// Whether a watcher does not watch `entry`'s file: a gitlink, or a file under
/// an ignored directory.
fn unwatched(comparison: &Comparison, entry: &IndexEntry) -> bool {
    let in_ignored_dir = || {
        let slash = entry.path.iter().rposition(|&b| b == b'/');
        slash.is_some_and(|end| walk::is_ignored(comparison.root, &entry.path[..end], true))
    };
    comparison.gitlinks.contains(&entry.path) || in_ignored_dir()
}

/// What one changed path holds now: a directory is walked (it may be new, with
/// files the watcher never saw), a file not tracked is untracked unless ignored.
/// Tracked files are compared by the caller.
fn look_at(comparison: &Comparison, path: &[u8]) -> Result<Vec<Finding>> {
    let root = comparison.root;
    let inside_gitlink =
        comparison.gitlinks.iter().any(|g| path.starts_with(g) && path.get(g.len()) == Some(&b'/'));
    if inside_gitlink || comparison.gitlinks.contains(path) {
        return Ok(Vec::new());
    }
    match super::lstat_any(&walk::abs(root, path))? {
        Some(meta) if meta.is_dir() => match walk::is_ignored(root, path, true) {
            true => Ok(Vec::new()),
            false => comparison.scan(path),
        },
        Some(_) if comparison.index.find(path).is_none() && !walk::is_ignored(root, path, false) => {
            Ok(vec![Finding::Untracked(path.to_vec())])
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oplog::OpContext;
    use crate::repo::InitOptions;
    use crate::worktree::{add, worktree_changes, NoProgress};
    use crate::Repository;
    use proptest::prelude::*;
    use std::path::Path;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A repository with `files` staged, and the state of a first status. With
    /// `saved`, the index is saved and loaded again, as a status has it: it has a
    /// checksum, and statuses take the way for an unchanged index.
    fn staged(files: &[&str], saved: bool) -> (tempfile::TempDir, Repository, Index, WatchState) {
        let dir = tempfile::tempdir().unwrap();
        let context = OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo = Repository::init(dir.path(), &InitOptions::default(), &context).unwrap();
        files.iter().for_each(|f| write(dir.path(), f, f));
        let mut index = Index::default();
        add(&repo, &mut index, &[Vec::new()], false, &NoProgress).unwrap();
        if saved {
            let path = dir.path().join(".pg/index");
            index.save(&path).unwrap();
            index = Index::load(&path).unwrap();
            assert!(index.checksum().is_some());
        }
        let (_, state) =
            watched_changes(repo.location(), &index, None, &Changed::Unknown, b"t0".to_vec()).unwrap();
        (dir, repo, index, state)
    }

    fn paths(names: &[&str]) -> Changed {
        Changed::Paths(names.iter().map(|n| n.as_bytes().to_vec()).collect())
    }

    /// What the watched comparison finds with `changed`, checked against a full walk.
    fn watched(repo: &Repository, index: &Index, state: &WatchState, changed: &Changed) -> WatchState {
        let (found, next) =
            watched_changes(repo.location(), index, Some(state), changed, b"t".to_vec()).unwrap();
        let full = worktree_changes(repo.location(), index).unwrap();
        assert_eq!((&found.unstaged, &found.untracked), (&full.unstaged, &full.untracked));
        next
    }

    #[test]
    fn looks_only_where_the_watcher_says() {
        for saved in [false, true] {
            let (dir, repo, index, state) = staged(&["a", "src/b", "src/c", "doc/d"], saved);
            write(dir.path(), "src/b", "changed");
            let unseen = watched_changes(repo.location(), &index, Some(&state), &paths(&[]), b"t".to_vec());
            assert!(
                unseen.unwrap().0.unstaged.is_empty(),
                "a change the watcher did not report is not looked for"
            );
            let state = watched(&repo, &index, &state, &paths(&["src/b"]));
            // Found changed once, it is looked at again though not reported.
            let state = watched(&repo, &index, &state, &paths(&[]));

            write(dir.path(), "new/deep/e", "e");
            write(dir.path(), "f", "f");
            std::fs::remove_file(dir.path().join("doc/d")).unwrap();
            let state = watched(&repo, &index, &state, &paths(&["new", "f", "doc/d", "src/b"]));
            // Changed back: clean again, and so not looked at after.
            write(dir.path(), "src/b", "src/b");
            let state = watched(&repo, &index, &state, &paths(&["src/b"]));
            let state = watched(&repo, &index, &state, &paths(&[]));

            // A moved directory: both ends are reported.
            std::fs::rename(dir.path().join("src"), dir.path().join("lib")).unwrap();
            let state = watched(&repo, &index, &state, &paths(&["src", "lib"]));
            // Untracked files found before are still there when nothing touched them.
            let (found, _) =
                watched_changes(repo.location(), &index, Some(&state), &paths(&[]), b"t".to_vec()).unwrap();
            assert!(found.untracked.contains(&b"f".to_vec()) && found.untracked.contains(&b"lib/b".to_vec()));
        }
    }

    #[test]
    fn an_index_changed_and_changed_back_is_still_the_one_compared_with() {
        let (dir, repo, index, state) = staged(&["a", "b"], true);
        let path = dir.path().join(".pg/index");
        let mut other = index.clone();
        other.remove_within(b"b");
        other.save(&path).unwrap();
        let other = Index::load(&path).unwrap();
        let state_between = watched(&repo, &other, &state, &paths(&[]));
        // Back to the first index's bytes, the first state's reasoning holds for
        // what changed on disk since it, and the later state's for what changed
        // since that.
        write(dir.path(), "a", "changed");
        let state = watched(&repo, &index, &state, &paths(&["a"]));
        assert_eq!(state.index.as_ref(), index.checksum());
        watched(&repo, &index, &state_between, &paths(&["a"]));
    }

    #[test]
    fn walks_in_full_when_the_reasoning_could_be_wrong() {
        let (dir, repo, mut index, state) = staged(&["a", "build/out", "keep"], true);
        // A .pgignore changed: untracked files anywhere may appear or vanish.
        write(dir.path(), "build/more", "m");
        write(dir.path(), ".pgignore", "build/\n");
        let state = watched(&repo, &index, &state, &paths(&[".pgignore"]));
        // A tracked file under an ignored directory is looked at every time.
        write(dir.path(), "build/out", "changed");
        let state = watched(&repo, &index, &state, &paths(&[]));
        // An entry left the index: its file is untracked now, though unchanged.
        index.remove_within(b"keep");
        let state = watched(&repo, &index, &state, &paths(&[]));
        write(dir.path(), "build/out", "changed again");
        watched(&repo, &index, &state, &paths(&[]));
    }

    #[test]
    fn the_empty_state_is_the_vector_of_docs_format() {
        let state = WatchState { token: b"t0".to_vec(), ..WatchState::default() };
        assert_eq!(
            state.encode(),
            b"PGWATCH2\x02\x00\x00\x00t0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        );
        let state = WatchState {
            token: b"t1".to_vec(),
            index: Some([7; 32]),
            dirty: vec![2],
            clean: vec![(1, 3)],
            untracked: vec![b"x".to_vec()],
        };
        let mut expected = b"PGWATCH2\x02\x00\x00\x00t1\x20\x00\x00\x00".to_vec();
        expected.extend([7; 32]);
        expected.extend(b"\x01\x00\x00\x00\x02\x00\x00\x00");
        expected.extend(b"\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00");
        expected.extend(b"\x01\x00\x00\x00\x01\x00\x00\x00x");
        assert_eq!(state.encode(), expected);
    }

    proptest! {
        #[test]
        fn states_decode_to_what_was_encoded(
            token in proptest::collection::vec(any::<u8>(), 0..20),
            index in proptest::option::of(any::<[u8; 32]>()),
            dirty in proptest::collection::vec(any::<u32>(), 0..20),
            clean in proptest::collection::vec(any::<(u64, u64)>(), 0..20),
            untracked in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 0..6),
        ) {
            let state = WatchState { token, index, dirty, clean, untracked };
            let bytes = state.encode();
            prop_assert_eq!(WatchState::decode(&bytes), Some(state));
            // Cut short or with a byte too many, it is not a state.
            prop_assert_eq!(WatchState::decode(&bytes[..bytes.len() - 1]), None);
            prop_assert_eq!(WatchState::decode(&[&bytes[..], b"x"].concat()), None);
        }
    }
}
