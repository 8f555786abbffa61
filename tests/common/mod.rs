//! Helpers for end-to-end tests: a temporary repository driven through the real
//! `pg` binary, with a fixed identity and clock so ids are reproducible.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Snapshots `text` with the temporary directory (and operation times) masked.
#[macro_export]
macro_rules! snapshot {
    ($repo:expr, $name:expr, $text:expr) => {{
        let dir = $repo.path().canonicalize().unwrap().display().to_string();
        insta::with_settings!({filters => vec![
            (dir.as_str(), "[REPO]"),
            (r"\w{3} \w{3} \d+ \d\d:\d\d:\d\d \d{4} \+0000", "[OP TIME]"),
        ]}, {
            insta::assert_snapshot!($name, $text);
        });
    }};
}

pub const PG: &str = env!("CARGO_BIN_EXE_pg");

/// A working copy in a temporary directory, with its own `$PG_HOME`.
pub struct Repo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Repo {
    /// A fresh repository (`pg init`).
    pub fn new() -> Repo {
        Self::with_init_args(&[])
    }

    /// A fresh repository made with extra `pg init` arguments.
    pub fn with_init_args(args: &[&str]) -> Repo {
        let repo = Repo::empty_dir();
        let mut init = vec!["init"];
        init.extend_from_slice(args);
        repo.ok(&init);
        repo
    }

    /// An empty directory that is not a repository yet.
    pub fn empty_dir() -> Repo {
        Repo { dir: tempfile::tempdir().unwrap(), home: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `pg` with the test environment, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(PG);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("PG_HOME", self.home.path())
            .env("PG_AUTHOR_NAME", "A U Thor")
            .env("PG_AUTHOR_EMAIL", "author@example.com")
            .env("PG_AUTHOR_DATE", "1700000000 +0100")
            .env("PG_COMMITTER_DATE", "1700000000 +0100")
            .env("USER", "tester");
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs pg, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        succeeded(self.run(args), args)
    }

    /// Runs pg, asserts failure with exit code 1, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "pg {args:?} should fail: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn write(&self, path: &str, content: &str) {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path)).unwrap()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.dir.path().join(path).symlink_metadata().is_ok()
    }

    pub fn file(&self, path: &str) -> PathBuf {
        self.dir.path().join(path)
    }

    /// Writes files and commits them all.
    pub fn commit_files(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            self.write(path, content);
        }
        self.ok(&["add", "-A"]);
        self.ok(&["commit", "-m", message]);
        self.ok(&["rev-parse", "HEAD"]).trim().to_owned()
    }
}

/// The stdout of `pg args`, which must have succeeded.
pub fn succeeded(out: Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "pg {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The stdout of `git args` run in `dir`, which must have succeeded.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the shell `script` in the git repository `dir`, then commits all it did
/// with `message`, written by `author` (mailed at `author@example.com`) and
/// committed by `C` at `date` (any form git reads).
pub fn git_commit_script(dir: &Path, author: &str, date: &str, message: &str, script: &str) {
    let status = Command::new("bash")
        .args(["-ec", &format!("{script}\ngit add -A && git commit -qm '{message}'")])
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", format!("{}@example.com", author.to_lowercase()))
        .env("GIT_COMMITTER_NAME", "C")
        .env("GIT_COMMITTER_EMAIL", "c@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
}
