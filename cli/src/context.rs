//! What a command needs from its surroundings: the working directory, the
//! environment, the clock, the terminal. The libraries get these passed in; this
//! is the one place that reads them.

use crate::render::{Bar, ColorChoice};
use anyhow::{bail, Context as _, Result};
use pg_core::config::Config;
use pg_core::index::Index;
use pg_core::object::Signature;
use pg_core::oplog::OpContext;
use pg_core::{ObjectId, Repository};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Whose identity is asked for.
#[derive(Clone, Copy)]
pub enum Role {
    Author,
    Committer,
}

impl Role {
    fn env_prefix(self) -> &'static str {
        match self {
            Role::Author => "PG_AUTHOR",
            Role::Committer => "PG_COMMITTER",
        }
    }
}

pub struct Context {
    pub cwd: PathBuf,
    pub color: bool,
    pg_home: PathBuf,
    progress: bool,
    quiet: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Context {
    pub fn new(directory: Option<&Path>, color: ColorChoice, quiet: bool) -> Result<Context> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let cwd = match directory {
            Some(dir) => cwd.join(dir),
            None => cwd,
        };
        let pg_home = match (env("PG_HOME"), env("HOME")) {
            (Some(home), _) => PathBuf::from(home),
            (None, Some(home)) => Path::new(&home).join(".config/pg"),
            (None, None) => PathBuf::from("/nonexistent"),
        };
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal() && env("NO_COLOR").is_none(),
        };
        let progress = std::io::stderr().is_terminal() && !quiet;
        Ok(Context { cwd, color, pg_home, progress, quiet })
    }

    /// Whether `--quiet` was given.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Where a command reports what it did (`Switched to…`, `[main a476222] …`):
    /// stdout, or nowhere with `--quiet`. What a command was asked to print (a
    /// log, a status) and what went wrong are not reports.
    pub fn reports(&self) -> Box<dyn Write> {
        match self.quiet {
            true => Box::new(std::io::sink()),
            false => Box::new(std::io::stdout().lock()),
        }
    }

    /// The repository around the working directory, to change.
    pub fn repo(&self) -> Result<Repository> {
        Ok(Repository::discover(&self.cwd)?)
    }

    /// The id and working copy of the repository around `path`, made if it has
    /// none. Opened for writing only then: a writable open that writes nothing
    /// leaves a log file behind in the store, and a node restarts often.
    pub fn repository_id_at(&self, path: &Path) -> Result<(ObjectId, PathBuf)> {
        let repo = Repository::discover_read_only(path)?;
        if let Some(id) = repo.repository_id()? {
            return Ok((id, repo.workdir().to_owned()));
        }
        drop(repo);
        let mut repo = Repository::discover(path)?;
        let id = repo.ensure_repository_id(&self.op_context(Some(&repo)))?;
        Ok((id, repo.workdir().to_owned()))
    }

    /// The repository around the working directory, to read.
    pub fn repo_to_read(&self) -> Result<Repository> {
        Ok(Repository::discover_read_only(&self.cwd)?)
    }

    /// `$PG_HOME` (default `~/.config/pg`): the user's settings and node key.
    pub fn pg_home(&self) -> &Path {
        &self.pg_home
    }

    /// `$PG_HOME/config`, the user's own settings.
    pub fn global_config(&self) -> Result<Config> {
        Ok(Config::load(&self.pg_home.join("config"))?)
    }

    /// A setting from the repository's config, else the user's.
    pub fn setting(&self, repo: Option<&Repository>, key: &str) -> Result<Option<String>> {
        self.setting_in(repo.map(Repository::config), key)
    }

    /// A setting from `config` (a repository's), else the user's.
    pub fn setting_in(&self, config: Option<&Config>, key: &str) -> Result<Option<String>> {
        let local = config.map(|config| config.get(key)).transpose()?.flatten();
        match local {
            Some(value) => Ok(Some(value)),
            None => Ok(self.global_config()?.get(key)?),
        }
    }

    /// The editor for messages: `$PG_EDITOR`, `core.editor`, `$VISUAL`,
    /// `$EDITOR`, else `vi` (git's order). A shell command line.
    pub fn editor(&self, repo: &Repository) -> Result<String> {
        if let Some(editor) = env("PG_EDITOR") {
            return Ok(editor);
        }
        let configured = self.setting(Some(repo), "core.editor")?;
        Ok(configured.or_else(|| env("VISUAL")).or_else(|| env("EDITOR")).unwrap_or_else(|| "vi".into()))
    }

    /// Name and email from the environment, then the repository's config, then
    /// the user's.
    pub fn identity(&self, repo: Option<&Repository>, role: Role) -> Result<(String, String)> {
        let prefix = role.env_prefix();
        let lookup = |env_name: String, key: &str| -> Result<Option<String>> {
            match env(&env_name).or_else(|| env(&env_name.replace("COMMITTER", "AUTHOR"))) {
                Some(value) => Ok(Some(value)),
                None => self.setting(repo, key),
            }
        };
        let name = lookup(format!("{prefix}_NAME"), "user.name")?;
        let email = lookup(format!("{prefix}_EMAIL"), "user.email")?;
        match (name, email) {
            (Some(name), Some(email)) => Ok((name, email)),
            _ => bail!(
                "who are you? set your identity with `pg config user.name \"Your Name\"` and \
                 `pg config user.email you@example.com` (add --global for every repository), \
                 or set PG_AUTHOR_NAME and PG_AUTHOR_EMAIL"
            ),
        }
    }

    /// A raw identity line for a new object, dated now or from
    /// `PG_AUTHOR_DATE`/`PG_COMMITTER_DATE` (`<seconds> <±hhmm>`).
    pub fn signature(&self, repo: &Repository, role: Role) -> Result<Vec<u8>> {
        let (name, email) = self.identity(Some(repo), role)?;
        let (seconds, offset) = self.date(role)?;
        Ok(Signature::format(&name, &email, seconds, offset))
    }

    fn date(&self, role: Role) -> Result<(i64, i32)> {
        let var = format!("{}_DATE", role.env_prefix());
        let Some(text) = env(&var).or_else(|| env("PG_AUTHOR_DATE")) else {
            return Ok(now());
        };
        let parsed = Signature::parse(format!("x <x> {text}").as_bytes());
        match parsed {
            Some(sig) => Ok((sig.seconds, sig.offset_minutes())),
            None => bail!(
                "{var}='{text}' is not a date: use '<seconds since 1970> <+hhmm>', e.g. '1700000000 +0100'"
            ),
        }
    }

    /// Who is doing what, for the operation log.
    pub fn op_context(&self, repo: Option<&Repository>) -> OpContext {
        let user = match self.identity(repo, Role::Committer) {
            Ok((name, email)) => format!("{name} <{email}>"),
            Err(_) => env("USER").unwrap_or_else(|| "unknown".into()),
        };
        let command = std::env::args().skip(1).map(|a| quote(&a)).collect::<Vec<_>>().join(" ");
        OpContext { command, user, time: now().0 }
    }

    /// The repository to read, with `alongside` run while its store opens.
    pub fn repo_to_read_alongside<T: Send>(
        &self,
        alongside: impl FnOnce(&pg_core::repo::Location, &Config) -> T + Send,
    ) -> Result<(Repository, T)> {
        Ok(Repository::discover_read_only_alongside(&self.cwd, alongside)?)
    }

    pub fn load_index(&self, repo: &Repository) -> Result<Index> {
        Ok(Index::load(&repo.index_path())?)
    }

    pub fn save_index(&self, repo: &Repository, index: &mut Index) -> Result<()> {
        Ok(index.save(&repo.index_path())?)
    }

    /// Repository paths of the user's path arguments.
    pub fn repo_paths(&self, repo: &Repository, paths: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
        Ok(paths
            .iter()
            .map(|p| pg_core::worktree::repo_path(repo, &self.cwd, p))
            .collect::<Result<_, _>>()?)
    }

    /// Where the user stands, as a repository path (`""` at the top, or outside
    /// the working copy), for printing paths relative to it.
    pub fn standing_in(&self, repo: &Repository) -> Vec<u8> {
        pg_core::worktree::repo_path(repo, &self.cwd, Path::new("")).unwrap_or_default()
    }

    /// A spinner on stderr when it is a terminal, nothing otherwise.
    pub fn spinner(&self) -> Option<indicatif::ProgressBar> {
        crate::render::spinner(self.progress)
    }

    /// A running count of objects on stderr when it is a terminal (for work whose
    /// total is not known before), nothing otherwise.
    pub fn counter(&self, label: &'static str) -> Bar {
        Bar::counter(label, self.progress)
    }

    /// A progress bar on stderr when it is a terminal, nothing otherwise.
    pub fn progress(&self, label: &'static str) -> Bar {
        Bar::new(label, self.progress)
    }
}

/// Seconds since 1970 and the local offset in minutes.
fn now() -> (i64, i32) {
    let now = time::OffsetDateTime::now_utc();
    let offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    (now.unix_timestamp(), offset.whole_minutes() as i32)
}

fn quote(arg: &str) -> String {
    let plain =
        !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@+,".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
