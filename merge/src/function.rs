//! Merge functions: pure functions from (base, ours, theirs) to a verdict, each
//! named by the multihash of its descriptor, so a result can be cached and checked
//! by anyone who has the same function.

use crate::text::{self, ConflictStyle, Favor, Level, Markers};
use pg_core::{HashAlgorithm, ObjectId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The id of a merge function: the BLAKE3 multihash of its descriptor's encoding.
///
/// # Deviation from objects
/// Always BLAKE3, whatever hash the repository uses for objects: a function's id
/// must be the same in every repository, or cached results could not be shared.
pub type FunctionId = ObjectId;

/// What identifies a merge function: its name, version and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The name used in `.pgattributes` (`text`, `json`, ...).
    pub name: String,
    /// Bumped whenever the function's results could change.
    pub version: u32,
    /// Parameters that change results, sorted by name.
    pub params: BTreeMap<String, String>,
}

impl Descriptor {
    /// The canonical encoding (see docs/FORMAT.md, "Merge functions"):
    /// `pg merge function\n`, then `name <name>\n`, `version <n>\n`, and one
    /// `param <key> <value>\n` per parameter in key order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("pg merge function\nname {}\nversion {}\n", self.name, self.version);
        for (key, value) in &self.params {
            out.push_str(&format!("param {key} {value}\n"));
        }
        out.into_bytes()
    }

    /// The function id.
    pub fn id(&self) -> FunctionId {
        HashAlgorithm::Blake3.hash(&self.encode())
    }
}

/// The three versions of one file given to a merge function.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The file's path (functions may look at its extension; results must not
    /// depend on anything else about it).
    pub path: &'a [u8],
    /// The common ancestor's version; `None` when both sides added the file.
    pub base: Option<&'a [u8]>,
    /// Our version.
    pub ours: &'a [u8],
    /// Their version.
    pub theirs: &'a [u8],
}

/// What a merge function decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The merged content.
    Clean(Vec<u8>),
    /// The versions conflict; a later tier (or a person) must decide.
    Conflict,
    /// The function does not apply to this input (it does not parse, say).
    Defer,
}

/// A merge function. Implementations must be pure: the verdict depends only on
/// the descriptor and the input's bytes, which is what makes caching by id sound.
pub trait MergeFunction: Send + Sync {
    /// Name, version and parameters.
    fn descriptor(&self) -> &Descriptor;
    /// One line saying what it does, for `pg merge-functions`.
    fn summary(&self) -> &'static str;
    /// Merges one file.
    fn merge(&self, input: &Input) -> Verdict;
    /// The conflicted content to put in the working copy (with conflict markers),
    /// if this function can show a conflict.
    fn render_conflict(&self, _input: &Input, _markers: &Markers) -> Option<Vec<u8>> {
        None
    }
}

/// The function that settles a path both sides changed identically (or only one
/// side changed) without reading it; it exists as a descriptor so provenance can
/// name it.
pub fn trivial() -> Descriptor {
    Descriptor { name: "trivial".into(), version: 1, params: BTreeMap::new() }
}

/// git's line merge (see [`crate::text`]).
pub struct TextMerge {
    descriptor: Descriptor,
    options: text::Options,
}

impl TextMerge {
    /// A text merge writing conflicts in `style`. `favor` settles conflicts for a
    /// side (`union` keeps both).
    pub fn new(name: &str, style: ConflictStyle, favor: Option<Favor>) -> TextMerge {
        let style_name = match style {
            ConflictStyle::Merge => "merge",
            ConflictStyle::Diff3 => "diff3",
            ConflictStyle::Zdiff3 => "zdiff3",
        };
        // The choices `git merge` makes, so tree merges give git's results.
        let params = BTreeMap::from([
            ("diff".to_owned(), "histogram".to_owned()),
            ("level".to_owned(), "zealous".to_owned()),
            ("style".to_owned(), style_name.to_owned()),
        ]);
        let options = text::Options {
            style,
            level: Level::Zealous,
            favor,
            algorithm: text::Algorithm::Histogram,
            ..text::Options::default()
        };
        TextMerge { descriptor: Descriptor { name: name.into(), version: 1, params }, options }
    }

    fn run(&self, input: &Input, markers: &Markers) -> Option<text::Outcome> {
        let base = input.base.unwrap_or_default();
        if [base, input.ours, input.theirs].iter().any(|data| text::looks_binary(data)) {
            return None;
        }
        let options = text::Options {
            labels: markers.labels.clone(),
            marker_size: markers.size,
            ..self.options.clone()
        };
        Some(text::merge(base, input.ours, input.theirs, &options))
    }
}

impl MergeFunction for TextMerge {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn summary(&self) -> &'static str {
        match self.options.favor {
            Some(_) => "3-way line merge keeping both sides' lines where they conflict (git's union)",
            None => "3-way line merge, byte-identical to git's; binary files defer",
        }
    }

    fn merge(&self, input: &Input) -> Verdict {
        match self.run(input, &Markers::default()) {
            None => Verdict::Defer,
            Some(outcome) if outcome.conflicts == 0 => Verdict::Clean(outcome.text),
            Some(_) => Verdict::Conflict,
        }
    }

    fn render_conflict(&self, input: &Input, markers: &Markers) -> Option<Vec<u8>> {
        self.run(input, markers).map(|outcome| outcome.text)
    }
}

/// Never merges: any change on both sides is a conflict for a person (git's
/// `merge=binary`).
pub struct Binary {
    descriptor: Descriptor,
}

impl MergeFunction for Binary {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn summary(&self) -> &'static str {
        "never merges content: changes on both sides go to the queue"
    }

    fn merge(&self, _input: &Input) -> Verdict {
        Verdict::Conflict
    }
}

/// The merge functions a repository can name, by name.
pub struct Registry {
    functions: BTreeMap<String, Arc<dyn MergeFunction>>,
}

impl Registry {
    /// The built-in functions; text merges write conflicts in `style`.
    pub fn builtin(style: ConflictStyle) -> Registry {
        let functions: Vec<Arc<dyn MergeFunction>> = vec![
            Arc::new(TextMerge::new("text", style, None)),
            Arc::new(TextMerge::new("union", style, Some(Favor::Union))),
            Arc::new(Binary {
                descriptor: Descriptor { name: "binary".into(), version: 1, params: BTreeMap::new() },
            }),
            Arc::new(crate::structured::Json::default()),
            Arc::new(crate::structured::Toml::default()),
            Arc::new(crate::structured::Yaml::default()),
        ];
        Registry { functions: functions.into_iter().map(|f| (f.descriptor().name.clone(), f)).collect() }
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn MergeFunction>> {
        self.functions.get(name)
    }

    /// Every function, by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn MergeFunction>> {
        self.functions.values()
    }

    /// The descriptor with id `id`, among these functions and [`trivial`].
    pub fn describe(&self, id: &FunctionId) -> Option<Descriptor> {
        std::iter::once(trivial())
            .chain(self.functions.values().map(|f| f.descriptor().clone()))
            .find(|d| d.id() == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_hash_of_the_canonical_descriptor() {
        let text = TextMerge::new("text", ConflictStyle::Merge, None);
        let encoded = String::from_utf8(text.descriptor().encode()).unwrap();
        assert_eq!(
            encoded,
            "pg merge function\nname text\nversion 1\nparam diff histogram\nparam level zealous\nparam style merge\n"
        );
        assert_eq!(text.descriptor().id(), HashAlgorithm::Blake3.hash(encoded.as_bytes()));
        let diff3 = TextMerge::new("text", ConflictStyle::Diff3, None);
        assert_ne!(diff3.descriptor().id(), text.descriptor().id(), "parameters are part of the id");
    }

    #[test]
    fn text_merge_settles_separate_changes_and_defers_on_binary() {
        let text = TextMerge::new("text", ConflictStyle::Merge, None);
        let input = Input { path: b"f", base: Some(b"a\nb\nc\n"), ours: b"A\nb\nc\n", theirs: b"a\nb\nC\n" };
        assert_eq!(text.merge(&input), Verdict::Clean(b"A\nb\nC\n".to_vec()));
        let clash = Input { theirs: b"a2\nb\nc\n", ..input };
        assert_eq!(text.merge(&clash), Verdict::Conflict);
        let binary = Input { ours: b"\0A\n", ..input };
        assert_eq!(text.merge(&binary), Verdict::Defer);
    }
}
