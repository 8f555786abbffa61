//! The text tier: a 3-way merge over lines whose output is byte-identical to git's
//! (`git merge-file` and the text merges inside `git merge`), conflict markers and
//! all.

mod histogram;
mod three_way;
pub mod xdiff;

pub use xdiff::Algorithm;

/// How a conflict is shown, as git's `merge.conflictStyle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictStyle {
    /// Ours and theirs between `<<<<<<<`, `=======` and `>>>>>>>`.
    #[default]
    Merge,
    /// Also the base, after `|||||||`.
    Diff3,
    /// diff3, with lines both sides agree on at a conflict's edges moved out of it.
    Zdiff3,
}

/// Which side settles every conflict instead of markers (git's `--ours`,
/// `--theirs`, `--union`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Favor {
    /// Take our lines.
    Ours,
    /// Take their lines.
    Theirs,
    /// Take our lines, then theirs.
    Union,
}

/// How hard the merge works to shrink conflicts (in the `merge` style; the diff3
/// styles show the base and so never split a conflict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Level {
    /// Lines both sides agree on inside a conflict leave it; conflicts at most three
    /// lines apart are joined (what `git merge` does).
    Zealous,
    /// As `Zealous`, and conflicts separated only by lines without a letter or digit
    /// are joined too (what `git merge-file` does).
    #[default]
    ZealousAlnum,
}

/// The names written after the conflict markers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    /// After `<<<<<<<`.
    pub ours: Option<Vec<u8>>,
    /// After `|||||||` (diff3 styles).
    pub base: Option<Vec<u8>>,
    /// After `>>>>>>>`.
    pub theirs: Option<Vec<u8>>,
}

/// How conflicts are written into a file: the labels and the markers' length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers {
    /// The names after the markers.
    pub labels: Labels,
    /// Marker length; 0 means [`DEFAULT_MARKER_SIZE`].
    pub size: usize,
}

/// Git's conflict marker length.
pub const DEFAULT_MARKER_SIZE: usize = 7;

/// Options of a text merge; the default is `git merge-file`'s.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How conflicts are written.
    pub style: ConflictStyle,
    /// How hard conflicts are shrunk.
    pub level: Level,
    /// Settle conflicts for one side instead of writing markers.
    pub favor: Option<Favor>,
    /// Marker labels.
    pub labels: Labels,
    /// Marker length; 0 means [`DEFAULT_MARKER_SIZE`].
    pub marker_size: usize,
    /// The diff algorithm (git's `--diff-algorithm`).
    pub algorithm: Algorithm,
}

/// The result of a text merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The merged text; with conflicts, it holds conflict markers.
    pub text: Vec<u8>,
    /// How many conflicts the text holds.
    pub conflicts: usize,
}

/// Merges `ours` and `theirs`, both changed from `base`, line by line.
pub fn merge(base: &[u8], ours: &[u8], theirs: &[u8], options: &Options) -> Outcome {
    let (text, conflicts) = three_way::merge(base, ours, theirs, options);
    Outcome { text, conflicts }
}

/// The stretches of the line merge of `ours` and `theirs` that no conflict
/// touches, in order, one more than there are conflicts: what any resolution of
/// the conflicts must keep. Conflicts are as small as git's zealous level makes
/// them and are never joined, so every line that neither side changed, and every
/// line both sides agree on, lies in a stretch.
pub fn settled_stretches(base: &[u8], ours: &[u8], theirs: &[u8], algorithm: Algorithm) -> Vec<Vec<u8>> {
    three_way::settled_stretches(base, ours, theirs, algorithm)
}

/// How many leading bytes [`looks_binary`] inspects (git's `FIRST_FEW_BYTES`).
const SNIFF_LEN: usize = 8000;

/// Whether data is binary by git's rule: a NUL byte in its first 8000 bytes.
pub fn looks_binary(data: &[u8]) -> bool {
    data[..data.len().min(SNIFF_LEN)].contains(&0)
}
