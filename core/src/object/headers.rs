//! The header block shared by commits and tags: `key value` lines, a blank line,
//! then the message. A value's inner newlines continue on lines that start with a
//! space, as git writes `gpgsig` and `mergetag`.

use super::{DecodeError, ObjectKind};

/// One `key value` header line of a commit or tag, kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The key: non-empty, no space, no newline.
    pub key: Vec<u8>,
    /// The value; may hold newlines (written as continuation lines).
    pub value: Vec<u8>,
}

impl Header {
    /// A header from text.
    pub fn new(key: &str, value: impl Into<Vec<u8>>) -> Self {
        Header { key: key.as_bytes().to_vec(), value: value.into() }
    }
}

/// Writes `headers`, the blank line and `message`.
pub(super) fn encode(headers: &[Header], message: &[u8], out: &mut Vec<u8>) {
    for header in headers {
        out.extend_from_slice(&header.key);
        out.push(b' ');
        for &b in &header.value {
            out.push(b);
            if b == b'\n' {
                out.push(b' ');
            }
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(message);
}

/// Splits a body into its headers (in order) and message.
pub(super) fn decode(kind: ObjectKind, body: &[u8]) -> Result<(Vec<Header>, &[u8]), DecodeError> {
    let mut headers: Vec<Header> = Vec::new();
    let mut rest = body;
    loop {
        let eol = rest.iter().position(|&b| b == b'\n').ok_or_else(|| DecodeError::Field {
            kind,
            what: "headers do not end with a blank line".into(),
        })?;
        let line = &rest[..eol];
        rest = &rest[eol + 1..];
        if line.is_empty() {
            return Ok((headers, rest));
        }
        if let Some(continuation) = line.strip_prefix(b" ") {
            let last = headers.last_mut().ok_or_else(|| DecodeError::Field {
                kind,
                what: "continuation line before any header".into(),
            })?;
            last.value.push(b'\n');
            last.value.extend_from_slice(continuation);
            continue;
        }
        let space = line.iter().position(|&b| b == b' ').ok_or_else(|| DecodeError::Field {
            kind,
            what: format!("header line '{}' has no value", String::from_utf8_lossy(line)),
        })?;
        headers.push(Header { key: line[..space].to_vec(), value: line[space + 1..].to_vec() });
    }
}

/// Takes the next header, which must have key `key`.
pub(super) fn expect(
    kind: ObjectKind,
    headers: &mut std::iter::Peekable<std::vec::IntoIter<Header>>,
    key: &str,
) -> Result<Vec<u8>, DecodeError> {
    match headers.next() {
        Some(h) if h.key == key.as_bytes() => Ok(h.value),
        _ => Err(DecodeError::Field { kind, what: format!("missing '{key}' header") }),
    }
}

/// Takes the next header if its key is `key`.
pub(super) fn take_if(
    headers: &mut std::iter::Peekable<std::vec::IntoIter<Header>>,
    key: &str,
) -> Option<Vec<u8>> {
    headers.next_if(|h| h.key == key.as_bytes()).map(|h| h.value)
}

/// Parses an id header value written in `form`.
pub(super) fn id(
    kind: ObjectKind,
    key: &str,
    value: &[u8],
    form: super::IdForm,
) -> Result<crate::ObjectId, DecodeError> {
    let not_id = || DecodeError::Field { kind, what: format!("'{key}' is not a lowercase hex id") };
    let text = std::str::from_utf8(value).map_err(|_| not_id())?;
    // Only the canonical (lowercase) text is accepted, so each value has one encoding.
    form.parse_text(text).ok_or_else(not_id)
}
