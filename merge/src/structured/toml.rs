//! TOML, through toml_edit, which keeps comments, ordering and layout: their
//! changes are made to our document tree, which writes back out in our format.

use super::{descriptor, merge_values};
use crate::function::{Descriptor, Input, MergeFunction, Verdict};
use serde_json::Value;
use toml_edit::{DocumentMut, Item, TableLike};

/// Merges TOML documents by key (see [`super`]).
pub struct Toml(Descriptor);

impl Default for Toml {
    fn default() -> Self {
        Toml(descriptor("toml"))
    }
}

impl MergeFunction for Toml {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    fn summary(&self) -> &'static str {
        "merges TOML by key and keeps our comments and layout; defers when a side does not parse"
    }

    fn merge(&self, input: &Input) -> Verdict {
        let parse = |bytes: &[u8]| std::str::from_utf8(bytes).ok()?.parse::<DocumentMut>().ok();
        let Some(base) = input.base.and_then(parse) else { return Verdict::Defer };
        let (Some(mut ours), Some(theirs)) = (parse(input.ours), parse(input.theirs)) else {
            return Verdict::Defer;
        };
        let values = [&base, &ours, &theirs].map(|doc| table_value(doc.as_table()));
        let Some(Some(expected)) = merge_values(Some(&values[0]), Some(&values[1]), Some(&values[2])) else {
            return Verdict::Conflict;
        };
        if expected == values[1] {
            return Verdict::Clean(input.ours.to_vec());
        }
        if merge_tables(&values, ours.as_table_mut(), theirs.as_table()).is_none() {
            return Verdict::Defer;
        }
        let text = ours.to_string();
        match text.parse::<DocumentMut>() {
            Ok(doc) if table_value(doc.as_table()) == expected => Verdict::Clean(text.into_bytes()),
            _ => Verdict::Defer,
        }
    }
}

/// Carries their changes into our table, key by key (the same decisions as
/// [`merge_values`], made on the document trees).
fn merge_tables(values: &[Value; 3], ours: &mut dyn TableLike, theirs: &dyn TableLike) -> Option<()> {
    let [Value::Object(b), Value::Object(o), Value::Object(t)] = values else { return None };
    let keys: Vec<String> = ours.iter().map(|(k, _)| k.to_owned()).collect();
    for key in &keys {
        let (bv, ov, tv) = (b.get(key), o.get(key), t.get(key));
        if ov == tv || bv == tv {
            continue;
        }
        match theirs.get(key) {
            None if bv == ov => {
                ours.remove(key);
            }
            Some(item) if bv == ov => {
                ours.insert(key, item.clone());
            }
            Some(item) => {
                let nested = [bv?.clone(), ov?.clone(), tv?.clone()];
                merge_tables(&nested, ours.get_mut(key)?.as_table_like_mut()?, item.as_table_like()?)?;
            }
            None => return None,
        }
    }
    for (key, item) in theirs.iter() {
        if o.contains_key(key) || b.get(key) == t.get(key) {
            continue;
        }
        if b.contains_key(key) {
            return None;
        }
        ours.insert(key, item.clone());
    }
    Some(())
}

/// A table's value, for comparing documents by meaning rather than by text.
fn table_value(table: &dyn TableLike) -> Value {
    Value::Object(table.iter().map(|(k, item)| (k.to_owned(), item_value(item))).collect())
}

fn item_value(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(value) => value_value(value),
        Item::Table(table) => table_value(table),
        Item::ArrayOfTables(tables) => Value::Array(tables.iter().map(|t| table_value(t)).collect()),
    }
}

fn value_value(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match value {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => Value::from(*f.value()),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(format!("datetime {}", d.value())),
        V::Array(a) => Value::Array(a.iter().map(value_value).collect()),
        V::InlineTable(t) => table_value(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(base: &str, ours: &str, theirs: &str) -> Verdict {
        crate::structured::tests::run(&Toml::default(), "x.toml", [base, ours, theirs])
    }

    #[test]
    fn cargo_manifests_merge_by_key_keeping_comments() {
        let base =
            "[package]\nname = \"pg\" # the name\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\n";
        let ours =
            "[package]\nname = \"pg\" # the name\nversion = \"0.2.0\"\n\n[dependencies]\nserde = \"1\"\n";
        let theirs =
            "[package]\nname = \"pg\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1\"\nclap = \"4\"\n";
        let Verdict::Clean(merged) = merge(base, ours, theirs) else { panic!("not clean") };
        assert_eq!(
            String::from_utf8(merged).unwrap(),
            "[package]\nname = \"pg\" # the name\nversion = \"0.2.0\"\n\n[dependencies]\nserde = \"1\"\nclap = \"4\"\n"
        );
        assert_eq!(merge(base, ours, &base.replace("0.1.0", "0.3.0")), Verdict::Conflict);
        assert_eq!(merge(base, "[package", theirs), Verdict::Defer);
    }
}
