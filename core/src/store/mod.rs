//! The object store: a [`Backend`] trait for raw storage and a typed [`Store`] on
//! top that hashes, verifies and decodes.
//!
//! The backend is a trait in the spirit of jj's `Backend`, so storage can change
//! without touching callers; [`RocksBackend`] is the implementation pg ships.

pub mod delta;
mod rocks;

pub use rocks::{OpenMode, RocksBackend};

use crate::id::{HashAlgorithm, IdPrefix, ObjectId};
use crate::object::{self, Commit, DecodeError, Object, ObjectKind, Tree};
use crate::refs::RefTarget;
use std::sync::Arc;

/// Errors from storage and from objects read out of it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage engine failed (I/O, a corrupt file, a lock held by another process).
    #[error("storage: {0}")]
    Backend(String),
    /// An object is not in the store.
    #[error("object {0} is missing from the store")]
    Missing(ObjectId),
    /// The bytes stored under an id do not hash to it, or do not decode.
    #[error("object {id} is corrupt: {reason}; run `pg fsck` to find every damaged object")]
    Corrupt {
        /// The id asked for.
        id: ObjectId,
        /// What is wrong.
        reason: String,
    },
    /// An object has another kind than the caller needs.
    #[error("object {id} is a {actual}, not a {expected}")]
    WrongKind {
        /// The id.
        id: ObjectId,
        /// The kind needed.
        expected: ObjectKind,
        /// The kind found.
        actual: ObjectKind,
    },
    /// A ref changed under the operation (compare-and-swap failed).
    #[error("ref {name} changed while this command ran; run it again")]
    RefChanged {
        /// The ref.
        name: String,
    },
    /// A stored ref or operation does not decode.
    #[error("stored {what} is corrupt: {reason}")]
    CorruptRecord {
        /// Which record.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

/// A result with a store [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a write must survive a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Logged and synced: on disk when `write` returns. For ref updates and what
    /// they point at.
    Synced,
    /// Not logged: cheap for bulk object writes, and lost in a crash until
    /// [`Backend::persist`] returns. Only for objects that nothing refers to yet.
    Bulk,
}

/// A ref update made atomically with the rest of its batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    /// The full ref name (`HEAD`, `refs/heads/main`).
    pub name: String,
    /// What the ref must hold for the update to apply (`None`: must not exist).
    pub expected: Option<RefTarget>,
    /// The new value (`None` deletes the ref).
    pub new: Option<RefTarget>,
}

/// Tables of small records kept beside the objects, each a map from byte keys to
/// byte values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// Results of merge functions, keyed by the hash of (function, base, ours,
    /// theirs).
    MergeCache,
    /// The conflict queue: the state of each queue item, keyed by its id.
    Queue,
    /// What unfinished transfers from peers stored: commits whose whole history is
    /// here, which the next fetch offers as haves so nothing is sent twice.
    Transfers,
}

/// Writes that land together or not at all.
#[derive(Default, Debug)]
pub struct Batch {
    /// Encoded objects keyed by id.
    pub objects: Vec<(ObjectId, Vec<u8>)>,
    /// Ref updates, checked before anything is written.
    pub refs: Vec<RefUpdate>,
    /// An operation log record: its sequence number and encoding.
    pub operation: Option<(u64, Vec<u8>)>,
    /// Pairs of (git id, pg id) for the git-id map, both directions.
    pub git_ids: Vec<(ObjectId, ObjectId)>,
    /// Further git ids that name a pg object (e.g. a commit's id before a lossy
    /// export dropped its signature); looked up, never written back.
    pub git_aliases: Vec<(ObjectId, ObjectId)>,
    /// For objects of this batch: a similar stored object to keep them as a delta
    /// against (the previous version of a file or directory). Only a hint.
    pub delta_bases: std::collections::HashMap<ObjectId, ObjectId>,
    /// For objects of this batch that came from a peer as a patch: the base and
    /// the zstd frame that rebuilds them from it (checked by the caller), kept as
    /// they are when the delta chain allows.
    pub patches: std::collections::HashMap<ObjectId, (ObjectId, Vec<u8>)>,
    /// The caller knows that none of `objects` is stored yet (a clone into an empty
    /// store): the backend need not look each up first.
    pub objects_are_new: bool,
    /// Records to put (`Some`) or delete (`None`).
    pub records: Vec<(Table, Vec<u8>, Option<Vec<u8>>)>,
    /// Objects to delete, with their git-id map entries (garbage collection: the
    /// caller has made sure nothing kept refers to them or is a delta of them).
    pub removed_objects: Vec<ObjectId>,
}

/// How an object is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    /// Whole: its encoding.
    Whole(Vec<u8>),
    /// A delta: the zstd patch frame that rebuilds its `length` bytes from `base`.
    Delta {
        /// The base.
        base: ObjectId,
        /// The patch frame.
        frame: Vec<u8>,
        /// The object's length.
        length: usize,
    },
}

/// How an object is stored, as a scan of the store sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredAs {
    /// Whole.
    Whole,
    /// As a delta of this base.
    Delta(ObjectId),
    /// Its key or stored form is damaged: why.
    Unreadable(String),
}

/// Raw storage: objects by id, refs by name, the operation log.
///
/// Implementations verify nothing about object bytes; [`Store`] does.
pub trait Backend: Send + Sync {
    /// The stored bytes under `id`.
    fn read_object(&self, id: &ObjectId) -> Result<Option<Vec<u8>>>;
    /// Whether `id` is stored.
    fn has_object(&self, id: &ObjectId) -> Result<bool>;
    /// Up to `limit` ids whose binary form starts with `leading`.
    fn ids_with_prefix(&self, leading: &[u8], limit: usize) -> Result<Vec<ObjectId>>;
    /// Visits every stored object's key and bytes (keys that are not ids included),
    /// for fsck.
    fn for_each_object(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()>;
    /// Visits every stored object's key and, for one stored as a delta, its base
    /// (or why its key or stored form does not parse), without expanding anything.
    fn for_each_stored(&self, visit: &mut dyn FnMut(&[u8], StoredAs) -> bool) -> Result<()>;
    /// The bytes of `id` rebuilt from what is stored for it, given its delta
    /// base's bytes when it is stored as a delta (a walk along delta chains
    /// rebuilds each object once). Unverified.
    fn rebuild_from(&self, id: &ObjectId, base: Option<&[u8]>) -> Result<Vec<u8>>;
    /// A ref's value.
    fn read_ref(&self, name: &str) -> Result<Option<RefTarget>>;
    /// Every ref whose name starts with `prefix`, sorted by name.
    fn list_refs(&self, prefix: &str) -> Result<Vec<(String, RefTarget)>>;
    /// Operation records from newest to oldest, at most `limit`.
    fn read_operations(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>>;
    /// The pg object a git object converts to, from the git-id map.
    fn pg_id_for_git(&self, git: &ObjectId) -> Result<Option<ObjectId>>;
    /// The git id of a pg object that came from git or went to it.
    fn git_id_for_pg(&self, pg: &ObjectId) -> Result<Option<ObjectId>>;
    /// How an object is stored, unverified and unexpanded (`None`: missing): lets a
    /// peer be sent a delta as it is, or an object without rebuilding or hashing it
    /// (the receiver checks it).
    fn stored(&self, id: &ObjectId) -> Result<Option<Stored>>;
    /// [`Backend::stored`] and [`Backend::read_object`] at once, where the backend
    /// can with one lookup: a walk that sends trees as stored reads each once.
    fn stored_and_read(&self, id: &ObjectId) -> Result<Option<(Stored, Arc<Vec<u8>>)>> {
        let Some(stored) = self.stored(id)? else { return Ok(None) };
        let bytes = self.read_object(id)?.ok_or(Error::Missing(*id))?;
        Ok(Some((stored, Arc::new(bytes))))
    }
    /// A record of a [`Table`].
    fn read_record(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Every record of a table whose key starts with `prefix`, sorted by key.
    fn list_records(&self, table: Table, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Applies a batch atomically, after checking every ref's expected value.
    fn write(&self, batch: Batch, durability: Durability) -> Result<()>;
    /// Makes every earlier [`Durability::Bulk`] write durable.
    fn persist(&self) -> Result<()>;
}

/// The typed object store: hashes what it writes, verifies what it reads.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    algorithm: HashAlgorithm,
}

/// Why a prefix names no single object.
#[derive(Debug, thiserror::Error)]
pub enum PrefixError {
    /// No object id starts with it.
    #[error("no object id starts with '{0}'")]
    Unknown(String),
    /// Several do.
    #[error("'{prefix}' is ambiguous: it starts {} ids ({}); give more digits", .candidates.len(), .candidates.iter().map(|c| c.abbrev(crate::id::ABBREV_LEN + 4)).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// Some of the ids it matches.
        candidates: Vec<ObjectId>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
}

impl Store {
    /// A store over `backend` that names new objects with `algorithm`.
    pub fn new(backend: Arc<dyn Backend>, algorithm: HashAlgorithm) -> Self {
        Store { backend, algorithm }
    }

    /// The raw backend, for refs and batches.
    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// The hash function new objects are named with.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Encodes `object` and returns its id and bytes, without writing.
    pub fn prepare(&self, object: &Object) -> (ObjectId, Vec<u8>) {
        let bytes = object.encode();
        (self.algorithm.hash(&bytes), bytes)
    }

    /// Writes one object (logged and synced) and returns its id.
    pub fn write(&self, object: &Object) -> Result<ObjectId> {
        self.write_with(object, Durability::Synced)
    }

    /// Writes one object unlogged: cheap, and durable only after
    /// [`Backend::persist`]. For objects nothing durable refers to yet (a merge's
    /// results before its commit).
    pub fn write_bulk(&self, object: &Object) -> Result<ObjectId> {
        self.write_with(object, Durability::Bulk)
    }

    fn write_with(&self, object: &Object, durability: Durability) -> Result<ObjectId> {
        let (id, bytes) = self.prepare(object);
        if !self.backend.has_object(&id)? {
            let batch = Batch { objects: vec![(id, bytes)], ..Batch::default() };
            self.backend.write(batch, durability)?;
        }
        Ok(id)
    }

    /// Reads and verifies an object's bytes.
    pub fn read_raw(&self, id: &ObjectId) -> Result<Vec<u8>> {
        let bytes = self.backend.read_object(id)?.ok_or(Error::Missing(*id))?;
        verify(id, &bytes)?;
        Ok(bytes)
    }

    /// Reads, verifies and decodes an object, with the object it is stored as a
    /// delta of, if any: usually its previous version, which is what a pack writer
    /// should make a delta against too.
    pub fn read_with_delta_base(&self, id: &ObjectId) -> Result<(Object, Option<ObjectId>)> {
        let (stored, bytes) = self.backend.stored_and_read(id)?.ok_or(Error::Missing(*id))?;
        verify(id, &bytes)?;
        let object = Object::decode(&bytes).map_err(|e| corrupt(id, e))?;
        let base = match stored {
            Stored::Delta { base, .. } => Some(base),
            Stored::Whole(_) => None,
        };
        Ok((object, base))
    }

    /// Reads and decodes an object without hashing it: only for work whose result
    /// is checked elsewhere (what a peer is sent, which it checks object by object).
    pub fn read_unverified(&self, id: &ObjectId) -> Result<Object> {
        let bytes = self.backend.read_object(id)?.ok_or(Error::Missing(*id))?;
        Object::decode(&bytes).map_err(|e| corrupt(id, e))
    }

    /// Reads, verifies and decodes an object.
    pub fn read(&self, id: &ObjectId) -> Result<Object> {
        let bytes = self.read_raw(id)?;
        Object::decode(&bytes).map_err(|e| corrupt(id, e))
    }

    /// The kind of a stored object.
    pub fn kind(&self, id: &ObjectId) -> Result<ObjectKind> {
        let bytes = self.read_raw(id)?;
        object::split_header(&bytes).map(|(kind, _)| kind).map_err(|e| corrupt(id, e))
    }

    /// Reads a tree.
    pub fn read_tree(&self, id: &ObjectId) -> Result<Tree> {
        match self.read(id)? {
            Object::Tree(tree) => Ok(tree),
            other => Err(wrong_kind(id, ObjectKind::Tree, &other)),
        }
    }

    /// Reads a commit.
    pub fn read_commit(&self, id: &ObjectId) -> Result<Commit> {
        match self.read(id)? {
            Object::Commit(commit) => Ok(commit),
            other => Err(wrong_kind(id, ObjectKind::Commit, &other)),
        }
    }

    /// Reads a blob's contents.
    pub fn read_blob(&self, id: &ObjectId) -> Result<Vec<u8>> {
        match self.read(id)? {
            Object::Blob(data) => Ok(data),
            other => Err(wrong_kind(id, ObjectKind::Blob, &other)),
        }
    }

    /// The one object whose id starts with `prefix`.
    pub fn resolve_prefix(&self, prefix: &IdPrefix) -> Result<ObjectId, PrefixError> {
        let mut candidates = Vec::new();
        for form in prefix.full_forms(self.algorithm) {
            let ids = self.backend.ids_with_prefix(&crate::id::leading_bytes(&form), 64)?;
            candidates.extend(ids.into_iter().filter(|id| id.to_hex().starts_with(&form)).take(5));
        }
        match candidates.as_slice() {
            [] => Err(PrefixError::Unknown(prefix.as_str().to_owned())),
            [one] => Ok(*one),
            _ => Err(PrefixError::Ambiguous { prefix: prefix.as_str().to_owned(), candidates }),
        }
    }

    /// The shortest abbreviation of `id`, at least [`ABBREV_MIN`] digits, that
    /// names no other object of this store, as git abbreviates (`id` need not be
    /// stored). Should the store fail, the whole digest, which is unique whatever
    /// the store holds.
    ///
    /// [`ABBREV_MIN`]: crate::id::ABBREV_MIN
    pub fn abbreviate(&self, id: &ObjectId) -> String {
        let digits = id.digest().len() * 2;
        let names_only_id = |text: &String| {
            let prefix = IdPrefix::new(text).expect("an abbreviation is hex of at least MIN_LEN digits");
            match self.resolve_prefix(&prefix) {
                Ok(found) => found == *id,
                Err(PrefixError::Unknown(_)) => true,
                Err(_) => false,
            }
        };
        (crate::id::ABBREV_MIN..digits)
            .map(|len| id.abbrev(len))
            .find(names_only_id)
            .unwrap_or_else(|| id.abbrev(digits))
    }
}

fn verify(id: &ObjectId, bytes: &[u8]) -> Result<()> {
    if id.algorithm().hash(bytes) != *id {
        return Err(Error::Corrupt { id: *id, reason: "its bytes do not hash to its id".into() });
    }
    Ok(())
}

fn corrupt(id: &ObjectId, e: DecodeError) -> Error {
    Error::Corrupt { id: *id, reason: e.to_string() }
}

fn wrong_kind(id: &ObjectId, expected: ObjectKind, found: &Object) -> Error {
    Error::WrongKind { id: *id, expected, actual: found.kind() }
}

/// Collects objects and writes them in large unlogged batches; [`BulkWriter::finish`]
/// makes them durable. For `add` and imports, where thousands of objects are written
/// before anything refers to them.
pub struct BulkWriter<'s> {
    store: &'s Store,
    pending: Batch,
    pending_bytes: usize,
}

impl<'s> BulkWriter<'s> {
    const FLUSH_BYTES: usize = 32 << 20;

    /// A writer into `store`.
    pub fn new(store: &'s Store) -> Self {
        BulkWriter { store, pending: Batch::default(), pending_bytes: 0 }
    }

    /// Adds an object given its kind and body; returns its id.
    pub fn add(&mut self, kind: ObjectKind, body: &[u8]) -> Result<ObjectId> {
        let bytes = object::encode_with_header(kind, body);
        let id = self.store.algorithm.hash(&bytes);
        self.add_encoded(id, bytes)?;
        Ok(id)
    }

    /// Records that git object `git` is pg object `pg`, written with the objects.
    pub fn add_git_id(&mut self, git: ObjectId, pg: ObjectId) {
        self.pending.git_ids.push((git, pg));
    }

    /// Suggests storing pending object `id` as a delta against stored object `base`.
    pub fn suggest_base(&mut self, id: ObjectId, base: ObjectId) {
        if id != base {
            self.pending.delta_bases.insert(id, base);
        }
    }

    /// Records that git id `git` also names pg object `pg` (see [`Batch::git_aliases`]).
    pub fn add_git_alias(&mut self, git: ObjectId, pg: ObjectId) {
        self.pending.git_aliases.push((git, pg));
    }

    /// Adds an object already encoded and hashed (by [`Store::algorithm`]), as
    /// callers that hash on several threads do.
    pub fn add_encoded(&mut self, id: ObjectId, bytes: Vec<u8>) -> Result<()> {
        self.add_encoded_with_base(id, bytes, None)
    }

    /// Like [`BulkWriter::add_encoded`], suggesting a base to keep it as a delta of.
    pub fn add_encoded_with_base(
        &mut self,
        id: ObjectId,
        bytes: Vec<u8>,
        base: Option<ObjectId>,
    ) -> Result<()> {
        if let Some(base) = base {
            self.suggest_base(id, base);
        }
        self.pending_bytes += bytes.len();
        self.pending.objects.push((id, bytes));
        if self.pending_bytes >= Self::FLUSH_BYTES {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Writes what is pending, so that reads see it (it is durable only after
    /// [`BulkWriter::finish`]).
    pub fn write_pending(&mut self) -> Result<()> {
        let batch = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let empty = batch.objects.is_empty() && batch.git_ids.is_empty() && batch.git_aliases.is_empty();
        if empty {
            return Ok(());
        }
        self.store.backend.write(batch, Durability::Bulk)
    }

    /// Writes what is pending and makes every object durable.
    pub fn finish(mut self) -> Result<()> {
        self.write_pending()?;
        self.store.backend.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Two blobs whose ids share their first seven digest digits, found by
    /// hashing many (the birthday bound makes a few tens of thousands enough).
    fn blobs_sharing_seven_digits(store: &Store) -> [Object; 2] {
        let mut seen: HashMap<String, Object> = HashMap::new();
        for n in 0u32.. {
            let blob = Object::Blob(n.to_string().into_bytes());
            let abbrev = store.prepare(&blob).0.abbrev(7);
            if let Some(first) = seen.insert(abbrev, blob.clone()) {
                return [first, blob];
            }
        }
        unreachable!("u32 has enough values for a collision of 28 bits")
    }

    #[test]
    fn abbreviations_grow_until_they_name_one_object() {
        let dir = tempfile::tempdir().unwrap();
        let backend = RocksBackend::open(&dir.path().join("db"), OpenMode::Create).unwrap();
        let store = Store::new(Arc::new(backend), HashAlgorithm::Blake3);
        let lone = store.write(&Object::Blob(b"alone".to_vec())).unwrap();
        assert_eq!(store.abbreviate(&lone), lone.abbrev(7));
        let [a, b] = blobs_sharing_seven_digits(&store);
        let (a, b) = (store.write(&a).unwrap(), store.write(&b).unwrap());
        for id in [a, b] {
            let abbrev = store.abbreviate(&id);
            assert!(abbrev.len() > 7, "{abbrev} is shared");
            assert_eq!(store.resolve_prefix(&IdPrefix::new(&abbrev).unwrap()).unwrap(), id);
        }
        let shared = IdPrefix::new(&a.abbrev(7)).unwrap();
        assert!(matches!(store.resolve_prefix(&shared), Err(PrefixError::Ambiguous { .. })));
        // The old full form still resolves, and an id not stored abbreviates too.
        assert_eq!(store.resolve_prefix(&IdPrefix::new(&a.to_hex()[..14]).unwrap()).unwrap(), a);
        let absent = HashAlgorithm::Blake3.hash(b"not stored");
        assert_eq!(store.abbreviate(&absent).len(), 7);
    }
}
