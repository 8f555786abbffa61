//! Trees: directories as lists of named entries.

use super::{DecodeError, IdForm};
use crate::ObjectId;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// What a tree entry points at, derived from its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A regular file (`100644`, and legacy modes such as `100664`).
    File,
    /// An executable file (`100755`).
    Executable,
    /// A symbolic link; the blob holds the target (`120000`).
    Symlink,
    /// A submodule commit (`160000`); the id is not in this repository.
    Gitlink,
    /// A subdirectory (`40000`).
    Tree,
}

/// A tree entry's mode, kept as the octal text it was written with.
///
/// # Deviation from git
/// None on purpose: old git histories hold modes such as `100664`, and converting
/// them to `100644` would change the tree's id, so the raw text is kept and
/// [`Mode::kind`] interprets it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode {
    raw: [u8; 7],
    len: u8,
}

impl Mode {
    /// A regular file.
    pub const FILE: Mode = Mode::from_static(b"100644");
    /// An executable file.
    pub const EXECUTABLE: Mode = Mode::from_static(b"100755");
    /// A symbolic link.
    pub const SYMLINK: Mode = Mode::from_static(b"120000");
    /// A submodule commit.
    pub const GITLINK: Mode = Mode::from_static(b"160000");
    /// A subdirectory.
    pub const TREE: Mode = Mode::from_static(b"40000");

    const fn from_static(text: &[u8]) -> Mode {
        let mut raw = [0u8; 7];
        let mut i = 0;
        while i < text.len() {
            raw[i] = text[i];
            i += 1;
        }
        Mode { raw, len: text.len() as u8 }
    }

    /// Parses 1 to 7 octal digits whose file type pg knows.
    pub fn from_bytes(text: &[u8]) -> Option<Mode> {
        let octal = (1..=7).contains(&text.len()) && text.iter().all(|b| (b'0'..=b'7').contains(b));
        if !octal {
            return None;
        }
        let mode = Mode::from_static(text);
        mode.kind_of_bits().is_some().then_some(mode)
    }

    /// The canonical mode of an entry kind.
    pub fn for_kind(kind: EntryKind) -> Mode {
        match kind {
            EntryKind::File => Mode::FILE,
            EntryKind::Executable => Mode::EXECUTABLE,
            EntryKind::Symlink => Mode::SYMLINK,
            EntryKind::Gitlink => Mode::GITLINK,
            EntryKind::Tree => Mode::TREE,
        }
    }

    /// The octal text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw[..self.len as usize]
    }

    /// The numeric mode.
    pub fn bits(&self) -> u32 {
        self.as_bytes().iter().fold(0, |acc, d| acc * 8 + u32::from(d - b'0'))
    }

    fn kind_of_bits(&self) -> Option<EntryKind> {
        let bits = self.bits();
        match bits & 0o170000 {
            0o040000 => Some(EntryKind::Tree),
            0o120000 => Some(EntryKind::Symlink),
            0o160000 => Some(EntryKind::Gitlink),
            0o100000 if bits & 0o100 != 0 => Some(EntryKind::Executable),
            0o100000 => Some(EntryKind::File),
            _ => None,
        }
    }

    /// What the entry points at.
    pub fn kind(&self) -> EntryKind {
        self.kind_of_bits().expect("constructors accept only known file types")
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mode::from_bytes(s.as_bytes()).ok_or_else(|| format!("'{s}' is not a tree entry mode"))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Show trees zero-padded to six digits, as `git ls-tree` does.
        write!(f, "{:06o}", self.bits())
    }
}

impl fmt::Debug for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mode({})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One named entry of a tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    /// The mode as written.
    pub mode: Mode,
    /// The name: non-empty, no `/`, no NUL.
    pub name: Vec<u8>,
    /// What it points at.
    pub id: ObjectId,
}

impl TreeEntry {
    /// git's order: names compared bytewise, with a tree's name read as if it
    /// ended in `/`.
    pub fn cmp_git_order(&self, other: &TreeEntry) -> Ordering {
        git_order(
            &self.name,
            self.mode.kind() == EntryKind::Tree,
            &other.name,
            other.mode.kind() == EntryKind::Tree,
        )
    }
}

/// Compares two entry names in git's tree order.
pub fn git_order(a: &[u8], a_is_tree: bool, b: &[u8], b_is_tree: bool) -> Ordering {
    let common = a.len().min(b.len());
    // Past the common part, the first byte that differs is a name's next byte or
    // a tree's '/' (never both '/': names hold none).
    let next = |name: &[u8], is_tree: bool| name.get(common).copied().or(is_tree.then_some(b'/'));
    a[..common].cmp(&b[..common]).then_with(|| next(a, a_is_tree).cmp(&next(b, b_is_tree)))
}

/// A directory.
///
/// Entries are kept in the order they were read, so trees from git with an
/// unusual order still round-trip; trees pg builds are in git order
/// ([`Tree::sort`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tree {
    /// The entries.
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    /// Puts the entries in git's order.
    pub fn sort(&mut self) {
        self.entries.sort_by(TreeEntry::cmp_git_order);
    }

    /// The entry named `name`.
    pub fn get(&self, name: &[u8]) -> Option<&TreeEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub(super) fn encode_body(&self, form: IdForm) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 64);
        for entry in &self.entries {
            out.extend_from_slice(entry.mode.as_bytes());
            out.push(b' ');
            out.extend_from_slice(&entry.name);
            out.push(0);
            out.extend_from_slice(form.binary(&entry.id));
        }
        out
    }

    pub(super) fn decode_body(body: &[u8], form: IdForm) -> Result<Tree, DecodeError> {
        let entries = EntriesIn::new(body, form)
            .map(|entry| entry.map(|EntryRef { mode, name, id }| TreeEntry { mode, name: name.to_vec(), id }))
            .collect::<Result<_, _>>()?;
        Ok(Tree { entries })
    }
}

/// One entry of an encoded tree, read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The mode as written.
    pub mode: Mode,
    /// The name: non-empty, no `/`, no NUL.
    pub name: &'a [u8],
    /// What it points at.
    pub id: ObjectId,
}

/// The entries of an encoded tree body, checked and read in place: walking a tree
/// this way allocates nothing (a clone walks every tree of a history).
pub struct EntriesIn<'a> {
    body: &'a [u8],
    at: usize,
    form: IdForm,
}

impl<'a> EntriesIn<'a> {
    /// Reads the entries of `body` (a tree's encoding after its header), whose ids
    /// are written in `form`.
    pub fn new(body: &'a [u8], form: IdForm) -> Self {
        EntriesIn { body, at: 0, form }
    }

    /// The length of the next entry, when `other`'s next entry is the same bytes
    /// (then both parse alike: the bytes decide where an entry ends).
    fn same_next(&self, other: &EntriesIn<'_>) -> Option<usize> {
        let rest = &self.body[self.at..];
        let nul = rest.iter().position(|&b| b == 0)?;
        let len = nul + 1 + self.form.binary_len(&rest[nul + 1..])?;
        let mine = rest.get(..len)?;
        let theirs = other.body.get(other.at..other.at + len)?;
        (mine == theirs).then_some(len)
    }

    /// Moves past the entries before `entry` in git order, and past `entry` itself
    /// when it comes next: whether it did.
    fn take_if_next(&mut self, entry: &EntryRef<'_>) -> bool {
        let is_tree = |e: &EntryRef<'_>| e.mode.kind() == EntryKind::Tree;
        loop {
            let at = self.at;
            let Some(Ok(next)) = self.next() else { return false };
            match git_order(next.name, is_tree(&next), entry.name, is_tree(entry)) {
                Ordering::Less => continue,
                Ordering::Equal if next == *entry => return true,
                _ => {
                    self.at = at;
                    return false;
                }
            }
        }
    }

    fn read_entry(&mut self) -> Result<EntryRef<'a>, DecodeError> {
        let at = self.at;
        let fail = |what: &str| DecodeError::TreeEntry { offset: at, what: what.into() };
        let rest = &self.body[at..];
        let space = rest.iter().position(|&b| b == b' ').ok_or_else(|| fail("no space after mode"))?;
        let mode = Mode::from_bytes(&rest[..space]).ok_or_else(|| fail("bad mode"))?;
        let nul = rest.iter().position(|&b| b == 0).ok_or_else(|| fail("name not terminated"))?;
        let name = rest.get(space + 1..nul).ok_or_else(|| fail("no name"))?;
        if name.is_empty() || name.contains(&b'/') {
            return Err(fail("empty name or a name with '/'"));
        }
        let (id, id_len) = self.form.read_binary(&rest[nul + 1..])?;
        self.at += nul + 1 + id_len;
        Ok(EntryRef { mode, name, id })
    }
}

/// The entries of tree `body` that its base (`base`, another tree's body in the
/// same id form) does not hold as they are: of a directory's next version, what
/// is new or changed. Both are read in git order; out of order, more entries come
/// out, never fewer (an entry is left out only when the base holds it exactly).
/// The base's own damage only stops the comparison early.
pub fn entries_beyond<'a>(body: &'a [u8], base: &'a [u8], form: IdForm) -> EntriesBeyond<'a> {
    EntriesBeyond { new: EntriesIn::new(body, form), old: EntriesIn::new(base, form) }
}

/// The iterator of [`entries_beyond`].
pub struct EntriesBeyond<'a> {
    new: EntriesIn<'a>,
    old: EntriesIn<'a>,
}

impl<'a> Iterator for EntriesBeyond<'a> {
    type Item = Result<EntryRef<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Most of a next version is its base byte for byte, at the same place:
            // such entries pass without being parsed.
            if let Some(len) = self.new.same_next(&self.old) {
                self.new.at += len;
                self.old.at += len;
                continue;
            }
            let entry = match self.new.next()? {
                Ok(entry) => entry,
                error => return Some(error),
            };
            if !self.old.take_if_next(&entry) {
                return Some(Ok(entry));
            }
        }
    }
}

impl<'a> Iterator for EntriesIn<'a> {
    type Item = Result<EntryRef<'a>, DecodeError>;

    /// The next entry; after an error, none.
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.body.len() {
            return None;
        }
        let entry = self.read_entry();
        if entry.is_err() {
            self.at = self.body.len();
        }
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// git's order is the byte order of names with '/' after a tree's.
        #[test]
        fn git_order_compares_names_as_paths(
            a in proptest::collection::vec(1u8..=255, 0..6),
            b in proptest::collection::vec(1u8..=255, 0..6),
            a_is_tree: bool,
            b_is_tree: bool,
        ) {
            let path = |name: &[u8], is_tree: bool| [name, if is_tree { b"/" } else { b"" }].concat();
            let (a, b): (Vec<u8>, Vec<u8>) = (a.into_iter().filter(|&c| c != b'/').collect(), b.into_iter().filter(|&c| c != b'/').collect());
            proptest::prop_assert_eq!(git_order(&a, a_is_tree, &b, b_is_tree), path(&a, a_is_tree).cmp(&path(&b, b_is_tree)));
        }
    }

    #[test]
    fn git_order_puts_trees_after_same_prefixed_files() {
        // git sorts "a.c" < "a/" < "a0" because '.' < '/' < '0'.
        assert_eq!(git_order(b"a", true, b"a.c", false), Ordering::Greater);
        assert_eq!(git_order(b"a", true, b"a0", false), Ordering::Less);
        assert_eq!(git_order(b"a", false, b"a", true), Ordering::Less);
    }

    #[test]
    fn modes_keep_their_text_and_know_their_kind() {
        let legacy: Mode = "100664".parse().unwrap();
        assert_eq!(legacy.as_bytes(), b"100664");
        assert_eq!(legacy.kind(), EntryKind::File);
        assert_eq!(Mode::TREE.to_string(), "040000");
        assert_eq!(Mode::EXECUTABLE.kind(), EntryKind::Executable);
        assert!("100a44".parse::<Mode>().is_err());
        assert!("070000".parse::<Mode>().is_err());
        assert!("10064400".parse::<Mode>().is_err());
    }
}
