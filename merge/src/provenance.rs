//! Provenance: a merge commit records, per path both sides changed, what settled
//! it: a merge function (by id) or a person resolving a queue item (by the item's
//! id). Anyone can re-run the function on the same inputs and check the result.
//!
//! It is kept in the commit's `merge-provenance` header, one line per path:
//! `settled <function id> <path>` or `resolved <queue item id> <path>`, paths
//! written as git quotes them when they hold a newline, a quote or a backslash
//! (see docs/FORMAT.md).

use crate::function::FunctionId;
use pg_core::object::Header;
use pg_core::ObjectId;

/// The commit header's key.
pub const HEADER: &str = "merge-provenance";

/// What settled one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A merge function.
    Settled {
        /// The function's id.
        function: FunctionId,
        /// The path.
        path: Vec<u8>,
    },
    /// A person, resolving this queue item.
    Resolved {
        /// The queue item (a conflict object).
        item: ObjectId,
        /// The path.
        path: Vec<u8>,
    },
}

/// A malformed provenance header.
#[derive(Debug, thiserror::Error)]
#[error("malformed merge-provenance line {line}: {reason}")]
pub struct Error {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// The header for `entries` (`None` when there are none).
pub fn header(entries: &[Entry]) -> Option<Header> {
    if entries.is_empty() {
        return None;
    }
    let lines: Vec<Vec<u8>> = entries
        .iter()
        .map(|entry| {
            let (word, id, path) = match entry {
                Entry::Settled { function, path } => ("settled", function, path),
                Entry::Resolved { item, path } => ("resolved", item, path),
            };
            [format!("{word} {id} ").into_bytes(), quote(path)].concat()
        })
        .collect();
    Some(Header { key: HEADER.as_bytes().to_vec(), value: lines.join(&b'\n') })
}

/// The entries of a commit's headers (none when it has no provenance header).
pub fn read(headers: &[Header]) -> Result<Vec<Entry>, Error> {
    let Some(header) = headers.iter().find(|h| h.key == HEADER.as_bytes()) else { return Ok(Vec::new()) };
    header
        .value
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| {
            let fail = |reason: &str| Error { line: i + 1, reason: reason.into() };
            let mut parts = line.splitn(3, |&b| b == b' ');
            let (Some(word), Some(id), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(fail("expected '<settled|resolved> <id> <path>'"));
            };
            let id: ObjectId =
                std::str::from_utf8(id).ok().and_then(|t| t.parse().ok()).ok_or_else(|| fail("bad id"))?;
            let path = unquote(path).ok_or_else(|| fail("bad quoted path"))?;
            match word {
                b"settled" => Ok(Entry::Settled { function: id, path }),
                b"resolved" => Ok(Entry::Resolved { item: id, path }),
                _ => Err(fail("expected 'settled' or 'resolved'")),
            }
        })
        .collect()
}

fn needs_quotes(path: &[u8]) -> bool {
    path.first() == Some(&b'"') || path.iter().any(|&b| b == b'\n' || b == b'\\')
}

fn quote(path: &[u8]) -> Vec<u8> {
    if !needs_quotes(path) {
        return path.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in path {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            _ => out.push(b),
        }
    }
    out.push(b'"');
    out
}

fn unquote(text: &[u8]) -> Option<Vec<u8>> {
    let Some(inner) = text.strip_prefix(b"\"") else {
        return (!needs_quotes(text)).then(|| text.to_vec());
    };
    let inner = inner.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => out.push(match bytes.next()? {
                b'n' => b'\n',
                &other @ (b'"' | b'\\') => other,
                _ => return None,
            }),
            b'"' => return None,
            _ => out.push(b),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_core::HashAlgorithm;
    use proptest::prelude::*;

    fn entry(settled: bool, seed: u8, path: Vec<u8>) -> Entry {
        let id = HashAlgorithm::Blake3.hash(&[seed]);
        if settled {
            Entry::Settled { function: id, path }
        } else {
            Entry::Resolved { item: id, path }
        }
    }

    proptest! {
        #[test]
        fn headers_round_trip(raw in prop::collection::vec((any::<bool>(), any::<u8>(), prop::collection::vec(any::<u8>(), 1..20)), 1..5)) {
            let entries: Vec<Entry> = raw.into_iter().map(|(s, seed, path)| entry(s, seed, path)).collect();
            let header = header(&entries).unwrap();
            prop_assert_eq!(read(&[header]).unwrap(), entries);
        }
    }

    #[test]
    fn plain_paths_are_written_as_they_are() {
        let header =
            header(&[entry(true, 1, b"src/a b.rs".to_vec()), entry(false, 2, b"x\n\"y".to_vec())]).unwrap();
        let text = String::from_utf8(header.value).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("settled 1e20") && lines[0].ends_with(" src/a b.rs"));
        assert!(lines[1].starts_with("resolved 1e20") && lines[1].ends_with(r#" "x\n\"y""#));
        assert!(read(&[Header::new(HEADER, "settled nothex path")]).is_err());
    }
}
