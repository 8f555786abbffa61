//! Checking a repository's integrity: every object hashes to its id and decodes,
//! everything referenced is present, refs and the operation log are readable.

use crate::id::ObjectId;
use crate::object::Object;
use crate::refs::RefTarget;
use crate::Repository;
use std::collections::HashSet;

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
pub fn check(repo: &Repository) -> Report {
    let mut report = Report::default();
    let mut present = HashSet::new();
    let mut references: Vec<(ObjectId, ObjectId)> = Vec::new();
    let backend = repo.store().backend();
    let scan = backend.for_each_object(&mut |key, bytes| {
        report.objects += 1;
        check_object(key, bytes, &mut present, &mut references, &mut report);
        true
    });
    if let Err(e) = scan {
        report.problem("storage", e.to_string());
    }
    for (from, to) in references {
        if !present.contains(&to) {
            report.problem(from.to_hex(), format!("refers to missing object {to}"));
        }
    }
    check_refs(repo, &present, &mut report);
    match repo.operations(usize::MAX) {
        Ok(ops) => report.operations = ops.len() as u64,
        Err(e) => report.problem("operation log", e.to_string()),
    }
    report
}

fn check_object(
    key: &[u8],
    bytes: &[u8],
    present: &mut HashSet<ObjectId>,
    references: &mut Vec<(ObjectId, ObjectId)>,
    report: &mut Report,
) {
    let id = match ObjectId::from_bytes(key) {
        Ok(id) => id,
        Err(e) => return report.problem(crate::id::hex_encode(key), format!("key is not an object id: {e}")),
    };
    if id.algorithm().hash(bytes) != id {
        return report.problem(id.to_hex(), "content does not hash to its id (corrupt)");
    }
    let object = match Object::decode(bytes) {
        Ok(object) => object,
        Err(e) => return report.problem(id.to_hex(), format!("does not decode: {e}")),
    };
    present.insert(id);
    references.extend(object.references().into_iter().map(|to| (id, to)));
}

fn check_refs(repo: &Repository, present: &HashSet<ObjectId>, report: &mut Report) {
    let refs = match repo.list_refs("") {
        Ok(refs) => refs,
        Err(e) => return report.problem("refs", e.to_string()),
    };
    for (name, target) in refs {
        report.refs += 1;
        match target {
            RefTarget::Object(id) if !present.contains(&id) => {
                report.problem(name, format!("points at missing object {id}"))
            }
            RefTarget::Symbolic(to) if !to.starts_with("refs/") => {
                report.problem(name, format!("symbolic ref to '{to}', outside refs/"))
            }
            _ => {}
        }
    }
}
