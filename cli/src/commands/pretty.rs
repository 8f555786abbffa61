//! `pg log --format`: git's placeholders (`%h %s`, `%an <%ae>`), so scripts
//! written for `git log --format` read pg's history the same way.

use super::text;
use crate::render;
use pg_core::object::{Commit, Signature};
use pg_core::store::Store;
use pg_core::ObjectId;

/// A format as given: `%h %s`, with git's `format:` or `tformat:` prefix allowed.
pub struct Format<'a>(&'a str);

impl<'a> Format<'a> {
    /// The format of `--format TEXT`.
    pub fn new(given: &'a str) -> Format<'a> {
        Format(given.strip_prefix("tformat:").or_else(|| given.strip_prefix("format:")).unwrap_or(given))
    }

    /// One commit in this format. `decoration` is the `(HEAD -> main)` list
    /// without parentheses (git's `%D`).
    pub fn render(&self, store: &Store, id: &ObjectId, commit: &Commit, decoration: &str) -> String {
        let mut out = String::new();
        let mut rest = self.0;
        while let Some(at) = rest.find('%') {
            out.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            let (value, used) = placeholder(rest, store, id, commit, decoration);
            match value {
                Some(value) => out.push_str(&value),
                // git prints what it does not know as it is.
                None => out.push('%'),
            }
            rest = &rest[used..];
        }
        out.push_str(rest);
        out
    }
}

/// The value of the placeholder at the start of `spec` (after its `%`) and how
/// many bytes it took; `None` for an unknown one.
fn placeholder(
    spec: &str,
    store: &Store,
    id: &ObjectId,
    commit: &Commit,
    decoration: &str,
) -> (Option<String>, usize) {
    let ids = |list: &[ObjectId], short: bool| -> String {
        let shown: Vec<String> =
            list.iter().map(|p| if short { store.abbreviate(p) } else { p.to_string() }).collect();
        shown.join(" ")
    };
    let (subject, body) = split_message(&commit.message);
    let simple = match spec.chars().next() {
        Some('H') => Some(id.to_string()),
        Some('h') => Some(store.abbreviate(id)),
        Some('T') => Some(commit.tree.to_string()),
        Some('t') => Some(store.abbreviate(&commit.tree)),
        Some('P') => Some(ids(&commit.parents, false)),
        Some('p') => Some(ids(&commit.parents, true)),
        Some('s') => Some(subject),
        Some('b') => Some(body),
        Some('B') => Some(text(&commit.message).into_owned()),
        Some('n') => Some("\n".into()),
        Some('%') => Some("%".into()),
        Some('D') => Some(decoration.to_owned()),
        Some('d') => Some(if decoration.is_empty() { String::new() } else { format!(" ({decoration})") }),
        _ => None,
    };
    if simple.is_some() {
        return (simple, 1);
    }
    let raw = match spec.chars().next() {
        Some('a') => &commit.author,
        Some('c') => &commit.committer,
        _ => return (None, 0),
    };
    match spec[1..].chars().next().and_then(|field| person(raw, field)) {
        Some(value) => (Some(value), 2),
        None => (None, 0),
    }
}

/// A field of an author or committer line: name, email, date, or seconds.
fn person(raw: &[u8], field: char) -> Option<String> {
    let sig = Signature::parse(raw)?;
    Some(match field {
        'n' => sig.name,
        'e' => sig.email,
        'd' => render::signature_date(&sig),
        't' => sig.seconds.to_string(),
        _ => return None,
    })
}

/// git's subject (the first paragraph, its lines joined by spaces) and body
/// (what follows the blank lines after it).
fn split_message(message: &[u8]) -> (String, String) {
    let message = text(message);
    let mut lines = message.lines().skip_while(|l| l.trim().is_empty());
    let subject: Vec<&str> = lines.by_ref().take_while(|l| !l.trim().is_empty()).collect();
    let body: Vec<&str> = lines.skip_while(|l| l.trim().is_empty()).collect();
    let body = if body.is_empty() { String::new() } else { format!("{}\n", body.join("\n")) };
    (subject.join(" "), body)
}

#[cfg(test)]
mod tests {
    use super::split_message;

    #[test]
    fn subject_is_the_first_paragraph_and_body_the_rest() {
        assert_eq!(
            split_message(b"one\ntwo\n\n\nbody\n\nmore\n"),
            ("one two".into(), "body\n\nmore\n".into())
        );
        assert_eq!(split_message(b"only\n"), ("only".into(), String::new()));
        assert_eq!(split_message(b"\n\nlate subject"), ("late subject".into(), String::new()));
    }
}
