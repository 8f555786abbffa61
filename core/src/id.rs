//! Object ids: multihashes of an object's canonical encoding.
//!
//! An id names its hash function, so one repository can hold objects hashed with
//! different functions and a reader never has to guess.
//!
//! # Deviation from git
//! git ids are bare SHA-1 digests printed as 40 hex digits. pg ids are multihashes
//! (`<code varint><length varint><digest>`) and print as the lowercase hex of those
//! bytes, so a BLAKE3-256 id prints as `1e20` followed by 64 hex digits and a
//! SHA2-256 id as `1220` followed by 64. A prefix of that text names an object when
//! it is unique.

use std::fmt;
use std::str::FromStr;

/// The hash functions pg can name objects with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum HashAlgorithm {
    /// BLAKE3 with a 256-bit digest; multihash code `0x1e`. The default.
    #[default]
    Blake3,
    /// SHA2-256; multihash code `0x12`.
    Sha2_256,
    /// SHA-1; multihash code `0x11`. Only to name git's objects (git ids in the
    /// git-id map, submodule commits in gitlinks); never a pg repository's hash.
    Sha1,
}

impl HashAlgorithm {
    /// The algorithms a repository can name its objects with, as `pg init --hash`
    /// lists them.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Blake3, HashAlgorithm::Sha2_256];

    /// Every algorithm an id may carry.
    const KNOWN: [HashAlgorithm; 3] = [HashAlgorithm::Blake3, HashAlgorithm::Sha2_256, HashAlgorithm::Sha1];

    /// The multihash table code of this algorithm.
    pub fn code(self) -> u64 {
        match self {
            HashAlgorithm::Blake3 => 0x1e,
            HashAlgorithm::Sha2_256 => 0x12,
            HashAlgorithm::Sha1 => 0x11,
        }
    }

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Blake3 => "blake3",
            HashAlgorithm::Sha2_256 => "sha2-256",
            HashAlgorithm::Sha1 => "sha1",
        }
    }

    /// The digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Blake3 | HashAlgorithm::Sha2_256 => 32,
            HashAlgorithm::Sha1 => 20,
        }
    }

    fn from_code(code: u64) -> Option<Self> {
        Self::KNOWN.into_iter().find(|a| a.code() == code)
    }

    /// Starts an incremental hash, for content that arrives in pieces.
    pub fn hasher(self) -> Hasher {
        match self {
            HashAlgorithm::Blake3 => Hasher::Blake3(Box::default()),
            HashAlgorithm::Sha2_256 => Hasher::Sha2_256(Box::default()),
            HashAlgorithm::Sha1 => Hasher::Sha1(Box::default()),
        }
    }

    /// Hashes `bytes` in one go.
    pub fn hash(self, bytes: &[u8]) -> ObjectId {
        let mut hasher = self.hasher();
        hasher.update(bytes);
        hasher.finish()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgorithm {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::ALL.into_iter().find(|a| a.name() == s).ok_or_else(|| IdError::UnknownAlgorithm(s.to_owned()))
    }
}

/// An incremental hasher for one of the [`HashAlgorithm`]s.
pub enum Hasher {
    /// BLAKE3 state.
    Blake3(Box<blake3::Hasher>),
    /// SHA2-256 state.
    Sha2_256(Box<sha2::Sha256>),
    /// SHA-1 state.
    Sha1(Box<sha1::Sha1>),
}

impl Hasher {
    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
            Hasher::Sha2_256(h) => sha2::Digest::update(h.as_mut(), bytes),
            Hasher::Sha1(h) => sha1::Digest::update(h.as_mut(), bytes),
        }
    }

    /// Ends the hash and returns the id.
    pub fn finish(self) -> ObjectId {
        match self {
            Hasher::Blake3(h) => ObjectId::from_digest(HashAlgorithm::Blake3, h.finalize().as_bytes()),
            Hasher::Sha2_256(h) => {
                ObjectId::from_digest(HashAlgorithm::Sha2_256, &sha2::Digest::finalize(*h))
            }
            Hasher::Sha1(h) => ObjectId::from_digest(HashAlgorithm::Sha1, &sha1::Digest::finalize(*h)),
        }
    }
}

/// The longest multihash pg accepts, in bytes: a code of up to two varint bytes,
/// a length byte and the longest digest of a hash function pg knows (32 bytes).
/// Ids are keys of every table a walk or a transfer fills: kept this small, twice
/// as many fit in a cache line as with room for 64-byte digests.
const MAX_ID_LEN: usize = 2 + 1 + 32;

/// The id of an object: a multihash of its canonical encoding.
///
/// Ordering is the byte order of the multihash, which is also the order of the
/// object store's keys.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    bytes: [u8; MAX_ID_LEN],
    len: u8,
}

impl std::hash::Hash for ObjectId {
    /// The last eight bytes of the multihash: a digest's bytes are already as
    /// spread as a hash can make them, and hash tables of ids (a clone fills
    /// several with every id of a history) need not hash all of them again.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let bytes = self.as_bytes();
        let mut tail = [0u8; 8];
        let take = bytes.len().min(8);
        tail[8 - take..].copy_from_slice(&bytes[bytes.len() - take..]);
        state.write_u64(u64::from_le_bytes(tail));
    }
}

/// Why some bytes or text are not an [`ObjectId`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    /// The bytes are not a well-formed multihash.
    #[error("not a multihash: {0}")]
    Malformed(String),
    /// The multihash names a hash function pg does not know.
    #[error("unsupported hash function code 0x{0:x} (pg knows blake3, sha2-256 and git's sha1)")]
    UnsupportedCode(u64),
    /// The digest length does not fit the hash function.
    #[error("a {algorithm} digest is {} bytes, not {len}", .algorithm.digest_len())]
    WrongLength {
        /// The algorithm the code names.
        algorithm: HashAlgorithm,
        /// The length found.
        len: usize,
    },
    /// The text is not lowercase hex of even length.
    #[error("'{0}' is not a hex object id")]
    NotHex(String),
    /// An unknown algorithm name.
    #[error("unknown hash function '{0}' (choose blake3 or sha2-256)")]
    UnknownAlgorithm(String),
}

impl ObjectId {
    /// Wraps a digest made by `algorithm`.
    pub fn from_digest(algorithm: HashAlgorithm, digest: &[u8]) -> Self {
        let mh = multihash::Multihash::<64>::wrap(algorithm.code(), digest)
            .expect("pg's digests are at most 32 bytes");
        Self::from_multihash(&mh)
    }

    fn from_multihash(mh: &multihash::Multihash<64>) -> Self {
        let mut bytes = [0u8; MAX_ID_LEN];
        let written =
            mh.write(&mut bytes[..]).expect("the multihash of a hash function pg knows fits MAX_ID_LEN");
        ObjectId { bytes, len: written as u8 }
    }

    /// Parses the binary multihash form, as keys in the store and ids in objects.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        let (id, used) = Self::read_prefix(bytes)?;
        if used != bytes.len() {
            return Err(IdError::Malformed(format!("{} trailing bytes", bytes.len() - used)));
        }
        Ok(id)
    }

    /// Reads one id from the start of `bytes`; returns it and how many bytes it used.
    /// Multihashes delimit themselves, which is what lets trees store them raw.
    pub fn read_prefix(bytes: &[u8]) -> Result<(Self, usize), IdError> {
        // Fast path for the two shapes pg writes: a one-byte code and length 32.
        if let [code @ (0x1e | 0x12), 0x20, digest @ ..] = bytes {
            if digest.len() >= 32 {
                let mut id = ObjectId { bytes: [0u8; MAX_ID_LEN], len: 34 };
                id.bytes[0] = *code;
                id.bytes[1] = 0x20;
                id.bytes[2..34].copy_from_slice(&digest[..32]);
                return Ok((id, 34));
            }
        }
        let mut reader = bytes;
        let mh =
            multihash::Multihash::<64>::read(&mut reader).map_err(|e| IdError::Malformed(e.to_string()))?;
        let algorithm = HashAlgorithm::from_code(mh.code()).ok_or(IdError::UnsupportedCode(mh.code()))?;
        if mh.size() as usize != algorithm.digest_len() {
            return Err(IdError::WrongLength { algorithm, len: mh.size() as usize });
        }
        Ok((Self::from_multihash(&mh), bytes.len() - reader.len()))
    }

    /// The binary multihash.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The hash function that made this id.
    pub fn algorithm(&self) -> HashAlgorithm {
        // The constructors accept only known codes, both of which are one-byte varints.
        HashAlgorithm::from_code(u64::from(self.bytes[0])).expect("ids hold only known codes")
    }

    /// An id for a git object from its 20-byte SHA-1.
    pub fn from_git_sha1(digest: &[u8; 20]) -> Self {
        Self::from_digest(HashAlgorithm::Sha1, digest)
    }

    /// Parses git's 40-hex-digit text form of a SHA-1 id.
    pub fn from_git_hex(text: &[u8]) -> Option<Self> {
        let bytes = hex_decode(std::str::from_utf8(text).ok()?)?;
        let digest: [u8; 20] = bytes.try_into().ok()?;
        Some(Self::from_git_sha1(&digest))
    }

    /// The digest without the multihash header.
    pub fn digest(&self) -> &[u8] {
        &self.as_bytes()[2..]
    }

    /// The canonical text form: lowercase hex of the multihash bytes.
    pub fn to_hex(&self) -> String {
        hex_encode(self.as_bytes())
    }

    /// The first `len` hex digits of the digest, for display. The multihash
    /// header is left out: every id of a repository starts with the same one.
    pub fn abbrev(&self, len: usize) -> String {
        let mut s = hex_encode(self.digest());
        s.truncate(len);
        s
    }
}

/// The fewest digest digits an abbreviation shows, as git's default.
pub const ABBREV_MIN: usize = 7;

/// The digits shown where no store can tell how many are needed to be unique
/// (in messages of libraries that have none at hand).
pub const ABBREV_LEN: usize = 12;

impl FromStr for ObjectId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bytes = hex_decode(s).ok_or_else(|| IdError::NotHex(s.to_owned()))?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({})", self.to_hex())
    }
}

/// The start of an id as a user types it to name an object: an abbreviation
/// (digest digits, as pg prints them) or the start of the full text form
/// (multihash header included, as older pgs printed them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdPrefix {
    text: String,
}

impl IdPrefix {
    /// The fewest digits accepted, as git accepts.
    pub const MIN_LEN: usize = 4;

    /// Accepts lowercase or uppercase hex of at least [`IdPrefix::MIN_LEN`] characters.
    pub fn new(text: &str) -> Option<Self> {
        let ok = text.len() >= Self::MIN_LEN
            && text.len() <= MAX_ID_LEN * 2
            && text.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| IdPrefix { text: text.to_ascii_lowercase() })
    }

    /// The starts of full text forms the prefix can mean for ids made by
    /// `algorithm`: the abbreviation with that header in front and, when the
    /// prefix itself begins with the header and names at least one digit
    /// after it, the prefix as it is.
    pub fn full_forms(&self, algorithm: HashAlgorithm) -> Vec<String> {
        let header = hex_encode(&algorithm.hash(b"").as_bytes()[..2]);
        let mut forms = vec![format!("{header}{}", self.text)];
        if self.text.len() > header.len() + 1 && self.text.starts_with(&header) {
            forms.push(self.text.clone());
        }
        forms
    }

    /// The prefix as typed (lowercased).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The whole bytes a start of a full text form fixes (an odd last digit is left
/// to comparing text).
pub fn leading_bytes(full_form: &str) -> Vec<u8> {
    let even = full_form.len() & !1;
    hex_decode(&full_form[..even]).unwrap_or_default()
}

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Bytes from hex of even length, either case; `None` for anything else.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blake3_id_of_empty_input_matches_reference_digest() {
        let id = HashAlgorithm::Blake3.hash(b"");
        assert_eq!(id.to_hex(), "1e20af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assert_eq!(id.algorithm(), HashAlgorithm::Blake3);
    }

    #[test]
    fn sha256_id_of_abc_matches_fips_vector() {
        let id = HashAlgorithm::Sha2_256.hash(b"abc");
        assert_eq!(id.to_hex(), "1220ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn git_sha1_ids_round_trip_as_multihashes() {
        let git = HashAlgorithm::Sha1.hash(b"blob 0\0");
        assert_eq!(crate::id::hex_encode(git.digest()), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(ObjectId::from_git_hex(b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"), Some(git));
        assert_eq!(ObjectId::from_bytes(git.as_bytes()), Ok(git));
        assert!("sha1".parse::<HashAlgorithm>().is_err(), "not a repository hash");
    }

    #[test]
    fn rejects_unknown_codes_and_bad_lengths() {
        assert_eq!(ObjectId::from_str("1302abcd"), Err(IdError::UnsupportedCode(0x13)));
        assert!(matches!(ObjectId::from_str("1e02abcd"), Err(IdError::WrongLength { .. })));
        assert!(matches!(ObjectId::from_str("xyz"), Err(IdError::NotHex(_))));
    }

    #[test]
    fn prefixes_read_as_abbreviations_or_full_forms() {
        assert!(IdPrefix::new("af1").is_none());
        assert!(IdPrefix::new("af1g").is_none());
        let empty = HashAlgorithm::Blake3.hash(b"");
        assert_eq!(empty.abbrev(7), "af1349b");
        let abbrev = IdPrefix::new("AF1349B").unwrap();
        assert_eq!(abbrev.full_forms(HashAlgorithm::Blake3), vec!["1e20af1349b"]);
        let full = IdPrefix::new("1e20af1").unwrap();
        assert_eq!(full.full_forms(HashAlgorithm::Blake3), vec!["1e201e20af1", "1e20af1"]);
        assert_eq!(full.full_forms(HashAlgorithm::Sha2_256), vec!["12201e20af1"]);
        assert_eq!(leading_bytes("1e20af1"), vec![0x1e, 0x20, 0xaf]);
    }

    proptest! {
        #[test]
        fn text_and_binary_forms_round_trip(data in proptest::collection::vec(any::<u8>(), 0..256), sha in any::<bool>()) {
            let alg = if sha { HashAlgorithm::Sha2_256 } else { HashAlgorithm::Blake3 };
            let id = alg.hash(&data);
            prop_assert_eq!(ObjectId::from_str(&id.to_hex()).unwrap(), id);
            prop_assert_eq!(ObjectId::from_bytes(id.as_bytes()).unwrap(), id);
            let mut with_tail = id.as_bytes().to_vec();
            with_tail.extend_from_slice(&data);
            prop_assert_eq!(ObjectId::read_prefix(&with_tail).unwrap(), (id, id.as_bytes().len()));
        }
    }
}
