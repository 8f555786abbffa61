//! Checking a repository's integrity: every object hashes to its id and decodes,
//! everything referenced is present, refs and the operation log are readable.

use crate::id::ObjectId;
use crate::object::Object;
use crate::refs::RefTarget;
use crate::store::{Backend, StoredAs};
use crate::Repository;
use std::collections::HashMap;

/// One thing wrong.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The object, ref or record concerned.
    pub subject: String,
    /// What is wrong with it.
    pub what: String,
}

/// What fsck found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    /// Objects read.
    pub objects: u64,
    /// Refs checked.
    pub refs: u64,
    /// Operations checked.
    pub operations: u64,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
}

impl Report {
    fn problem(&mut self, subject: impl Into<String>, what: impl Into<String>) {
        self.problems.push(Problem { subject: subject.into(), what: what.into() });
    }
}

/// Checks everything; problems are collected, not raised, so one bad object does
/// not hide the next.
///
/// Objects are read along their delta chains, each rebuilt once from its base's
/// bytes (read in key order, a delta whose base is not cached costs its whole
/// chain again), by one thread per core. References are checked against a
/// sorted list of each stored id's last eight bytes: 8 bytes an object instead
/// of the ids of every reference (gigabytes on large histories), and no lookups.
///
/// # Deviation from exactness
/// A reference to a missing object whose id shares its last 64 bits with a stored
/// one would pass: with n objects, a chance of n in 2^64.
pub fn check(repo: &Repository) -> Report {
    let mut report = Report::default();
    let backend = repo.store().backend();
    let forest = match Forest::scan(backend, &mut report) {
        Ok(forest) => forest,
        Err(e) => {
            report.problem("storage", e.to_string());
            return report;
        }
    };
    for (base, deltas) in &forest.deltas {
        if !forest.has(base) {
            for id in deltas {
                report.problem(id.to_hex(), format!("its delta base {base} is missing"));
            }
        }
    }
    report.problems.extend(forest.check_chains(backend));
    check_refs(repo, &forest, &mut report);
    match repo.operations(usize::MAX) {
        Ok(ops) => report.operations = ops.len() as u64,
        Err(e) => report.problem("operation log", e.to_string()),
    }
    report
}

/// The store's objects as delta chains: those stored whole, and each base's deltas.
struct Forest {
    whole: Vec<ObjectId>,
    deltas: HashMap<ObjectId, Vec<ObjectId>>,
    /// The last eight bytes of every stored id, sorted.
    fingerprints: Vec<u64>,
}

fn fingerprint(id: &ObjectId) -> u64 {
    let bytes = id.as_bytes();
    let mut tail = [0u8; 8];
    let n = bytes.len().min(8);
    tail[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_le_bytes(tail)
}

impl Forest {
    fn scan(backend: &dyn Backend, report: &mut Report) -> Result<Forest, crate::store::Error> {
        let mut forest = Forest { whole: Vec::new(), deltas: HashMap::new(), fingerprints: Vec::new() };
        backend.for_each_stored(&mut |key, stored| {
            report.objects += 1;
            let id = match (ObjectId::from_bytes(key), stored) {
                (Ok(id), StoredAs::Whole) => {
                    forest.whole.push(id);
                    id
                }
                (Ok(id), StoredAs::Delta(base)) => {
                    forest.deltas.entry(base).or_default().push(id);
                    id
                }
                (Ok(_), StoredAs::Unreadable(why)) => {
                    report.problem(crate::id::hex_encode(key), why);
                    return true;
                }
                (Err(e), _) => {
                    report.problem(crate::id::hex_encode(key), format!("key is not an object id: {e}"));
                    return true;
                }
            };
            forest.fingerprints.push(fingerprint(&id));
            true
        })?;
        forest.fingerprints.sort_unstable();
        Ok(forest)
    }

    fn has(&self, id: &ObjectId) -> bool {
        self.fingerprints.binary_search(&fingerprint(id)).is_ok()
    }

    /// Checks every object reachable along delta chains from those stored whole,
    /// on every core; problems come back in the order of the chains' roots.
    fn check_chains(&self, backend: &dyn Backend) -> Vec<Problem> {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut found: Vec<(usize, Vec<Problem>)> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut found = Vec::new();
                        loop {
                            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(root) = self.whole.get(at) else { break };
                            let problems = self.check_chain(backend, root);
                            if !problems.is_empty() {
                                found.push((at, problems));
                            }
                        }
                        found
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().expect("checking threads do not panic")).collect()
        });
        found.sort_by_key(|(at, _)| *at);
        found.into_iter().flat_map(|(_, problems)| problems).collect()
    }

    /// Checks `root` and the deltas built on it, depth first, each rebuilt from
    /// its base's bytes.
    fn check_chain(&self, backend: &dyn Backend, root: &ObjectId) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut stack: Vec<(ObjectId, Option<std::rc::Rc<Vec<u8>>>)> = vec![(*root, None)];
        while let Some((id, base)) = stack.pop() {
            let bytes = match backend.rebuild_from(&id, base.as_deref().map(Vec::as_slice)) {
                Ok(bytes) => std::rc::Rc::new(bytes),
                Err(e) => {
                    problems.push(Problem { subject: id.to_hex(), what: e.to_string() });
                    continue;
                }
            };
            self.check_object(&id, &bytes, &mut problems);
            for delta in self.deltas.get(&id).into_iter().flatten() {
                stack.push((*delta, Some(bytes.clone())));
            }
        }
        problems
    }

    /// One object's bytes hash to its id, decode, and refer only to stored objects.
    fn check_object(&self, id: &ObjectId, bytes: &[u8], problems: &mut Vec<Problem>) {
        let mut problem = |what: String| problems.push(Problem { subject: id.to_hex(), what });
        if id.algorithm().hash(bytes) != *id {
            return problem("content does not hash to its id (corrupt)".into());
        }
        match Object::references_in(bytes) {
            Ok(references) => {
                for to in references.iter().filter(|to| !self.has(to)) {
                    problem(format!("refers to missing object {to}"));
                }
            }
            Err(e) => problem(format!("does not decode: {e}")),
        }
    }
}

fn check_refs(repo: &Repository, forest: &Forest, report: &mut Report) {
    let refs = match repo.list_refs("") {
        Ok(refs) => refs,
        Err(e) => return report.problem("refs", e.to_string()),
    };
    for (name, target) in refs {
        report.refs += 1;
        match target {
            RefTarget::Object(id) if !forest.has(&id) => {
                report.problem(name, format!("points at missing object {id}"))
            }
            RefTarget::Symbolic(to) if !to.starts_with("refs/") => {
                report.problem(name, format!("symbolic ref to '{to}', outside refs/"))
            }
            _ => {}
        }
    }
}
