//! The sync protocol's messages, each handled by a protocol function named by
//! the hash of its descriptor (as merge functions are).
//!
//! A fetch: the client sends `list-refs`; the server answers `refs`; the client
//! sends `want` (the ids it lacks, and the commits it has); the server streams
//! `objects` batches, the last marked done. Either side may send `error` and close.
//! See docs/PROTOCOL.md.

use pg_core::{HashAlgorithm, ObjectId};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The libp2p protocol name the sync streams are opened with.
pub const STREAM_PROTOCOL: &str = "/pg/sync/1";

/// The protocol functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// Asks for a repository's refs.
    ListRefs,
    /// A repository's refs.
    Refs,
    /// The objects wanted, and the commits the asker has.
    Want,
    /// A batch of objects (the last of a transfer says so).
    Objects,
    /// A refusal or failure, with a message for people.
    Error,
    /// Asks to move a ref; the objects it needs follow.
    Push,
    /// The push was applied.
    Pushed,
    /// A repository's refs changed (published on its gossipsub topic).
    Announce,
    /// A piece of an object too large for one frame.
    Part,
}

impl Function {
    /// Every function.
    pub const ALL: [Function; 9] = [
        Function::ListRefs,
        Function::Refs,
        Function::Want,
        Function::Objects,
        Function::Error,
        Function::Push,
        Function::Pushed,
        Function::Announce,
        Function::Part,
    ];

    /// The function's name in its descriptor.
    pub fn name(self) -> &'static str {
        match self {
            Function::ListRefs => "sync/list-refs",
            Function::Refs => "sync/refs",
            Function::Want => "sync/want",
            Function::Objects => "sync/objects",
            Function::Error => "sync/error",
            Function::Push => "sync/push",
            Function::Pushed => "sync/pushed",
            Function::Announce => "sync/announce",
            Function::Part => "sync/part",
        }
    }

    /// The version of the function's payload: a new version is a new function.
    pub fn version(self) -> u32 {
        match self {
            // Version 1 sent every object's id, and whole objects as they are;
            // version 2 compressed each whole object alone, and ended with
            // `sync/done`; version 3 compresses them as one stream.
            Function::Objects | Function::Part => 3,
            _ => 1,
        }
    }

    /// The descriptor: `pg protocol\nname <name>\nversion <version>\n`.
    pub fn descriptor(self) -> String {
        format!("pg protocol\nname {}\nversion {}\n", self.name(), self.version())
    }

    /// The function id: the BLAKE3 multihash of the descriptor.
    pub fn id(self) -> ObjectId {
        HashAlgorithm::Blake3.hash(self.descriptor().as_bytes())
    }

    /// The function an id names.
    pub fn by_id(id: &ObjectId) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.id() == *id)
    }
}

/// `sync/list-refs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListRefs {
    /// The repository id (binary multihash).
    pub repository: ByteBuf,
}

/// `sync/refs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refs {
    /// The repository id.
    pub repository: ByteBuf,
    /// Its hash function (`blake3`, `sha2-256`): a clone must use the same.
    pub algorithm: String,
    /// The branch `HEAD` names, if any.
    pub head: Option<String>,
    /// Every ref under `refs/heads/` and `refs/tags/`, with the object it names.
    pub refs: Vec<(String, ByteBuf)>,
}

/// `sync/want`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Want {
    /// Objects to send, with everything they reach that the asker lacks.
    pub wants: Vec<ByteBuf>,
    /// Commits the asker has (with their history).
    pub haves: Vec<ByteBuf>,
    /// Trees and blobs the asker has with everything below them, outside the
    /// haves' history: what an unfinished transfer stored before it stopped.
    #[serde(default)]
    pub stored: Vec<ByteBuf>,
}

/// One object in `sync/objects`, whose canonical encoding is `length` bytes long:
/// with a `base` (an object sent earlier in the transfer, or one the receiver
/// has), `data` is a zstd patch frame that rebuilds the encoding from it; without,
/// `data` is the object's piece of the transfer's compression stream (see
/// [`crate::compress`]). Written as a CBOR array `[base / null, length, data]`.
///
/// The object's id is not sent: the receiver hashes what it rebuilds anyway, and
/// takes the object only if that id is one it expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent(pub Option<ByteBuf>, pub u64, pub ByteBuf);

/// `sync/objects`: a batch of objects; the receiver takes each only if the bytes
/// it rebuilds hash to an id it expects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objects {
    /// The objects.
    pub objects: Vec<Sent>,
    /// In a transfer's first message only: the commits whose encodings prime its
    /// compression stream, as positions in the list of commits the receiver named
    /// (its haves for a fetch; the refs it advertised for a push).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<u64>,
    /// The transfer's last message: every object was sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

/// `sync/part`: a piece of one object whose `data` (as in [`Sent`]) is too large
/// for a frame: bytes `offset..offset + data.len()` of it, `total` bytes in all.
/// Parts of one object come in order, one object at a time. The object's id comes
/// with each, so that the receiver knows it expects the object before it gathers
/// what may be up to 2 GiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The object's id.
    pub id: ByteBuf,
    /// The base, when the data is a patch.
    pub base: Option<ByteBuf>,
    /// The object's length.
    pub length: u64,
    /// The length of the whole data.
    pub total: u64,
    /// Where this piece starts in the data.
    pub offset: u64,
    /// The piece.
    pub data: ByteBuf,
}

/// `sync/error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong, for people.
    pub message: String,
}

/// `sync/push`: move `name` from `old` to `new`; `sync/objects` batches follow with what `new` reaches that the server lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Push {
    /// The ref (`refs/heads/<branch>`).
    pub name: String,
    /// What the pusher saw it at (`None`: absent).
    pub old: Option<ByteBuf>,
    /// Where it should go.
    pub new: ByteBuf,
    /// Move it even when `new` does not descend from `old`.
    pub force: bool,
}

/// `sync/pushed`: the ref was moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pushed {
    /// The ref.
    pub name: String,
}

/// `sync/announce`: a repository's refs are now these (their digest), on the
/// gossipsub topic `pg/refs/<repository id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announce {
    /// The repository id.
    pub repository: ByteBuf,
    /// BLAKE3 multihash of its branches and tags, `<name> <id>\n` each, sorted.
    pub refs: ByteBuf,
}

/// The gossipsub topic of a repository's announcements.
pub fn topic(repository: &ObjectId) -> String {
    format!("pg/refs/{repository}")
}

/// Any message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// See [`ListRefs`].
    ListRefs(ListRefs),
    /// See [`Refs`].
    Refs(Refs),
    /// See [`Want`].
    Want(Want),
    /// See [`Objects`].
    Objects(Objects),
    /// See [`Failure`].
    Error(Failure),
    /// See [`Push`].
    Push(Push),
    /// See [`Pushed`].
    Pushed(Pushed),
    /// See [`Announce`].
    Announce(Announce),
    /// See [`Part`].
    Part(Part),
}

impl Message {
    /// The function that handles it.
    pub fn function(&self) -> Function {
        match self {
            Message::ListRefs(_) => Function::ListRefs,
            Message::Refs(_) => Function::Refs,
            Message::Want(_) => Function::Want,
            Message::Objects(_) => Function::Objects,
            Message::Error(_) => Function::Error,
            Message::Push(_) => Function::Push,
            Message::Pushed(_) => Function::Pushed,
            Message::Announce(_) => Function::Announce,
            Message::Part(_) => Function::Part,
        }
    }

    pub(crate) fn write_payload(&self, out: &mut Vec<u8>) {
        let written = match self {
            Message::ListRefs(m) => ciborium::into_writer(m, &mut *out),
            Message::Refs(m) => ciborium::into_writer(m, &mut *out),
            Message::Want(m) => ciborium::into_writer(m, &mut *out),
            Message::Objects(m) => ciborium::into_writer(m, &mut *out),
            Message::Error(m) => ciborium::into_writer(m, &mut *out),
            Message::Push(m) => ciborium::into_writer(m, &mut *out),
            Message::Pushed(m) => ciborium::into_writer(m, &mut *out),
            Message::Announce(m) => ciborium::into_writer(m, &mut *out),
            Message::Part(m) => ciborium::into_writer(m, &mut *out),
        };
        written.expect("writing CBOR to memory cannot fail");
    }

    pub(crate) fn read_payload(function: Function, payload: &[u8]) -> Result<Message, String> {
        fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
            ciborium::from_reader(payload).map_err(|e| e.to_string())
        }
        Ok(match function {
            Function::ListRefs => Message::ListRefs(decode(payload)?),
            Function::Refs => Message::Refs(decode(payload)?),
            Function::Want => Message::Want(decode(payload)?),
            Function::Objects => Message::Objects(decode(payload)?),
            Function::Error => Message::Error(decode(payload)?),
            Function::Push => Message::Push(decode(payload)?),
            Function::Pushed => Message::Pushed(decode(payload)?),
            Function::Announce => Message::Announce(decode(payload)?),
            Function::Part => Message::Part(decode(payload)?),
        })
    }
}
