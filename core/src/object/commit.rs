//! Commits.

use super::headers::{self, Header};
use super::{DecodeError, IdForm, ObjectKind, Signature};
use crate::ObjectId;

/// A commit: a tree, its parents, who made it, and why.
///
/// Identities are kept as the raw bytes git has (`Name <email> 1700000000 +0100`),
/// and every further header (`encoding`, `gpgsig`, `mergetag`, `change-id`, unknown
/// ones) is kept in order, so a git commit converts back byte for byte.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The snapshot.
    pub tree: ObjectId,
    /// Parents in order; the first is the branch the commit was made on.
    pub parents: Vec<ObjectId>,
    /// Raw author line value (no newline).
    pub author: Vec<u8>,
    /// Raw committer line value (no newline).
    pub committer: Vec<u8>,
    /// Headers after `committer`, in order.
    pub extra_headers: Vec<Header>,
    /// The message, any bytes (see the `encoding` header).
    pub message: Vec<u8>,
}

impl Commit {
    pub(super) fn encode_body(&self, form: IdForm) -> Vec<u8> {
        let mut all = Vec::with_capacity(4 + self.parents.len() + self.extra_headers.len());
        all.push(Header::new("tree", form.text(&self.tree)));
        all.extend(self.parents.iter().map(|p| Header::new("parent", form.text(p))));
        all.push(Header::new("author", self.author.clone()));
        all.push(Header::new("committer", self.committer.clone()));
        all.extend(self.extra_headers.iter().cloned());
        let mut out = Vec::new();
        headers::encode(&all, &self.message, &mut out);
        out
    }

    pub(super) fn decode_body(body: &[u8], form: IdForm) -> Result<Commit, DecodeError> {
        const KIND: ObjectKind = ObjectKind::Commit;
        let (all, message) = headers::decode(KIND, body)?;
        let mut it = all.into_iter().peekable();
        let tree = headers::id(KIND, "tree", &headers::expect(KIND, &mut it, "tree")?, form)?;
        let mut parents = Vec::new();
        while let Some(value) = headers::take_if(&mut it, "parent") {
            parents.push(headers::id(KIND, "parent", &value, form)?);
        }
        let author = headers::expect(KIND, &mut it, "author")?;
        let committer = headers::expect(KIND, &mut it, "committer")?;
        for (key, value) in [("author", &author), ("committer", &committer)] {
            if value.contains(&b'\n') {
                return Err(DecodeError::Field { kind: KIND, what: format!("'{key}' spans lines") });
            }
        }
        Ok(Commit {
            tree,
            parents,
            author,
            committer,
            extra_headers: it.collect(),
            message: message.to_vec(),
        })
    }

    /// The parsed author, if the raw line is well formed.
    pub fn author_signature(&self) -> Option<Signature> {
        Signature::parse(&self.author)
    }

    /// The parsed committer, if the raw line is well formed.
    pub fn committer_signature(&self) -> Option<Signature> {
        Signature::parse(&self.committer)
    }

    /// The first line of the message, lossily as text.
    pub fn summary(&self) -> String {
        let first = self.message.split(|&b| b == b'\n').next().unwrap_or_default();
        String::from_utf8_lossy(first).into_owned()
    }
}
