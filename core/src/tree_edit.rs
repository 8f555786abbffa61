//! Editing a tree by paths: the directories on the way to an edited path are
//! rewritten, everything else is kept by id without being read.

use crate::diff::FileState;
use crate::id::ObjectId;
use crate::object::{EntryKind, Mode, Object, Tree, TreeEntry};
use crate::store::{Result, Store};
use std::collections::BTreeMap;

/// Sets (`Some`) or removes (`None`) files in the tree `root` (absent: empty) and
/// returns the new root (`None` when nothing is left). New trees are written unlogged
/// ([`Store::write_bulk`]); directories left empty disappear. A file set where a
/// directory was replaces the directory, and the other way round.
pub fn edit_tree(
    store: &Store,
    root: Option<&ObjectId>,
    edits: &BTreeMap<Vec<u8>, Option<FileState>>,
) -> Result<Option<ObjectId>> {
    let edits: Vec<(&[u8], Option<FileState>)> = edits.iter().map(|(p, s)| (p.as_slice(), *s)).collect();
    edit_dir(store, root, &edits)
}

/// The edit of one child itself (`Some(None)`: remove it), and the edits below it.
type ChildEdits<'e> = (Option<Option<FileState>>, Vec<(&'e [u8], Option<FileState>)>);

fn edit_dir(
    store: &Store,
    tree: Option<&ObjectId>,
    edits: &[(&[u8], Option<FileState>)],
) -> Result<Option<ObjectId>> {
    let mut entries: BTreeMap<Vec<u8>, TreeEntry> = match tree {
        Some(id) => store.read_tree(id)?.entries.into_iter().map(|e| (e.name.clone(), e)).collect(),
        None => BTreeMap::new(),
    };
    // Per child name: the edit of the child itself, and the edits below it.
    let mut by_child: BTreeMap<&[u8], ChildEdits> = BTreeMap::new();
    for &(path, state) in edits {
        match path.iter().position(|&b| b == b'/') {
            None => by_child.entry(path).or_default().0 = Some(state),
            Some(slash) => by_child.entry(&path[..slash]).or_default().1.push((&path[slash + 1..], state)),
        }
    }
    for (name, (own, below)) in by_child {
        if !below.is_empty() {
            let subtree = entries.get(name).filter(|e| e.mode.kind() == EntryKind::Tree).map(|e| e.id);
            match edit_dir(store, subtree.as_ref(), &below)? {
                Some(id) => {
                    entries.insert(name.to_vec(), TreeEntry { mode: Mode::TREE, name: name.to_vec(), id })
                }
                None => entries.remove(name),
            };
        }
        match own {
            Some(Some(state)) => {
                entries
                    .insert(name.to_vec(), TreeEntry { mode: state.mode, name: name.to_vec(), id: state.id });
            }
            Some(None) if below.is_empty() => {
                entries.remove(name);
            }
            // Removing a file while adding paths below its name: the directory stays.
            _ => {}
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let mut tree = Tree { entries: entries.into_values().collect() };
    tree.sort();
    store.write_bulk(&Object::Tree(tree)).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff_trees;
    use crate::repo::{InitOptions, Repository};

    fn blob(store: &Store, text: &str) -> FileState {
        let id = store.write(&Object::Blob(text.as_bytes().to_vec())).unwrap();
        FileState { mode: Mode::FILE, id }
    }

    #[test]
    fn edits_touch_only_their_paths_and_empty_directories_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let context = crate::oplog::OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo = Repository::init(dir.path(), &InitOptions::default(), &context).unwrap();
        let store = repo.store();
        let (a, b, c) = (blob(store, "a"), blob(store, "b"), blob(store, "c"));
        let first: BTreeMap<Vec<u8>, Option<FileState>> =
            [(b"x/a".to_vec(), Some(a)), (b"x/y/b".to_vec(), Some(b)), (b"top".to_vec(), Some(c))].into();
        let root = edit_tree(store, None, &first).unwrap().unwrap();
        let second: BTreeMap<Vec<u8>, Option<FileState>> =
            [(b"x/y/b".to_vec(), None), (b"x.c".to_vec(), Some(b)), (b"top".to_vec(), Some(a))].into();
        let edited = edit_tree(store, Some(&root), &second).unwrap().unwrap();
        let changes = diff_trees(&|id| store.read_tree(id), Some(&root), Some(&edited)).unwrap();
        let summary: Vec<(String, bool, bool)> = changes
            .iter()
            .map(|c| (String::from_utf8_lossy(&c.path).into_owned(), c.old.is_some(), c.new.is_some()))
            .collect();
        assert_eq!(
            summary,
            vec![("top".into(), true, true), ("x.c".into(), false, true), ("x/y/b".into(), true, false)]
        );
        let tree = store.read_tree(&edited).unwrap();
        let names: Vec<&[u8]> = tree.entries.iter().map(|e| e.name.as_slice()).collect();
        assert_eq!(names, [&b"top"[..], b"x.c", b"x"], "git order, and x/y is gone with its last file");
        let all_gone: BTreeMap<Vec<u8>, Option<FileState>> =
            [(b"x".to_vec(), None), (b"x.c".to_vec(), None), (b"top".to_vec(), None)].into();
        assert_eq!(edit_tree(store, Some(&edited), &all_gone).unwrap(), None);
    }
}
