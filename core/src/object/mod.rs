//! The object model (blob, tree, commit, tag) and its canonical encoding.
//!
//! Every object encodes as `<kind> <decimal body length>\0<body>`, and its id is the
//! multihash of those bytes. The bodies follow git's layouts with pg ids in place of
//! SHA-1s, which is what lets a git history round-trip exactly; `docs/FORMAT.md`
//! specifies them with test vectors.

mod commit;
mod conflict;
mod headers;
mod signature;
mod tag;
mod tree;

pub use commit::Commit;
pub use conflict::{Conflict, Version};
pub use headers::Header;
pub use signature::Signature;
pub use tag::Tag;
pub use tree::{entries_beyond, EntriesBeyond, EntriesIn, EntryKind, EntryRef, Mode, Tree, TreeEntry};

use crate::id::{HashAlgorithm, IdError, ObjectId};
use std::fmt;
use std::str::FromStr;

/// The kinds of object: git's four, pg's conflict (a queue item), and the promise
/// graph's promises and revocations.
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
    /// A path no merge function settled: an item of the queue for people.
    Conflict,
    /// A signed promise (a capability), decoded by pg-promise.
    Promise,
    /// A signed revocation of a promise, decoded by pg-promise.
    Revocation,
}

impl ObjectKind {
    /// The kind's name as it appears in encodings and output.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Blob => "blob",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
            ObjectKind::Conflict => "conflict",
            ObjectKind::Promise => "promise",
            ObjectKind::Revocation => "revocation",
        }
    }
}

impl ObjectKind {
    /// Whether git has this kind (pg's own kinds cannot be exported to git).
    pub fn is_git(self) -> bool {
        matches!(self, ObjectKind::Blob | ObjectKind::Tree | ObjectKind::Commit | ObjectKind::Tag)
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
            "conflict" => Ok(ObjectKind::Conflict),
            "promise" => Ok(ObjectKind::Promise),
            "revocation" => Ok(ObjectKind::Revocation),
            other => Err(DecodeError::UnknownKind(other.to_owned())),
        }
    }
}

/// How ids are written inside an encoding.
///
/// pg writes the whole multihash (binary in trees, hex in commits and tags). git
/// writes the bare SHA-1 digest in the same places, so a git object is a pg object
/// whose ids were mapped to git's and encoded in [`IdForm::Git`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdForm {
    /// Multihashes: pg's canonical encoding.
    #[default]
    Pg,
    /// Bare SHA-1 digests: git's encoding.
    Git,
}

impl IdForm {
    /// An id as it is written in a tree entry.
    fn binary(self, id: &ObjectId) -> &[u8] {
        match self {
            IdForm::Pg => id.as_bytes(),
            IdForm::Git => id.digest(),
        }
    }

    /// An id as it is written in a commit or tag header.
    fn text(self, id: &ObjectId) -> String {
        match self {
            IdForm::Pg => id.to_hex(),
            IdForm::Git => crate::id::hex_encode(id.digest()),
        }
    }

    /// Reads a tree entry's id at the start of `bytes`; returns it and its length.
    fn read_binary(self, bytes: &[u8]) -> Result<(ObjectId, usize), DecodeError> {
        match self {
            IdForm::Pg => Ok(ObjectId::read_prefix(bytes)?),
            IdForm::Git => {
                let digest: &[u8; 20] = bytes
                    .get(..20)
                    .and_then(|d| d.try_into().ok())
                    .ok_or_else(|| DecodeError::Id(IdError::Malformed("a git id needs 20 bytes".into())))?;
                Ok((ObjectId::from_git_sha1(digest), 20))
            }
        }
    }

    /// How many bytes the id at the start of `bytes` takes, read from its header
    /// only (`None` when that takes more: a multihash code of two bytes or more).
    fn binary_len(self, bytes: &[u8]) -> Option<usize> {
        match self {
            IdForm::Pg => match bytes {
                [code, size, ..] if *code < 0x80 && *size < 0x80 => Some(2 + *size as usize),
                _ => None,
            },
            IdForm::Git => Some(20),
        }
    }

    /// Parses a header's id in its canonical (lowercase) text.
    fn parse_text(self, text: &str) -> Option<ObjectId> {
        let id = match self {
            IdForm::Pg => text.parse().ok()?,
            IdForm::Git => ObjectId::from_git_hex(text.as_bytes())?,
        };
        (self.text(&id) == text).then_some(id)
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
    /// A queue item (boxed: it is much larger than the other kinds).
    Conflict(Box<Conflict>),
    /// A promise: its signed envelope, whose meaning pg-promise knows. The store
    /// keeps it whole; the ids inside (its proofs) are not references, since a
    /// chain with a missing link is refused where it is verified.
    Promise(Vec<u8>),
    /// A revocation: its signed envelope, as for [`Object::Promise`].
    Revocation(Vec<u8>),
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
            Object::Conflict(_) => ObjectKind::Conflict,
            Object::Promise(_) => ObjectKind::Promise,
            Object::Revocation(_) => ObjectKind::Revocation,
        }
    }

    /// The body bytes (the encoding without its header).
    pub fn body(&self) -> Vec<u8> {
        self.body_in(IdForm::Pg)
    }

    /// The body bytes with ids written in `form`.
    pub fn body_in(&self, form: IdForm) -> Vec<u8> {
        match self {
            Object::Blob(data) | Object::Promise(data) | Object::Revocation(data) => data.clone(),
            Object::Tree(tree) => tree.encode_body(form),
            Object::Commit(commit) => commit.encode_body(form),
            Object::Tag(tag) => tag.encode_body(form),
            Object::Conflict(conflict) => conflict.encode_body(form),
        }
    }

    /// The canonical encoding: header and body.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_in(IdForm::Pg)
    }

    /// The encoding with ids written in `form`; with [`IdForm::Git`] (and git ids),
    /// git's own bytes for the object.
    pub fn encode_in(&self, form: IdForm) -> Vec<u8> {
        encode_with_header(self.kind(), &self.body_in(form))
    }

    /// Visits every id the object holds, as [`Object::map_ids`] would map them,
    /// without copying the object.
    pub fn for_each_id(&self, mut visit: impl FnMut(&ObjectId, EntryKindOrRole)) {
        match self {
            Object::Blob(_) | Object::Promise(_) | Object::Revocation(_) => {}
            Object::Tree(tree) => {
                for entry in &tree.entries {
                    visit(&entry.id, EntryKindOrRole::Entry(entry.mode.kind()));
                }
            }
            Object::Commit(commit) => {
                visit(&commit.tree, EntryKindOrRole::Entry(EntryKind::Tree));
                commit.parents.iter().for_each(|p| visit(p, EntryKindOrRole::Parent));
            }
            Object::Tag(tag) => visit(&tag.object, EntryKindOrRole::Tagged(tag.target_kind)),
            // One way through a conflict's ids: the mapping's.
            Object::Conflict(_) => {
                let _ = self.map_ids(|id, role| {
                    visit(id, role);
                    Ok::<_, ()>(*id)
                });
            }
        }
    }

    /// The ids that must be stored with this object: every id it holds but a
    /// gitlink's (which names a commit of another repository).
    pub fn references(&self) -> Vec<ObjectId> {
        let mut ids = Vec::new();
        self.for_each_id(|id, role| {
            if role != EntryKindOrRole::Entry(EntryKind::Gitlink) {
                ids.push(*id);
            }
        });
        ids
    }

    /// What [`Object::references`] gives for the object `bytes` encode, checking
    /// that they decode as [`Object::decode`] does, without building the object: a
    /// blob is not copied and a tree's entries are read in place.
    pub fn references_in(bytes: &[u8]) -> Result<Vec<ObjectId>, DecodeError> {
        let (kind, body) = split_header(bytes)?;
        match kind {
            ObjectKind::Blob | ObjectKind::Promise | ObjectKind::Revocation => Ok(Vec::new()),
            ObjectKind::Tree => {
                // No entry is shorter than this: room for all of them at once.
                let mut ids = Vec::with_capacity(body.len() / SHORTEST_ENTRY + 1);
                for entry in EntriesIn::new(body, IdForm::Pg) {
                    let entry = entry?;
                    if entry.mode.kind() != EntryKind::Gitlink {
                        ids.push(entry.id);
                    }
                }
                Ok(ids)
            }
            _ => Ok(Self::decode_body(kind, body, IdForm::Pg)?.references()),
        }
    }

    /// [`Object::references_in`], less what `base` holds too: `base` encodes an
    /// object whose references are all stored (the one `bytes` came as a patch
    /// of), so for a tree, a directory's next version, only its new and changed
    /// entries need a look. Checks that `bytes` decode all the same.
    pub fn references_beyond(bytes: &[u8], base: &[u8]) -> Result<Vec<ObjectId>, DecodeError> {
        let (kind, body) = split_header(bytes)?;
        match (kind, split_header(base)) {
            (ObjectKind::Tree, Ok((ObjectKind::Tree, base))) => {
                let mut ids = Vec::new();
                for entry in entries_beyond(body, base, IdForm::Pg) {
                    let entry = entry?;
                    if entry.mode.kind() != EntryKind::Gitlink {
                        ids.push(entry.id);
                    }
                }
                Ok(ids)
            }
            _ => Self::references_in(bytes),
        }
    }

    /// The same object with every id it holds replaced by `map(id)` (tree entries,
    /// a commit's tree and parents, a tag's object).
    pub fn map_ids<E>(
        &self,
        mut map: impl FnMut(&ObjectId, EntryKindOrRole) -> Result<ObjectId, E>,
    ) -> Result<Object, E> {
        Ok(match self {
            Object::Blob(_) | Object::Promise(_) | Object::Revocation(_) => self.clone(),
            Object::Tree(tree) => Object::Tree(Tree {
                entries: tree
                    .entries
                    .iter()
                    .map(|e| {
                        Ok(TreeEntry { id: map(&e.id, EntryKindOrRole::Entry(e.mode.kind()))?, ..e.clone() })
                    })
                    .collect::<Result<_, E>>()?,
            }),
            Object::Commit(commit) => Object::Commit(Commit {
                tree: map(&commit.tree, EntryKindOrRole::Entry(EntryKind::Tree))?,
                parents: commit
                    .parents
                    .iter()
                    .map(|p| map(p, EntryKindOrRole::Parent))
                    .collect::<Result<_, E>>()?,
                ..commit.clone()
            }),
            Object::Tag(tag) => Object::Tag(Tag {
                object: map(&tag.object, EntryKindOrRole::Tagged(tag.target_kind))?,
                ..tag.clone()
            }),
            Object::Conflict(conflict) => {
                let version = |v: &Option<Version>, map: &mut dyn FnMut(&ObjectId, EntryKindOrRole) -> Result<ObjectId, E>| {
                    v.map(|v| Ok(Version { id: map(&v.id, EntryKindOrRole::Entry(v.mode.kind()))?, ..v })).transpose()
                };
                let blob = EntryKindOrRole::Entry(EntryKind::File);
                Object::Conflict(Box::new(Conflict {
                    ours_commit: map(&conflict.ours_commit, EntryKindOrRole::Parent)?,
                    theirs_commit: map(&conflict.theirs_commit, EntryKindOrRole::Parent)?,
                    base: version(&conflict.base, &mut map)?,
                    ours: version(&conflict.ours, &mut map)?,
                    theirs: version(&conflict.theirs, &mut map)?,
                    rendering: conflict.rendering.map(|id| map(&id, blob)).transpose()?,
                    ..(**conflict).clone()
                }))
            }
        })
    }

    /// The id of this object under `algorithm`.
    pub fn id(&self, algorithm: HashAlgorithm) -> ObjectId {
        algorithm.hash(&self.encode())
    }

    /// Decodes a full encoding (header and body).
    pub fn decode(bytes: &[u8]) -> Result<Object, DecodeError> {
        Self::decode_in(bytes, IdForm::Pg)
    }

    /// Decodes a full encoding whose ids are written in `form`.
    pub fn decode_in(bytes: &[u8], form: IdForm) -> Result<Object, DecodeError> {
        let (kind, body) = split_header(bytes)?;
        Self::decode_body(kind, body, form)
    }

    /// Decodes a body whose kind is known.
    pub fn decode_body(kind: ObjectKind, body: &[u8], form: IdForm) -> Result<Object, DecodeError> {
        Ok(match kind {
            ObjectKind::Blob => Object::Blob(body.to_vec()),
            ObjectKind::Tree => Object::Tree(Tree::decode_body(body, form)?),
            ObjectKind::Commit => Object::Commit(Commit::decode_body(body, form)?),
            ObjectKind::Tag => Object::Tag(Tag::decode_body(body, form)?),
            ObjectKind::Conflict => Object::Conflict(Box::new(Conflict::decode_body(body, form)?)),
            ObjectKind::Promise => Object::Promise(body.to_vec()),
            ObjectKind::Revocation => Object::Revocation(body.to_vec()),
        })
    }
}

/// The fewest bytes a tree entry takes: a five-digit mode, a space, a one-byte
/// name, its NUL, and the shortest multihash pg knows (git's SHA-1: two bytes of
/// header and twenty of digest).
const SHORTEST_ENTRY: usize = 5 + 1 + 1 + 1 + 22;

/// What an id in an object points at, as [`Object::map_ids`] tells its mapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKindOrRole {
    /// A tree entry of this kind, or a commit's tree.
    Entry(EntryKind),
    /// A commit's parent.
    Parent,
    /// The object a tag points at, of this kind.
    Tagged(ObjectKind),
}

/// `<kind> <len>\0`: the header every encoding starts with.
pub fn header(kind: ObjectKind, body_len: usize) -> Vec<u8> {
    format!("{} {}\0", kind.name(), body_len).into_bytes()
}

/// Header and body in one buffer.
pub fn encode_with_header(kind: ObjectKind, body: &[u8]) -> Vec<u8> {
    let header = header(kind, body.len());
    // Exactly sized: encodings wait in write batches by the thousand, and growing
    // the header's buffer by doubling left up to half of each unused.
    let mut out = Vec::with_capacity(header.len() + body.len());
    out.extend_from_slice(&header);
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

    pub fn conflict() -> impl Strategy<Value = Conflict> {
        fn version() -> impl Strategy<Value = Option<Version>> {
            let mode = prop_oneof![Just(Mode::FILE), Just(Mode::EXECUTABLE), Just(Mode::SYMLINK)];
            proptest::option::of((mode, id()).prop_map(|(mode, id)| Version { mode, id }))
        }
        let kind = prop_oneof![Just("content"), Just("modify-delete"), Just("rename-rename")];
        let sides = (version(), version(), version());
        let path = vec(any::<u8>(), 1..40);
        (id(), id(), kind, sides, vec(id(), 0..3), proptest::option::of(id()), path).prop_map(
            |(ours_commit, theirs_commit, kind, (base, ours, theirs), tried, rendering, path)| Conflict {
                ours_commit,
                theirs_commit,
                kind: kind.into(),
                base,
                ours,
                theirs,
                tried,
                rendering,
                path,
            },
        )
    }

    pub fn object() -> impl Strategy<Value = Object> {
        prop_oneof![
            vec(any::<u8>(), 0..200).prop_map(Object::Blob),
            tree().prop_map(Object::Tree),
            commit().prop_map(Object::Commit),
            tag().prop_map(Object::Tag),
            conflict().prop_map(|c| Object::Conflict(Box::new(c))),
            vec(any::<u8>(), 0..200).prop_map(Object::Promise),
            vec(any::<u8>(), 0..200).prop_map(Object::Revocation),
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

        /// With git ids, the git form round-trips too.
        #[test]
        fn git_form_round_trips(object in strategies::object()) {
            let git_object = object
                .map_ids(|id, _| Ok::<_, ()>(ObjectId::from_digest(HashAlgorithm::Sha1, &id.digest()[..20])))
                .unwrap();
            let bytes = git_object.encode_in(IdForm::Git);
            prop_assert_eq!(Object::decode_in(&bytes, IdForm::Git).unwrap(), git_object);
        }

        /// Reading references in place agrees with decoding, on damaged bytes too.
        #[test]
        fn references_in_agrees_with_decode(object in strategies::object(), flip in any::<(usize, u8)>()) {
            let mut bytes = object.encode();
            prop_assert_eq!(Object::references_in(&bytes).unwrap(), object.references());
            let at = flip.0 % bytes.len();
            bytes[at] ^= flip.1;
            let decoded = Object::decode(&bytes).map(|object| object.references());
            prop_assert_eq!(Object::references_in(&bytes), decoded);
        }

        /// Beyond a base, a tree's references are those the base lacks: no fewer
        /// (whatever the order of either), and, both in git order, exactly the
        /// entries the base does not hold as they are.
        #[test]
        fn references_beyond_a_base_are_what_it_lacks(
            mut base in strategies::tree(),
            kept in proptest::collection::vec(any::<bool>(), 1..8),
            mut next in strategies::tree(),
            sort in any::<bool>(),
            flip in any::<(usize, u8)>(),
        ) {
            let kept = base.entries.iter().zip(kept.iter().cycle()).filter(|(_, keep)| **keep);
            next.entries.extend(kept.map(|(entry, _)| entry.clone()).collect::<Vec<_>>());
            let unique_names = |tree: &Tree| {
                tree.entries.iter().map(|e| &e.name).collect::<std::collections::HashSet<_>>().len() == tree.entries.len()
            };
            let exact = sort && unique_names(&base) && unique_names(&next);
            if sort {
                base.sort();
                next.sort();
            }
            let (base, next) = (Object::Tree(base), Object::Tree(next));
            let (all, base_refs) = (next.references(), base.references());
            let beyond = Object::references_beyond(&next.encode(), &base.encode()).unwrap();
            prop_assert!(beyond.iter().all(|id| all.contains(id)));
            prop_assert!(all.iter().all(|id| beyond.contains(id) || base_refs.contains(id)));
            let mut damaged = next.encode();
            let at = flip.0 % damaged.len();
            damaged[at] ^= flip.1;
            let beyond_damaged = Object::references_beyond(&damaged, &base.encode());
            prop_assert_eq!(beyond_damaged.is_err(), Object::decode(&damaged).is_err());
            if let (true, Object::Tree(base), Object::Tree(next)) = (exact, &base, &next) {
                let lacked = next.entries.iter().filter(|e| !base.entries.contains(e));
                let lacked: Vec<ObjectId> =
                    lacked.filter(|e| e.mode.kind() != EntryKind::Gitlink).map(|e| e.id).collect();
                prop_assert_eq!(beyond, lacked);
            }
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

    /// Ids computed by git itself (`git hash-object`, `git mktree`, `git commit-tree`).
    #[test]
    fn git_form_gives_git_ids() {
        let git_id = |object: &Object| HashAlgorithm::Sha1.hash(&object.encode_in(IdForm::Git));
        let blob = Object::Blob(b"hello\n".to_vec());
        assert_eq!(
            git_id(&blob),
            ObjectId::from_git_hex(b"ce013625030ba8dba906f756967f9e9ca394464a").unwrap()
        );
        let tree = Object::Tree(Tree {
            entries: vec![TreeEntry { mode: Mode::FILE, name: b"hello.txt".to_vec(), id: git_id(&blob) }],
        });
        assert_eq!(
            git_id(&tree),
            ObjectId::from_git_hex(b"aaa96ced2d9a1c8e72c56b253a0e2fe78393feb7").unwrap()
        );
        let commit = Object::Commit(Commit {
            tree: git_id(&tree),
            parents: Vec::new(),
            author: b"A <a@x> 1700000000 +0100".to_vec(),
            committer: b"A <a@x> 1700000000 +0100".to_vec(),
            extra_headers: Vec::new(),
            message: b"first\n".to_vec(),
        });
        assert_eq!(
            git_id(&commit),
            ObjectId::from_git_hex(b"56dac2f7fdf075c0b0280d7165816cf1250b48de").unwrap()
        );
        assert_eq!(Object::decode_in(&commit.encode_in(IdForm::Git), IdForm::Git).unwrap(), commit);
    }

    #[test]
    fn header_length_must_match_and_be_canonical() {
        assert_eq!(Object::decode(b"blob 3\0abcd"), Err(DecodeError::Length { declared: 3, actual: 4 }));
        assert_eq!(Object::decode(b"blob 03\0abc"), Err(DecodeError::Header));
        assert_eq!(Object::decode(b"blob +3\0abc"), Err(DecodeError::Header));
        assert!(matches!(Object::decode(b"blub 3\0abc"), Err(DecodeError::UnknownKind(_))));
    }
}
