//! A repository: the `.pg/` directory (RocksDB store, index, config, hooks) and the
//! working copy around it.

use crate::config::{self, Config};
use crate::id::{HashAlgorithm, ObjectId};
use crate::oplog::{self, OpContext, Operation, RefChange, WorkingCopyChange};
use crate::refs::{self, RefTarget};
use crate::store::{self, Batch, Durability, OpenMode, RefUpdate, RocksBackend, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory that holds a repository's data, at the top of its working copy.
pub const PG_DIR: &str = ".pg";

/// Errors opening or creating a repository, and from ref operations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No `.pg` directory here or above.
    #[error("not a pg repository (nor any parent of {0}); run `pg init` to make one")]
    NotARepository(PathBuf),
    /// `init` found a repository already.
    #[error("{0} is already a pg repository")]
    AlreadyExists(PathBuf),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The repository's hash setting is not a known algorithm.
    #[error("core.hash in .pg/config is '{0}', which pg does not know (blake3 or sha2-256)")]
    BadHash(String),
    /// `core.repositoryId` is not an id.
    #[error("core.repositoryId in .pg/config is not an id ({0}); remove the line to make a new one")]
    BadRepositoryId(String),
    /// The operation log has nothing left to undo.
    #[error("nothing to undo: the operation log is back at the repository's creation")]
    NothingToUndo,
    /// A ref moved after the operation being undone.
    #[error("cannot undo operation {seq}: {name} has changed since; undo the later operations first or move the ref by hand")]
    UndoConflict {
        /// The operation.
        seq: u64,
        /// The ref that moved.
        name: String,
    },
    /// Reading or writing config.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// A result with a repository [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Choices made when a repository is created.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The hash function for new objects.
    pub hash: HashAlgorithm,
    /// The branch `HEAD` names at first.
    pub default_branch: String,
    /// The id of the repository this one is a clone of (`None`: a new repository,
    /// with an identity record of its own).
    pub repository_id: Option<ObjectId>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions { hash: HashAlgorithm::default(), default_branch: "main".into(), repository_id: None }
    }
}

/// What `HEAD` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// On a branch, which may have no commit yet.
    Branch {
        /// Full ref name, `refs/heads/...`.
        name: String,
        /// Its commit, if it has one.
        commit: Option<ObjectId>,
    },
    /// Detached at a commit.
    Detached(ObjectId),
}

impl Head {
    /// The commit `HEAD` resolves to.
    pub fn commit(&self) -> Option<ObjectId> {
        match self {
            Head::Branch { commit, .. } => *commit,
            Head::Detached(id) => Some(*id),
        }
    }

    /// The short branch name, when on a branch.
    pub fn branch(&self) -> Option<&str> {
        match self {
            Head::Branch { name, .. } => Some(name.strip_prefix(refs::BRANCH_PREFIX).unwrap_or(name)),
            Head::Detached(_) => None,
        }
    }
}

/// The top of the working copy that contains `start`.
fn find_workdir(start: &Path) -> Result<PathBuf> {
    let start = start.canonicalize().map_err(io_error(start))?;
    let found = start.ancestors().find(|dir| dir.join(PG_DIR).is_dir()).map(Path::to_owned);
    found.ok_or(Error::NotARepository(start))
}

/// What `undo` will do, worked out before anything changes.
#[derive(Clone, Debug)]
pub struct UndoPlan {
    /// The operation being undone.
    pub target: Operation,
    /// `HEAD`'s commit now.
    pub head_before: Option<ObjectId>,
    /// `HEAD`'s commit after the undo.
    pub head_after: Option<ObjectId>,
    /// How the working copy moves back, when the operation moved it apart from
    /// `HEAD`; otherwise it follows `HEAD` from `head_before` to `head_after`.
    pub working_copy: Option<WorkingCopyChange>,
    updates: Vec<RefUpdate>,
}

/// Where a repository is and how it names objects: all that is known before its
/// store opens.
#[derive(Clone, Debug)]
pub struct Location {
    /// The top of the working copy.
    pub workdir: PathBuf,
    /// The `.pg` directory.
    pub pg_dir: PathBuf,
    /// The hash function for new objects (`core.hash`).
    pub algorithm: HashAlgorithm,
}

impl Location {
    /// Finds the repository around `start` and reads its config.
    fn discover(start: &Path) -> Result<(Location, Config)> {
        let workdir = find_workdir(start)?;
        Self::at(workdir)
    }

    fn at(workdir: PathBuf) -> Result<(Location, Config)> {
        let pg_dir = workdir.join(PG_DIR);
        let config = Config::load(&pg_dir.join("config"))?;
        let algorithm = match config.get("core.hash")? {
            None => HashAlgorithm::default(),
            Some(name) => name.parse().map_err(|_| Error::BadHash(name))?,
        };
        Ok((Location { workdir, pg_dir, algorithm }, config))
    }
}

/// An open repository.
pub struct Repository {
    location: Location,
    store: Store,
    config: Config,
}

/// The config key holding the repository id.
const REPOSITORY_ID_KEY: &str = "core.repositoryId";

/// A new repository's identity record. The nonce comes from the standard library's
/// randomly seeded hasher, so two repositories made in the same second by the same
/// user still differ.
fn identity_record(context: &OpContext) -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    let random = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.finish()
    };
    format!(
        "pg repository\ncreated {}\nby {}\nnonce {:016x}{:016x}\n",
        context.time,
        context.user,
        random(1),
        random(2)
    )
    .into_bytes()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_owned(), source }
}

impl Repository {
    /// Creates a repository whose working copy is `dir` (made if missing).
    pub fn init(dir: &Path, options: &InitOptions, context: &OpContext) -> Result<Repository> {
        let pg_dir = dir.join(PG_DIR);
        if pg_dir.exists() {
            return Err(Error::AlreadyExists(dir.to_owned()));
        }
        std::fs::create_dir_all(pg_dir.join("hooks")).map_err(io_error(&pg_dir))?;
        let mut config = Config::load(&pg_dir.join("config"))?;
        config.set("core.hash", options.hash.name())?;
        let (location, config) = Location::at(dir.to_owned())?;
        let repo = Self::open(location, config, OpenMode::Create)?;
        let head = RefTarget::Symbolic(format!("{}{}", refs::BRANCH_PREFIX, options.default_branch));
        let update = RefUpdate { name: refs::HEAD.into(), expected: None, new: Some(head) };
        repo.update_refs(context, Vec::new(), vec![update])?;
        let mut repo = repo;
        match &options.repository_id {
            Some(id) => repo.set_repository_id(id)?,
            None => {
                repo.ensure_repository_id(context)?;
            }
        }
        Ok(repo)
    }

    /// The repository's id, if it has one: the id of its identity record (see
    /// [`Repository::ensure_repository_id`]), kept as `core.repositoryId`.
    pub fn repository_id(&self) -> Result<Option<ObjectId>> {
        match self.config.get(REPOSITORY_ID_KEY)? {
            Some(text) => {
                text.parse().map(Some).map_err(|e| Error::BadRepositoryId(format!("'{text}': {e}")))
            }
            None => Ok(None),
        }
    }

    /// The repository's id, made now if it has none. The id is the object id of an
    /// identity record (a blob: `pg repository`, when and by whom it was made, and
    /// a random nonce), written at `pg init`; clones share it, so peers can name a
    /// repository independently of where it is served.
    pub fn ensure_repository_id(&mut self, context: &OpContext) -> Result<ObjectId> {
        if let Some(id) = self.repository_id()? {
            return Ok(id);
        }
        let record = identity_record(context);
        let id = self.store.write(&crate::object::Object::Blob(record))?;
        self.config.set(REPOSITORY_ID_KEY, &id.to_string())?;
        Ok(id)
    }

    /// Adopts the id of the repository this one is a clone of.
    pub fn set_repository_id(&mut self, id: &ObjectId) -> Result<()> {
        Ok(self.config.set(REPOSITORY_ID_KEY, &id.to_string())?)
    }

    /// Opens the repository whose working copy contains `start`, for reading and
    /// writing.
    pub fn discover(start: &Path) -> Result<Repository> {
        Self::discover_with(start, OpenMode::ReadWrite)
    }

    /// Opens the repository whose working copy contains `start`, for reading only
    /// (cheaper, and possible while another process writes).
    pub fn discover_read_only(start: &Path) -> Result<Repository> {
        Self::discover_with(start, OpenMode::ReadOnly)
    }

    /// Opens the repository around `start` for reading, running `alongside` (with
    /// the repository's location and config) on another thread while the store
    /// opens. Commands that first look at the working copy (which needs no store)
    /// use it to hide the store's opening time.
    pub fn discover_read_only_alongside<T: Send>(
        start: &Path,
        alongside: impl FnOnce(&Location, &Config) -> T + Send,
    ) -> Result<(Repository, T)> {
        let (location, config) = Location::discover(start)?;
        let (store, value) = std::thread::scope(|s| {
            let other = s.spawn(|| alongside(&location, &config));
            let store = Self::open_store(&location, OpenMode::ReadOnly);
            (store, other.join().expect("the alongside task does not panic"))
        });
        Ok((Repository { location, store: store?, config }, value))
    }

    fn discover_with(start: &Path, mode: OpenMode) -> Result<Repository> {
        let (location, config) = Location::discover(start)?;
        Self::open(location, config, mode)
    }

    fn open(location: Location, config: Config, mode: OpenMode) -> Result<Repository> {
        let store = Self::open_store(&location, mode)?;
        Ok(Repository { location, store, config })
    }

    fn open_store(location: &Location, mode: OpenMode) -> Result<Store> {
        let backend = RocksBackend::open(&location.pg_dir.join("db"), mode)?;
        Ok(Store::new(Arc::new(backend), location.algorithm))
    }

    /// Where the repository is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The top of the working copy.
    pub fn workdir(&self) -> &Path {
        &self.location.workdir
    }

    /// The `.pg` directory.
    pub fn pg_dir(&self) -> &Path {
        &self.location.pg_dir
    }

    /// Where hooks live.
    pub fn hooks_dir(&self) -> PathBuf {
        self.pg_dir().join("hooks")
    }

    /// Where the index (staging area) lives.
    pub fn index_path(&self) -> PathBuf {
        self.pg_dir().join(crate::index::FILE_NAME)
    }

    /// The object store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The repository's config (`.pg/config`).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The repository's config, to change.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// A ref's raw value.
    pub fn read_ref(&self, name: &str) -> Result<Option<RefTarget>> {
        Ok(self.store.backend().read_ref(name)?)
    }

    /// Follows symbolic refs to an id (at most a few hops, as git does).
    pub fn resolve_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        let mut name = name.to_owned();
        for _ in 0..5 {
            match self.read_ref(&name)? {
                Some(RefTarget::Object(id)) => return Ok(Some(id)),
                Some(RefTarget::Symbolic(next)) => name = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Every ref under `prefix`, sorted.
    pub fn list_refs(&self, prefix: &str) -> Result<Vec<(String, RefTarget)>> {
        Ok(self.store.backend().list_refs(prefix)?)
    }

    /// What `HEAD` is.
    pub fn head(&self) -> Result<Head> {
        match self.read_ref(refs::HEAD)? {
            Some(RefTarget::Symbolic(name)) => {
                let commit = self.resolve_ref(&name)?;
                Ok(Head::Branch { name, commit })
            }
            Some(RefTarget::Object(id)) => Ok(Head::Detached(id)),
            None => Err(store::Error::CorruptRecord { what: "HEAD".into(), reason: "missing".into() }.into()),
        }
    }

    /// The tree of `HEAD`'s commit (`None` before the first commit).
    pub fn head_tree(&self) -> Result<Option<ObjectId>> {
        Ok(self.head()?.commit().map(|id| self.store.read_commit(&id)).transpose()?.map(|c| c.tree))
    }

    /// Writes `objects` and applies `updates` in one atomic, synced batch, recording
    /// the operation in the log.
    pub fn update_refs(
        &self,
        context: &OpContext,
        objects: Vec<(ObjectId, Vec<u8>)>,
        updates: Vec<RefUpdate>,
    ) -> Result<Operation> {
        self.record(context, objects, updates, None, None)
    }

    /// [`Repository::update_refs`] for an operation that also moved the working
    /// copy apart from `HEAD` (the snapshots' trees are stored already), so that
    /// undoing it moves the working copy back.
    pub fn update_refs_and_working_copy(
        &self,
        context: &OpContext,
        objects: Vec<(ObjectId, Vec<u8>)>,
        updates: Vec<RefUpdate>,
        working_copy: WorkingCopyChange,
    ) -> Result<Operation> {
        self.record(context, objects, updates, None, Some(working_copy))
    }

    fn record(
        &self,
        context: &OpContext,
        objects: Vec<(ObjectId, Vec<u8>)>,
        updates: Vec<RefUpdate>,
        undoes: Option<u64>,
        working_copy: Option<WorkingCopyChange>,
    ) -> Result<Operation> {
        let last = self.store.backend().read_operations(1)?;
        let seq = last.first().map_or(1, |(seq, _)| seq + 1);
        let changes = updates
            .iter()
            .map(|u| RefChange { name: u.name.clone(), before: u.expected.clone(), after: u.new.clone() })
            .collect();
        let operation = Operation { seq, context: context.clone(), changes, undoes, working_copy };
        let batch =
            Batch { objects, refs: updates, operation: Some((seq, operation.encode())), ..Batch::default() };
        self.store.backend().write(batch, Durability::Synced)?;
        Ok(operation)
    }

    /// Operations, newest first, at most `limit`.
    pub fn operations(&self, limit: usize) -> Result<Vec<Operation>> {
        Ok(oplog::read(self.store.backend(), limit)?)
    }

    /// The operation `undo` would revert: the newest one not already undone, where
    /// an undo and the operation it reverted cancel out (so repeated undos walk back).
    pub fn operation_to_undo(&self) -> Result<Operation> {
        let mut cancelled = std::collections::HashSet::new();
        for op in self.operations(usize::MAX)? {
            if cancelled.contains(&op.seq) {
                continue;
            }
            match op.undoes {
                Some(target) => {
                    cancelled.insert(target);
                }
                None if op.seq == 1 => return Err(Error::NothingToUndo),
                None => return Ok(op),
            }
        }
        Err(Error::NothingToUndo)
    }

    /// Plans undoing the newest operation not yet undone: checks that the refs it
    /// changed have not moved since, and works out where `HEAD` will point, so the
    /// caller can move the working copy before the refs change.
    pub fn plan_undo(&self) -> Result<UndoPlan> {
        let target = self.operation_to_undo()?;
        let mut updates = Vec::new();
        for change in &target.changes {
            let current = self.read_ref(&change.name)?;
            if current != change.after {
                return Err(Error::UndoConflict { seq: target.seq, name: change.name.clone() });
            }
            updates.push(RefUpdate {
                name: change.name.clone(),
                expected: current,
                new: change.before.clone(),
            });
        }
        let restored = |name: &str| -> Result<Option<RefTarget>> {
            match updates.iter().find(|u| u.name == name) {
                Some(update) => Ok(update.new.clone()),
                None => self.read_ref(name),
            }
        };
        let head_after = match restored(refs::HEAD)? {
            Some(RefTarget::Symbolic(branch)) => restored(&branch)?.and_then(|t| t.as_object().copied()),
            Some(RefTarget::Object(id)) => Some(id),
            None => None,
        };
        Ok(UndoPlan {
            head_before: self.head()?.commit(),
            head_after,
            working_copy: target.working_copy.map(|change| change.inverse()),
            target,
            updates,
        })
    }

    /// Applies a plan from [`Repository::plan_undo`] as a new operation.
    pub fn apply_undo(&self, plan: UndoPlan, context: &OpContext) -> Result<Operation> {
        self.record(context, Vec::new(), plan.updates, Some(plan.target.seq), plan.working_copy)
    }
}
