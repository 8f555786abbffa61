//! JSON: values from serde_json, entry spans from a small scanner that runs over
//! text serde_json already accepted.

use super::{structured_function, Entry, Node, Syntax};
use crate::function::Descriptor;
use serde_json::Value;

/// Merges JSON documents by key (see [`super`]).
pub struct Json(Descriptor);

structured_function!(
    Json,
    "json",
    JsonSyntax,
    "settles line conflicts by merging JSON by key, keeping all the line merge settled; defers otherwise"
);

/// JSON's syntax for the splicer.
pub(super) struct JsonSyntax;

impl Syntax for JsonSyntax {
    fn parse(text: &str) -> Option<(Value, Node)> {
        let value: Value = serde_json::from_str(text).ok()?;
        let mut scanner = Scanner { text: text.as_bytes(), at: 0 };
        let node = scanner.value()?;
        Some((value, node))
    }

    fn adopt(_ours: &str, _map: &Node, theirs: &str, entry: &Entry) -> String {
        theirs[entry.span.clone()].to_owned()
    }

    fn assemble(ours: &str, map: &Node, members: &[String], theirs: &str, theirs_map: &Node) -> String {
        if members.is_empty() {
            return "{}".to_owned();
        }
        // Our layout when we have entries, theirs otherwise.
        let (text, node) = match map.entries.as_deref() {
            Some([_, ..]) => (ours, map),
            _ => (theirs, theirs_map),
        };
        let entries = node.entries.as_deref().unwrap_or_default();
        let lead = entries.first().map_or(String::new(), |e| space_before(text, e.span.start));
        let separator = match entries {
            [first, second, ..] => text[first.span.end..second.span.start].to_owned(),
            _ => format!(",{lead}"),
        };
        let trail = entries.last().map_or("", |e| &text[e.span.end..node.span.end - 1]);
        format!("{{{lead}{}{trail}}}", members.join(&separator))
    }
}

/// The whitespace before an entry (after the `{` or `,` before it): the
/// indentation its siblings get.
fn space_before(text: &str, start: usize) -> String {
    let before = &text[..start];
    before[before.trim_end_matches(|c: char| c.is_ascii_whitespace()).len()..].to_owned()
}

/// Finds spans in text that is valid JSON.
struct Scanner<'t> {
    text: &'t [u8],
    at: usize,
}

impl Scanner<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Node> {
        self.skip_space();
        let start = self.at;
        match self.text.get(self.at)? {
            b'{' => return self.object(),
            b'[' => self.skip_array()?,
            b'"' => self.skip_string()?,
            _ => {
                while self.text.get(self.at).is_some_and(|b| !b",}] \t\r\n".contains(b)) {
                    self.at += 1;
                }
            }
        }
        Some(Node { span: start..self.at, entries: None })
    }

    fn skip_string(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            match self.text.get(self.at)? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return Some(());
                }
                _ => self.at += 1,
            }
        }
    }

    fn skip_array(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.text.get(self.at)? {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
    }

    fn object(&mut self) -> Option<Node> {
        let start = self.at;
        self.at += 1;
        let mut entries: Vec<Entry> = Vec::new();
        loop {
            self.skip_space();
            match self.text.get(self.at)? {
                b'}' => break,
                b',' => self.at += 1,
                b'"' => {
                    let key_start = self.at;
                    self.skip_string()?;
                    let key: String = serde_json::from_slice(&self.text[key_start..self.at]).ok()?;
                    if entries.iter().any(|e| e.key == key) {
                        return None; // duplicate keys: which one counts is not clear
                    }
                    self.skip_space();
                    (self.text.get(self.at)? == &b':').then_some(())?;
                    self.at += 1;
                    let value = self.value()?;
                    entries.push(Entry { key, span: key_start..value.span.end, value });
                }
                _ => return None,
            }
        }
        self.at += 1;
        Some(Node { span: start..self.at, entries: Some(entries) })
    }
}

#[cfg(test)]
mod tests {
    use crate::function::Verdict;
    use crate::structured::Json;

    fn merge(base: &str, ours: &str, theirs: &str) -> Verdict {
        crate::structured::tests::run(&Json::default(), "x.json", [base, ours, theirs])
    }

    fn clean(verdict: Verdict) -> String {
        match verdict {
            Verdict::Clean(text) => String::from_utf8(text).unwrap(),
            other => panic!("not clean: {other:?}"),
        }
    }

    #[test]
    fn changes_to_different_keys_merge_and_keep_our_formatting() {
        let base = "{\n  \"name\": \"pg\",\n  \"version\": 1,\n  \"deps\": {\"a\": 1}\n}\n";
        let ours = "{\n  \"name\": \"pg\",\n  \"version\": 2,\n  \"deps\": {\"a\": 1}\n}\n";
        let theirs = "{\"name\":\"pg\",\"version\":1,\"deps\":{\"a\":1,\"b\":2},\"license\":\"MIT\"}";
        assert_eq!(
            clean(merge(base, ours, theirs)),
            "{\n  \"name\": \"pg\",\n  \"version\": 2,\n  \"deps\": {\"a\": 1,\"b\":2},\n  \"license\":\"MIT\"\n}\n"
        );
    }

    #[test]
    fn removals_keep_the_commas_right() {
        let base = "{\"a\": 1, \"b\": 2, \"c\": 3}";
        assert_eq!(
            clean(merge(base, "{\"a\": 1, \"b\": 2, \"c\": 4}", "{\"b\": 2, \"c\": 3}")),
            "{\"b\": 2, \"c\": 4}"
        );
        assert_eq!(
            clean(merge(base, "{\"a\": 0, \"b\": 2, \"c\": 3}", "{\"a\": 1, \"b\": 2}")),
            "{\"a\": 0, \"b\": 2}"
        );
    }

    #[test]
    fn the_same_key_changed_differently_conflicts_and_bad_json_defers() {
        let base = "{\"a\": 1}";
        assert_eq!(merge(base, "{\"a\": 2}", "{\"a\": 3}"), Verdict::Conflict);
        assert_eq!(merge(base, "{\"a\": 2", "{\"a\": 3}"), Verdict::Defer);
        assert_eq!(merge(base, "{\"a\": 1, \"a\": 2}", "{\"a\": 3}"), Verdict::Defer);
    }

    #[test]
    fn added_keys_go_where_their_side_put_them() {
        let base = "{\n  \"a\": 1,\n  \"b\": 1,\n  \"c\": 1\n}\n";
        let ours = base.replace("\"c\": 1", "\"c\": 2");
        let theirs = base.replace("\"b\": 1,", "\"b\": 1,\n  \"b2\": 5,");
        assert_eq!(
            clean(merge(base, &ours, &theirs)),
            "{\n  \"a\": 1,\n  \"b\": 1,\n  \"b2\": 5,\n  \"c\": 2\n}\n"
        );
    }
}
