//! Applying a stream to a pg repository.
//!
//! Objects go to the store in large unlogged batches as they come; refs move only
//! at a `checkpoint` and at the end, in one synced operation, after every object
//! they need is durable. A stream that fails half-way moves no ref.

use super::tree::{Dir, Node};
use super::{Command, CommitCommand, CommitIsh, DataRef, FileOp, Mark, ParseError, Parser, TagCommand};
use pg_core::object::{self, Commit, Header, IdForm, Mode, Object, ObjectKind, Tag, Tree};
use pg_core::oplog::OpContext;
use pg_core::refs::RefTarget;
use pg_core::store::{self, BulkWriter, RefUpdate, Store};
use pg_core::{history, repo, HashAlgorithm, ObjectId, Repository};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Why an import stopped. Refs are as they were before the last checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The stream is malformed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A mark is used before it is defined.
    #[error("byte {offset}: mark :{mark} is not defined")]
    UnknownMark {
        /// The mark.
        mark: Mark,
        /// Where in the stream.
        offset: u64,
    },
    /// A `from`, `merge` or `M` names nothing known.
    #[error("byte {offset}: '{name}' names no commit or object in the stream or the repository")]
    Unknown {
        /// The name.
        name: String,
        /// Where in the stream.
        offset: u64,
    },
    /// An object is of the wrong kind for where it is used.
    #[error("byte {offset}: {what}")]
    WrongKind {
        /// What was wrong.
        what: String,
        /// Where in the stream.
        offset: u64,
    },
    /// Branches would move to commits that do not contain their current tips.
    #[error("not updating {}: the new tip does not contain the old one (use --force)", .0.join(", "))]
    NotFastForward(Vec<String>),
    /// A marks file could not be read or written.
    #[error("marks file {path}: {reason}")]
    Marks {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Updating refs failed.
    #[error(transparent)]
    Repo(#[from] repo::Error),
}

/// How to import.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Read marks from this file first (git's format, `:<mark> <git id>`).
    pub import_marks: Option<PathBuf>,
    /// Like `import_marks`, but a missing file is fine.
    pub import_marks_if_exists: bool,
    /// Write all marks to this file at each checkpoint and at the end.
    pub export_marks: Option<PathBuf>,
    /// Move branches even when that loses commits.
    pub force: bool,
}

/// Counts of what an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Commits made.
    pub commits: u64,
    /// Blobs written (new to the store).
    pub blobs: u64,
    /// Trees written.
    pub trees: u64,
    /// Annotated tags made.
    pub tags: u64,
    /// Stream bytes read.
    pub bytes: u64,
    /// Refs moved.
    pub refs_updated: u64,
}

/// What the caller hears during an import.
pub trait Progress {
    /// Counts so far; called every few hundred objects.
    fn update(&self, stats: &Stats);
    /// A `progress` command of the stream.
    fn message(&self, text: &[u8]);
}

/// Reads `input` and applies it to `repo`; `context` describes the operation for
/// the log.
pub fn import(
    repo: &Repository,
    input: impl BufRead,
    options: &Options,
    progress: &dyn Progress,
    context: &OpContext,
) -> Result<Stats, ImportError> {
    let mut importer = Importer::new(repo, options.clone());
    if let Some(path) = options.import_marks.clone() {
        importer.read_marks(&path, options.import_marks_if_exists)?;
    }
    let mut parser = Parser::new(input);
    while let Some(command) = parser.next_command()? {
        importer.offset = parser.offset();
        importer.apply(command, progress, context)?;
        if importer.since_progress >= 500 {
            importer.stats.bytes = parser.offset();
            progress.update(&importer.stats);
            importer.since_progress = 0;
        }
    }
    importer.stats.bytes = parser.offset();
    importer.checkpoint(context)?;
    progress.update(&importer.stats);
    Ok(importer.stats)
}

struct Importer<'r> {
    repo: &'r Repository,
    store: &'r Store,
    writer: BulkWriter<'r>,
    options: Options,
    marks: HashMap<Mark, ObjectId>,
    /// Git ids of the objects this import made or met.
    git_ids: HashMap<ObjectId, ObjectId>,
    /// pg ids of git ids named in this import (original ids, marks files).
    pg_ids: HashMap<ObjectId, ObjectId>,
    /// Refs set by this import: their tips (`None`: reset to nothing).
    refs: BTreeMap<String, Option<ObjectId>>,
    stats: Stats,
    offset: u64,
    since_progress: u64,
}

impl<'r> Importer<'r> {
    fn new(repo: &'r Repository, options: Options) -> Self {
        let store = repo.store();
        Importer {
            repo,
            store,
            writer: BulkWriter::new(store),
            options,
            marks: HashMap::new(),
            git_ids: HashMap::new(),
            pg_ids: HashMap::new(),
            refs: BTreeMap::new(),
            stats: Stats::default(),
            offset: 0,
            since_progress: 0,
        }
    }

    fn apply(
        &mut self,
        command: Command,
        progress: &dyn Progress,
        context: &OpContext,
    ) -> Result<(), ImportError> {
        match command {
            Command::Blob { mark, original_oid, data } => {
                let id = self.blob(&data)?;
                self.remember(mark, original_oid, id);
            }
            Command::Commit(commit) => self.commit(commit)?,
            Command::Tag(tag) => self.tag(tag)?,
            Command::Reset { reference, from } => {
                let tip = match &from {
                    Some(from) => self.resolve_from(from)?,
                    None => None,
                };
                self.refs.insert(ref_name(&reference), tip);
            }
            Command::Alias { mark, to } => {
                let id = self.resolve(&to)?;
                self.marks.insert(mark, id);
            }
            Command::Checkpoint => self.checkpoint(context)?,
            Command::Progress(text) => progress.message(&text),
            Command::Feature { name, argument } => self.feature(&name, argument)?,
            Command::Done | Command::Option(_) => {}
        }
        Ok(())
    }

    fn feature(&mut self, name: &[u8], argument: Option<Vec<u8>>) -> Result<(), ImportError> {
        let path = argument.map(|a| PathBuf::from(String::from_utf8_lossy(&a).into_owned()));
        match (name, path) {
            // Command-line options win over the stream's, as in git.
            (b"import-marks" | b"import-marks-if-exists", Some(path))
                if self.options.import_marks.is_none() =>
            {
                self.read_marks(&path, name == b"import-marks-if-exists")
            }
            (b"export-marks", Some(path)) if self.options.export_marks.is_none() => {
                self.options.export_marks = Some(path);
                Ok(())
            }
            (b"force", _) => {
                self.options.force = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn remember(&mut self, mark: Option<Mark>, original_oid: Option<Vec<u8>>, id: ObjectId) {
        if let Some(mark) = mark {
            self.marks.insert(mark, id);
        }
        if let Some(git) = original_oid.as_deref().and_then(ObjectId::from_git_hex) {
            self.pg_ids.insert(git, id);
            self.writer.add_git_alias(git, id);
        }
    }

    /// Stores an object unless present; records its git id. Returns its pg id.
    fn store_object(&mut self, object: &Object) -> Result<ObjectId, ImportError> {
        let pg_bytes = object.encode();
        let id = self.store.algorithm().hash(&pg_bytes);
        if self.git_ids.contains_key(&id) {
            return Ok(id);
        }
        let git_object = object.map_ids(|id, _| self.git_id(id))?;
        let git_id = HashAlgorithm::Sha1.hash(&git_object.encode_in(IdForm::Git));
        if !self.store.backend().has_object(&id)? {
            self.writer.add_encoded(id, pg_bytes)?;
            self.since_progress += 1;
        }
        // Trees' git ids follow from their entries' and are not recorded (the map
        // would be a third of the repository); see `git_id`.
        if object.kind() != ObjectKind::Tree {
            self.writer.add_git_id(git_id, id);
        }
        self.git_ids.insert(id, git_id);
        Ok(id)
    }

    /// The git id of a pg id: gitlinks and git ids map to themselves; commits, tags
    /// and blobs are in the git-id map; a tree's is computed from its entries'.
    fn git_id(&mut self, id: &ObjectId) -> Result<ObjectId, ImportError> {
        if id.algorithm() == HashAlgorithm::Sha1 {
            return Ok(*id);
        }
        if let Some(git) = self.git_ids.get(id) {
            return Ok(*git);
        }
        let git = match self.store.backend().git_id_for_pg(id)? {
            Some(git) => git,
            None => match self.store.read(id)? {
                tree @ Object::Tree(_) => {
                    let git_tree = tree.map_ids(|child, _| self.git_id(child))?;
                    HashAlgorithm::Sha1.hash(&git_tree.encode_in(IdForm::Git))
                }
                _ => {
                    return Err(ImportError::WrongKind {
                        what: format!("object {id} has no git id (it did not come from git)"),
                        offset: self.offset,
                    })
                }
            },
        };
        self.git_ids.insert(*id, git);
        Ok(git)
    }

    fn blob(&mut self, data: &[u8]) -> Result<ObjectId, ImportError> {
        let id = self.store_object(&Object::Blob(data.to_vec()))?;
        self.stats.blobs += 1;
        Ok(id)
    }

    fn resolve_mark(&self, mark: Mark) -> Result<ObjectId, ImportError> {
        self.marks.get(&mark).copied().ok_or(ImportError::UnknownMark { mark, offset: self.offset })
    }

    fn resolve_git(&self, git: &ObjectId) -> Result<Option<ObjectId>, ImportError> {
        match self.pg_ids.get(git) {
            Some(id) => Ok(Some(*id)),
            None => Ok(self.store.backend().pg_id_for_git(git)?),
        }
    }

    /// A commit-ish: a mark, a git id, or a ref of this import or the repository.
    fn resolve(&self, commit_ish: &CommitIsh) -> Result<ObjectId, ImportError> {
        let name = match commit_ish {
            CommitIsh::Mark(mark) => return self.resolve_mark(*mark),
            CommitIsh::Name(name) => name,
        };
        let unknown =
            || ImportError::Unknown { name: String::from_utf8_lossy(name).into_owned(), offset: self.offset };
        if let Some(git) = ObjectId::from_git_hex(name) {
            return self.resolve_git(&git)?.ok_or_else(unknown);
        }
        let reference = ref_name(name.strip_suffix(b"^0").unwrap_or(name));
        if let Some(tip) = self.refs.get(&reference) {
            return tip.ok_or_else(unknown);
        }
        self.repo.resolve_ref(&reference)?.ok_or_else(unknown)
    }

    /// What a `from` names: as [`Self::resolve`], but the null id (all zeros)
    /// names no commit, as in git fast-import: a ref without a value, a commit
    /// without a parent. `git fast-export --mark-tags` writes it for a tag of a tag.
    fn resolve_from(&mut self, from: &CommitIsh) -> Result<Option<ObjectId>, ImportError> {
        match from {
            CommitIsh::Name(name) if matches!(name.len(), 40 | 64) && name.iter().all(|&b| b == b'0') => {
                Ok(None)
            }
            other => self.resolve(other).map(Some),
        }
    }

    fn data_ref(&mut self, source: &DataRef) -> Result<ObjectId, ImportError> {
        match source {
            DataRef::Mark(mark) => self.resolve_mark(*mark),
            DataRef::Inline(data) => self.blob(data),
            DataRef::Id(hex) => {
                let git = ObjectId::from_git_hex(hex).ok_or_else(|| ImportError::Unknown {
                    name: String::from_utf8_lossy(hex).into_owned(),
                    offset: self.offset,
                })?;
                self.resolve_git(&git)?
                    .ok_or(ImportError::Unknown { name: git.to_hex(), offset: self.offset })
            }
        }
    }

    fn commit(&mut self, command: CommitCommand) -> Result<(), ImportError> {
        let branch = ref_name(&command.reference);
        let first = match &command.from {
            Some(from) => self.resolve_from(from)?,
            None => match self.refs.get(&branch) {
                Some(tip) => *tip,
                None => self.repo.resolve_ref(&branch)?,
            },
        };
        let mut parents: Vec<ObjectId> = first.into_iter().collect();
        for merge in &command.merges {
            parents.push(self.resolve(merge)?);
        }
        let base = first.map(|p| self.store.read_commit(&p)).transpose()?.map(|c| c.tree);
        let mut root = Dir::stored(base);
        for op in &command.ops {
            self.file_op(&mut root, op)?;
        }
        let tree = match root.write(self.store, &mut |tree, previous| self.tree(tree, previous))? {
            Some(id) => id,
            None => self.tree(Tree::default(), None)?,
        };
        let commit = Object::Commit(Commit {
            tree,
            parents,
            author: command.author.clone().unwrap_or_else(|| command.committer.clone()),
            committer: command.committer.clone(),
            extra_headers: commit_headers(&command),
            message: command.message.clone(),
        });
        let id = self.store_object(&commit)?;
        self.stats.commits += 1;
        self.remember(command.mark, command.original_oid, id);
        self.refs.insert(branch, Some(id));
        // Later commits read this one and its trees back.
        self.writer.write_pending()?;
        Ok(())
    }

    fn tree(&mut self, tree: Tree, previous: Option<ObjectId>) -> Result<ObjectId, ImportError> {
        self.stats.trees += 1;
        let id = self.store_object(&Object::Tree(tree))?;
        if let Some(previous) = previous {
            self.writer.suggest_base(id, previous);
        }
        Ok(id)
    }

    fn file_op(&mut self, root: &mut Dir, op: &FileOp) -> Result<(), ImportError> {
        let store = self.store;
        match op {
            FileOp::Modify { mode, source, path } => {
                let mode = Mode::from_bytes(mode).expect("the parser normalises modes");
                let node = match (mode, source) {
                    (Mode::GITLINK, DataRef::Id(hex)) => {
                        let id = ObjectId::from_git_hex(hex)
                            .ok_or_else(|| self.wrong("a gitlink needs a 40-digit id"))?;
                        Node::File { mode, id }
                    }
                    (Mode::TREE, source) => {
                        let id = self.data_ref(source)?;
                        if self.store.kind(&id)? != ObjectKind::Tree {
                            return Err(self.wrong("M 040000 must name a tree"));
                        }
                        Node::Dir(Dir::stored(Some(id)))
                    }
                    (mode, source) => Node::File { mode, id: self.data_ref(source)? },
                };
                let path = split(path);
                // The file's previous version is the best base for its new one.
                if let (Node::File { id, .. }, Some(Node::File { id: old, .. })) =
                    (&node, root.get(store, &path)?)
                {
                    self.writer.suggest_base(*id, old);
                }
                root.put(store, &path, node)?;
            }
            FileOp::Delete(path) => {
                root.remove(store, &split(path))?;
            }
            FileOp::Copy { source, destination } | FileOp::Rename { source, destination } => {
                let node = match op {
                    FileOp::Copy { .. } => root.get(store, &split(source))?,
                    _ => root.remove(store, &split(source))?,
                };
                let node = node.ok_or_else(|| {
                    self.wrong(&format!("path '{}' not in branch", String::from_utf8_lossy(source)))
                })?;
                root.put(store, &split(destination), node)?;
            }
            FileOp::DeleteAll => *root = Dir::stored(None),
            FileOp::Note { source, commit } => {
                // Notes live at the annotated commit's git id, as git keeps them.
                let annotated = self.resolve(commit)?;
                let path = pg_core::id::hex_encode(self.git_id(&annotated)?.digest()).into_bytes();
                let id = self.data_ref(source)?;
                root.put(store, &[&path], Node::File { mode: Mode::FILE, id })?;
            }
        }
        Ok(())
    }

    fn wrong(&self, what: &str) -> ImportError {
        ImportError::WrongKind { what: what.to_owned(), offset: self.offset }
    }

    fn tag(&mut self, command: TagCommand) -> Result<(), ImportError> {
        let target = self.resolve(&command.from)?;
        // Its kind is read back: it may be a tag or blob still pending.
        self.writer.write_pending()?;
        let tag = Object::Tag(Tag {
            object: target,
            target_kind: self.store.kind(&target)?,
            name: command.name.clone(),
            tagger: command.tagger.clone(),
            extra_headers: Vec::new(),
            message: command.message.clone(),
        });
        let id = self.store_object(&tag)?;
        self.stats.tags += 1;
        self.remember(command.mark, command.original_oid, id);
        let name = String::from_utf8_lossy(&command.name);
        self.refs.insert(format!("refs/tags/{name}"), Some(id));
        Ok(())
    }

    /// Makes every object durable, then moves the refs in one operation.
    fn checkpoint(&mut self, context: &OpContext) -> Result<(), ImportError> {
        std::mem::replace(&mut self.writer, BulkWriter::new(self.store)).finish()?;
        let mut updates = Vec::new();
        let mut refused = Vec::new();
        for (name, tip) in &self.refs {
            let Some(tip) = tip else { continue };
            let current = self.repo.read_ref(name)?;
            if current == Some(RefTarget::Object(*tip)) {
                continue;
            }
            if let (Some(RefTarget::Object(old)), false) = (&current, self.options.force) {
                let is_commit = |id| self.store.kind(id).map(|k| k == ObjectKind::Commit);
                if name.starts_with("refs/heads/")
                    && is_commit(old)?
                    && !history::is_ancestor(self.store, *old, *tip)?
                {
                    refused.push(name.clone());
                    continue;
                }
            }
            updates.push(RefUpdate {
                name: name.clone(),
                expected: current,
                new: Some(RefTarget::Object(*tip)),
            });
        }
        if !refused.is_empty() {
            return Err(ImportError::NotFastForward(refused));
        }
        if !updates.is_empty() {
            self.stats.refs_updated += updates.len() as u64;
            self.repo.update_refs(context, Vec::new(), updates)?;
        }
        if let Some(path) = self.options.export_marks.clone() {
            self.write_marks(&path)?;
        }
        Ok(())
    }

    fn read_marks(&mut self, path: &Path, if_exists: bool) -> Result<(), ImportError> {
        let fail = |reason: String| ImportError::Marks { path: path.to_owned(), reason };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if if_exists && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(fail(e.to_string())),
        };
        for (n, line) in text.lines().enumerate() {
            let parsed = line.split_once(' ').and_then(|(mark, git)| {
                Some((mark.strip_prefix(':')?.parse::<Mark>().ok()?, ObjectId::from_git_hex(git.as_bytes())?))
            });
            let (mark, git) =
                parsed.ok_or_else(|| fail(format!("line {}: expected ':<mark> <git id>'", n + 1)))?;
            let id = self
                .resolve_git(&git)?
                .ok_or_else(|| fail(format!("line {}: {} is not in this repository", n + 1, line)))?;
            self.marks.insert(mark, id);
        }
        Ok(())
    }

    fn write_marks(&mut self, path: &Path) -> Result<(), ImportError> {
        let mut marks: Vec<(Mark, ObjectId)> = self.marks.iter().map(|(m, id)| (*m, *id)).collect();
        marks.sort();
        let mut text = String::new();
        for (mark, id) in marks {
            text.push_str(&format!(":{mark} {}\n", pg_core::id::hex_encode(self.git_id(&id)?.digest())));
        }
        std::fs::write(path, text)
            .map_err(|e| ImportError::Marks { path: path.to_owned(), reason: e.to_string() })
    }
}

/// The headers git fast-import writes after the committer: signatures, then the
/// encoding.
fn commit_headers(command: &CommitCommand) -> Vec<Header> {
    let mut headers = Vec::new();
    for signature in &command.signatures {
        let key = if signature.algorithm == b"sha256" { "gpgsig-sha256" } else { "gpgsig" };
        let value = signature.data.strip_suffix(b"\n").unwrap_or(&signature.data);
        headers.push(Header::new(key, value.to_vec()));
    }
    if let Some(encoding) = &command.encoding {
        headers.push(Header::new("encoding", encoding.clone()));
    }
    headers
}

fn ref_name(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if name.starts_with("refs/") || name == "HEAD" {
        name.into_owned()
    } else {
        format!("refs/heads/{name}")
    }
}

fn split(path: &[u8]) -> Vec<&[u8]> {
    path.split(|&b| b == b'/').filter(|p| !p.is_empty()).collect()
}

impl From<object::DecodeError> for ImportError {
    fn from(e: object::DecodeError) -> Self {
        ImportError::WrongKind { what: e.to_string(), offset: 0 }
    }
}
