//! The operation log: every command that changes refs records what it changed, so
//! any of it can be undone (jj's most loved feature, built into the base).
//!
//! Records are CBOR (see `docs/FORMAT.md`), keyed by a sequence number that grows
//! by one per operation.

use crate::refs::RefTarget;
use crate::store::{Error, Result};

/// One ref's value before and after an operation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefChange {
    /// Full ref name.
    pub name: String,
    /// Value before (`None`: the ref did not exist).
    pub before: Option<RefTarget>,
    /// Value after (`None`: the ref was deleted).
    pub after: Option<RefTarget>,
}

/// Who ran a command, when, and what it was; passed in by the caller because the
/// library reads neither the clock nor the environment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpContext {
    /// The command line, e.g. `commit -m "fix"`.
    pub command: String,
    /// Who ran it (`Name <email>` or a user name).
    pub user: String,
    /// Seconds since the Unix epoch.
    pub time: i64,
}

/// A recorded operation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Operation {
    /// Its place in the log, from 1.
    #[serde(skip)]
    pub seq: u64,
    /// Command, user and time.
    pub context: OpContext,
    /// The refs it changed.
    pub changes: Vec<RefChange>,
    /// When this operation is an undo: the sequence number of the operation it undid.
    pub undoes: Option<u64>,
}

impl Operation {
    /// The CBOR encoding stored in the log.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).expect("writing CBOR to a Vec cannot fail");
        out
    }

    /// Decodes a stored record.
    pub fn decode(seq: u64, bytes: &[u8]) -> Result<Operation> {
        let mut op: Operation = ciborium::from_reader(bytes)
            .map_err(|e| Error::CorruptRecord { what: format!("operation {seq}"), reason: e.to_string() })?;
        op.seq = seq;
        Ok(op)
    }
}

/// Reads the newest `limit` operations, newest first.
pub fn read(backend: &dyn crate::store::Backend, limit: usize) -> Result<Vec<Operation>> {
    backend.read_operations(limit)?.into_iter().map(|(seq, bytes)| Operation::decode(seq, &bytes)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip_through_cbor() {
        let id = crate::HashAlgorithm::Blake3.hash(b"c");
        let op = Operation {
            seq: 7,
            context: OpContext { command: "commit -m x".into(), user: "A <a@x>".into(), time: 1_700_000_000 },
            changes: vec![RefChange {
                name: "refs/heads/main".into(),
                before: None,
                after: Some(RefTarget::Object(id)),
            }],
            undoes: Some(3),
        };
        assert_eq!(Operation::decode(7, &op.encode()).unwrap(), op);
        assert!(Operation::decode(1, b"\xff\x00").is_err());
    }
}
