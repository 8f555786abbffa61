//! The tree a commit is being built on: loaded lazily from its parent's tree, so a
//! commit that touches three files reads three paths, not the whole tree.

use pg_core::object::{EntryKind, Mode, Tree, TreeEntry};
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use std::collections::BTreeMap;

/// A file or a directory in the tree being built.
#[derive(Clone, Debug)]
pub enum Node {
    /// A blob, symlink or gitlink.
    File {
        /// Its mode.
        mode: Mode,
        /// Its pg id (a git SHA-1 id for a gitlink).
        id: ObjectId,
    },
    /// A directory.
    Dir(Dir),
}

/// A directory: its stored id while unchanged, its entries once loaded.
#[derive(Clone, Debug, Default)]
pub struct Dir {
    /// The stored tree's pg id; `None` once something under it changed.
    pub stored: Option<ObjectId>,
    /// The entries, read from `stored` on first use.
    pub children: Option<BTreeMap<Vec<u8>, Node>>,
    /// The stored tree this directory was before it changed: the base its new
    /// version is best stored as a delta against.
    pub previous: Option<ObjectId>,
}

impl Dir {
    /// A directory that is the stored tree `id` (or empty).
    pub fn stored(id: Option<ObjectId>) -> Dir {
        match id {
            Some(id) => Dir { stored: Some(id), children: None, previous: None },
            None => Dir { stored: None, children: Some(BTreeMap::new()), previous: None },
        }
    }

    fn load(&mut self, store: &Store) -> store::Result<&mut BTreeMap<Vec<u8>, Node>> {
        if self.children.is_none() {
            let id = self.stored.expect("a directory is stored or loaded");
            let mut children = BTreeMap::new();
            for entry in store.read_tree(&id)?.entries {
                let node = match entry.mode.kind() {
                    EntryKind::Tree => Node::Dir(Dir::stored(Some(entry.id))),
                    _ => Node::File { mode: entry.mode, id: entry.id },
                };
                children.insert(entry.name, node);
            }
            self.children = Some(children);
        }
        Ok(self.children.as_mut().expect("loaded above"))
    }

    /// The children, loaded, for a change: this directory is no longer the stored one.
    fn change(&mut self, store: &Store) -> store::Result<&mut BTreeMap<Vec<u8>, Node>> {
        self.load(store)?;
        if let Some(id) = self.stored.take() {
            self.previous = Some(id);
        }
        Ok(self.children.as_mut().expect("loaded above"))
    }

    /// Puts `node` at `path`, making directories and replacing whatever is in the
    /// way (a file where a directory must go, as git fast-import does).
    pub fn put(&mut self, store: &Store, path: &[&[u8]], node: Node) -> store::Result<()> {
        let (name, rest) = path.split_first().expect("paths are not empty");
        let children = self.change(store)?;
        if rest.is_empty() {
            children.insert(name.to_vec(), node);
            return Ok(());
        }
        let child = children.entry(name.to_vec()).or_insert_with(|| Node::Dir(Dir::stored(None)));
        if let Node::File { .. } = child {
            *child = Node::Dir(Dir::stored(None));
        }
        match child {
            Node::Dir(dir) => dir.put(store, rest, node),
            Node::File { .. } => unreachable!("replaced above"),
        }
    }

    /// Removes what is at `path`; returns it.
    pub fn remove(&mut self, store: &Store, path: &[&[u8]]) -> store::Result<Option<Node>> {
        let (name, rest) = path.split_first().expect("paths are not empty");
        if !self.contains(store, name)? {
            return Ok(None);
        }
        let children = self.change(store)?;
        if rest.is_empty() {
            return Ok(children.remove(*name));
        }
        match children.get_mut(*name) {
            Some(Node::Dir(dir)) => dir.remove(store, rest),
            _ => Ok(None),
        }
    }

    fn contains(&mut self, store: &Store, name: &[u8]) -> store::Result<bool> {
        Ok(self.load(store)?.contains_key(name))
    }

    /// A copy of what is at `path`.
    pub fn get(&mut self, store: &Store, path: &[&[u8]]) -> store::Result<Option<Node>> {
        let (name, rest) = path.split_first().expect("paths are not empty");
        let children = self.load(store)?;
        match (children.get_mut(*name), rest.is_empty()) {
            (Some(node), true) => Ok(Some(node.clone())),
            (Some(Node::Dir(dir)), false) => dir.get(store, rest),
            _ => Ok(None),
        }
    }

    /// Writes every changed directory bottom-up through `write` (which stores a
    /// tree, given the tree it replaces, and returns its id); empty directories
    /// vanish, as git has none. Returns this directory's id, or `None` when empty.
    pub fn write(
        &mut self,
        store: &Store,
        write: &mut dyn FnMut(Tree, Option<ObjectId>) -> Result<ObjectId, crate::fast_import::ImportError>,
    ) -> Result<Option<ObjectId>, crate::fast_import::ImportError> {
        if let Some(id) = self.stored {
            return Ok(Some(id));
        }
        let children = self.load(store)?;
        let mut tree = Tree::default();
        for (name, node) in children.iter_mut() {
            let entry = match node {
                Node::File { mode, id } => Some(TreeEntry { mode: *mode, name: name.clone(), id: *id }),
                Node::Dir(dir) => {
                    dir.write(store, write)?.map(|id| TreeEntry { mode: Mode::TREE, name: name.clone(), id })
                }
            };
            tree.entries.extend(entry);
        }
        if tree.entries.is_empty() {
            return Ok(None);
        }
        tree.sort();
        let id = write(tree, self.previous)?;
        self.stored = Some(id);
        Ok(Some(id))
    }
}
