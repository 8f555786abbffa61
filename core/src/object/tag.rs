//! Annotated tags.

use super::headers::{self, Header};
use super::{DecodeError, IdForm, ObjectKind};
use crate::ObjectId;

/// An annotated tag: a named, signed-or-not pointer to another object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The tagged object.
    pub object: ObjectId,
    /// Its kind, as the tag records it.
    pub target_kind: ObjectKind,
    /// The tag's name (raw bytes, no newline).
    pub name: Vec<u8>,
    /// Raw tagger line value; old git tags have none.
    pub tagger: Option<Vec<u8>>,
    /// Headers after `tagger`, in order.
    pub extra_headers: Vec<Header>,
    /// The message; a signature, when there is one, is appended to it as git does.
    pub message: Vec<u8>,
}

impl Tag {
    pub(super) fn encode_body(&self, form: IdForm) -> Vec<u8> {
        let mut all = vec![
            Header::new("object", form.text(&self.object)),
            Header::new("type", self.target_kind.name()),
            Header::new("tag", self.name.clone()),
        ];
        all.extend(self.tagger.iter().map(|t| Header::new("tagger", t.clone())));
        all.extend(self.extra_headers.iter().cloned());
        let mut out = Vec::new();
        headers::encode(&all, &self.message, &mut out);
        out
    }

    pub(super) fn decode_body(body: &[u8], form: IdForm) -> Result<Tag, DecodeError> {
        const KIND: ObjectKind = ObjectKind::Tag;
        let (all, message) = headers::decode(KIND, body)?;
        let mut it = all.into_iter().peekable();
        let object = headers::id(KIND, "object", &headers::expect(KIND, &mut it, "object")?, form)?;
        let target_kind = headers::expect(KIND, &mut it, "type")?;
        let target_kind = std::str::from_utf8(&target_kind)
            .map_err(|_| DecodeError::Field { kind: KIND, what: "'type' is not text".into() })?
            .parse()?;
        let name = headers::expect(KIND, &mut it, "tag")?;
        let tagger = headers::take_if(&mut it, "tagger");
        let single_line = std::iter::once(&name).chain(tagger.as_ref()).all(|v| !v.contains(&b'\n'));
        if !single_line {
            return Err(DecodeError::Field { kind: KIND, what: "'tag' or 'tagger' spans lines".into() });
        }
        Ok(Tag { object, target_kind, name, tagger, extra_headers: it.collect(), message: message.to_vec() })
    }
}
