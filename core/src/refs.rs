//! Ref names and values.

use crate::ObjectId;
use std::fmt;

/// The ref that names the checked-out branch (or commit, when detached).
pub const HEAD: &str = "HEAD";
/// Where branches live.
pub const BRANCH_PREFIX: &str = "refs/heads/";
/// Where tags live.
pub const TAG_PREFIX: &str = "refs/tags/";

/// What a ref holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RefTarget {
    /// An object id.
    Object(ObjectId),
    /// Another ref's name, as `HEAD` names the current branch.
    Symbolic(String),
}

impl RefTarget {
    /// Stored form: the id's text, or `ref: <name>` as git writes symbolic refs.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            RefTarget::Object(id) => id.to_hex().into_bytes(),
            RefTarget::Symbolic(name) => format!("ref: {name}").into_bytes(),
        }
    }

    /// Parses the stored form.
    pub fn decode(bytes: &[u8]) -> Result<RefTarget, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
        match text.strip_prefix("ref: ") {
            Some(name) => Ok(RefTarget::Symbolic(name.to_owned())),
            None => text.parse().map(RefTarget::Object).map_err(|e| e.to_string()),
        }
    }

    /// The id, when it holds one directly.
    pub fn as_object(&self) -> Option<&ObjectId> {
        match self {
            RefTarget::Object(id) => Some(id),
            RefTarget::Symbolic(_) => None,
        }
    }
}

impl fmt::Display for RefTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefTarget::Object(id) => write!(f, "{id}"),
            RefTarget::Symbolic(name) => write!(f, "-> {name}"),
        }
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a name cannot be a branch or tag.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{name}' is not a valid {what} name: {why}")]
pub struct InvalidName {
    /// The name given.
    pub name: String,
    /// "branch" or "tag".
    pub what: &'static str,
    /// The rule it breaks.
    pub why: &'static str,
}

/// Checks a short branch or tag name against git's `check-ref-format` rules.
pub fn check_name(name: &str, what: &'static str) -> Result<(), InvalidName> {
    let fail = |why| Err(InvalidName { name: name.to_owned(), what, why });
    if name.is_empty() {
        return fail("it is empty");
    }
    if name == "@" || name == HEAD {
        return fail("it is reserved");
    }
    if name.bytes().any(|b| b.is_ascii_control() || b" ~^:?*[\\".contains(&b)) {
        return fail("it contains a space, a control character or one of ~^:?*[\\");
    }
    if name.contains("..") || name.contains("@{") || name.contains("//") {
        return fail("it contains '..', '@{' or '//'");
    }
    if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') || name.starts_with('-') {
        return fail("it starts with '/' or '-', or ends with '/' or '.'");
    }
    if name.split('/').any(|part| part.starts_with('.') || part.ends_with(".lock")) {
        return fail("a component starts with '.' or ends with '.lock'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_values_round_trip() {
        let id = crate::HashAlgorithm::Blake3.hash(b"x");
        for target in [RefTarget::Object(id), RefTarget::Symbolic("refs/heads/main".into())] {
            assert_eq!(RefTarget::decode(&target.encode()).unwrap(), target);
        }
        assert!(RefTarget::decode(b"garbage").is_err());
    }

    #[test]
    fn names_follow_check_ref_format() {
        for good in ["main", "feature/x", "v1.0", "a-b_c"] {
            assert!(check_name(good, "branch").is_ok(), "{good}");
        }
        for bad in ["", "a..b", "a b", "x.lock", "-x", "a/", ".hidden", "a/.b", "HEAD", "a~1", "a:b"] {
            assert!(check_name(bad, "branch").is_err(), "{bad}");
        }
    }
}
