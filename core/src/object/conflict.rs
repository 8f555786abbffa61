//! Conflict objects: one item of the queue for people, made when no merge function
//! settles a path. An object, so it syncs to peers like any other.

use super::headers::{self, Header};
use super::{DecodeError, IdForm, Mode, ObjectKind};
use crate::ObjectId;

/// One side's version of the conflicted path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Its mode.
    pub mode: Mode,
    /// Its blob (or commit, for a submodule).
    pub id: ObjectId,
}

/// A path no merge function settled in the merge of two commits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Our commit.
    pub ours_commit: ObjectId,
    /// Their commit.
    pub theirs_commit: ObjectId,
    /// The kind of conflict (`content`, `modify-delete`, ...; one word).
    pub kind: String,
    /// The base version, if the base has the path.
    pub base: Option<Version>,
    /// Our version, if we have the path.
    pub ours: Option<Version>,
    /// Their version, if they have the path.
    pub theirs: Option<Version>,
    /// The merge functions that tried and found a conflict (function ids, always
    /// written as whole multihashes).
    pub tried: Vec<ObjectId>,
    /// The content with conflict markers put in the working copy, if any.
    pub rendering: Option<ObjectId>,
    /// The path (raw bytes; the rest of the body).
    pub path: Vec<u8>,
}

const KIND: ObjectKind = ObjectKind::Conflict;

impl Conflict {
    pub(super) fn encode_body(&self, form: IdForm) -> Vec<u8> {
        let version = |v: &Version| format!("{} {}", v.mode, form.text(&v.id));
        let mut all = vec![
            Header::new("ours-commit", form.text(&self.ours_commit)),
            Header::new("theirs-commit", form.text(&self.theirs_commit)),
            Header::new("kind", self.kind.clone()),
        ];
        for (key, side) in [("base", &self.base), ("ours", &self.ours), ("theirs", &self.theirs)] {
            all.extend(side.iter().map(|v| Header::new(key, version(v))));
        }
        // Function ids are not object ids: always whole multihashes.
        all.extend(self.tried.iter().map(|id| Header::new("tried", IdForm::Pg.text(id))));
        all.extend(self.rendering.iter().map(|id| Header::new("rendering", form.text(id))));
        let mut out = Vec::new();
        headers::encode(&all, &self.path, &mut out);
        out
    }

    pub(super) fn decode_body(body: &[u8], form: IdForm) -> Result<Conflict, DecodeError> {
        let (all, path) = headers::decode(KIND, body)?;
        let mut it = all.into_iter().peekable();
        let id = |key: &str, value: Vec<u8>| headers::id(KIND, key, &value, form);
        let ours_commit = id("ours-commit", headers::expect(KIND, &mut it, "ours-commit")?)?;
        let theirs_commit = id("theirs-commit", headers::expect(KIND, &mut it, "theirs-commit")?)?;
        let kind = String::from_utf8(headers::expect(KIND, &mut it, "kind")?)
            .ok()
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
            .ok_or_else(|| DecodeError::Field {
                kind: KIND,
                what: "'kind' is not a lowercase word".into(),
            })?;
        let mut version = |key: &str| -> Result<Option<Version>, DecodeError> {
            let Some(value) = headers::take_if(&mut it, key) else { return Ok(None) };
            let bad = || DecodeError::Field { kind: KIND, what: format!("'{key}' is not '<mode> <id>'") };
            let space = value.iter().position(|&b| b == b' ').ok_or_else(bad)?;
            let mode = Mode::from_bytes(&value[..space])
                .filter(|m| m.as_bytes() == &value[..space])
                .ok_or_else(bad)?;
            Ok(Some(Version { mode, id: headers::id(KIND, key, &value[space + 1..], form)? }))
        };
        let (base, ours, theirs) = (version("base")?, version("ours")?, version("theirs")?);
        let mut tried = Vec::new();
        while let Some(value) = headers::take_if(&mut it, "tried") {
            tried.push(headers::id(KIND, "tried", &value, IdForm::Pg)?);
        }
        let rendering = headers::take_if(&mut it, "rendering").map(|v| id("rendering", v)).transpose()?;
        if let Some(extra) = it.next() {
            let what = format!("unexpected header '{}'", String::from_utf8_lossy(&extra.key));
            return Err(DecodeError::Field { kind: KIND, what });
        }
        if path.is_empty() {
            return Err(DecodeError::Field { kind: KIND, what: "no path".into() });
        }
        Ok(Conflict {
            ours_commit,
            theirs_commit,
            kind,
            base,
            ours,
            theirs,
            tried,
            rendering,
            path: path.to_vec(),
        })
    }
}
