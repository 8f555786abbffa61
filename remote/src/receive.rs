//! Taking objects from a peer: each is hashed as it arrives, taken only if its id
//! is one the transfer expects (and the id it came with, if any), decoded, and
//! stored only once everything it refers to is stored, so the store never holds
//! an object whose references are missing, whenever the transfer stops. Refs move only after the whole transfer is checked (the caller's job).
//!
//! An object arrives before what it refers to (commits first, each tree before
//! its entries), so it waits in memory until its references are stored: blobs are
//! stored at once, a tree once its entries are, a commit once its tree and parents
//! are. The sender sends older commits' trees first, so the waiting set stays
//! small and commits are stored oldest first as the transfer goes.
//!
//! Objects are written in batches, made durable every few batches, and with that
//! the roots of what the transfer stored (stored objects no stored object of the
//! transfer refers to: the newest complete commits, and complete trees and blobs
//! whose parents are still waiting) are recorded in [`Table::Transfers`]. If the
//! transfer breaks (or the process is killed), the next fetch offers those
//! ([`unfinished`]): commits as haves, the rest as stored, and is sent only what is
//! missing. A finished transfer clears the record.

use crate::compress::{self, Decompressing};
use crate::protocol::Part;
use pg_core::object::Object;
use pg_core::store::{self, delta, Batch, Durability, Store, Table};
use pg_core::ObjectId;
use rustc_hash::FxHashMap as HashMap;
use serde_bytes::ByteBuf;
use std::borrow::Cow;

/// Checked objects are written once writing them costs this many bytes (a patch
/// as it came, the rest whole)...
const WRITE_BYTES: usize = 8 << 20;

/// ...or once their whole encodings, which wait in memory, take this many (an
/// object that came as a patch is kept as one, but its rebuilt bytes are held
/// until written). Objects waiting to be written are also the bases later patches
/// are rebuilt on without a read: with 8 MiB of them, a clone of 100,000 commits
/// rebuilt chains from the store and took twice as long.
const READY_BYTES: usize = 64 << 20;

/// What is written is made durable (and the unfinished transfer recorded) every
/// this many bytes: a checkpoint costs a synced write, and a table file for what
/// small writes left in the memtable (larger ones are durable at once), so not
/// every write.
const CHECKPOINT_BYTES: usize = 64 << 20;

/// The largest object a peer may send (its data, whole or as a patch, and what it
/// rebuilds to): objects are checked in memory.
pub const MAX_OBJECT: u64 = 1 << 31;

/// The largest object a `sync/objects` batch may carry (what it rebuilds to);
/// larger ones come in parts, with their id. An object in a batch is hashed only
/// once rebuilt, so this bounds what a peer can make the receiver inflate before
/// it finds the object was never asked for.
pub const MAX_BATCHED_OBJECT: u64 = 16 << 20;

/// A transfer's stream is primed with at most this many commits.
pub const MAX_BASES: usize = 4;

/// The key of the unfinished-transfer record in [`Table::Transfers`].
const UNFINISHED: &[u8] = b"unfinished";

/// Why received objects are refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object's bytes do not hash to the id it came with.
    #[error("object {claimed} does not match its id (its bytes hash to {actual})")]
    Mismatch {
        /// The id it was sent as.
        claimed: ObjectId,
        /// What its bytes hash to.
        actual: ObjectId,
    },
    /// An id that is not a multihash of this repository's hash function.
    #[error("an object id that is not a {algorithm} id: {reason}")]
    BadId {
        /// The repository's hash function.
        algorithm: &'static str,
        /// Why.
        reason: String,
    },
    /// Bytes that are not an object.
    #[error("{object} is malformed: {reason}")]
    Malformed {
        /// Which object: its id, or how it came when its id is not known yet.
        object: String,
        /// Why.
        reason: String,
    },
    /// An object nothing wanted refers to (or one sent twice): a peer streaming
    /// what was not asked for.
    #[error("the peer sent object {0}, which nothing asked for refers to (or sent it twice)")]
    Unexpected(ObjectId),
    /// Something the new refs need was never sent.
    #[error("the peer never sent object {0}, which the refs it offered need")]
    Missing(ObjectId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// A checked object waiting for what it refers to.
struct Waiting {
    bytes: Vec<u8>,
    /// The base and patch it came as.
    patch: Option<(ObjectId, Vec<u8>)>,
    /// How many of its references are not stored yet.
    missing: usize,
    /// What it refers to (to keep the roots).
    references: Vec<ObjectId>,
}

/// An object as a peer sent it (see [`crate::protocol::Sent`]).
struct Arrived<'a> {
    /// The id it came with: parts carry one, objects in batches do not.
    claimed: Option<ObjectId>,
    base: Option<&'a [u8]>,
    length: u64,
    data: Vec<u8>,
}

/// An object's bytes as they came in, with what it came as.
struct Unpacked {
    bytes: Vec<u8>,
    /// The base and patch it came as.
    patch: Option<(ObjectId, Vec<u8>)>,
    /// The base's bytes, when it is a tree stored before.
    stored_base: Option<Vec<u8>>,
}

/// A batch being written on a thread of its own.
struct Writing {
    thread: std::thread::JoinHandle<Result<(), store::Error>>,
    /// The objects in it.
    objects: HashMap<ObjectId, usize>,
}

/// What a receiver knows of an id the peer may send.
#[derive(Clone, Copy, Default)]
struct Seen(u8);

impl Seen {
    /// It came in this transfer.
    const RECEIVED: u8 = 1;
    /// It is stored, by this transfer or before it.
    const STORED: u8 = 2;
    /// This transfer stored it, and no object this transfer stored refers to it.
    const ROOT: u8 = 4;
    /// The store was asked whether it held it before the transfer (it did not,
    /// unless also [`Seen::STORED`]).
    const LOOKED_UP: u8 = 8;

    fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    fn set(&mut self, flags: u8) {
        self.0 |= flags;
    }

    fn clear(&mut self, flag: u8) {
        self.0 &= !flag;
    }
}

/// Verified objects on their way into the store.
pub struct Receiver {
    store: Store,
    waiting: HashMap<ObjectId, Waiting>,
    /// For each object not stored yet, the waiting objects that refer to it.
    needed_by: HashMap<ObjectId, Vec<ObjectId>>,
    /// Objects of this transfer ready to write, and where each is in the batch.
    ready: Batch,
    ready_at: HashMap<ObjectId, usize>,
    /// The bytes of the objects in `ready`, whole.
    ready_bytes: usize,
    /// What writing `ready` costs: patches as they came, the rest whole.
    ready_cost: usize,
    /// The batch being written on a thread of its own (checking goes on
    /// meanwhile; the next batch waits for it), and where each object is in it.
    writing: Option<Writing>,
    /// Bytes written since the last checkpoint.
    unsaved_bytes: usize,
    /// Every id the peer may send (the wants, and what received objects refer
    /// to), with what is known of it: one table, so that each reference of a
    /// received tree costs one lookup.
    seen: HashMap<ObjectId, Seen>,
    /// How many objects were taken.
    received: usize,
    /// An object arriving in parts: the first part, its data growing.
    assembling: Option<Part>,
    /// Whether the store held no object when the transfer began (a clone): then
    /// only what this transfer stored is there, and nothing need be looked up.
    was_empty: bool,
    /// The commits this side named to the sender (its haves, or the refs it
    /// advertised), which may prime the compression stream.
    named: Vec<ObjectId>,
    /// The transfer's compression stream, once it started.
    stream: Option<Decompressing>,
    /// Bytes received.
    pub bytes: u64,
}

impl Receiver {
    /// A receiver into `store` for the objects `wants` reach, from a sender told
    /// of the commits `named` (which it may prime the compression stream with).
    pub fn new(store: &Store, wants: &[ObjectId], named: Vec<ObjectId>) -> Result<Receiver, Error> {
        let was_empty = store.backend().ids_with_prefix(&[], 1)?.is_empty();
        Ok(Receiver {
            store: store.clone(),
            waiting: HashMap::default(),
            needed_by: HashMap::default(),
            ready: Batch::default(),
            ready_at: HashMap::default(),
            ready_bytes: 0,
            ready_cost: 0,
            writing: None,
            unsaved_bytes: 0,
            seen: wants.iter().map(|id| (*id, Seen::default())).collect(),
            received: 0,
            assembling: None,
            was_empty,
            named,
            stream: None,
            bytes: 0,
        })
    }

    /// Primes the transfer's compression stream with the named commits at
    /// `positions` (see [`compress::primer`]); only before any object came.
    pub fn prime(&mut self, positions: &[u64]) -> Result<(), Error> {
        let malformed = |reason: String| Error::Malformed { object: "the transfer's stream".into(), reason };
        if self.stream.is_some() || self.received > 0 || self.assembling.is_some() {
            return Err(malformed("primed after objects came".into()));
        }
        if positions.len() > MAX_BASES {
            return Err(malformed(format!("primed with {} commits (at most {MAX_BASES})", positions.len())));
        }
        let bases = positions
            .iter()
            .map(|&at| self.named.get(at as usize).copied())
            .collect::<Option<Vec<ObjectId>>>()
            .ok_or_else(|| {
                malformed(format!("primed with commits {positions:?} of the {} named", self.named.len()))
            })?;
        let (primer, _) = match compress::primer(&self.store, &bases) {
            // In a push the named are refs, which may be tags.
            Err(store::Error::WrongKind { id, .. }) => {
                return Err(malformed(format!("primed with {id}, which is not a commit")))
            }
            primed => primed?,
        };
        self.stream = Some(Decompressing::new(&primer).map_err(malformed)?);
        Ok(())
    }

    /// How many objects were taken.
    pub fn count(&self) -> usize {
        self.received
    }

    /// Checks one object of `length` bytes that came as `data` (see
    /// [`crate::protocol::Sent`]): that what it rebuilds to hashes to an id this
    /// transfer expects and decodes; stores it once what it refers to is stored.
    /// Returns its id.
    pub fn add(&mut self, base: Option<&[u8]>, length: u64, data: Vec<u8>) -> Result<ObjectId, Error> {
        if length > MAX_BATCHED_OBJECT {
            let reason =
                format!("{length} bytes in a batch (objects over {MAX_BATCHED_OBJECT} come in parts)");
            return Err(Error::Malformed { object: "an object sent in a batch".into(), reason });
        }
        self.take(Arrived { claimed: None, base, length, data })
    }

    /// [`Receiver::add`] for an object as it arrived, with the id it claims if any.
    fn take(&mut self, arrived: Arrived<'_>) -> Result<ObjectId, Error> {
        let claimed = arrived.claimed;
        let Unpacked { bytes, patch, stored_base } = self.unpack(arrived)?;
        let id = self.store.algorithm().hash(&bytes);
        if let Some(claimed) = claimed.filter(|claimed| *claimed != id) {
            return Err(Error::Mismatch { claimed, actual: id });
        }
        match self.seen.get_mut(&id) {
            Some(seen) if !seen.has(Seen::RECEIVED) => seen.set(Seen::RECEIVED),
            _ => return Err(Error::Unexpected(id)),
        }
        self.received += 1;
        // What a stored base refers to is stored: of a directory's next version,
        // only the new and changed entries need a look.
        let references = match &stored_base {
            Some(base) => Object::references_beyond(&bytes, base),
            None => Object::references_in(&bytes),
        };
        let references = references
            .map_err(|e| Error::Malformed { object: format!("object {id}"), reason: e.to_string() })?;
        self.bytes += bytes.len() as u64;
        let mut missing = 0;
        for &child in &references {
            // Even a stored object may come again (the sender cannot know all
            // this side has): expected, not needed.
            if self.is_stored(&child)? {
                continue;
            }
            let waiting = self.needed_by.entry(child).or_default();
            if !waiting.contains(&id) {
                waiting.push(id);
                missing += 1;
            }
        }
        let waiting = Waiting { bytes, patch, missing, references };
        if missing == 0 {
            self.store_with_dependents(id, waiting)?;
        } else {
            self.waiting.insert(id, waiting);
        }
        Ok(id)
    }

    /// Takes one piece of an object sent in parts; the object is checked (as by
    /// [`Receiver::add`]) once its last piece is here. Pieces must come in order,
    /// one object at a time, for an object that may be sent, within
    /// [`MAX_OBJECT`].
    pub fn add_part(&mut self, part: Part) -> Result<(), Error> {
        let id = self.parse_id(&part.id)?;
        let out_of_order = |reason: &str| Error::Malformed {
            object: format!("object {id}"),
            reason: format!("its parts {reason}"),
        };
        let mut whole = match self.assembling.take() {
            None if part.offset != 0 => return Err(out_of_order("do not start at 0")),
            None if part.total > MAX_OBJECT => {
                return Err(out_of_order("add up to more than the largest object"))
            }
            None if self.seen.get(&id).is_none_or(|seen| seen.has(Seen::RECEIVED)) => {
                return Err(Error::Unexpected(id))
            }
            None => Part { data: ByteBuf::with_capacity(part.total as usize), ..part.clone() },
            Some(started) if started.id != part.id => {
                return Err(out_of_order("are mixed with another object's"))
            }
            Some(started) if started.data.len() as u64 != part.offset => {
                return Err(out_of_order("come out of order"))
            }
            Some(started) => started,
        };
        whole.data.extend_from_slice(&part.data);
        match whole.data.len() as u64 {
            n if n > whole.total => Err(out_of_order("are longer than announced")),
            n if n == whole.total => {
                let Part { base, length, data, .. } = whole;
                let base = base.as_ref().map(|b| b.as_slice());
                self.take(Arrived { claimed: Some(id), base, length, data: data.into_vec() }).map(|_| ())
            }
            _ => {
                self.assembling = Some(whole);
                Ok(())
            }
        }
    }

    /// Whether `id` is stored (by this transfer, or before it); from now on the
    /// peer may send it.
    fn is_stored(&mut self, id: &ObjectId) -> Result<bool, Error> {
        let Receiver { seen, store, was_empty, .. } = self;
        let seen = seen.entry(*id).or_default();
        if seen.has(Seen::STORED) {
            return Ok(true);
        }
        if *was_empty || seen.has(Seen::RECEIVED) || seen.has(Seen::LOOKED_UP) {
            return Ok(false);
        }
        seen.set(Seen::LOOKED_UP);
        let before = store.backend().has_object(id)?;
        if before {
            seen.set(Seen::STORED);
        }
        Ok(before)
    }

    /// Queues `id` for writing, then every waiting object that was waiting only
    /// for it, and so on up.
    fn store_with_dependents(&mut self, id: ObjectId, object: Waiting) -> Result<(), Error> {
        let mut now = vec![(id, object)];
        while let Some((id, object)) = now.pop() {
            for child in &object.references {
                if let Some(seen) = self.seen.get_mut(child) {
                    seen.clear(Seen::ROOT);
                }
            }
            self.seen.entry(id).or_default().set(Seen::STORED | Seen::ROOT);
            self.ready_bytes += object.bytes.len();
            self.ready_cost += object.patch.as_ref().map_or(object.bytes.len(), |(_, frame)| frame.len());
            self.ready_at.insert(id, self.ready.objects.len());
            if let Some(patch) = object.patch {
                self.ready.patches.insert(id, patch);
            }
            self.ready.objects.push((id, object.bytes));
            for dependent in self.needed_by.remove(&id).unwrap_or_default() {
                let Some(waiting) = self.waiting.get_mut(&dependent) else { continue };
                waiting.missing -= 1;
                if waiting.missing == 0 {
                    let waiting = self.waiting.remove(&dependent).expect("just seen");
                    now.push((dependent, waiting));
                }
            }
        }
        if self.ready_cost >= WRITE_BYTES || self.ready_bytes >= READY_BYTES {
            self.write_ready()?;
        }
        Ok(())
    }

    /// Starts writing the objects ready so far (not yet durably: see
    /// [`Receiver::checkpoint`]), every [`CHECKPOINT_BYTES`] making them durable.
    fn write_ready(&mut self) -> Result<(), Error> {
        if self.ready.objects.is_empty() {
            return Ok(());
        }
        self.wait_for_write()?;
        let mut batch = std::mem::take(&mut self.ready);
        batch.objects_are_new = self.was_empty;
        let written = std::mem::take(&mut self.ready_at);
        self.unsaved_bytes += std::mem::take(&mut self.ready_cost);
        self.ready_bytes = 0;
        let store = self.store.clone();
        let thread = std::thread::spawn(move || store.backend().write(batch, Durability::Bulk));
        self.writing = Some(Writing { thread, objects: written });
        if self.unsaved_bytes >= CHECKPOINT_BYTES {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Makes what was written durable, and records the roots of it (see
    /// [`unfinished`]). Until then a crash loses what came since the last
    /// checkpoint, but never leaves a dangling reference: the store keeps a prefix
    /// of the writes, and no object is written before what it refers to.
    fn checkpoint(&mut self) -> Result<(), Error> {
        self.wait_for_write()?;
        let backend = self.store.backend();
        backend.persist()?;
        self.unsaved_bytes = 0;
        let roots = self.seen.iter().filter(|(_, seen)| seen.has(Seen::ROOT));
        let record: Vec<u8> = roots.flat_map(|(id, _)| id.as_bytes().to_vec()).collect();
        let records = vec![(Table::Transfers, UNFINISHED.to_vec(), Some(record))];
        backend.write(Batch { records, ..Batch::default() }, Durability::Synced)?;
        Ok(())
    }

    /// Waits for the batch being written, if any.
    fn wait_for_write(&mut self) -> Result<(), Error> {
        let Some(Writing { thread, .. }) = self.writing.take() else { return Ok(()) };
        match thread.join() {
            Ok(written) => Ok(written?),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Writes and makes durable everything checked so far, for the next transfer to
    /// build on (after this one was cut).
    pub fn flush(&mut self) -> Result<(), Error> {
        self.write_ready()?;
        self.checkpoint()
    }

    fn parse_id(&self, bytes: &[u8]) -> Result<ObjectId, Error> {
        let algorithm = self.store.algorithm();
        let bad_id = |reason: String| Error::BadId { algorithm: algorithm.name(), reason };
        let id = ObjectId::from_bytes(bytes).map_err(|e| bad_id(e.to_string()))?;
        if id.algorithm() != algorithm {
            return Err(bad_id(format!("{id} uses {}", id.algorithm().name())));
        }
        Ok(id)
    }

    /// The bytes of an object as it came (whole, compressed or as a patch of
    /// `base`): `length` of them, or an error naming the object as `claimed` (or
    /// by how it came).
    fn unpack(&mut self, Arrived { claimed, base, length, data }: Arrived<'_>) -> Result<Unpacked, Error> {
        let base = base.map(|base| self.parse_id(base)).transpose()?;
        let malformed = |reason: String| {
            let object = match (claimed, base) {
                (Some(id), _) => format!("object {id}"),
                (None, Some(base)) => format!("an object sent as a patch of {base}"),
                (None, None) => "an object sent whole".to_owned(),
            };
            Error::Malformed { object, reason }
        };
        let length = usize::try_from(length).ok().filter(|&l| l as u64 <= MAX_OBJECT);
        let length = length.ok_or_else(|| malformed("an impossible length".into()))?;
        match base {
            None => {
                let stream = match &mut self.stream {
                    Some(stream) => stream,
                    None => self.stream.insert(Decompressing::new(&[]).map_err(&malformed)?),
                };
                let bytes = stream.next(&data, length).map_err(malformed)?;
                Ok(Unpacked { bytes, patch: None, stored_base: None })
            }
            Some(base) => {
                let (base_bytes, stored) = self.base(&base)?;
                let bytes = delta::apply_patch(&base_bytes, &data, length).map_err(malformed)?;
                // A stored tree's entries are stored: see `references_beyond`.
                let stored_base =
                    (stored && base_bytes.starts_with(b"tree ")).then(|| base_bytes.into_owned());
                Ok(Unpacked { bytes, patch: Some((base, data)), stored_base })
            }
        }
    }

    /// A patch's base: an object received earlier in this transfer (waiting,
    /// ready or written), or one stored before; with whether it is stored (then so
    /// is everything it refers to).
    fn base(&mut self, base: &ObjectId) -> Result<(Cow<'_, [u8]>, bool), Error> {
        if self.writing.as_ref().is_some_and(|writing| writing.objects.contains_key(base)) {
            self.wait_for_write()?;
        }
        Ok(if let Some(waiting) = self.waiting.get(base) {
            (Cow::Borrowed(waiting.bytes.as_slice()), false)
        } else if let Some(&at) = self.ready_at.get(base) {
            (Cow::Borrowed(self.ready.objects[at].1.as_slice()), true)
        } else {
            // Unverified: what it rebuilds is checked against its id.
            let read = self.store.backend().read_object(base)?;
            (Cow::Owned(read.ok_or(Error::Missing(*base))?), true)
        })
    }

    /// Checks that `tips` and everything the received objects refer to are stored,
    /// writes the last objects and clears the unfinished-transfer record.
    pub fn finish(mut self, tips: &[ObjectId]) -> Result<usize, Error> {
        if let Some(part) = &self.assembling {
            return Err(Error::Missing(self.parse_id(&part.id)?));
        }
        for id in tips {
            if !self.is_stored(id)? {
                return Err(Error::Missing(*id));
            }
        }
        let never_sent = |id: &&ObjectId| self.seen.get(*id).is_none_or(|seen| !seen.has(Seen::RECEIVED));
        if let Some(never_sent) = self.needed_by.keys().find(never_sent) {
            return Err(Error::Missing(*never_sent));
        }
        self.write_ready()?;
        self.wait_for_write()?;
        self.store.backend().persist()?;
        let records = vec![(Table::Transfers, UNFINISHED.to_vec(), None)];
        self.store.backend().write(Batch { records, ..Batch::default() }, Durability::Synced)?;
        Ok(self.received)
    }
}

impl Drop for Receiver {
    /// A write under way ends before the receiver does (whoever made it may close
    /// the store next); how it went was for a caller that no longer asks.
    fn drop(&mut self) {
        if let Some(writing) = self.writing.take() {
            let _ = writing.thread.join();
        }
    }
}

/// What an unfinished transfer stored, as the roots of it: commits (with their
/// history), trees and blobs, each stored with everything it reaches, since no
/// object is stored before what it refers to.
pub fn unfinished(store: &Store) -> Result<Vec<ObjectId>, Error> {
    let Some(record) = store.backend().read_record(Table::Transfers, UNFINISHED)? else {
        return Ok(Vec::new());
    };
    let mut commits = Vec::new();
    let mut rest = record.as_slice();
    while !rest.is_empty() {
        let Ok((id, used)) = ObjectId::read_prefix(rest) else { break };
        if store.backend().has_object(&id)? {
            commits.push(id);
        }
        rest = &rest[used..];
    }
    Ok(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(receiver: &mut Receiver, positions: &[u64], words: &str) {
        match receiver.prime(positions) {
            Err(Error::Malformed { object, reason }) => {
                assert_eq!(object, "the transfer's stream");
                assert!(reason.contains(words), "{reason}");
            }
            other => panic!("primed with {positions:?}: {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn a_stream_is_primed_only_with_named_commits_before_any_object() {
        let dir = tempfile::tempdir().unwrap();
        let context = pg_core::oplog::OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo =
            pg_core::Repository::init(dir.path(), &pg_core::repo::InitOptions::default(), &context).unwrap();
        let store = repo.store();
        let blob = store.write(&Object::Blob(b"not a commit\n".to_vec())).unwrap();
        let mut receiver = Receiver::new(store, &[], vec![blob]).unwrap();
        refused(&mut receiver, &[0], "which is not a commit");
        refused(&mut receiver, &[1], "primed with commits [1] of the 1 named");
        refused(&mut receiver, &[0; 5], "at most 4");
        receiver.received = 1;
        refused(&mut receiver, &[0], "after objects came");
    }
}
