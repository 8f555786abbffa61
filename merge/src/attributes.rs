//! `.pgattributes`: which merge functions a path goes through, in gitattributes
//! syntax (`*.json merge=json,text`).
//!
//! A file's patterns apply below its directory; a pattern without `/` matches a
//! name at any depth, one with `/` matches from the file's directory; `*` stays
//! within a directory, `**` crosses them. Deeper files win over shallower ones, and
//! within a file the last matching line wins, as in git. `merge` alone means
//! `merge=text`, `-merge` means `merge=binary`; the value may list several
//! functions, tried in order.

use globset::{GlobBuilder, GlobMatcher};
use pg_core::index::join;
use pg_core::object::EntryKind;
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use std::collections::HashMap;

/// The file name.
pub const FILE_NAME: &[u8] = b".pgattributes";

/// A bad line in a `.pgattributes` file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pattern that is not a valid glob.
    #[error("{file}:{line}: bad pattern '{pattern}': {reason}")]
    Pattern {
        /// The file's path.
        file: String,
        /// 1-based line.
        line: usize,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// Reading the tree failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// One pattern line's verdict on merging.
#[derive(Debug, Clone)]
struct Rule {
    matcher: GlobMatcher,
    /// Match against the path's last component only.
    name_only: bool,
    cascade: Vec<String>,
}

/// Parses one `.pgattributes` file (living in directory `dir`); only lines that
/// say something about `merge` are kept.
fn parse(dir: &[u8], text: &[u8]) -> Result<Vec<Rule>, Error> {
    let file = String::from_utf8_lossy(&join(dir, FILE_NAME)).into_owned();
    let mut rules = Vec::new();
    for (number, line) in String::from_utf8_lossy(text).lines().enumerate() {
        let mut words = line.split_whitespace();
        let Some(pattern) = words.next().filter(|p| !p.starts_with('#')) else { continue };
        let cascade = words.filter_map(merge_setting).next_back();
        let Some(cascade) = cascade else { continue };
        // Patterns naming directories (trailing '/') match no file, as in git.
        if pattern.ends_with('/') {
            continue;
        }
        let name_only = !pattern.contains('/');
        let anchored = pattern.trim_start_matches('/');
        let glob = if name_only { anchored.to_owned() } else { format!("{}{anchored}", prefix(dir)) };
        let matcher = GlobBuilder::new(&glob)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| Error::Pattern {
                file: file.clone(),
                line: number + 1,
                pattern: pattern.into(),
                reason: e.kind().to_string(),
            })?
            .compile_matcher();
        rules.push(Rule { matcher, name_only, cascade });
    }
    Ok(rules)
}

fn prefix(dir: &[u8]) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{}/", String::from_utf8_lossy(dir))
    }
}

/// The cascade an attribute sets, if it is about merging.
fn merge_setting(word: &str) -> Option<Vec<String>> {
    match word {
        "merge" => Some(vec!["text".into()]),
        "-merge" => Some(vec!["binary".into()]),
        _ => word
            .strip_prefix("merge=")
            .map(|list| list.split(',').filter(|n| !n.is_empty()).map(str::to_owned).collect()),
    }
}

/// The `.pgattributes` files of one tree, read as paths ask for them.
pub struct Attributes<'s> {
    store: &'s Store,
    root: Option<ObjectId>,
    /// Per directory: its rules (empty when it has no file).
    loaded: HashMap<Vec<u8>, Vec<Rule>>,
}

impl<'s> Attributes<'s> {
    /// The attributes of tree `root` (absent: none).
    pub fn of_tree(store: &'s Store, root: Option<ObjectId>) -> Attributes<'s> {
        Attributes { store, root, loaded: HashMap::new() }
    }

    /// The cascade `.pgattributes` picks for `path`, if any line matches it.
    pub fn cascade(&mut self, path: &[u8]) -> Result<Option<Vec<String>>, Error> {
        let dirs: Vec<&[u8]> = std::iter::once(&path[..0])
            .chain(path.iter().enumerate().filter(|(_, &b)| b == b'/').map(|(i, _)| &path[..i]))
            .collect();
        let path_text = String::from_utf8_lossy(path);
        let name_text = String::from_utf8_lossy(path.rsplit(|&b| b == b'/').next().unwrap_or(path));
        for dir in dirs.into_iter().rev() {
            let rules = self.rules_of(dir)?;
            let hit = rules.iter().rev().find(|rule| {
                let subject: &str = if rule.name_only { &name_text } else { &path_text };
                rule.matcher.is_match(subject)
            });
            if let Some(rule) = hit {
                return Ok(Some(rule.cascade.clone()));
            }
        }
        Ok(None)
    }

    fn rules_of(&mut self, dir: &[u8]) -> Result<&Vec<Rule>, Error> {
        if !self.loaded.contains_key(dir) {
            let rules = match self.file_in(dir)? {
                Some(text) => parse(dir, &text)?,
                None => Vec::new(),
            };
            self.loaded.insert(dir.to_vec(), rules);
        }
        Ok(&self.loaded[dir])
    }

    /// The `.pgattributes` blob of directory `dir`, if there is one.
    fn file_in(&self, dir: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let Some(mut tree) = self.root else { return Ok(None) };
        for part in dir.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            let entries = self.store.read_tree(&tree)?;
            match entries.get(part) {
                Some(entry) if entry.mode.kind() == EntryKind::Tree => tree = entry.id,
                _ => return Ok(None),
            }
        }
        let entries = self.store.read_tree(&tree)?;
        match entries.get(FILE_NAME) {
            Some(entry) if matches!(entry.mode.kind(), EntryKind::File | EntryKind::Executable) => {
                Ok(Some(self.store.read_blob(&entry.id)?))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cascade_of(rules: &[Rule], path: &str) -> Option<Vec<String>> {
        let name = path.rsplit('/').next().unwrap();
        rules
            .iter()
            .rev()
            .find(|r| r.matcher.is_match(if r.name_only { name } else { path }))
            .map(|r| r.cascade.clone())
    }

    #[test]
    fn patterns_follow_gitattributes_rules() {
        let text = b"# comment\n*.json merge=json,text\n/docs/*.md merge=union\nvendor/** -merge\n*.lock merge\n*.txt text eol=lf\nbuild/ merge=binary\n";
        let rules = parse(b"", text).unwrap();
        assert_eq!(rules.len(), 4, "lines without merge, and directory patterns, are dropped");
        let names = |v: Option<Vec<String>>| v.map(|v| v.join(","));
        assert_eq!(names(cascade_of(&rules, "a/b/c.json")), Some("json,text".into()));
        assert_eq!(names(cascade_of(&rules, "docs/x.md")), Some("union".into()));
        assert_eq!(names(cascade_of(&rules, "docs/sub/x.md")), None, "* stays in its directory");
        assert_eq!(
            names(cascade_of(&rules, "vendor/a/b.json")),
            Some("binary".into()),
            "the last match wins"
        );
        assert_eq!(names(cascade_of(&rules, "Cargo.lock")), Some("text".into()));
        assert_eq!(names(cascade_of(&rules, "notes.txt")), None);
    }

    #[test]
    fn nested_files_anchor_at_their_directory() {
        let rules = parse(b"sub", b"/only.json merge=json\n").unwrap();
        assert!(cascade_of(&rules, "sub/only.json").is_some());
        assert!(cascade_of(&rules, "only.json").is_none());
        assert!(parse(b"", b"[z-a] merge").is_err());
    }
}
