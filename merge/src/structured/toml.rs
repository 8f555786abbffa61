//! TOML, through toml_edit, which keeps comments, ordering and layout: their
//! changes are made to our document tree, which writes back out in our format.

use super::{descriptor, merge_values};
use crate::function::{Descriptor, Input, MergeFunction, Verdict};
use serde_json::Value;
use toml_edit::{DocumentMut, Item, Key, Table, TableLike};

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
        "settles line conflicts by merging TOML by key, keeping all the line merge settled; defers otherwise"
    }

    fn merge(&self, input: &Input) -> Verdict {
        super::gated(input, merge_documents(input))
    }
}

/// The merge by key, before the gate.
fn merge_documents(input: &Input) -> Verdict {
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
    spread_positions(ours.as_table_mut());
    let mut added = Vec::new();
    if merge_tables(&values, ours.as_table_mut(), theirs.as_table(), &mut Vec::new(), &mut added).is_none() {
        return Verdict::Defer;
    }
    place_added_tables(ours.as_table_mut(), theirs.as_table(), &added);
    let text = ours.to_string();
    match text.parse::<DocumentMut>() {
        Ok(doc) if table_value(doc.as_table()) == expected => Verdict::Clean(text.into_bytes()),
        _ => Verdict::Defer,
    }
}

/// A key path from the document's root.
type Path = Vec<String>;

/// Carries their changes into our table, key by key (the same decisions as
/// [`merge_values`], made on the document trees). Our keys keep their decor (the
/// comments and blank lines before them); keys they added go where they put them,
/// and their paths are recorded in `added` so their tables can be placed too.
fn merge_tables(
    values: &[Value; 3],
    ours: &mut dyn TableLike,
    theirs: &dyn TableLike,
    path: &mut Path,
    added: &mut Vec<Path>,
) -> Option<()> {
    let [Value::Object(b), Value::Object(o), Value::Object(t)] = values else { return None };
    let keys: Vec<String> = ours.iter().map(|(k, _)| k.to_owned()).collect();
    for key in &keys {
        let (bv, ov, tv) = (b.get(key), o.get(key), t.get(key));
        if ov == tv || bv == tv {
            continue;
        }
        let item = theirs.get(key);
        let both_tables = item.is_some_and(|i| i.is_table_like()) && ours.get(key)?.is_table_like();
        match item {
            None if bv == ov => {
                ours.remove(key);
            }
            // Replaced in place, not re-inserted: re-inserting resets the key's decor.
            Some(item) if bv == ov && !both_tables => *ours.get_mut(key)? = item.clone(),
            Some(item) => {
                let nested = [bv?.clone(), ov?.clone(), tv?.clone()];
                path.push(key.clone());
                let inner = ours.get_mut(key)?.as_table_like_mut()?;
                merge_tables(&nested, inner, item.as_table_like()?, path, added)?;
                path.pop();
            }
            None => return None,
        }
    }
    let theirs_keys: Vec<&str> = theirs.iter().map(|(k, _)| k).collect();
    for (index, (key, item)) in theirs.iter().enumerate() {
        if o.contains_key(key) || b.get(key) == t.get(key) {
            continue;
        }
        if b.contains_key(key) {
            return None;
        }
        let after = theirs_keys[..index].iter().rev().find(|k| ours.contains_key(k)).copied();
        insert_after(ours, after, theirs.key(key)?.clone(), item.clone())?;
        added.push(path.iter().cloned().chain([key.to_owned()]).collect());
    }
    Some(())
}

/// Inserts `key` right after the key `after` (first when `None`), keeping the
/// decor of every key.
fn insert_after(table: &mut dyn TableLike, after: Option<&str>, key: Key, item: Item) -> Option<()> {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_owned()).collect();
    let at = match after {
        Some(after) => keys.iter().position(|k| k == after)? + 1,
        None => 0,
    };
    let mut moved = Vec::with_capacity(keys.len() - at);
    for name in &keys[at..] {
        let key = table.key(name)?.clone();
        moved.push((key, table.remove(name)?));
    }
    table.entry_format(&key).or_insert(item);
    for (key, item) in moved {
        table.entry_format(&key).or_insert(item);
    }
    Some(())
}

/// toml_edit writes tables in the order of their positions, wherever they sit in
/// the tree. Ours are spread this far apart, so that tables of theirs fit between.
const SPREAD: usize = 1 << 16;

fn spread_positions(root: &mut Table) {
    visit_tables(root, &mut Vec::new(), &mut |_, table| {
        if let Some(position) = table.position() {
            table.set_position(position * SPREAD);
        }
    });
}

/// Gives the tables of each added key positions right after the table that comes
/// before them in their document and is in ours, in their order.
fn place_added_tables(ours: &mut Table, theirs: &Table, added: &[Path]) {
    let mut theirs_tables: Vec<(Path, usize)> = Vec::new();
    visit_tables(&mut theirs.clone(), &mut Vec::new(), &mut |path, table| {
        if let Some(position) = table.position() {
            theirs_tables.push((path.to_vec(), position));
        }
    });
    theirs_tables.sort_by_key(|(_, position)| *position);
    let under = |path: &Path, prefix: &Path| path.starts_with(prefix);
    for (done, prefix) in added.iter().enumerate() {
        let Some(first) = theirs_tables.iter().position(|(path, _)| under(path, prefix)) else { continue };
        // Tables of keys added later still hold their positions: they are no anchor.
        let placed = |path: &Path| !added[done + 1..].iter().any(|later| under(path, later));
        let mut ours_positions = std::collections::HashMap::new();
        visit_tables(ours, &mut Vec::new(), &mut |path, table| {
            if let (Some(position), true) = (table.position(), placed(&path.to_vec())) {
                ours_positions.insert(path.to_vec(), position);
            }
        });
        let anchor = theirs_tables[..first]
            .iter()
            .rev()
            .find_map(|(path, _)| ours_positions.get(path).copied())
            .unwrap_or(0);
        let order: Vec<&Path> =
            theirs_tables.iter().filter(|(path, _)| under(path, prefix)).map(|(path, _)| path).collect();
        visit_tables(ours, &mut Vec::new(), &mut |path, table| {
            let path = path.to_vec();
            if let (Some(_), Some(rank)) = (table.position(), order.iter().position(|p| **p == path)) {
                table.set_position(anchor + 1 + rank);
            }
        });
    }
}

/// Calls `visit` on every table that is written with a header (not inline, not
/// dotted), with its path; tables of an array share their path.
fn visit_tables(table: &mut Table, path: &mut Vec<String>, visit: &mut impl FnMut(&[String], &mut Table)) {
    if !table.is_dotted() {
        visit(path, table);
    }
    for (key, item) in table.iter_mut() {
        path.push(key.get().to_owned());
        match item {
            Item::Table(inner) => visit_tables(inner, path, visit),
            Item::ArrayOfTables(array) => array.iter_mut().for_each(|inner| visit_tables(inner, path, visit)),
            _ => {}
        }
        path.pop();
    }
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

    fn clean(base: &str, ours: &str, theirs: &str) -> String {
        match merge(base, ours, theirs) {
            Verdict::Clean(merged) => String::from_utf8(merged).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_comment_above_a_key_they_changed_stays() {
        let base = "a = \"1\"\n# keep in sync with b-sys\nb = \"1\"\nc = \"1\"\n";
        let ours = base.replace("c = \"1\"", "c = \"2\"");
        let theirs = base.replace("b = \"1\"", "b = \"2\"");
        assert_eq!(
            clean(base, &ours, &theirs),
            "a = \"1\"\n# keep in sync with b-sys\nb = \"2\"\nc = \"2\"\n"
        );
    }

    #[test]
    fn added_keys_go_where_their_side_put_them() {
        let base = "a = 1\nb = 2\nc = 3\n";
        let ours = "a = 1\nb = 2\nc = 30\n";
        let theirs = "a = 1\nb = 2\n# new\nb2 = 5\nc = 3\n";
        assert_eq!(clean(base, ours, theirs), "a = 1\nb = 2\n# new\nb2 = 5\nc = 30\n");
        let first = "# new\nz = 0\na = 1\nb = 2\nc = 3\n";
        assert_eq!(clean(base, "a = 10\nb = 2\nc = 3\n", first), "# new\nz = 0\na = 10\nb = 2\nc = 3\n");
    }

    #[test]
    fn added_tables_go_where_their_side_put_them() {
        let base = "[a]\nx = 1\n\n[c]\nz = 1\n";
        let ours = "[a]\nx = 2\n\n[c]\nz = 1\n";
        let theirs = "[a]\nx = 1\n\n[b]\ny = 1\n\n[b.inner]\nq = 1\n\n[c]\nz = 1\n";
        assert_eq!(clean(base, ours, theirs), "[a]\nx = 2\n\n[b]\ny = 1\n\n[b.inner]\nq = 1\n\n[c]\nz = 1\n");
    }
}
