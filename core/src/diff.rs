//! Differences: which files changed between two trees, and line hunks between two
//! versions of a file. Rendering (colour, headers) is the caller's.

use crate::id::ObjectId;
use crate::index::join;
use crate::object::{EntryKind, Mode, Tree};
use crate::store;
use std::collections::BTreeMap;

/// A file's mode and content id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileState {
    /// Its mode.
    pub mode: Mode,
    /// Its blob id (a commit id for a gitlink).
    pub id: ObjectId,
}

impl FileState {
    /// Whether two states are the same content and kind (legacy modes such as
    /// `100664` equal `100644`).
    pub fn same_as(&self, other: &FileState) -> bool {
        self.id == other.id && self.mode.kind() == other.mode.kind()
    }
}

/// One path that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path from the top, `/`-separated.
    pub path: Vec<u8>,
    /// Before (`None`: added).
    pub old: Option<FileState>,
    /// After (`None`: deleted).
    pub new: Option<FileState>,
}

/// How a path changed, as status letters name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Newly there.
    Added,
    /// Gone.
    Deleted,
    /// Content or executable bit changed.
    Modified,
    /// Became another kind of entry (file to symlink, say).
    TypeChanged,
}

impl FileChange {
    /// The kind of change.
    pub fn kind(&self) -> ChangeKind {
        match (&self.old, &self.new) {
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Deleted,
            (Some(a), Some(b)) if kind_family(a.mode.kind()) != kind_family(b.mode.kind()) => {
                ChangeKind::TypeChanged
            }
            _ => ChangeKind::Modified,
        }
    }
}

/// Files and executables are one family: flipping the bit is a modification.
fn kind_family(kind: EntryKind) -> u8 {
    match kind {
        EntryKind::File | EntryKind::Executable => 0,
        EntryKind::Symlink => 1,
        EntryKind::Gitlink => 2,
        EntryKind::Tree => 3,
    }
}

/// The file-level changes from tree `old` to tree `new` (either may be absent,
/// meaning empty), sorted by path. Subtrees with equal ids are not read.
pub fn diff_trees(
    read_tree: &dyn Fn(&ObjectId) -> store::Result<Tree>,
    old: Option<&ObjectId>,
    new: Option<&ObjectId>,
) -> store::Result<Vec<FileChange>> {
    let mut changes = Vec::new();
    diff_dir(read_tree, old, new, &[], &mut changes)?;
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changes)
}

type Side = Option<(Mode, ObjectId)>;

fn diff_dir(
    read_tree: &dyn Fn(&ObjectId) -> store::Result<Tree>,
    old: Option<&ObjectId>,
    new: Option<&ObjectId>,
    dir: &[u8],
    out: &mut Vec<FileChange>,
) -> store::Result<()> {
    if old == new {
        return Ok(());
    }
    let mut names: BTreeMap<Vec<u8>, (Side, Side)> = BTreeMap::new();
    for (tree, is_new) in [(old, false), (new, true)] {
        let Some(id) = tree else { continue };
        for entry in read_tree(id)?.entries {
            let slot = names.entry(entry.name).or_default();
            let side = if is_new { &mut slot.1 } else { &mut slot.0 };
            *side = Some((entry.mode, entry.id));
        }
    }
    for (name, (a, b)) in names {
        let path = join(dir, &name);
        let subtree = |side: Side| side.filter(|(m, _)| m.kind() == EntryKind::Tree).map(|(_, id)| id);
        let file = |side: Side| {
            side.filter(|(m, _)| m.kind() != EntryKind::Tree).map(|(mode, id)| FileState { mode, id })
        };
        let (old_tree, new_tree) = (subtree(a), subtree(b));
        if old_tree.is_some() || new_tree.is_some() {
            diff_dir(read_tree, old_tree.as_ref(), new_tree.as_ref(), &path, out)?;
        }
        let (old_file, new_file) = (file(a), file(b));
        let same = matches!((&old_file, &new_file), (Some(x), Some(y)) if x.id == y.id && x.mode == y.mode);
        if (old_file.is_some() || new_file.is_some()) && !same {
            out.push(FileChange { path, old: old_file, new: new_file });
        }
    }
    Ok(())
}

/// Whether content looks binary (a NUL in its first 8000 bytes, as git decides).
pub fn is_binary(data: &[u8]) -> bool {
    data.iter().take(8000).any(|&b| b == 0)
}

/// What a line of a hunk is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// In both versions.
    Context,
    /// Only in the old version.
    Removed,
    /// Only in the new version.
    Added,
}

/// One line of a hunk, without its newline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Context, removed or added.
    pub kind: LineKind,
    /// The bytes, without the trailing newline.
    pub text: Vec<u8>,
    /// The line is the last of its file and has no newline.
    pub missing_newline: bool,
}

/// A run of changed lines with context, as `@@ -a,b +c,d @@` introduces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// First old line (1-based; 0 when the range is empty).
    pub old_start: usize,
    /// Number of old lines.
    pub old_len: usize,
    /// First new line (1-based; 0 when the range is empty).
    pub new_start: usize,
    /// Number of new lines.
    pub new_len: usize,
    /// The lines.
    pub lines: Vec<Line>,
}

/// How many lines `new` adds to `old` and removes from it, as `--stat` counts
/// them (the same Myers diff as [`line_hunks`]).
pub fn line_counts(old: &[u8], new: &[u8]) -> (usize, usize) {
    let diff = similar::TextDiff::configure().algorithm(similar::Algorithm::Myers).diff_lines(old, new);
    diff.iter_all_changes().fold((0, 0), |(added, removed), change| match change.tag() {
        similar::ChangeTag::Insert => (added + 1, removed),
        similar::ChangeTag::Delete => (added, removed + 1),
        similar::ChangeTag::Equal => (added, removed),
    })
}

/// Line hunks from `old` to `new` with `context` lines around each change (Myers).
pub fn line_hunks(old: &[u8], new: &[u8], context: usize) -> Vec<Hunk> {
    let diff = similar::TextDiff::configure().algorithm(similar::Algorithm::Myers).diff_lines(old, new);
    let (old_lines, new_lines) = (diff.old_slices(), diff.new_slices());
    let mut hunks = Vec::new();
    for group in diff.grouped_ops(context) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut lines = Vec::new();
        for op in &group {
            for change in diff.iter_changes(op) {
                let (kind, slice) = match change.tag() {
                    similar::ChangeTag::Equal => {
                        (LineKind::Context, old_lines[change.old_index().unwrap_or(0)])
                    }
                    similar::ChangeTag::Delete => {
                        (LineKind::Removed, old_lines[change.old_index().unwrap_or(0)])
                    }
                    similar::ChangeTag::Insert => {
                        (LineKind::Added, new_lines[change.new_index().unwrap_or(0)])
                    }
                };
                let text = slice.strip_suffix(b"\n").unwrap_or(slice);
                lines.push(Line { kind, text: text.to_vec(), missing_newline: !slice.ends_with(b"\n") });
            }
        }
        let start =
            |range: &std::ops::Range<usize>| if range.is_empty() { range.start } else { range.start + 1 };
        hunks.push(Hunk {
            old_start: start(&old_range),
            old_len: old_range.len(),
            new_start: start(&new_range),
            new_len: new_range.len(),
            lines,
        });
    }
    hunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_number_lines_as_unified_diff_does() {
        let old = b"a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = b"a\nb\nc\nD\ne\nf\ng\nh\ni";
        let hunks = line_hunks(old, new, 1);
        assert_eq!(hunks.len(), 2);
        assert_eq!(
            (hunks[0].old_start, hunks[0].old_len, hunks[0].new_start, hunks[0].new_len),
            (3, 3, 3, 3)
        );
        let last = hunks[1].lines.last().unwrap();
        assert_eq!(
            (last.kind, last.text.as_slice(), last.missing_newline),
            (LineKind::Added, &b"i"[..], true)
        );
    }

    #[test]
    fn adding_to_an_empty_file_starts_at_zero() {
        let hunks = line_hunks(b"", b"x\n", 3);
        assert_eq!(
            (hunks[0].old_start, hunks[0].old_len, hunks[0].new_start, hunks[0].new_len),
            (0, 0, 1, 1)
        );
    }
}
