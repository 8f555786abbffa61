//! Checks the merge vectors in docs/FORMAT.md (derived by docs/format_vectors.py,
//! an independent implementation) against pg's: function ids and cache keys.

use pg_core::id::hex_decode;
use pg_core::ObjectId;
use pg_merge::function::{Descriptor, Registry};
use pg_merge::text::ConflictStyle;
use std::collections::BTreeMap;

/// The `merge-vector` blocks: title and fields.
fn vectors() -> Vec<(String, BTreeMap<String, String>)> {
    let doc = include_str!("../../docs/FORMAT.md");
    let mut vectors = Vec::new();
    let mut title = String::new();
    let mut current: Option<BTreeMap<String, String>> = None;
    for line in doc.lines() {
        if let Some(t) = line.strip_prefix("### Merge vector: ") {
            title = t.to_owned();
        } else if line == "```merge-vector" {
            current = Some(BTreeMap::new());
        } else if line == "```" {
            if let Some(fields) = current.take() {
                vectors.push((title.clone(), fields));
            }
        } else if let Some(fields) = current.as_mut() {
            let (key, value) = line.split_once(": ").expect("vector lines are 'key: value'");
            fields.insert(key.to_owned(), value.to_owned());
        }
    }
    vectors
}

fn id(text: &str) -> ObjectId {
    text.parse().expect("an id")
}

#[test]
fn function_ids_and_cache_keys_match_the_documented_vectors() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 3, "FORMAT.md should hold three merge vectors");
    let registry = Registry::builtin(ConflictStyle::Merge);
    let text: &Descriptor = registry.get("text").unwrap().descriptor();
    for (title, fields) in &vectors {
        match fields.get("descriptor") {
            Some(encoding) => {
                assert_eq!(text.encode(), hex_decode(encoding).unwrap(), "{title}");
                assert_eq!(text.id(), id(&fields["function-id"]), "{title}");
            }
            None => {
                let base = (fields["base"] != "-").then(|| id(&fields["base"]));
                let key = pg_merge::cache::key(
                    &id(&fields["function"]),
                    base.as_ref(),
                    &id(&fields["ours"]),
                    &id(&fields["theirs"]),
                );
                assert_eq!(key, id(&fields["key"]), "{title}");
            }
        }
    }
}
