//! YAML: values from yaml-rust2, entry spans from the block structure (indented
//! `key: value` lines). Documents whose top level is not a block mapping, or whose
//! structure the line scanner reads differently from the parser, defer.

use super::{structured_function, Entry, Node, Syntax};
use crate::function::Descriptor;
use serde_json::Value;
use yaml_rust2::{Yaml as Doc, YamlLoader};

/// Merges YAML documents by key (see [`super`]).
pub struct Yaml(Descriptor);

structured_function!(
    Yaml,
    "yaml",
    YamlSyntax,
    "settles line conflicts by merging block-style YAML by key, keeping all the line merge settled; defers otherwise"
);

/// YAML's syntax for the splicer.
pub(super) struct YamlSyntax;

impl Syntax for YamlSyntax {
    fn parse(text: &str) -> Option<(Value, Node)> {
        let docs = YamlLoader::load_from_str(text).ok()?;
        let value = match docs.as_slice() {
            [doc] => to_value(doc)?,
            _ => return None,
        };
        let lines = Lines::of(text);
        let node = lines.mapping(0, lines.starts.len(), 0)?;
        agrees(&node, &value).then_some((value, node))
    }

    fn adopt(ours: &str, map: &Node, theirs: &str, entry: &Entry) -> String {
        let indent =
            map.entries.as_deref().and_then(<[Entry]>::first).map_or(0, |e| indent_of(ours, e.span.start));
        reindent(&theirs[entry.span.clone()], indent_of(theirs, entry.span.start), indent)
    }

    fn assemble(ours: &str, map: &Node, members: &[String], _theirs: &str, _theirs_map: &Node) -> String {
        // Comments before the first key stay where they were.
        let first = map.entries.as_deref().and_then(<[Entry]>::first).map_or(map.span.end, |e| e.span.start);
        let mut text = ours[map.span.start..first].to_owned();
        for member in members {
            text.push_str(member);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }
}

/// An entry's text moved from one indentation to another, ending with a newline.
fn reindent(text: &str, from: usize, to: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let blank = line.trim().is_empty();
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if !blank && spaces >= from {
            out.push_str(&" ".repeat(to));
            out.push_str(&line[from..]);
        } else {
            out.push_str(line);
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

fn indent_of(text: &str, line_start: usize) -> usize {
    text[line_start..].len() - text[line_start..].trim_start_matches(' ').len()
}

/// Whether the scanned mappings have exactly the parsed value's keys.
fn agrees(node: &Node, value: &Value) -> bool {
    match (&node.entries, value) {
        (None, _) => true,
        (Some(entries), Value::Object(map)) => {
            entries.len() == map.len()
                && entries.iter().all(|e| map.get(&e.key).is_some_and(|v| agrees(&e.value, v)))
        }
        (Some(_), _) => false,
    }
}

/// A YAML value as JSON (keys as text), for comparing by meaning.
fn to_value(doc: &Doc) -> Option<Value> {
    Some(match doc {
        Doc::Null => Value::Null,
        Doc::Boolean(b) => Value::Bool(*b),
        Doc::Integer(i) => Value::from(*i),
        Doc::Real(r) => Value::String(format!("real {r}")),
        Doc::String(s) => Value::String(s.clone()),
        Doc::Array(items) => Value::Array(items.iter().map(to_value).collect::<Option<_>>()?),
        Doc::Hash(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map {
                let key = match key {
                    Doc::String(s) => s.clone(),
                    Doc::Integer(i) => i.to_string(),
                    Doc::Boolean(b) => b.to_string(),
                    _ => return None,
                };
                object.insert(key, to_value(value)?);
            }
            Value::Object(object)
        }
        Doc::Alias(_) | Doc::BadValue => return None,
    })
}

/// The text's lines: where each starts, and its indentation (`None`: blank or a
/// comment, which belong to the entry above them).
struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
    indents: Vec<Option<usize>>,
}

impl<'t> Lines<'t> {
    fn of(text: &'t str) -> Lines<'t> {
        let mut starts = Vec::new();
        let mut indents = Vec::new();
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            starts.push(at);
            let content = line.trim_start_matches(' ');
            let meaningful =
                !content.trim().is_empty() && !content.starts_with('#') && !content.starts_with("---");
            indents.push(meaningful.then(|| line.len() - content.len()));
            at += line.len();
        }
        Lines { text, starts, indents }
    }

    fn offset(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// Lines `from..to` as a block mapping whose keys sit at `indent`.
    fn mapping(&self, from: usize, to: usize, indent: usize) -> Option<Node> {
        let keys: Vec<usize> = (from..to).filter(|&l| self.indents[l] == Some(indent)).collect();
        let first = *keys.first()?;
        if (from..first).any(|l| self.indents[l].is_some()) {
            return None; // something before the first key
        }
        let mut entries = Vec::new();
        for (i, &line) in keys.iter().enumerate() {
            let end = keys.get(i + 1).copied().unwrap_or(to);
            entries.push(self.entry(line, end, indent)?);
        }
        Some(Node { span: self.offset(from)..self.offset(to), entries: Some(entries) })
    }

    /// The entry on line `line`, running to (not including) line `end`.
    fn entry(&self, line: usize, end: usize, indent: usize) -> Option<Entry> {
        let (start, stop) = (self.offset(line), self.offset(end));
        let text = &self.text[start + indent..self.offset(line + 1)];
        let (key, rest) = split_key(text)?;
        let rest = rest.trim();
        let nested = rest.is_empty() || rest.starts_with('#');
        let child_indent = (line + 1..end).find_map(|l| self.indents[l]);
        let value = match child_indent {
            Some(child) if nested && child > indent => self
                .mapping(line + 1, end, child)
                .unwrap_or(Node { span: self.offset(line + 1)..stop, entries: None }),
            // A sequence may sit at the key's own indentation.
            _ => Node { span: start + indent + (text.len() - text.trim_start().len())..stop, entries: None },
        };
        Some(Entry { key, span: start..stop, value })
    }
}

/// `key: rest` split at the first `: ` (or a final `:`), with quotes taken off the
/// key; `None` for a line that is not a plain mapping entry.
fn split_key(line: &str) -> Option<(String, &str)> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.starts_with(['-', '[', '{', '&', '*', '!', '?', '|', '>']) {
        return None;
    }
    let colon = line.find(": ").or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
    let key = &line[..colon];
    let key = match key.as_bytes().first() {
        Some(b'"') | Some(b'\'') => {
            let inner = key.get(1..key.len() - 1)?;
            (key.len() >= 2 && key.ends_with(&key[..1]) && !inner.contains(['\\', '"', '\'']))
                .then_some(inner)?
        }
        _ => key,
    };
    Some((key.to_owned(), &line[colon + 1..]))
}

#[cfg(test)]
mod tests {
    use crate::function::Verdict;
    use crate::structured::Yaml;

    fn merge(base: &str, ours: &str, theirs: &str) -> Verdict {
        crate::structured::tests::run(&Yaml::default(), "x.yaml", [base, ours, theirs])
    }

    #[test]
    fn block_mappings_merge_by_key_keeping_comments_and_indentation() {
        let base =
            "# CI\nname: ci\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: ubuntu\n";
        let ours =
            "# CI\nname: ci\non:\n  push:\n    branches: [main, dev]\njobs:\n  test:\n    runs-on: ubuntu\n";
        let theirs = "# CI\nname: ci\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    runs-on: debian\n  lint:\n    runs-on: ubuntu\n";
        let Verdict::Clean(merged) = merge(base, ours, theirs) else { panic!("not clean") };
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            "# CI\nname: ci\non:\n  push:\n    branches: [main, dev]\njobs:\n  test:\n    runs-on: debian\n  lint:\n    runs-on: ubuntu\n"
        );
        assert_eq!(merge(base, ours, &base.replace("[main]", "[release]")), Verdict::Conflict);
        assert_eq!(merge(base, "- a\n- b\n", theirs), Verdict::Defer, "not a mapping");
    }

    #[test]
    fn comments_and_added_keys_keep_their_places() {
        let base = "a: 1\n# keep in sync with b-sys\nb: 1\nc: 1\n";
        let ours = "a: 1\n# keep in sync with b-sys\nb: 1\nc: 2\n";
        let theirs = "a: 1\n# keep in sync with b-sys\nb: 2\nc: 1\n";
        let Verdict::Clean(merged) = merge(base, ours, theirs) else { panic!("not clean") };
        assert_eq!(String::from_utf8(merged).unwrap(), "a: 1\n# keep in sync with b-sys\nb: 2\nc: 2\n");
        let added = "a: 1\n# keep in sync with b-sys\nb: 1\nb2: 5\nc: 1\n";
        let Verdict::Clean(merged) = merge(base, ours, added) else { panic!("not clean") };
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            "a: 1\n# keep in sync with b-sys\nb: 1\nb2: 5\nc: 2\n"
        );
    }
}
