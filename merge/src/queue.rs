//! The queue for people: conflict objects no merge function settled, each with its
//! state (open, or resolved by someone). The items are objects, so they can travel
//! to peers; the states live in the repository's `queue` table.

use pg_core::object::{Conflict, Object};
use pg_core::store::{self, Batch, Durability, Store, Table};
use pg_core::ObjectId;

/// Where a queue item stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Waiting for a person.
    Open,
    /// Settled by a person.
    Resolved {
        /// Who (`Name <email>`).
        by: String,
        /// When (seconds since the epoch).
        time: i64,
        /// The content they chose (`None`: the path was deleted).
        result: Option<ObjectId>,
    },
}

impl ItemState {
    /// `open`, or `resolved <time> <result id or -> <who>`.
    fn encode(&self) -> Vec<u8> {
        match self {
            ItemState::Open => b"open".to_vec(),
            ItemState::Resolved { by, time, result } => {
                let result = result.map_or("-".to_owned(), |id| id.to_string());
                format!("resolved {time} {result} {by}").into_bytes()
            }
        }
    }

    fn decode(bytes: &[u8]) -> Option<ItemState> {
        let text = std::str::from_utf8(bytes).ok()?;
        if text == "open" {
            return Some(ItemState::Open);
        }
        let mut parts = text.strip_prefix("resolved ")?.splitn(3, ' ');
        let time = parts.next()?.parse().ok()?;
        let result = match parts.next()? {
            "-" => None,
            id => Some(id.parse().ok()?),
        };
        Some(ItemState::Resolved { time, result, by: parts.next()?.to_owned() })
    }
}

/// A queue record that does not decode.
fn corrupt(item: &[u8]) -> store::Error {
    store::Error::CorruptRecord {
        what: format!("queue item {}", pg_core::id::hex_encode(item)),
        reason: "unreadable state".into(),
    }
}

/// Adds conflict objects to the queue as open items; returns their ids. The
/// objects are written unlogged (durable at the next persist), their states synced.
pub fn add(store: &Store, conflicts: Vec<Conflict>) -> store::Result<Vec<ObjectId>> {
    let mut ids = Vec::with_capacity(conflicts.len());
    for conflict in conflicts {
        ids.push(store.write_bulk(&Object::Conflict(Box::new(conflict)))?);
    }
    store.backend().persist()?;
    let records =
        ids.iter().map(|id| (Table::Queue, id.as_bytes().to_vec(), Some(ItemState::Open.encode()))).collect();
    store.backend().write(Batch { records, ..Batch::default() }, Durability::Synced)?;
    Ok(ids)
}

/// Records a new state for an item.
pub fn set_state(store: &Store, item: &ObjectId, state: &ItemState) -> store::Result<()> {
    let records = vec![(Table::Queue, item.as_bytes().to_vec(), Some(state.encode()))];
    store.backend().write(Batch { records, ..Batch::default() }, Durability::Synced)
}

/// An item's state, if it is in the queue.
pub fn state(store: &Store, item: &ObjectId) -> store::Result<Option<ItemState>> {
    match store.backend().read_record(Table::Queue, item.as_bytes())? {
        Some(bytes) => ItemState::decode(&bytes).map(Some).ok_or_else(|| corrupt(item.as_bytes())),
        None => Ok(None),
    }
}

/// Every item with its state.
pub fn list(store: &Store) -> store::Result<Vec<(ObjectId, ItemState)>> {
    store
        .backend()
        .list_records(Table::Queue, b"")?
        .into_iter()
        .map(|(key, value)| {
            let id = ObjectId::from_bytes(&key).map_err(|_| corrupt(&key))?;
            Ok((id, ItemState::decode(&value).ok_or_else(|| corrupt(&key))?))
        })
        .collect()
}

/// Reads a queue item.
pub fn read(store: &Store, item: &ObjectId) -> store::Result<Conflict> {
    match store.read(item)? {
        Object::Conflict(conflict) => Ok(*conflict),
        other => Err(store::Error::WrongKind {
            id: *item,
            expected: pg_core::object::ObjectKind::Conflict,
            actual: other.kind(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        let id = pg_core::HashAlgorithm::Blake3.hash(b"x");
        for state in [
            ItemState::Open,
            ItemState::Resolved {
                by: "A U Thor <a@example.com>".into(),
                time: 1_700_000_000,
                result: Some(id),
            },
            ItemState::Resolved { by: "someone".into(), time: 5, result: None },
        ] {
            assert_eq!(ItemState::decode(&state.encode()), Some(state));
        }
        assert_eq!(ItemState::decode(b"resolved x"), None);
    }
}
