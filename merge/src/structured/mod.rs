//! The structured tier: merges of JSON, TOML and YAML documents by key, keeping
//! each file's formatting.
//!
//! Each function works in two steps. First the documents' values are merged by
//! key: a key changed on one side only takes that change, a key changed the same way
//! on both sides is settled, a key changed differently on both sides is looked into
//! when both sides hold maps there, and is a conflict otherwise (lists and scalars
//! are whole values). Then our text is edited in place to carry their changes, so
//! our formatting (indentation, key order, comments where the format has them)
//! survives. The edited text is parsed again and must hold exactly the merged
//! value; if it does not, or an input does not parse, the function defers to the
//! next tier rather than risk a wrong result.
//!
//! Values are not everything a file holds: comments, key order and untouched
//! formatting are not values, so a result that parses right can still lose them.
//! Every clean result therefore passes [`crate::gate`]: it must equal the line
//! merge outside the line merge's conflicts. In the default cascade these
//! functions run after the text merge, on what it leaves in conflict.

mod json;
mod toml;
mod yaml;

pub use json::Json;
pub use toml::Toml;
pub use yaml::Yaml;

use crate::function::{Descriptor, Input, Verdict};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::Range;

/// Merges three values by key (`None`: they conflict). Absent keys are `None`.
fn merge_values(base: Option<&Value>, ours: Option<&Value>, theirs: Option<&Value>) -> Option<Option<Value>> {
    if ours == theirs || base == theirs {
        return Some(ours.cloned());
    }
    if base == ours {
        return Some(theirs.cloned());
    }
    match (base, ours, theirs) {
        (Some(Value::Object(b)), Some(Value::Object(o)), Some(Value::Object(t))) => {
            let mut merged = Map::new();
            for key in o.keys().chain(t.keys().filter(|k| !o.contains_key(*k))) {
                if let Some(value) = merge_values(b.get(key), o.get(key), t.get(key))? {
                    merged.insert(key.clone(), value);
                }
            }
            Some(Some(Value::Object(merged)))
        }
        _ => None,
    }
}

/// A document's maps, with where each entry lies in the text. Only maps are broken
/// down; any other value is a span of text.
#[derive(Debug, Clone)]
struct Node {
    span: Range<usize>,
    entries: Option<Vec<Entry>>,
}

/// One `key: value` of a map.
#[derive(Debug, Clone)]
struct Entry {
    key: String,
    /// The whole entry, key to end of value (separators excluded).
    span: Range<usize>,
    value: Node,
}

/// What a format knows: how to parse, and how to write a map back from its
/// entries' texts in its own syntax.
trait Syntax {
    /// The document's value and its map structure, or `None` if it does not parse
    /// (or uses what the splicer does not handle).
    fn parse(text: &str) -> Option<(Value, Node)>;
    /// Their entry's text made to fit in our map (indentation, say).
    fn adopt(ours: &str, map: &Node, theirs: &str, entry: &Entry) -> String;
    /// The text of our map `map` holding exactly `members` (entry texts, in order).
    /// `theirs_map` (in `theirs`) shows the layout to use when ours has no entries.
    fn assemble(ours: &str, map: &Node, members: &[String], theirs: &str, theirs_map: &Node) -> String;
}

/// Carries their changes into our text, key by key, as `merge_values` decided them.
struct Splice<'a> {
    ours: &'a str,
    theirs: &'a str,
}

/// What becomes of one of our entries.
enum Fate {
    Keep,
    Remove,
    /// Their entry (index in their map) replaces ours.
    Replace(usize),
    /// Both sides hold maps here: merge inside (index in their map).
    Recurse(usize),
}

impl Splice<'_> {
    /// The new text of our map `ours`, or `None` when the change cannot be made.
    fn map<S: Syntax>(&self, values: [Option<&Value>; 3], ours: &Node, theirs: &Node) -> Option<String> {
        let [Some(Value::Object(b)), Some(Value::Object(o)), Some(Value::Object(t))] = values else {
            return None;
        };
        let (ours_entries, theirs_entries) = (ours.entries.as_ref()?, theirs.entries.as_ref()?);
        let find = |entries: &[Entry], key: &str| entries.iter().position(|e| e.key == key);
        // Keys they added, placed after the nearest earlier entry of theirs we have.
        let mut added: Vec<(Option<usize>, &Entry)> = Vec::new();
        for (index, entry) in theirs_entries.iter().enumerate() {
            let key = entry.key.as_str();
            if o.contains_key(key) || b.get(key) == t.get(key) {
                continue;
            }
            if b.contains_key(key) {
                return None; // deleted by us, changed by them: merge_values said conflict
            }
            let after = theirs_entries[..index].iter().rev().find_map(|e| find(ours_entries, &e.key));
            added.push((after, entry));
        }
        let mut changed = !added.is_empty();
        let mut members: Vec<String> = Vec::new();
        let adopt = |entry: &Entry| S::adopt(self.ours, ours, self.theirs, entry);
        members.extend(added.iter().filter(|(after, _)| after.is_none()).map(|(_, e)| adopt(e)));
        for (index, entry) in ours_entries.iter().enumerate() {
            let own = &self.ours[entry.span.clone()];
            match self.fate(entry, theirs_entries, [b, o, t])? {
                Fate::Keep => members.push(own.to_owned()),
                Fate::Remove => changed = true,
                Fate::Replace(at) => {
                    members.push(adopt(&theirs_entries[at]));
                    changed = true;
                }
                Fate::Recurse(at) => {
                    let key = entry.key.as_str();
                    let inner = self.map::<S>(
                        [b.get(key), o.get(key), t.get(key)],
                        &entry.value,
                        &theirs_entries[at].value,
                    )?;
                    let (value, span) = (&entry.value.span, &entry.span);
                    changed |= inner != self.ours[value.clone()];
                    members.push(format!(
                        "{}{inner}{}",
                        &self.ours[span.start..value.start],
                        &self.ours[value.end..span.end]
                    ));
                }
            }
            members.extend(added.iter().filter(|(after, _)| *after == Some(index)).map(|(_, e)| adopt(e)));
        }
        Some(match changed {
            true => S::assemble(self.ours, ours, &members, self.theirs, theirs),
            false => self.ours[ours.span.clone()].to_owned(),
        })
    }

    fn fate(&self, entry: &Entry, theirs: &[Entry], [b, o, t]: [&Map<String, Value>; 3]) -> Option<Fate> {
        let key = entry.key.as_str();
        let (bv, ov, tv) = (b.get(key), o.get(key), t.get(key));
        if ov == tv || bv == tv {
            return Some(Fate::Keep);
        }
        let at = theirs.iter().position(|e| e.key == key);
        // Maps on both sides are merged inside, so our formatting of their
        // unchanged parts stays; other values are replaced whole.
        let both_maps =
            at.is_some_and(|at| entry.value.entries.is_some() && theirs[at].value.entries.is_some());
        match at {
            None if bv == ov => Some(Fate::Remove),
            Some(at) if bv == ov && !both_maps => Some(Fate::Replace(at)),
            Some(at) => Some(Fate::Recurse(at)),
            None => None,
        }
    }
}

/// The structured merge of a format whose syntax the splicer knows.
fn merge_with<S: Syntax>(input: &Input) -> Verdict {
    let text = |bytes: &[u8]| std::str::from_utf8(bytes).ok().map(str::to_owned);
    let (Some(ours), Some(theirs)) = (text(input.ours), text(input.theirs)) else { return Verdict::Defer };
    let base = match input.base.map(text) {
        Some(Some(base)) => base,
        Some(None) => return Verdict::Defer,
        None => return Verdict::Defer, // added on both sides: nothing to merge by key
    };
    let (Some((bv, _)), Some((ov, on)), Some((tv, tn))) =
        (S::parse(&base), S::parse(&ours), S::parse(&theirs))
    else {
        return Verdict::Defer;
    };
    let Some(Some(expected)) = merge_values(Some(&bv), Some(&ov), Some(&tv)) else {
        return Verdict::Conflict;
    };
    if expected == ov {
        return Verdict::Clean(ours.into_bytes());
    }
    if expected == tv {
        return Verdict::Clean(theirs.into_bytes());
    }
    let splice = Splice { ours: &ours, theirs: &theirs };
    let spliced = splice
        .map::<S>([Some(&bv), Some(&ov), Some(&tv)], &on, &tn)
        .map(|root| format!("{}{root}{}", &ours[..on.span.start], &ours[on.span.end..]));
    match spliced.filter(|text| S::parse(text).is_some_and(|(value, _)| value == expected)) {
        Some(text) => Verdict::Clean(text.into_bytes()),
        None => Verdict::Defer,
    }
}

/// A structured merge function's descriptor. Version 2: results pass the gate.
fn descriptor(name: &str) -> Descriptor {
    Descriptor { name: name.into(), version: 2, params: BTreeMap::new() }
}

/// A clean verdict that the line merge disagrees with outside its conflicts
/// becomes a deferral: values can be right while a comment, a key's place or
/// untouched formatting is lost (see [`crate::gate`]).
fn gated(input: &Input, verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::Clean(merged) if !crate::gate::keeps_text_merge(input, &merged) => Verdict::Defer,
        verdict => verdict,
    }
}

/// The structured function for a path's extension, if there is one.
pub fn for_extension(path: &[u8]) -> Option<&'static str> {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let extension = name.rsplit(|&b| b == b'.').next().filter(|e| e.len() < name.len())?;
    match extension {
        b"json" => Some("json"),
        b"toml" => Some("toml"),
        b"yaml" | b"yml" => Some("yaml"),
        _ => None,
    }
}

macro_rules! structured_function {
    ($type:ident, $name:literal, $syntax:ty, $summary:literal) => {
        impl $crate::function::MergeFunction for $type {
            fn descriptor(&self) -> &$crate::function::Descriptor {
                &self.0
            }
            fn summary(&self) -> &'static str {
                $summary
            }
            fn merge(&self, input: &$crate::function::Input) -> $crate::function::Verdict {
                $crate::structured::gated(input, $crate::structured::merge_with::<$syntax>(input))
            }
        }
        impl Default for $type {
            fn default() -> Self {
                $type($crate::structured::descriptor($name))
            }
        }
    };
}
use structured_function;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs a function on texts.
    pub(crate) fn run(function: &dyn MergeFunction, path: &str, [base, ours, theirs]: [&str; 3]) -> Verdict {
        let input = Input {
            path: path.as_bytes(),
            base: Some(base.as_bytes()),
            ours: ours.as_bytes(),
            theirs: theirs.as_bytes(),
        };
        function.merge(&input)
    }
    use serde_json::json;

    #[test]
    fn values_merge_by_key_and_conflict_only_on_the_same_key() {
        let base = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": [1, 2]});
        let ours = json!({"a": 2, "b": {"x": 1, "y": 3}, "c": [1, 2]});
        let theirs = json!({"a": 1, "b": {"x": 5, "y": 2}, "c": [1, 2, 3], "d": true});
        let merged = merge_values(Some(&base), Some(&ours), Some(&theirs)).unwrap().unwrap();
        assert_eq!(merged, json!({"a": 2, "b": {"x": 5, "y": 3}, "c": [1, 2, 3], "d": true}));
        let clash = json!({"a": 3, "b": {"x": 1, "y": 2}, "c": [1, 2]});
        assert_eq!(merge_values(Some(&base), Some(&ours), Some(&clash)), None);
        let lists = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": [0, 1, 2]});
        let other_lists = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": [1, 2, 3]});
        assert_eq!(
            merge_values(Some(&base), Some(&lists), Some(&other_lists)),
            None,
            "lists are whole values"
        );
    }

    use crate::function::MergeFunction;
    use proptest::prelude::*;

    /// A document: top-level keys holding numbers or maps of numbers.
    fn document() -> impl Strategy<Value = Map<String, Value>> {
        let leaf = (0..100i64).prop_map(Value::from);
        let inner = prop::collection::btree_map("n[0-3]", (0..100i64).prop_map(Value::from), 1..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()));
        prop::collection::btree_map("k[0-7]", prop_oneof![leaf, inner], 1..8)
            .prop_map(|m| m.into_iter().collect())
    }

    /// Changes one side makes to its own keys: edits, removals, additions.
    fn edit(
        mut doc: Map<String, Value>,
        mine: impl Fn(&str) -> bool,
        tag: &str,
        seed: u64,
    ) -> Map<String, Value> {
        let keys: Vec<String> = doc.keys().filter(|k| mine(k)).cloned().collect();
        for (i, key) in keys.iter().enumerate() {
            match (seed >> (2 * i)) & 3 {
                0 => {
                    doc.remove(key);
                }
                1 => match doc.get_mut(key) {
                    Some(Value::Object(inner)) => {
                        inner.insert(format!("{tag}{i}"), Value::from(i as i64));
                    }
                    Some(value) => *value = Value::from(1000 + i as i64),
                    None => {}
                },
                _ => {}
            }
        }
        doc.insert(format!("{tag}_new"), Value::from(7));
        doc
    }

    fn yaml_text(doc: &Map<String, Value>, indent: usize) -> String {
        let mut out = String::new();
        for (key, value) in doc {
            match value {
                Value::Object(inner) => {
                    out.push_str(&format!("{key}:\n"));
                    for (k, v) in inner {
                        out.push_str(&format!("{}{k}: {v}\n", " ".repeat(indent)));
                    }
                }
                v => out.push_str(&format!("{key}: {v}\n")),
            }
        }
        out
    }

    proptest! {
        /// Sides that change different keys always merge by key cleanly, to the
        /// merged value (before the gate, which may still refuse the text).
        #[test]
        fn disjoint_changes_merge_cleanly(base in document(), ours_seed in any::<u64>(), theirs_seed in any::<u64>()) {
            let ours = edit(base.clone(), |k| k < "k4", "o", ours_seed);
            let theirs = edit(base.clone(), |k| k >= "k4", "t", theirs_seed);
            let expected = merge_values(Some(&Value::Object(base.clone())), Some(&Value::Object(ours.clone())), Some(&Value::Object(theirs.clone()))).unwrap().unwrap();
            let texts = [
                (serde_json::to_string_pretty(&base).unwrap(), serde_json::to_string_pretty(&ours).unwrap(), serde_json::to_string(&theirs).unwrap(), "x.json"),
                (yaml_text(&base, 2), yaml_text(&ours, 2), yaml_text(&theirs, 4), "x.yaml"),
            ];
            for (base_text, ours_text, theirs_text, path) in texts {
                let input = Input { path: path.as_bytes(), base: Some(base_text.as_bytes()), ours: ours_text.as_bytes(), theirs: theirs_text.as_bytes() };
                let verdict = if path.ends_with("json") { merge_with::<json::JsonSyntax>(&input) } else { merge_with::<yaml::YamlSyntax>(&input) };
                let Verdict::Clean(merged) = verdict else {
                    return Err(TestCaseError::fail(format!("{path}: {verdict:?}\n{base_text}\n{ours_text}\n{theirs_text}")));
                };
                let merged = String::from_utf8(merged).unwrap();
                let value = if path.ends_with("json") { JsonSyntax_parse(&merged) } else { YamlSyntax_parse(&merged) };
                prop_assert_eq!(value, Some(expected.clone()), "{}", merged);
            }
        }
    }

    #[allow(non_snake_case)]
    fn JsonSyntax_parse(text: &str) -> Option<Value> {
        json::JsonSyntax::parse(text).map(|(v, _)| v)
    }

    #[allow(non_snake_case)]
    fn YamlSyntax_parse(text: &str) -> Option<Value> {
        yaml::YamlSyntax::parse(text).map(|(v, _)| v)
    }

    #[test]
    fn extensions_pick_functions() {
        assert_eq!(for_extension(b"config/app.json"), Some("json"));
        assert_eq!(for_extension(b"Cargo.toml"), Some("toml"));
        assert_eq!(for_extension(b".github/ci.yml"), Some("yaml"));
        assert_eq!(for_extension(b"json"), None);
        assert_eq!(for_extension(b"src/main.rs"), None);
    }
}
