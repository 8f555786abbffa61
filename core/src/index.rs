//! The index: the staged snapshot, with each file's stat data so that status reads
//! only files that changed, and a cache of the tree ids of unchanged directories so
//! that commit and status skip them.
//!
//! The file format (`.pg/index`) is specified in `docs/FORMAT.md`.

use crate::bytes::{self, put_bytes};
use crate::id::ObjectId;
use crate::object::{Mode, Object, Tree, TreeEntry};
use crate::store::{self, Store};
use std::collections::BTreeMap;
use std::path::Path;

/// Errors loading or saving the index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the file failed.
    #[error("index file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is damaged.
    #[error("the index file is corrupt ({0}); remove .pg/index and run `pg add -A` to rebuild it")]
    Corrupt(String),
    /// Reading trees from the store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// What the file system said about a file when it was last hashed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// Modification time, seconds.
    pub mtime_s: i64,
    /// Modification time, nanoseconds.
    pub mtime_ns: u32,
    /// Change time, seconds.
    pub ctime_s: i64,
    /// Change time, nanoseconds.
    pub ctime_ns: u32,
    /// Size in bytes; [`Stat::SMUDGED`] forces a content check.
    pub size: u64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

impl Stat {
    /// A size no file has: the entry must be compared by content.
    pub const SMUDGED: u64 = u64::MAX;
}

/// One staged file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// Path from the top of the working copy, `/`-separated.
    pub path: Vec<u8>,
    /// Its mode.
    pub mode: Mode,
    /// Its blob (or, for a gitlink, commit) id.
    pub id: ObjectId,
    /// Stat data when it was hashed; zeroed when it came from a tree.
    pub stat: Stat,
}

/// The staging area.
#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Sorted by path bytes, no duplicates, no file that is also a directory.
    entries: Vec<IndexEntry>,
    /// Tree ids of directories (`""` is the root) whose entries did not change
    /// since the tree was computed.
    trees: BTreeMap<Vec<u8>, ObjectId>,
    /// The checksum of the file this index was loaded from or saved to, while
    /// it holds what that file holds.
    checksum: Option<[u8; 32]>,
}

/// The index's file name inside `.pg`.
pub const FILE_NAME: &str = "index";

const MAGIC: &[u8; 4] = b"PGIX";
const VERSION: u32 = 1;

fn parent_dirs(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let slashes = path.iter().enumerate().filter(|(_, b)| **b == b'/').map(|(i, _)| &path[..i]);
    std::iter::once(&path[..0]).chain(slashes)
}

/// Whether `path` is `dir` or inside it (`dir` empty means everything).
pub fn is_within(path: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() || (path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/'))
}

impl Index {
    /// Loads `path`; a missing file is an empty index.
    pub fn load(path: &Path) -> Result<Index, Error> {
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(e.into()),
        };
        if file.metadata()?.len() == 0 {
            return decode(&[]);
        }
        // Mapped, not read: a status of a large tree spends more of its time on
        // the page faults of a fresh buffer than on parsing it. The file is only
        // ever replaced by a rename, never written in place, so the mapping
        // cannot change under the parse.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
        decode(&map)
    }

    /// The checksum of the index file this index was loaded from or last saved
    /// to, unless it changed since: two indexes with the same checksum hold the
    /// same entries. What a status learned of the working copy can be kept
    /// under it.
    pub fn checksum(&self) -> Option<&[u8; 32]> {
        self.checksum.as_ref()
    }

    /// Saves atomically. Entries modified in the same second the file is written
    /// are smudged, because a later change within that second would not show in
    /// their stat data (git's "racy clean" problem).
    pub fn save(&mut self, path: &Path) -> Result<(), Error> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(i64::MAX);
        for entry in &mut self.entries {
            if entry.stat.mtime_s >= now - 1 && entry.stat != Stat::default() {
                entry.stat.size = Stat::SMUDGED;
            }
        }
        let bytes = encode(self);
        crate::fsutil::write_atomically(path, &bytes)?;
        self.checksum = Some(bytes[bytes.len() - 32..].try_into().expect("32 bytes"));
        Ok(())
    }

    /// All entries, sorted by path.
    pub fn entries(&self) -> &[IndexEntry] {
        &self.entries
    }

    fn position(&self, path: &[u8]) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| e.path.as_slice().cmp(path))
    }

    /// The position of the entry at `path` in [`Index::entries`].
    pub fn find(&self, path: &[u8]) -> Option<usize> {
        self.position(path).ok()
    }

    /// The entry at `path`.
    pub fn get(&self, path: &[u8]) -> Option<&IndexEntry> {
        self.position(path).ok().map(|i| &self.entries[i])
    }

    /// The entries at or under `path`: the file at `path`, or the files inside the
    /// directory `path` (an index never has both).
    pub fn entries_within(&self, path: &[u8]) -> &[IndexEntry] {
        let range = self.range_within(path);
        &self.entries[range]
    }

    /// The positions in [`Index::entries`] of [`Index::entries_within`].
    pub fn range_within(&self, path: &[u8]) -> std::ops::Range<usize> {
        if path.is_empty() {
            return 0..self.entries.len();
        }
        if let Ok(i) = self.position(path) {
            return i..i + 1;
        }
        // "a.txt" sorts between "a" and "a/b", so the directory's entries are the
        // contiguous run that starts with "a/".
        let mut prefix = path.to_vec();
        prefix.push(b'/');
        let start = self.position(&prefix).unwrap_or_else(|i| i);
        let len = self.entries[start..].iter().take_while(|e| e.path.starts_with(&prefix)).count();
        start..start + len
    }

    /// Whether some entry lies strictly inside directory `dir`.
    pub fn has_dir(&self, dir: &[u8]) -> bool {
        self.get(dir).is_none() && !self.range_within(dir).is_empty()
    }

    fn invalidate(&mut self, path: &[u8]) {
        for dir in parent_dirs(path) {
            self.trees.remove(dir);
        }
    }

    /// Adds or replaces an entry, removing entries it clashes with (a file where a
    /// directory was, or the reverse).
    pub fn upsert(&mut self, entry: IndexEntry) {
        self.checksum = None;
        for dir in parent_dirs(&entry.path).skip(1) {
            if let Ok(i) = self.position(dir) {
                let removed = self.entries.remove(i);
                self.invalidate(&removed.path);
            }
        }
        if self.has_dir(&entry.path) {
            self.remove_within(&entry.path.clone());
        }
        self.invalidate(&entry.path);
        match self.position(&entry.path) {
            Ok(i) => self.entries[i] = entry,
            Err(i) => self.entries.insert(i, entry),
        }
    }

    /// Updates only the stat data of an entry whose content is unchanged.
    pub fn refresh(&mut self, path: &[u8], stat: Stat) {
        self.checksum = None;
        if let Ok(i) = self.position(path) {
            self.entries[i].stat = stat;
        }
    }

    /// Removes the entries at or under `path`; returns them.
    pub fn remove_within(&mut self, path: &[u8]) -> Vec<IndexEntry> {
        self.checksum = None;
        let range = self.range_within(path);
        let removed: Vec<IndexEntry> = self.entries.drain(range).collect();
        for entry in &removed {
            self.invalidate(&entry.path);
        }
        removed
    }

    /// The cached tree id of `dir` (`""` for the root), if nothing under it changed.
    pub fn cached_tree(&self, dir: &[u8]) -> Option<ObjectId> {
        self.trees.get(dir).copied()
    }

    /// Replaces the whole index with the files of `tree`, with zeroed stat data.
    pub fn read_tree(store: &Store, tree: &ObjectId) -> Result<Index, Error> {
        let mut index = Index::default();
        index.add_tree(store, tree, Vec::new())?;
        index.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(index)
    }

    fn add_tree(&mut self, store: &Store, id: &ObjectId, dir: Vec<u8>) -> Result<(), Error> {
        self.trees.insert(dir.clone(), *id);
        for entry in store.read_tree(id)?.entries {
            let path = join(&dir, &entry.name);
            if entry.mode.kind() == crate::object::EntryKind::Tree {
                self.add_tree(store, &entry.id, path)?;
            } else {
                self.entries.push(IndexEntry { path, mode: entry.mode, id: entry.id, stat: Stat::default() });
            }
        }
        Ok(())
    }

    /// Computes the tree of the staged snapshot without changing the index.
    /// Directories whose tree is cached are not rebuilt. The new tree objects are
    /// returned for the caller to store; once they are stored,
    /// [`Index::remember_trees`] caches them.
    pub fn write_tree(&self, store: &Store) -> TreeBuild {
        let mut build = TreeBuild { root: None, objects: Vec::new(), trees: Vec::new() };
        build.root = Some(self.build_tree(store, &self.entries, &[], &mut build));
        build
    }

    /// Caches the trees of `build`, whose objects the caller has stored.
    pub fn remember_trees(&mut self, build: TreeBuild) {
        self.checksum = None;
        self.trees.extend(build.trees);
    }

    fn build_tree(
        &self,
        store: &Store,
        entries: &[IndexEntry],
        dir: &[u8],
        build: &mut TreeBuild,
    ) -> ObjectId {
        if let Some(id) = self.trees.get(dir) {
            return *id;
        }
        let prefix_len = if dir.is_empty() { 0 } else { dir.len() + 1 };
        let mut tree = Tree::default();
        let mut i = 0;
        while i < entries.len() {
            let rest = &entries[i].path[prefix_len..];
            match rest.iter().position(|&b| b == b'/') {
                None => {
                    let e = &entries[i];
                    tree.entries.push(TreeEntry { mode: e.mode, name: rest.to_vec(), id: e.id });
                    i += 1;
                }
                Some(slash) => {
                    let sub = entries[i].path[..prefix_len + slash].to_vec();
                    let len = entries[i..].iter().take_while(|e| is_within(&e.path, &sub)).count();
                    let id = self.build_tree(store, &entries[i..i + len], &sub, build);
                    tree.entries.push(TreeEntry { mode: Mode::TREE, name: rest[..slash].to_vec(), id });
                    i += len;
                }
            }
        }
        tree.sort();
        let (id, bytes) = store.prepare(&Object::Tree(tree));
        build.objects.push((id, bytes));
        build.trees.push((dir.to_vec(), id));
        id
    }
}

/// The trees of a staged snapshot, computed by [`Index::write_tree`].
#[derive(Debug)]
pub struct TreeBuild {
    root: Option<ObjectId>,
    /// Tree objects not cached before, encoded, for the caller to store.
    pub objects: Vec<(ObjectId, Vec<u8>)>,
    trees: Vec<(Vec<u8>, ObjectId)>,
}

impl TreeBuild {
    /// The root tree's id.
    pub fn root(&self) -> ObjectId {
        self.root.expect("set by write_tree")
    }
}

/// `dir/name`, or `name` at the top.
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    if dir.is_empty() {
        return name.to_vec();
    }
    let mut path = Vec::with_capacity(dir.len() + 1 + name.len());
    path.extend_from_slice(dir);
    path.push(b'/');
    path.extend_from_slice(name);
    path
}

fn encode(index: &Index) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + index.entries.len() * 120);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(index.entries.len() as u32).to_le_bytes());
    for e in &index.entries {
        put_bytes(&mut out, &e.path);
        put_bytes(&mut out, e.mode.as_bytes());
        put_bytes(&mut out, e.id.as_bytes());
        let s = &e.stat;
        out.extend_from_slice(&s.mtime_s.to_le_bytes());
        out.extend_from_slice(&s.mtime_ns.to_le_bytes());
        out.extend_from_slice(&s.ctime_s.to_le_bytes());
        out.extend_from_slice(&s.ctime_ns.to_le_bytes());
        out.extend_from_slice(&s.size.to_le_bytes());
        out.extend_from_slice(&s.ino.to_le_bytes());
        out.extend_from_slice(&s.dev.to_le_bytes());
    }
    out.extend_from_slice(&(index.trees.len() as u32).to_le_bytes());
    for (dir, id) in &index.trees {
        put_bytes(&mut out, dir);
        put_bytes(&mut out, id.as_bytes());
    }
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

fn read_id(r: &mut bytes::Reader) -> Result<ObjectId, Error> {
    ObjectId::from_bytes(r.bytes()?).map_err(|e| Error::Corrupt(e.to_string()))
}

impl From<bytes::Truncated> for Error {
    fn from(_: bytes::Truncated) -> Error {
        Error::Corrupt("truncated".into())
    }
}

fn decode(bytes: &[u8]) -> Result<Index, Error> {
    let body_len = bytes.len().checked_sub(32).ok_or_else(|| Error::Corrupt("too short".into()))?;
    let (body, checksum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != checksum {
        return Err(Error::Corrupt("checksum mismatch".into()));
    }
    let mut r = bytes::Reader::new(body);
    if r.take(4)? != MAGIC || r.u32()? != VERSION {
        return Err(Error::Corrupt("not a version 1 pg index".into()));
    }
    let count = r.u32()? as usize;
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let path = r.bytes()?.to_vec();
        let mode = Mode::from_bytes(r.bytes()?).ok_or_else(|| Error::Corrupt("bad mode".into()))?;
        let id = read_id(&mut r)?;
        let stat = Stat {
            mtime_s: r.i64()?,
            mtime_ns: r.u32()?,
            ctime_s: r.i64()?,
            ctime_ns: r.u32()?,
            size: r.u64()?,
            ino: r.u64()?,
            dev: r.u64()?,
        };
        entries.push(IndexEntry { path, mode, id, stat });
    }
    if !entries.windows(2).all(|w| w[0].path < w[1].path) {
        return Err(Error::Corrupt("entries out of order".into()));
    }
    let mut trees = BTreeMap::new();
    for _ in 0..r.u32()? {
        let dir = r.bytes()?.to_vec();
        trees.insert(dir, read_id(&mut r)?);
    }
    Ok(Index { entries, trees, checksum: Some(checksum.try_into().expect("32 bytes")) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(path: &str, seed: u8) -> IndexEntry {
        IndexEntry {
            path: path.as_bytes().to_vec(),
            mode: Mode::FILE,
            id: crate::HashAlgorithm::Blake3.hash(&[seed]),
            stat: Stat { mtime_s: seed as i64, size: 3, ..Stat::default() },
        }
    }

    #[test]
    fn upsert_replaces_clashing_files_and_directories() {
        let mut index = Index::default();
        index.upsert(entry("a/b", 1));
        index.upsert(entry("a/c", 2));
        index.upsert(entry("a.txt", 3));
        index.upsert(entry("a", 4));
        let paths: Vec<_> = index.entries().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, vec![b"a".to_vec(), b"a.txt".to_vec()]);
        index.upsert(entry("a/d", 5));
        let paths: Vec<_> = index.entries().iter().map(|e| e.path.clone()).collect();
        assert_eq!(paths, vec![b"a.txt".to_vec(), b"a/d".to_vec()]);
    }

    #[test]
    fn the_checksum_is_the_files_while_the_index_is_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let mut index = Index::default();
        index.upsert(entry("a", 1));
        assert_eq!(index.checksum(), None);
        index.save(&path).unwrap();
        let saved = *index.checksum().expect("saved");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&saved[..], &bytes[bytes.len() - 32..]);
        let mut loaded = Index::load(&path).unwrap();
        assert_eq!(loaded.checksum(), Some(&saved));
        loaded.refresh(b"a", Stat { size: 9, ..Stat::default() });
        assert_eq!(loaded.checksum(), None, "a changed index is no longer the file's");
        let mut other = Index::load(&path).unwrap();
        other.remove_within(b"a");
        assert_eq!(other.checksum(), None);
        std::fs::write(&path, b"").unwrap();
        assert!(Index::load(&path).is_err(), "an empty file is not an index");
    }

    #[test]
    fn entries_within_a_directory_exclude_lookalike_names() {
        let mut index = Index::default();
        for p in ["a-b", "a/x", "a/y/z", "a.c", "ab"] {
            index.upsert(entry(p, 0));
        }
        let within: Vec<_> = index.entries_within(b"a").iter().map(|e| e.path.clone()).collect();
        assert_eq!(within, vec![b"a/x".to_vec(), b"a/y/z".to_vec()]);
        assert!(index.has_dir(b"a/y"));
        assert!(!index.has_dir(b"a-b"));
    }

    #[test]
    fn a_flipped_byte_is_reported_as_corruption() {
        let mut index = Index::default();
        index.upsert(entry("f", 1));
        let mut bytes = encode(&index);
        bytes[10] ^= 1;
        assert!(matches!(decode(&bytes), Err(Error::Corrupt(_))));
    }

    proptest! {
        #[test]
        fn encoding_round_trips(paths in proptest::collection::btree_set("[a-c]{1,3}(/[a-c]{1,3}){0,2}", 0..20)) {
            let mut index = Index::default();
            for (i, p) in paths.iter().enumerate() {
                index.upsert(entry(p, i as u8));
            }
            index.trees.insert(b"x".to_vec(), crate::HashAlgorithm::Sha2_256.hash(b"t"));
            let decoded = decode(&encode(&index)).unwrap();
            prop_assert_eq!(decoded.entries, index.entries);
            prop_assert_eq!(decoded.trees, index.trees);
        }
    }
}
