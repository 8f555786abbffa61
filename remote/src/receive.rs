//! Taking objects from a peer: each is checked against its id and decoded as it
//! arrives, and nothing is stored until everything the new refs reach is known to
//! be here, so a refused transfer leaves the store exactly as it was.
//!
//! # Deviation from git
//! Objects wait in memory until the transfer is complete (git writes a pack file
//! and indexes it afterwards); a transfer needs as much memory as it moves.

use pg_core::object::{EntryKind, EntryKindOrRole, Object};
use pg_core::store::{self, BulkWriter, Store};
use pg_core::ObjectId;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Why received objects are refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An object's bytes do not hash to the id it came with.
    #[error("object {claimed} does not match its id (its bytes hash to {actual})")]
    Mismatch {
        /// The id it was sent as.
        claimed: String,
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
    #[error("object {id} does not decode: {reason}")]
    Malformed {
        /// Its id.
        id: ObjectId,
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

/// Verified objects on their way into the store.
pub struct Receiver<'s> {
    store: &'s Store,
    /// Checked objects (with the base they came as a delta against), and where
    /// each is in that list.
    pending: Vec<(ObjectId, Vec<u8>, Option<ObjectId>)>,
    position: HashMap<ObjectId, usize>,
    received: HashSet<ObjectId>,
    /// Ids the peer may send: the wants, and what received objects refer to.
    expected: HashSet<ObjectId>,
    /// Ids the received objects refer to, to check once all have arrived.
    references: Vec<ObjectId>,
    /// Bytes received.
    pub bytes: u64,
}

impl<'s> Receiver<'s> {
    /// A receiver into `store` for the objects `wants` reach.
    pub fn new(store: &'s Store, wants: &[ObjectId]) -> Receiver<'s> {
        Receiver {
            store,
            pending: Vec::new(),
            position: HashMap::default(),
            received: HashSet::default(),
            expected: wants.iter().copied().collect(),
            references: Vec::new(),
            bytes: 0,
        }
    }

    /// How many objects were taken.
    pub fn count(&self) -> usize {
        self.received.len()
    }

    /// Checks one object (its id, that its bytes, rebuilt from `base` when it came
    /// as a patch, hash to it, that it decodes) and queues it for the store.
    pub fn add(
        &mut self,
        claimed: &[u8],
        base: Option<&[u8]>,
        length: u64,
        data: Vec<u8>,
    ) -> Result<ObjectId, Error> {
        let id = self.parse_id(claimed)?;
        let (bytes, base) = match base {
            None => (data, None),
            Some(base) => {
                let base = self.parse_id(base)?;
                let rebuilt = self.rebuild(id, &base, length, &data)?;
                (rebuilt, Some(base))
            }
        };
        let algorithm = self.store.algorithm();
        let actual = algorithm.hash(&bytes);
        if actual != id {
            return Err(Error::Mismatch { claimed: id.to_string(), actual });
        }
        if !self.expected.contains(&id) || self.received.contains(&id) {
            return Err(Error::Unexpected(id));
        }
        let object = Object::decode(&bytes).map_err(|e| Error::Malformed { id, reason: e.to_string() })?;
        let _ = object.map_ids(|child, role| {
            if role != EntryKindOrRole::Entry(EntryKind::Gitlink) {
                self.references.push(*child);
                self.expected.insert(*child);
            }
            Ok::<_, ()>(*child)
        });
        self.bytes += bytes.len() as u64;
        self.received.insert(id);
        self.position.insert(id, self.pending.len());
        self.pending.push((id, bytes, base));
        Ok(id)
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

    /// The bytes a patch rebuilds from its base: one received earlier in this
    /// transfer, or one already stored.
    fn rebuild(&self, id: ObjectId, base: &ObjectId, length: u64, patch: &[u8]) -> Result<Vec<u8>, Error> {
        // No object is larger than a frame could carry whole.
        let length = usize::try_from(length).ok().filter(|&l| l <= crate::wire::MAX_FRAME);
        let length = length.ok_or_else(|| Error::Malformed { id, reason: "an impossible length".into() })?;
        let stored;
        let base_bytes = match self.position.get(base) {
            Some(&at) => &self.pending[at].1,
            None if self.store.backend().has_object(base)? => {
                stored = self.store.read_raw(base)?;
                &stored
            }
            None => return Err(Error::Missing(*base)),
        };
        pg_core::store::delta::apply_patch(base_bytes, patch, length)
            .map_err(|reason| Error::Malformed { id, reason })
    }

    /// Checks that `tips` and everything the received objects refer to are here
    /// (received now, or stored before), then stores what was received, durably.
    pub fn finish(self, tips: &[ObjectId]) -> Result<usize, Error> {
        let Receiver { store, pending, received, references, .. } = self;
        for id in tips.iter().chain(&references) {
            if !received.contains(id) && !store.backend().has_object(id)? {
                return Err(Error::Missing(*id));
            }
        }
        let mut writer = BulkWriter::new(store);
        for (id, bytes, base) in pending {
            writer.add_encoded_with_base(id, bytes, base)?;
        }
        writer.finish()?;
        Ok(received.len())
    }
}
