//! The object model (blob, tree, commit, tag) and its canonical encoding.
//!
//! Every object encodes as `<kind> <decimal body length>\0<body>`, and its id is the
//! multihash of those bytes. The bodies follow git's layouts with pg ids in place of
//! SHA-1s, which is what lets a git history round-trip exactly; `docs/FORMAT.md`
//! specifies them with test vectors.

mod commit;
mod headers;
mod signature;
mod tag;
mod tree;

pub use commit::Commit;
pub use headers::Header;
pub use signature::Signature;
pub use tag::Tag;
pub use tree::{EntryKind, Mode, Tree, TreeEntry};

use crate::id::{HashAlgorithm, IdError, ObjectId};
use std::fmt;
use std::str::FromStr;

/// The four kinds of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// File contents.
    Blob,
    /// A directory: named entries pointing at blobs, trees and gitlinks.
    Tree,
    /// A snapshot with its parents, identities and message.
    Commit,
    /// An annotated tag.
    Tag,
}

impl ObjectKind {
    /// The kind's name as it appears in encodings and output.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Blob => "blob",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ObjectKind {
    type Err = DecodeError;
    fn from_str(s: &str) -> Result<Self, DecodeError> {
        match s {
            "blob" => Ok(ObjectKind::Blob),
            "tree" => Ok(ObjectKind::Tree),
            "commit" => Ok(ObjectKind::Commit),
            "tag" => Ok(ObjectKind::Tag),
            other => Err(DecodeError::UnknownKind(other.to_owned())),
        }
    }
}

/// A decoded object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// File contents, any bytes.
    Blob(Vec<u8>),
    /// A directory.
    Tree(Tree),
    /// A commit.
    Commit(Commit),
    /// An annotated tag.
    Tag(Tag),
}

/// Why bytes are not a valid object encoding.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The `<kind> <len>\0` header is missing or malformed.
    #[error("malformed object header")]
    Header,
    /// The header names no known kind.
    #[error("unknown object kind '{0}'")]
    UnknownKind(String),
    /// The header's length does not match the body.
    #[error("object header says {declared} bytes but the body has {actual}")]
    Length {
        /// Length in the header.
        declared: usize,
        /// Length of the body.
        actual: usize,
    },
    /// A tree entry is malformed.
    #[error("tree entry at byte {offset}: {what}")]
    TreeEntry {
        /// Offset of the entry in the body.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// A header line of a commit or tag is malformed or missing.
    #[error("{kind}: {what}")]
    Field {
        /// The kind being decoded.
        kind: ObjectKind,
        /// What is wrong.
        what: String,
    },
    /// An id inside the object is malformed.
    #[error(transparent)]
    Id(#[from] IdError),
}

impl Object {
    /// The kind of this object.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Blob(_) => ObjectKind::Blob,
            Object::Tree(_) => ObjectKind::Tree,
            Object::Commit(_) => ObjectKind::Commit,
            Object::Tag(_) => ObjectKind::Tag,
        }
    }

    /// The body bytes (the encoding without its header).
    pub fn body(&self) -> Vec<u8> {
        match self {
            Object::Blob(data) => data.clone(),
            Object::Tree(tree) => tree.encode_body(),
            Object::Commit(commit) => commit.encode_body(),
            Object::Tag(tag) => tag.encode_body(),
        }
    }

    /// The canonical encoding: header and body.
    pub fn encode(&self) -> Vec<u8> {
        encode_with_header(self.kind(), &self.body())
    }

    /// The id of this object under `algorithm`.
    pub fn id(&self, algorithm: HashAlgorithm) -> ObjectId {
        algorithm.hash(&self.encode())
    }

    /// Decodes a full encoding (header and body).
    pub fn decode(bytes: &[u8]) -> Result<Object, DecodeError> {
        let (kind, body) = split_header(bytes)?;
        Self::decode_body(kind, body)
    }

    /// Decodes a body whose kind is known.
    pub fn decode_body(kind: ObjectKind, body: &[u8]) -> Result<Object, DecodeError> {
        Ok(match kind {
            ObjectKind::Blob => Object::Blob(body.to_vec()),
            ObjectKind::Tree => Object::Tree(Tree::decode_body(body)?),
            ObjectKind::Commit => Object::Commit(Commit::decode_body(body)?),
            ObjectKind::Tag => Object::Tag(Tag::decode_body(body)?),
        })
    }
}

/// `<kind> <len>\0`: the header every encoding starts with.
pub fn header(kind: ObjectKind, body_len: usize) -> Vec<u8> {
    format!("{} {}\0", kind.name(), body_len).into_bytes()
}

/// Header and body in one buffer.
pub fn encode_with_header(kind: ObjectKind, body: &[u8]) -> Vec<u8> {
    let mut out = header(kind, body.len());
    out.extend_from_slice(body);
    out
}

/// Splits an encoding into its kind and body, checking the declared length.
pub fn split_header(bytes: &[u8]) -> Result<(ObjectKind, &[u8]), DecodeError> {
    let nul = bytes.iter().take(32).position(|&b| b == 0).ok_or(DecodeError::Header)?;
    let head = std::str::from_utf8(&bytes[..nul]).map_err(|_| DecodeError::Header)?;
    let (kind, len) = head.split_once(' ').ok_or(DecodeError::Header)?;
    let kind: ObjectKind = kind.parse()?;
    // Canonical: no sign, no leading zeros.
    if len.is_empty() || (len.len() > 1 && len.starts_with('0')) || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::Header);
    }
    let declared: usize = len.parse().map_err(|_| DecodeError::Header)?;
    let body = &bytes[nul + 1..];
    if body.len() != declared {
        return Err(DecodeError::Length { declared, actual: body.len() });
    }
    Ok((kind, body))
}

#[cfg(test)]
pub(crate) mod strategies {
    //! proptest strategies for well-formed objects.
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    pub fn id() -> impl Strategy<Value = ObjectId> {
        (any::<bool>(), vec(any::<u8>(), 0..8)).prop_map(|(sha, seed)| {
            let alg = if sha { HashAlgorithm::Sha2_256 } else { HashAlgorithm::Blake3 };
            alg.hash(&seed)
        })
    }

    /// A line without newlines, as identities are.
    pub fn line() -> impl Strategy<Value = Vec<u8>> {
        vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40)
    }

    pub fn headers() -> impl Strategy<Value = Vec<Header>> {
        let key = "[a-z][a-z0-9-]{0,10}".prop_map(String::into_bytes);
        vec((key, vec(any::<u8>(), 0..60)).prop_map(|(key, value)| Header { key, value }), 0..4)
    }

    pub fn tree() -> impl Strategy<Value = Tree> {
        let mode = prop_oneof![
            Just("100644"),
            Just("100755"),
            Just("120000"),
            Just("160000"),
            Just("40000"),
            Just("100664")
        ];
        let name = vec(any::<u8>().prop_filter("no NUL or slash", |b| *b != 0 && *b != b'/'), 1..20);
        vec((mode, name, id()), 0..8).prop_map(|entries| Tree {
            entries: entries
                .into_iter()
                .map(|(mode, name, id)| TreeEntry { mode: mode.parse().unwrap(), name, id })
                .collect(),
        })
    }

    pub fn commit() -> impl Strategy<Value = Commit> {
        (id(), vec(id(), 0..4), line(), line(), headers(), vec(any::<u8>(), 0..100)).prop_map(
            |(tree, parents, author, committer, extra_headers, message)| Commit {
                tree,
                parents,
                author,
                committer,
                extra_headers,
                message,
            },
        )
    }

    pub fn tag() -> impl Strategy<Value = Tag> {
        let kind = prop_oneof![
            Just(ObjectKind::Blob),
            Just(ObjectKind::Tree),
            Just(ObjectKind::Commit),
            Just(ObjectKind::Tag)
        ];
        (id(), kind, line(), proptest::option::of(line()), headers(), vec(any::<u8>(), 0..100)).prop_map(
            |(object, target_kind, name, tagger, extra_headers, message)| Tag {
                object,
                target_kind,
                name,
                tagger,
                extra_headers,
                message,
            },
        )
    }

    pub fn object() -> impl Strategy<Value = Object> {
        prop_oneof![
            vec(any::<u8>(), 0..200).prop_map(Object::Blob),
            tree().prop_map(Object::Tree),
            commit().prop_map(Object::Commit),
            tag().prop_map(Object::Tag),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_inverts_encode(object in strategies::object()) {
            let bytes = object.encode();
            prop_assert_eq!(Object::decode(&bytes).unwrap(), object);
        }

        /// Canonical: any bytes that decode re-encode to themselves, so one value has
        /// exactly one encoding and ids are well defined.
        #[test]
        fn every_accepted_encoding_is_the_canonical_one(object in strategies::object(), flip in any::<(usize, u8)>()) {
            let mut bytes = object.encode();
            let at = flip.0 % bytes.len();
            bytes[at] ^= flip.1;
            if let Ok(decoded) = Object::decode(&bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }
    }

    #[test]
    fn header_length_must_match_and_be_canonical() {
        assert_eq!(Object::decode(b"blob 3\0abcd"), Err(DecodeError::Length { declared: 3, actual: 4 }));
        assert_eq!(Object::decode(b"blob 03\0abc"), Err(DecodeError::Header));
        assert_eq!(Object::decode(b"blob +3\0abc"), Err(DecodeError::Header));
        assert!(matches!(Object::decode(b"blub 3\0abc"), Err(DecodeError::UnknownKind(_))));
    }
}
