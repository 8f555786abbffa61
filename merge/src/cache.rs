//! The merge cache: a merge function's verdict on (base, ours, theirs), kept under
//! the hash of the function's id and the three blob ids. Functions are pure, so a
//! cached verdict is as good as running the function again; a repeated merge, or
//! the same file merged in another merge, costs a lookup.

use crate::function::FunctionId;
use pg_core::store::{self, Batch, Durability, Store, Table};
use pg_core::{HashAlgorithm, ObjectId};

/// A verdict as cached: clean results point at their blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cached {
    /// Settled; the merged content is this blob.
    Clean(ObjectId),
    /// The function found a conflict.
    Conflict,
    /// The function did not apply.
    Defer,
}

const CLEAN: u8 = 0;
const CONFLICT: u8 = 1;
const DEFER: u8 = 2;

impl Cached {
    fn encode(&self) -> Vec<u8> {
        match self {
            Cached::Clean(id) => [&[CLEAN][..], id.as_bytes()].concat(),
            Cached::Conflict => vec![CONFLICT],
            Cached::Defer => vec![DEFER],
        }
    }

    fn decode(bytes: &[u8]) -> Option<Cached> {
        match bytes.split_first()? {
            (&CLEAN, id) => ObjectId::from_bytes(id).ok().map(Cached::Clean),
            (&CONFLICT, []) => Some(Cached::Conflict),
            (&DEFER, []) => Some(Cached::Defer),
            _ => None,
        }
    }
}

/// The cache key: BLAKE3 over the function id and the three blob ids, each
/// preceded by its length (an absent base has length 0). See docs/FORMAT.md.
pub fn key(function: &FunctionId, base: Option<&ObjectId>, ours: &ObjectId, theirs: &ObjectId) -> ObjectId {
    let mut bytes = Vec::with_capacity(4 * 40);
    for id in [Some(function), base, Some(ours), Some(theirs)] {
        let raw = id.map(ObjectId::as_bytes).unwrap_or_default();
        bytes.push(raw.len() as u8);
        bytes.extend_from_slice(raw);
    }
    HashAlgorithm::Blake3.hash(&bytes)
}

/// The cache of one repository, with counts of what it answered.
pub struct Cache<'s> {
    store: &'s Store,
    enabled: bool,
    /// Lookups answered.
    pub hits: usize,
    /// Lookups not answered.
    pub misses: usize,
}

impl<'s> Cache<'s> {
    /// The cache in `store`; a disabled cache answers nothing and keeps nothing.
    pub fn new(store: &'s Store, enabled: bool) -> Cache<'s> {
        Cache { store, enabled, hits: 0, misses: 0 }
    }

    /// The cached verdict under `key`. An unreadable record, or a clean result
    /// whose blob is gone (lost in a crash before it was made durable), is a miss.
    pub fn get(&mut self, key: &ObjectId) -> store::Result<Option<Cached>> {
        if !self.enabled {
            return Ok(None);
        }
        let found = match self.store.backend().read_record(Table::MergeCache, key.as_bytes())? {
            Some(bytes) => match Cached::decode(&bytes) {
                Some(Cached::Clean(blob)) if !self.store.backend().has_object(&blob)? => None,
                other => other,
            },
            None => None,
        };
        if found.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        Ok(found)
    }

    /// Keeps a verdict (unlogged, like the merge's objects: a crash may lose it,
    /// which only costs a recomputation).
    pub fn put(&mut self, key: &ObjectId, verdict: Cached) -> store::Result<()> {
        if !self.enabled {
            return Ok(());
        }
        let batch = Batch {
            records: vec![(Table::MergeCache, key.as_bytes().to_vec(), Some(verdict.encode()))],
            ..Batch::default()
        };
        self.store.backend().write(batch, Durability::Bulk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_round_trip_and_keys_depend_on_every_input() {
        let id = |n: u8| HashAlgorithm::Blake3.hash(&[n]);
        for verdict in [Cached::Clean(id(1)), Cached::Conflict, Cached::Defer] {
            assert_eq!(Cached::decode(&verdict.encode()), Some(verdict));
        }
        assert_eq!(Cached::decode(&[9]), None);
        let k = key(&id(0), Some(&id(1)), &id(2), &id(3));
        assert_ne!(k, key(&id(0), None, &id(2), &id(3)));
        assert_ne!(k, key(&id(0), Some(&id(1)), &id(3), &id(2)), "ours and theirs are not interchangeable");
        assert_ne!(k, key(&id(9), Some(&id(1)), &id(2), &id(3)));
    }
}
