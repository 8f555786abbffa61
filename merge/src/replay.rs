//! Replaying history's merges: for each two-parent merge commit, merge its parents
//! again with pg's engine and compare with what was committed. A clean merge that
//! differs from the commit is a *wrong clean*: the engine would have silently
//! produced something the people who merged did not accept, the costliest mistake
//! a merge tool makes.

use crate::cache::Cache;
use crate::function::{FunctionId, Registry};
use crate::tree::{self, Merger, Outcome};
use pg_core::history;
use pg_core::object::Commit;
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a replayed merge compares with the committed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// pg found conflicts (a person decided this merge).
    Conflict,
    /// pg merged cleanly, to exactly the committed tree.
    Identical,
    /// pg merged cleanly, to a different tree than was committed.
    WrongClean,
}

/// A merge commit whose two sides both changed since their merge base, with its
/// bases: the merges worth replaying (any other merge is a fast-forward in
/// disguise).
#[derive(Debug, Clone)]
pub struct TrueMerge {
    /// The merge commit.
    pub id: ObjectId,
    /// It.
    pub commit: Commit,
    /// Its parents' merge bases.
    pub bases: Vec<ObjectId>,
}

/// The newest `limit` true merges reachable from `tip`, newest first; also returns
/// how many two-parent merges were passed over because one side had not changed.
pub fn true_merges(store: &Store, tip: ObjectId, limit: usize) -> store::Result<(Vec<TrueMerge>, usize)> {
    let mut found = Vec::new();
    let mut skipped = 0;
    let history = history::Walk::new(store, tip)?.collect::<store::Result<Vec<_>>>()?;
    let mut graph = history::Graph::new(store);
    let mut trees = HashMap::with_capacity(history.len());
    for (id, commit) in &history {
        graph.insert(*id, commit);
        trees.insert(*id, commit.tree);
    }
    for (id, commit) in history {
        if found.len() == limit {
            break;
        }
        let [ours, theirs] = commit.parents[..] else { continue };
        let bases = graph.merge_bases(ours, theirs)?;
        // Every commit reached is in the history just walked.
        let tree = |id: &ObjectId| trees[id];
        let one_sided =
            matches!(bases.as_slice(), [base] if tree(base) == tree(&ours) || tree(base) == tree(&theirs));
        if one_sided || bases.is_empty() {
            skipped += 1;
            continue;
        }
        found.push(TrueMerge { id, commit, bases });
    }
    Ok((found, skipped))
}

/// One replayed merge.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Replayed {
    /// Its class.
    pub class: Class,
    /// Conflicted paths.
    pub conflicts: usize,
    /// Paths both sides changed, per function that settled them.
    pub settled: BTreeMap<FunctionId, usize>,
    /// The merge's outcome.
    #[serde(skip)]
    pub outcome: Outcome,
}

/// Merges a true merge's parents again and classifies the result.
pub fn replay(merger: &mut Merger, merge: &TrueMerge) -> Result<Replayed, tree::Error> {
    let outcome = merger.merge_from_bases(&merge.bases, merge.commit.parents[0], merge.commit.parents[1])?;
    let class = if !outcome.conflicts.is_empty() {
        Class::Conflict
    } else if outcome.tree == Some(merge.commit.tree) {
        Class::Identical
    } else {
        Class::WrongClean
    };
    let mut settled = BTreeMap::new();
    for s in &outcome.settled {
        *settled.entry(s.function).or_default() += 1;
    }
    Ok(Replayed { class, conflicts: outcome.conflicts.len(), settled, outcome })
}

/// One merge's replay and how long it took, or why it failed.
type ReplayResult = Result<(Replayed, Duration), tree::Error>;

/// Replays `merges` on `threads` threads, each with its own merger, calling `done`
/// as each merge finishes. Results (with the time each merge took) come back in the
/// order of `merges`; the first error stops nothing but is returned.
pub fn replay_all(
    store: &Store,
    registry: &Registry,
    options: &tree::Options,
    use_cache: bool,
    merges: &[TrueMerge],
    threads: usize,
    done: &(dyn Fn() + Sync),
) -> Result<Vec<(Replayed, Duration)>, tree::Error> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ReplayResult>>> = Mutex::new((0..merges.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, merges.len().max(1)) {
            scope.spawn(|| {
                let mut merger = Merger::new(store, registry, Cache::new(store, use_cache), options.clone());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(merge) = merges.get(i) else { break };
                    let clock = Instant::now();
                    let result = replay(&mut merger, merge).map(|r| (r, clock.elapsed()));
                    results.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[i] = Some(result);
                    done();
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    results.into_iter().map(|r| r.expect("every merge is replayed by some thread")).collect()
}
