//! Walking commit history.

use crate::id::ObjectId;
use crate::object::Commit;
use crate::store::{Result, Store};
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Commits reachable from a start, newest committer date first (ties in the
/// order they were reached), read as they are needed: `pg log -n 10` of a long
/// history reads a few more than ten commits, and the walk keeps only the
/// commits waiting to be given (its frontier) and the ids it has met.
pub struct Walk<'s> {
    store: &'s Store,
    pending: HashMap<ObjectId, Commit>,
    queue: BinaryHeap<(i64, std::cmp::Reverse<usize>, ObjectId)>,
    seen: HashSet<ObjectId>,
    reached: usize,
    /// When not empty: give only the commits that changed these paths, and
    /// follow a merge that has them as one of its parents has them only into
    /// that parent (git's default history simplification).
    paths: Vec<Vec<u8>>,
}

impl<'s> Walk<'s> {
    /// A walk from `start`.
    pub fn new(store: &'s Store, start: ObjectId) -> Result<Walk<'s>> {
        Self::of_paths(store, start, Vec::new())
    }

    /// A walk from `start` of the commits that changed `paths` (see
    /// [`touches`]), as `git log -- PATHS` walks: a side branch whose changes
    /// a merge did not take is not walked.
    pub fn of_paths(store: &'s Store, start: ObjectId, paths: Vec<Vec<u8>>) -> Result<Walk<'s>> {
        let mut walk = Walk {
            store,
            pending: HashMap::new(),
            queue: BinaryHeap::new(),
            seen: HashSet::new(),
            reached: 0,
            paths,
        };
        walk.seen.insert(start);
        let commit = store.read_commit(&start)?;
        walk.enqueue(start, commit);
        Ok(walk)
    }

    fn enqueue(&mut self, id: ObjectId, commit: Commit) {
        self.reached += 1;
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        self.queue.push((time, std::cmp::Reverse(self.reached), id));
        self.pending.insert(id, commit);
    }

    /// The next commit, and whether it is to be given.
    fn step(&mut self) -> Result<Option<(ObjectId, Commit, bool)>> {
        let Some((_, _, id)) = self.queue.pop() else { return Ok(None) };
        let commit = self.pending.remove(&id).expect("queued commits are pending");
        // Parents not met yet are read once, for their trees and to queue them.
        let mut unseen = HashMap::new();
        for parent in &commit.parents {
            if !self.seen.contains(parent) && !unseen.contains_key(parent) {
                unseen.insert(*parent, self.store.read_commit(parent)?);
            }
        }
        let (given, same) = match self.paths.is_empty() {
            true => (true, None),
            false => {
                let tree_of =
                    |parent: &ObjectId| match unseen.get(parent).or_else(|| self.pending.get(parent)) {
                        Some(commit) => Ok(commit.tree),
                        None => self.store.read_commit(parent).map(|c| c.tree),
                    };
                compare_with_parents(self.store, &commit, &self.paths, tree_of)?
            }
        };
        let followed = same.as_ref().map_or(&commit.parents[..], std::slice::from_ref);
        for parent in followed {
            if let Some(parent_commit) = unseen.remove(parent) {
                self.seen.insert(*parent);
                self.enqueue(*parent, parent_commit);
            }
        }
        Ok(Some((id, commit, given)))
    }
}

impl Iterator for Walk<'_> {
    type Item = Result<(ObjectId, Commit)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.step() {
                Ok(Some((id, commit, true))) => return Some(Ok((id, commit))),
                Ok(Some((_, _, false))) => continue,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// The commits reachable from `start` in git's `--topo-order` (what `log
/// --graph` shows): no commit before all of its children, and a line of
/// history shown to its end before another begins. A commit waits until its
/// last child is shown; then the newest waiting one goes first, so a merge's
/// last parent's line comes right after it.
///
/// The walk must see the whole history before it gives the first commit, so it
/// keeps every id and its parents (not the commits).
pub fn topo_order(store: &Store, start: ObjectId) -> Result<Vec<ObjectId>> {
    let mut parents: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let mut children: HashMap<ObjectId, usize> = HashMap::new();
    for item in Walk::new(store, start)? {
        let (id, commit) = item?;
        for parent in &commit.parents {
            *children.entry(*parent).or_default() += 1;
        }
        parents.insert(id, commit.parents);
    }
    let (mut order, mut ready) = (Vec::with_capacity(parents.len()), vec![start]);
    while let Some(id) = ready.pop() {
        order.push(id);
        for parent in &parents[&id] {
            let waiting = children.get_mut(parent).expect("every parent was counted");
            *waiting -= 1;
            if *waiting == 0 {
                ready.push(*parent);
            }
        }
    }
    Ok(order)
}

/// git's simplified history of `paths` for a graph, from `order` (a
/// [`topo_order`], children first): the commits that changed the paths, each
/// with its parents rewritten to the nearest such ancestors. A merge that has
/// the paths as one of its parents has them follows that parent only (git's
/// default simplification), so a side branch whose changes it did not take is
/// not shown.
pub fn simplified(
    store: &Store,
    order: &[ObjectId],
    paths: &[Vec<u8>],
) -> Result<Vec<(ObjectId, Vec<ObjectId>)>> {
    // Per commit: whether it changed the paths, and the parents followed.
    let mut followed: HashMap<ObjectId, (bool, Vec<ObjectId>)> = HashMap::new();
    let mut reachable: HashSet<ObjectId> = order.first().copied().into_iter().collect();
    for id in order {
        if !reachable.contains(id) {
            continue;
        }
        let commit = store.read_commit(id)?;
        let (changed, same) =
            compare_with_parents(store, &commit, paths, |p| Ok(store.read_commit(p)?.tree))?;
        let parents = same.map_or(commit.parents, |parent| vec![parent]);
        reachable.extend(parents.iter().copied());
        followed.insert(*id, (changed, parents));
    }
    // Parents first: each commit's nearest changed ancestors along what is followed.
    let mut nearest: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let mut shown = Vec::new();
    for id in order.iter().rev().filter(|id| followed.contains_key(id)) {
        let (changed, parents) = &followed[id];
        let mut rewritten: Vec<ObjectId> = Vec::new();
        for parent in parents {
            let through = match followed.get(parent) {
                Some((true, _)) => std::slice::from_ref(parent),
                _ => nearest.get(parent).map_or(&[][..], Vec::as_slice),
            };
            for ancestor in through {
                if !rewritten.contains(ancestor) {
                    rewritten.push(*ancestor);
                }
            }
        }
        match changed {
            true => shown.push((*id, rewritten)),
            false => {
                nearest.insert(*id, rewritten);
            }
        }
    }
    shown.reverse();
    Ok(shown)
}

/// Whether `commit` changed what is at any of `paths` (repository paths, each a
/// file or a directory): against its parent, or, for a merge, against every
/// parent, as git's `log -- PATH` shows a merge only when it differs from all of
/// its parents there. A root commit changed what it holds.
pub fn touches(store: &Store, commit: &Commit, paths: &[Vec<u8>]) -> Result<bool> {
    Ok(compare_with_parents(store, commit, paths, |p| Ok(store.read_commit(p)?.tree))?.0)
}

/// Whether `commit` changed what is at `paths` (see [`touches`]), and its first
/// parent that has the same there, if any; `tree_of` gives a parent's tree.
fn compare_with_parents(
    store: &Store,
    commit: &Commit,
    paths: &[Vec<u8>],
    tree_of: impl Fn(&ObjectId) -> Result<ObjectId>,
) -> Result<(bool, Option<ObjectId>)> {
    let ours: Vec<_> = paths.iter().map(|p| entry_at(store, &commit.tree, p)).collect::<Result<_>>()?;
    if commit.parents.is_empty() {
        return Ok((ours.iter().any(Option::is_some), None));
    }
    for parent in &commit.parents {
        let tree = tree_of(parent)?;
        let theirs: Vec<_> = paths.iter().map(|p| entry_at(store, &tree, p)).collect::<Result<_>>()?;
        if theirs == ours {
            return Ok((false, Some(*parent)));
        }
    }
    Ok((true, None))
}

/// The id at `path` under `tree` (`""`: the tree itself), if anything is there.
fn entry_at(store: &Store, tree: &ObjectId, path: &[u8]) -> Result<Option<ObjectId>> {
    let (mut id, mut is_tree) = (*tree, true);
    for name in path.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
        if !is_tree {
            return Ok(None);
        }
        let Some(entry) = store.read_tree(&id)?.get(name).cloned() else { return Ok(None) };
        (id, is_tree) = (entry.id, entry.mode.kind() == crate::object::EntryKind::Tree);
    }
    Ok(Some(id))
}

/// Whether `ancestor` is `descendant` or one of its ancestors.
pub fn is_ancestor(store: &Store, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
    Graph::new(store).is_ancestor(ancestor, descendant)
}

/// The best common ancestors of `a` and `b` (see [`Graph::merge_bases`]).
pub fn merge_bases(store: &Store, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>> {
    Graph::new(store).merge_bases(a, b)
}

/// A walk of the graph newest committer date first that marks each commit
/// with flags (the sides that reach it); a commit is queued again whenever its
/// flags grow, so what it gained reaches its ancestors too.
#[derive(Default)]
struct Painting {
    flags: HashMap<ObjectId, u8>,
    queue: BinaryHeap<(i64, std::cmp::Reverse<u64>, ObjectId)>,
    order: u64,
}

impl Painting {
    /// Adds `mark` to `id`'s flags, queueing it if they grew.
    fn mark(&mut self, graph: &mut Graph, id: ObjectId, mark: u8) -> Result<()> {
        let known = self.flags.entry(id).or_insert(0);
        if *known & mark == mark {
            return Ok(());
        }
        *known |= mark;
        self.order += 1;
        self.queue.push((graph.node(&id)?.time, std::cmp::Reverse(self.order), id));
        Ok(())
    }

    /// The newest queued commit, with its flags.
    fn pop(&mut self) -> Option<(ObjectId, u8)> {
        let (_, _, id) = self.queue.pop()?;
        Some((id, self.flags[&id]))
    }

    /// Whether a queued commit lacks `flag`.
    fn waiting_without(&self, flag: u8) -> bool {
        self.queue.iter().any(|(_, _, id)| self.flags[id] & flag == 0)
    }
}

/// A commit's place in the graph: its parents and committer time.
#[derive(Clone, Debug)]
struct Node {
    parents: Vec<ObjectId>,
    time: i64,
}

/// The commit graph as far as it has been read: each commit is read (and verified)
/// once, however many walks pass through it. Keep one for a series of questions
/// about the same history, as replaying many merges asks.
pub struct Graph<'s> {
    store: &'s Store,
    nodes: HashMap<ObjectId, Node>,
}

impl<'s> Graph<'s> {
    /// An empty graph over `store`.
    pub fn new(store: &'s Store) -> Graph<'s> {
        Graph { store, nodes: HashMap::new() }
    }

    /// Records a commit already read, so it is not read again.
    pub fn insert(&mut self, id: ObjectId, commit: &Commit) {
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        self.nodes.insert(id, Node { parents: commit.parents.clone(), time });
    }

    fn node(&mut self, id: &ObjectId) -> Result<&Node> {
        if !self.nodes.contains_key(id) {
            let commit = self.store.read_commit(id)?;
            self.insert(*id, &commit);
        }
        Ok(&self.nodes[id])
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&mut self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        let mut stack = vec![descendant];
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if id == ancestor {
                return Ok(true);
            }
            if seen.insert(id) {
                stack.extend(self.node(&id)?.parents.iter().copied());
            }
        }
        Ok(false)
    }

    /// The best common ancestors of `a` and `b`: common ancestors that are not
    /// ancestors of another common ancestor. Usually one; several in criss-cross
    /// histories; none for unrelated histories.
    ///
    /// Commits are visited newest committer date first, each marked with the sides
    /// that reach it, as git's merge-base does; a commit reached from both sides is a
    /// candidate and its ancestors are stale.
    pub fn merge_bases(&mut self, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>> {
        if a == b {
            return Ok(vec![a]);
        }
        self.merge_bases_of_many(&[a], b)
    }

    /// The commits reachable from `include` and not from `exclude` (git's
    /// `exclude..include`), parents before children: what a rebase replays.
    ///
    /// One walk, newest committer date first, marks each commit with the sides
    /// that reach it; a mark that grows is passed on again, so a commit reached
    /// late from `exclude` still excludes its ancestors. It stops once only
    /// excluded commits wait.
    pub fn only_in(&mut self, include: ObjectId, exclude: ObjectId) -> Result<Vec<ObjectId>> {
        const INCLUDED: u8 = 1;
        const EXCLUDED: u8 = 2;
        let mut painting = Painting::default();
        painting.mark(self, include, INCLUDED)?;
        painting.mark(self, exclude, EXCLUDED)?;
        while painting.waiting_without(EXCLUDED) {
            let Some((id, mark)) = painting.pop() else { break };
            for parent in self.node(&id)?.parents.clone() {
                painting.mark(self, parent, mark)?;
            }
        }
        let flags = painting.flags;
        let kept = |id: &ObjectId| flags.get(id) == Some(&INCLUDED);
        // Depth first from `include`, each commit after its parents.
        let (mut sorted, mut done) = (Vec::new(), HashSet::new());
        let mut stack = vec![(include, false)];
        while let Some((id, parents_done)) = stack.pop() {
            if !kept(&id) || (!parents_done && done.contains(&id)) {
                continue;
            }
            if parents_done {
                if done.insert(id) {
                    sorted.push(id);
                }
                continue;
            }
            stack.push((id, true));
            let parents = self.node(&id)?.parents.clone();
            stack.extend(parents.into_iter().rev().filter(|p| !done.contains(p)).map(|p| (p, false)));
        }
        Ok(sorted)
    }

    /// The best common ancestors of `b` and a commit that is not in the store,
    /// whose parents are `a` (the virtual commit of merged merge bases that git's
    /// recursive merges build), newest first.
    pub fn merge_bases_of_many(&mut self, a: &[ObjectId], b: ObjectId) -> Result<Vec<ObjectId>> {
        const FROM_A: u8 = 1;
        const FROM_B: u8 = 2;
        const STALE: u8 = 4;
        let mut painting = Painting::default();
        for id in a {
            painting.mark(self, *id, FROM_A)?;
        }
        painting.mark(self, b, FROM_B)?;
        let mut candidates = Vec::new();
        // The walk may stop once every queued commit is stale. Looking costs a pass
        // over the queue, so look every few steps: walking a few stale commits more
        // finds no other candidate (they only pass staleness on).
        let mut steps = 0u32;
        loop {
            if steps.is_multiple_of(32) && !painting.waiting_without(STALE) {
                break;
            }
            steps += 1;
            let Some((id, mut mark)) = painting.pop() else { break };
            if mark & (FROM_A | FROM_B) == FROM_A | FROM_B && mark & STALE == 0 {
                candidates.push(id);
                mark |= STALE;
                painting.flags.insert(id, mark);
            }
            for parent in self.node(&id)?.parents.clone() {
                painting.mark(self, parent, mark)?;
            }
        }
        // A candidate found early may still be an ancestor of one found later.
        let mut bases = Vec::new();
        for (i, candidate) in candidates.iter().enumerate() {
            let mut redundant = false;
            for (j, other) in candidates.iter().enumerate() {
                if i != j && self.is_ancestor(*candidate, *other)? {
                    redundant = true;
                    break;
                }
            }
            if !redundant {
                bases.push(*candidate);
            }
        }
        Ok(bases)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::HashAlgorithm;
    use crate::object::{Object, Tree};
    use crate::store::{OpenMode, RocksBackend};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// A history of `parents.len()` commits, commit `i` made at second `i` with
    /// the parents `parents[i]` (indices below `i`).
    fn history(store: &Store, parents: &[Vec<usize>]) -> Vec<ObjectId> {
        let tree = store.write(&Object::Tree(Tree { entries: Vec::new() })).unwrap();
        let mut ids = Vec::new();
        for (i, of) in parents.iter().enumerate() {
            let line = format!("T <t@example.com> {i} +0000").into_bytes();
            let commit = Commit {
                tree,
                parents: of.iter().map(|p| ids[*p]).collect(),
                author: line.clone(),
                committer: line,
                extra_headers: Vec::new(),
                message: format!("{i}\n").into_bytes(),
            };
            ids.push(store.write(&Object::Commit(commit)).unwrap());
        }
        ids
    }

    fn ancestors(parents: &[Vec<usize>], start: usize) -> HashSet<usize> {
        let (mut seen, mut stack) = (HashSet::new(), vec![start]);
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(&parents[i]);
            }
        }
        seen
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn only_in_is_the_difference_of_ancestries_parents_first(
            picks in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..3), 1..24),
            ends in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        ) {
            // Commit 0 is the root; every later one has one to two earlier parents.
            let parents: Vec<Vec<usize>> = picks.iter().enumerate().map(|(i, p)| {
                let mut of: Vec<usize> = if i == 0 { vec![] } else { p.iter().map(|x| x.index(i)).collect() };
                if i > 0 && of.is_empty() { of.push(i - 1); }
                of.dedup();
                of
            }).collect();
            let dir = tempfile::tempdir().unwrap();
            let backend = RocksBackend::open(&dir.path().join("db"), OpenMode::Create).unwrap();
            let store = Store::new(Arc::new(backend), HashAlgorithm::Blake3);
            let ids = history(&store, &parents);
            let (include, exclude) = (ends.0.index(ids.len()), ends.1.index(ids.len()));
            let found = Graph::new(&store).only_in(ids[include], ids[exclude]).unwrap();
            let index_of: HashMap<ObjectId, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
            let found: Vec<usize> = found.iter().map(|id| index_of[id]).collect();
            let expected: HashSet<usize> =
                ancestors(&parents, include).difference(&ancestors(&parents, exclude)).copied().collect();
            prop_assert_eq!(found.iter().copied().collect::<HashSet<_>>(), expected);
            prop_assert_eq!(found.len(), found.iter().collect::<HashSet<_>>().len(), "each once");
            for (at, i) in found.iter().enumerate() {
                for parent in &parents[*i] {
                    if let Some(p) = found.iter().position(|f| f == parent) {
                        prop_assert!(p < at, "parent {} after child {}", parent, i);
                    }
                }
            }
        }
    }
}
