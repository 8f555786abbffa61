//! Reading and writing git repositories directly, raw object by raw object, through
//! gix: the exact path. Every header git has (signatures, `mergetag`, `change-id`,
//! unknown ones), tag signatures, entry order and raw modes come across, so
//! git -> pg -> git keeps every id.

use crate::git_pack::PackWriter;
use pg_core::object::{self, EntryKind, EntryKindOrRole, IdForm, Object, ObjectKind};
use pg_core::oplog::OpContext;
use pg_core::refs::RefTarget;
use pg_core::store::{self, BulkWriter, RefUpdate};
use pg_core::{repo, HashAlgorithm, ObjectId, Repository};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

/// Why reading or writing a git repository failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// gix could not open, read or write the repository.
    #[error("git repository {path}: {reason}")]
    Git {
        /// The repository.
        path: String,
        /// What gix said.
        reason: String,
    },
    /// A git object pg cannot represent byte for byte (nothing was imported).
    #[error("git object {id} does not convert exactly ({reason}); nothing was imported")]
    Inexact {
        /// Its git id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A pg object has no git form (it refers to something not in the store).
    #[error("object {0} refers to an object that is missing; run `pg fsck`")]
    Missing(ObjectId),
    /// A pg-only object (a conflict) reached from a ref git would be given.
    #[error("object {0} is a {1}, which git has no kind for; it cannot be exported")]
    NotGit(ObjectId, ObjectKind),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Updating refs failed.
    #[error(transparent)]
    Repo(#[from] repo::Error),
}

/// Counts of what was converted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Objects converted (new to the destination).
    pub objects: u64,
    /// Refs set.
    pub refs: u64,
}

/// The branch (full ref name) that the HEAD of the git repository at `path`
/// names, if it names one; a clone follows it.
pub fn head_branch(path: &Path) -> Result<Option<String>, GitError> {
    let fail = git_error(path);
    let git = gix::open(path).map_err(|e| fail(&e))?;
    let name = git.head_name().map_err(|e| fail(&e))?;
    Ok(name.map(|name| name.as_bstr().to_string()).filter(|name| name.starts_with("refs/heads/")))
}

fn git_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> GitError + '_ {
    move |e| GitError::Git { path: path.display().to_string(), reason: e.to_string() }
}

fn to_gix(id: &ObjectId) -> gix::ObjectId {
    gix::ObjectId::try_from(id.digest()).expect("git ids are 20-byte SHA-1 digests")
}

fn from_gix(id: &gix::oid) -> ObjectId {
    ObjectId::from_git_sha1(id.as_bytes().try_into().expect("sha1 repositories have 20-byte ids"))
}

fn kind_of(kind: gix::objs::Kind) -> ObjectKind {
    match kind {
        gix::objs::Kind::Blob => ObjectKind::Blob,
        gix::objs::Kind::Tree => ObjectKind::Tree,
        gix::objs::Kind::Commit => ObjectKind::Commit,
        gix::objs::Kind::Tag => ObjectKind::Tag,
    }
}

/// Maps ids of the source to ids of the destination, for the objects converted
/// last. On import memory must not grow with the history, so older conversions
/// are forgotten, a generation at a time: a forgotten object is found in the
/// store's git-id map (after the pending batch is written).
struct Converted {
    current: HashMap<ObjectId, ObjectId>,
    previous: HashMap<ObjectId, ObjectId>,
    generation: usize,
}

impl Converted {
    /// Conversions per generation on import: two generations take ~50 MB.
    const GENERATION: usize = if cfg!(test) { 50 } else { 1 << 18 };

    fn bounded() -> Converted {
        Converted { current: HashMap::new(), previous: HashMap::new(), generation: Self::GENERATION }
    }

    /// For export, which records nothing it could look a forgotten id up in.
    fn unbounded() -> Converted {
        Converted { current: HashMap::new(), previous: HashMap::new(), generation: usize::MAX }
    }

    fn get(&self, id: &ObjectId) -> Option<&ObjectId> {
        self.current.get(id).or_else(|| self.previous.get(id))
    }

    fn contains_key(&self, id: &ObjectId) -> bool {
        self.get(id).is_some()
    }

    fn insert(&mut self, id: ObjectId, converted: ObjectId) {
        if self.current.len() >= self.generation {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(id, converted);
    }
}
/// Reads one object from the source; `None` when the destination has it already.
type Load<'a> = dyn FnMut(&ObjectId) -> Result<Option<Object>, GitError> + 'a;
/// Writes one object to the destination once its references are converted.
type Put<'a> = dyn FnMut(ObjectId, Object, &Converted) -> Result<ObjectId, GitError> + 'a;

/// What `id` became: converted in this run, or recorded in the git-id map by an
/// earlier one (`recorded`).
fn mapped(
    converted: &Converted,
    id: &ObjectId,
    mut recorded: impl FnMut(&ObjectId) -> store::Result<Option<ObjectId>>,
) -> Result<ObjectId, GitError> {
    match converted.get(id) {
        Some(new) => Ok(*new),
        None => recorded(id)?.ok_or(GitError::Missing(*id)),
    }
}

/// Converts the objects reachable from `roots` children first, with an explicit
/// stack (histories are too deep to recurse). `load` reads one object; `store`
/// stores it once its references are converted, given them through `converted`.
fn post_order(
    roots: impl IntoIterator<Item = ObjectId>,
    converted: &mut Converted,
    load: &mut Load,
    store: &mut Put,
) -> Result<(), GitError> {
    let mut stack: Vec<(ObjectId, Option<Object>)> = roots.into_iter().map(|id| (id, None)).collect();
    while let Some((id, loaded)) = stack.pop() {
        if converted.contains_key(&id) {
            continue;
        }
        match loaded {
            Some(object) => {
                let new_id = store(id, object, converted)?;
                converted.insert(id, new_id);
            }
            None => {
                // `None` from the loader: already present at the destination.
                let Some(object) = load(&id)? else { continue };
                let children: Vec<ObjectId> =
                    object.references().into_iter().filter(|c| !converted.contains_key(c)).collect();
                stack.push((id, Some(object)));
                stack.extend(children.into_iter().map(|c| (c, None)));
            }
        }
    }
    Ok(())
}

/// Imports every ref of the git repository at `path` and what it reaches;
/// `progress` hears the count of objects converted every thousand.
pub fn import(
    repo: &Repository,
    path: &Path,
    context: &OpContext,
    progress: &dyn Fn(u64),
) -> Result<Stats, GitError> {
    let fail = git_error(path);
    let git = gix::open(path).map_err(|e| fail(&e))?;
    let mut refs = Vec::new();
    for reference in git.references().map_err(|e| fail(&e))?.all().map_err(|e| fail(&e))? {
        let reference = reference.map_err(|e| fail(&e))?;
        if let Some(id) = reference.target().try_id() {
            refs.push((reference.name().as_bstr().to_string(), from_gix(id)));
        }
    }
    let store = repo.store();
    let mut writer = BulkWriter::new(store);
    let mut stats = Stats::default();
    let mut converted = Converted::bounded();
    let mut trees = RecentTrees::default();
    let mut load = |id: &ObjectId| -> Result<Option<Object>, GitError> {
        // Imported before (with everything it reaches): nothing to read.
        if let Some(pg) = store.backend().pg_id_for_git(id)? {
            if store.backend().has_object(&pg)? {
                return Ok(None);
            }
        }
        let found = git.find_object(to_gix(id)).map_err(|e| fail(&e))?;
        let bytes = object::encode_with_header(kind_of(found.kind), &found.data);
        let inexact = |reason: String| GitError::Inexact { id: pg_core::id::hex_encode(id.digest()), reason };
        let object = Object::decode_in(&bytes, IdForm::Git).map_err(|e| inexact(e.to_string()))?;
        if object.encode_in(IdForm::Git) != bytes {
            return Err(inexact("it does not re-encode to the same bytes".into()));
        }
        Ok(Some(object))
    };
    let mut put = |git_id: ObjectId, object: Object, converted: &Converted| {
        let pg_object = object.map_ids(|child, role| match role {
            EntryKindOrRole::Entry(EntryKind::Gitlink) => Ok(*child),
            // Forgotten by `converted`, it may still be pending: write, look again.
            _ => mapped(converted, child, |id| match store.backend().pg_id_for_git(id)? {
                Some(found) => Ok(Some(found)),
                None => {
                    writer.write_pending()?;
                    store.backend().pg_id_for_git(id)
                }
            }),
        })?;
        let (id, bytes) = store.prepare(&pg_object);
        match &pg_object {
            Object::Tree(tree) => trees.insert(id, tree.clone()),
            Object::Commit(commit) => {
                suggest_bases(&mut writer, &trees, store, commit);
                trees.insert_commit(id, commit.tree);
            }
            _ => {}
        }
        if !store.backend().has_object(&id)? {
            writer.add_encoded(id, bytes)?;
            stats.objects += 1;
            if stats.objects.is_multiple_of(1000) {
                progress(stats.objects);
            }
        }
        // A tree's git id is recorded one way only: it follows from its entries'.
        match pg_object.kind() {
            ObjectKind::Tree => writer.add_git_alias(git_id, id),
            _ => writer.add_git_id(git_id, id),
        }
        Ok(id)
    };
    post_order(refs.iter().map(|(_, id)| *id), &mut converted, &mut load, &mut put)?;
    writer.finish()?;
    let mut updates = Vec::new();
    for (name, git_id) in &refs {
        let pg = mapped(&converted, git_id, |id| store.backend().pg_id_for_git(id))?;
        let new = Some(RefTarget::Object(pg));
        let current = repo.read_ref(name)?;
        if current != new {
            updates.push(RefUpdate { name: name.clone(), expected: current, new });
        }
    }
    stats.refs = updates.len() as u64;
    if !updates.is_empty() {
        repo.update_refs(context, Vec::new(), updates)?;
    }
    Ok(stats)
}

/// Trees converted lately, decoded: a commit's tree and its parent's are among them
/// when the commit is converted, so the two can be compared before anything is
/// written. Bounded by entries, not trees: a history of big directories held
/// gigabytes when 50,000 trees were kept whatever their size.
#[derive(Default)]
struct RecentTrees {
    trees: HashMap<ObjectId, object::Tree>,
    order: std::collections::VecDeque<ObjectId>,
    entries: usize,
    /// Converted commits' trees (a commit may not be written yet), the latest
    /// ones; an older commit's tree is read from the store.
    commit_trees: HashMap<ObjectId, ObjectId>,
}

impl RecentTrees {
    /// Entries kept, in all trees (~100 bytes each).
    const ENTRIES: usize = if cfg!(test) { 40 } else { 400_000 };
    /// Commits whose trees are kept.
    const COMMITS: usize = if cfg!(test) { 10 } else { 100_000 };

    fn insert(&mut self, id: ObjectId, tree: object::Tree) {
        let size = tree.entries.len();
        if self.trees.insert(id, tree).is_none() {
            self.order.push_back(id);
            self.entries += size;
        }
        while self.entries > Self::ENTRIES && self.order.len() > 1 {
            let oldest = self.order.pop_front().expect("not empty");
            self.entries -= self.trees.remove(&oldest).map_or(0, |t| t.entries.len());
        }
    }

    fn insert_commit(&mut self, commit: ObjectId, tree: ObjectId) {
        if self.commit_trees.len() >= Self::COMMITS {
            self.commit_trees.clear();
        }
        self.commit_trees.insert(commit, tree);
    }
}

/// Suggests each file and directory a commit changed be stored as a delta of its
/// version in the first parent (the objects are still pending in `writer`).
fn suggest_bases(
    writer: &mut BulkWriter,
    trees: &RecentTrees,
    store: &store::Store,
    commit: &object::Commit,
) {
    let Some(parent) = commit.parents.first() else { return };
    let parent_tree = match trees.commit_trees.get(parent) {
        Some(tree) => *tree,
        None => match store.read_commit(parent) {
            Ok(parent) => parent.tree,
            Err(_) => return,
        },
    };
    let read = |id: &ObjectId| match trees.trees.get(id) {
        Some(tree) => Ok(tree.clone()),
        None => store.read_tree(id),
    };
    // A tree that cannot be read yet only costs the hint.
    let Ok(changes) = pg_core::diff::diff_trees(&read, Some(&parent_tree), Some(&commit.tree)) else {
        return;
    };
    for change in changes {
        if let (Some(old), Some(new)) = (change.old, change.new) {
            writer.suggest_base(new.id, old.id);
        }
    }
    suggest_tree_bases(writer, trees, &parent_tree, &commit.tree);
}

/// Pairs changed directories with their previous versions, top down.
fn suggest_tree_bases(writer: &mut BulkWriter, trees: &RecentTrees, old: &ObjectId, new: &ObjectId) {
    if old == new {
        return;
    }
    writer.suggest_base(*new, *old);
    let (Some(old_tree), Some(new_tree)) = (trees.trees.get(old), trees.trees.get(new)) else { return };
    for entry in new_tree.entries.iter().filter(|e| e.mode.kind() == EntryKind::Tree) {
        if let Some(previous) = old_tree.get(&entry.name).filter(|p| p.mode.kind() == EntryKind::Tree) {
            suggest_tree_bases(writer, trees, &previous.id, &entry.id);
        }
    }
}

/// Writes `refs` (full names) and everything they reach into the git repository at
/// `path` (created bare when missing, with `HEAD` on the branch pg's `HEAD` names
/// when that is exported), as one pack, then sets the refs; `progress` hears the
/// count of objects written every thousand.
pub fn export(
    repo: &Repository,
    path: &Path,
    refs: &[String],
    progress: &dyn Fn(u64),
) -> Result<Stats, GitError> {
    let fail = git_error(path);
    let created = !path.exists();
    let git = if created { gix::init_bare(path) } else { gix::open(path) }.map_err(|e| fail(&e))?;
    let store = repo.store();
    let mut tips = Vec::new();
    for name in refs {
        if let Some(RefTarget::Object(id)) = repo.read_ref(name)? {
            tips.push((name.clone(), id));
        }
    }
    let pack = RefCell::new(PackWriter::create(&git.git_dir().join("objects")).map_err(|e| fail(&e))?);
    // The delta bases of objects read and not yet written.
    let bases = RefCell::new(HashMap::new());
    let mut converted = Converted::unbounded();
    let mut written = 0u64;
    let mut load = |id: &ObjectId| -> Result<Option<Object>, GitError> {
        // Known to git already, with everything it reaches: nothing to write.
        if let Some(git_id) = store.backend().git_id_for_pg(id)? {
            if gix::objs::Exists::exists(&git.objects, &to_gix(&git_id)) {
                return Ok(None);
            }
        }
        let (object, base) = store.read_with_delta_base(id).map_err(|e| match e {
            store::Error::Missing(_) => GitError::Missing(*id),
            other => other.into(),
        })?;
        if let Some(base) = base {
            bases.borrow_mut().insert(*id, base);
        }
        Ok(Some(object))
    };
    let mut put = |pg: ObjectId, object: Object, converted: &Converted| {
        let kind = object.kind();
        if !kind.is_git() {
            return Err(GitError::NotGit(pg, kind));
        }
        let git_object = object.map_ids(|child, role| match role {
            EntryKindOrRole::Entry(EntryKind::Gitlink) => Ok(*child),
            _ => mapped(converted, child, |id| store.backend().git_id_for_pg(id)),
        })?;
        let mut encoded = git_object.encode_in(IdForm::Git);
        let git_id = HashAlgorithm::Sha1.hash(&encoded);
        // A tree's git id is not recorded (see `import`): only now is it known
        // whether git has it.
        if gix::objs::Exists::exists(&git.objects, &to_gix(&git_id)) {
            return Ok(git_id);
        }
        let (_, body) = object::split_header(&encoded).expect("an encoding has a header");
        let header = encoded.len() - body.len();
        encoded.drain(..header);
        // Its previous version, if this export wrote it: git's base too.
        let base = bases.borrow_mut().remove(&pg).and_then(|base| converted.get(&base).copied());
        pack.borrow_mut().add(kind, &git_id, encoded, base.as_ref()).map_err(|e| fail(&e))?;
        written += 1;
        if written.is_multiple_of(1000) {
            progress(written);
        }
        Ok(git_id)
    };
    post_order(tips.iter().map(|(_, id)| *id), &mut converted, &mut load, &mut put)?;
    let mut stats = Stats { objects: pack.into_inner().finish().map_err(|e| fail(&e))?, refs: 0 };
    for (name, id) in &tips {
        let git_id = mapped(&converted, id, |id| store.backend().git_id_for_pg(id))?;
        git.reference(
            name.as_str(),
            to_gix(&git_id),
            gix::refs::transaction::PreviousValue::Any,
            "pg export",
        )
        .map_err(|e| fail(&e))?;
        stats.refs += 1;
    }
    if let (true, repo::Head::Branch { name, .. }) = (created, repo.head()?) {
        if tips.iter().any(|(tip, _)| *tip == name) {
            std::fs::write(git.git_dir().join("HEAD"), format!("ref: {name}\n")).map_err(|e| fail(&e))?;
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_core::repo::InitOptions;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};

    /// A git repository of 120 commits editing files in nested directories, with
    /// a side branch merged back, made by git fast-import.
    fn history(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("source.git");
        let git = |args: &[&str]| Command::new("git").args(args).current_dir(dir).output().unwrap();
        assert!(git(&["init", "-q", "--bare", path.to_str().unwrap()]).status.success());
        let mut stream = String::new();
        for i in 1..=120 {
            let branch = if (40..50).contains(&i) { "side" } else { "main" };
            stream.push_str(&format!(
                "commit refs/heads/{branch}\nmark :{i}\ncommitter a <b> {i} +0000\ndata 2\nc\n"
            ));
            if i == 40 {
                stream.push_str("from :39\n");
            }
            if i == 50 {
                stream.push_str("from :39\nmerge :49\n");
            }
            for f in 0..3 {
                let file = (i * 7 + f * 13) % 30;
                stream.push_str(&format!(
                    "M 644 inline d{}/e{}/f{file}.txt\ndata 8\nv{i:03}-{f:02}\n",
                    file % 3,
                    file % 5
                ));
            }
            stream.push('\n');
        }
        let mut import = Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(&path)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(import.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
        assert!(import.wait().unwrap().success());
        path
    }

    /// [`history`], imported into a new pg repository beside it.
    fn imported_history() -> (tempfile::TempDir, PathBuf, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let source = history(dir.path());
        let context = OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo = Repository::init(&dir.path().join("pg"), &InitOptions::default(), &context).unwrap();
        import(&repo, &source, &context, &|_| {}).unwrap();
        (dir, source, repo)
    }

    fn git_lines(dir: &Path, args: &[&str]) -> Vec<String> {
        let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
    }

    #[test]
    fn an_export_is_a_pack_with_deltas_and_a_later_one_adds_only_what_is_new() {
        let (dir, source, repo) = imported_history();
        let back = dir.path().join("back.git");
        let first = export(&repo, &back, &["refs/heads/side".into()], &|_| {}).unwrap();
        let second = export(&repo, &back, &["refs/heads/main".into()], &|_| {}).unwrap();
        let all = git_lines(&source, &["cat-file", "--batch-all-objects", "--batch-check"]);
        assert_eq!(first.objects + second.objects, all.len() as u64, "each object written once");
        assert_eq!(git_lines(&back, &["cat-file", "--batch-all-objects", "--batch-check"]), all);
        let packs: Vec<PathBuf> = std::fs::read_dir(back.join("objects/pack"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "pack"))
            .collect();
        assert_eq!(packs.len(), 2, "{packs:?}");
        assert_eq!(git_lines(&back, &["count-objects", "-v"])[0], "count: 0", "nothing loose");
        // Directories went as deltas of their previous versions.
        let verified = git_lines(&back, &["verify-pack", "-v", packs[0].to_str().unwrap()]);
        assert!(verified.iter().any(|line| line.starts_with("chain length = 1:")), "{verified:?}");
        git_lines(&back, &["fsck", "--strict"]);
        assert_eq!(git_lines(&back, &["show-ref"]), git_lines(&source, &["show-ref"]));
        assert_eq!(export(&repo, &back, &["refs/heads/main".into()], &|_| {}).unwrap().objects, 0);
    }

    #[test]
    fn conversions_forgotten_midway_are_found_again() {
        // Under test, a generation is 50 conversions and 40 tree entries are kept:
        // this history forgets thousands of times.
        let (dir, source, repo) = imported_history();
        let report = pg_core::fsck::check(&repo);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        for branch in ["main", "side"] {
            let out = Command::new("git").args(["rev-parse", branch]).current_dir(&source).output().unwrap();
            let git_id = String::from_utf8(out.stdout).unwrap();
            let Some(RefTarget::Object(pg)) = repo.read_ref(&format!("refs/heads/{branch}")).unwrap() else {
                panic!("{branch} not imported")
            };
            let recorded = repo.store().backend().git_id_for_pg(&pg).unwrap().unwrap();
            assert_eq!(pg_core::id::hex_encode(recorded.digest()), git_id.trim(), "{branch}");
        }
        // The round trip keeps every id.
        let back = dir.path().join("back.git");
        export(&repo, &back, &["refs/heads/main".into(), "refs/heads/side".into()], &|_| {}).unwrap();
        let fsck = Command::new("git").args(["fsck", "--strict"]).current_dir(&back).output().unwrap();
        assert!(fsck.status.success(), "{}", String::from_utf8_lossy(&fsck.stderr));
    }
}
