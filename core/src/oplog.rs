//! The operation log: every command that changes refs records what it changed, so
//! any of it can be undone (jj's most loved feature, built into the base).
//!
//! Records are CBOR (see `docs/FORMAT.md`), keyed by a sequence number that grows
//! by one per operation.

use crate::id::ObjectId;
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

/// The tracked part of a working copy at one moment, as two stored trees: what
/// the index holds, and what the tracked files on disk hold (their edits that
/// are not staged included). Untracked and ignored files are not part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The index's tree.
    pub index: ObjectId,
    /// The tree of the tracked files as they were on disk.
    pub files: ObjectId,
}

impl Snapshot {
    /// A working copy with nothing staged and nothing edited: index and files
    /// both hold `tree`.
    pub fn clean(tree: ObjectId) -> Snapshot {
        Snapshot { index: tree, files: tree }
    }
}

/// How an operation moved the working copy, for the operations that change it
/// apart from `HEAD` (restore, reset, stash): undoing one moves it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkingCopyChange {
    /// Before the operation.
    pub before: Snapshot,
    /// After it.
    pub after: Snapshot,
}

impl WorkingCopyChange {
    /// The change that takes this one back.
    pub fn inverse(&self) -> WorkingCopyChange {
        WorkingCopyChange { before: self.after, after: self.before }
    }
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
    /// How it moved the working copy, when it did more than follow `HEAD`.
    /// Absent from the records of operations that did not (and of older pgs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_copy: Option<WorkingCopyChange>,
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
            working_copy: None,
        };
        assert_eq!(Operation::decode(7, &op.encode()).unwrap(), op);
        let snapshot = |a: &[u8], b: &[u8]| Snapshot {
            index: crate::HashAlgorithm::Blake3.hash(a),
            files: crate::HashAlgorithm::Blake3.hash(b),
        };
        let moved = Operation {
            working_copy: Some(WorkingCopyChange {
                before: snapshot(b"i", b"f"),
                after: snapshot(b"j", b"g"),
            }),
            ..op.clone()
        };
        assert_eq!(Operation::decode(7, &moved.encode()).unwrap(), moved);
        assert!(moved.encode().len() > op.encode().len(), "an absent change is not written");
        assert!(Operation::decode(1, b"\xff\x00").is_err());
    }

    /// The test vector of `docs/FORMAT.md`: a restore that put back an edited file.
    #[test]
    fn a_working_copy_change_encodes_as_documented() {
        let tree = |text: &str| text.parse::<ObjectId>().unwrap();
        let before = Snapshot { index: tree(FORMAT_VECTOR_TREES[0]), files: tree(FORMAT_VECTOR_TREES[1]) };
        let op = Operation {
            seq: 2,
            context: OpContext { command: "restore a".into(), user: "A <a@x>".into(), time: 1_700_000_000 },
            changes: Vec::new(),
            undoes: None,
            working_copy: Some(WorkingCopyChange { before, after: Snapshot::clean(before.index) }),
        };
        let hex: String = op.encode().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, FORMAT_VECTOR_HEX.split_whitespace().collect::<String>());
    }

    const FORMAT_VECTOR_TREES: [&str; 2] = [
        "1e20b255ca2613a221f2ea1129b58f7341281ce00942d547dc4d37a2ce91db8e7b53",
        "1e20eba12895b376a775a862e94af9826d2a7763f23442029f17cabcb950992ed90d",
    ];
    const FORMAT_VECTOR_HEX: &str = "
        a467636f6e74657874a367636f6d6d616e6469726573746f7265206164757365
        726741203c6140783e6474696d651a6553f100676368616e6765738066756e64
        6f6573f66c776f726b696e675f636f7079a2666265666f7265a265696e646578
        7844316532306232353563613236313361323231663265613131323962353866
        3733343132383163653030393432643534376463346433376132636539316462
        3865376235336566696c65737844316532306562613132383935623337366137
        3735613836326539346166393832366432613737363366323334343230323966
        313763616263623935303939326564393064656166746572a265696e64657878
        4431653230623235356361323631336132323166326561313132396235386637
        3334313238316365303039343264353437646334643337613263653931646238
        65376235336566696c6573784431653230623235356361323631336132323166
        3265613131323962353866373334313238316365303039343264353437646334
        6433376132636539316462386537623533
    ";
}
