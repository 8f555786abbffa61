//! pg-hooks: lifecycle hooks, run as git runs its hooks.
//!
//! A hook is an executable file named after its event in the repository's hooks
//! directory (`.pg/hooks/pre-commit`). It runs in the top of the working copy with
//! the event's arguments; a non-zero exit vetoes the operation. A missing or
//! non-executable file means no hook, as in git.
//!
//! Output is captured (stdout and stderr interleaved in one pipe, in the order the
//! hook wrote them) and returned, because this library never prints: the CLI shows
//! it.
#![warn(missing_docs)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The events pg runs hooks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Before a commit's message is asked for; no arguments. Non-zero aborts.
    PreCommit,
    /// With the path of a file holding the message, which the hook may edit.
    /// Non-zero aborts.
    CommitMsg,
    /// Before a merge commit (merge-engine issue).
    PreMerge,
    /// After a merge (merge-engine issue); its exit status is ignored.
    PostMerge,
    /// On a serving node before a push updates refs (peers issue).
    PreReceive,
    /// On a serving node after a push (peers issue).
    PostReceive,
}

impl Hook {
    /// The file name of the hook.
    pub fn file_name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::CommitMsg => "commit-msg",
            Hook::PreMerge => "pre-merge",
            Hook::PostMerge => "post-merge",
            Hook::PreReceive => "pre-receive",
            Hook::PostReceive => "post-receive",
        }
    }
}

/// Errors starting a hook (its own failure is an [`Outcome`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The hook exists and is executable but could not be run.
    #[error("could not run hook {path}: {source}")]
    Spawn {
        /// The hook file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// How a hook ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// What it wrote to stdout and stderr, interleaved.
    pub output: Vec<u8>,
}

/// Where the hooks are and what environment they get.
pub struct Runner {
    /// The hooks directory.
    pub hooks_dir: PathBuf,
    /// The directory hooks run in (the top of the working copy).
    pub workdir: PathBuf,
    /// Extra environment variables, e.g. `PG_DIR`.
    pub env: Vec<(String, String)>,
}

impl Runner {
    /// The hook's path, when it exists and is executable.
    pub fn find(&self, hook: Hook) -> Option<PathBuf> {
        let path = self.hooks_dir.join(hook.file_name());
        let metadata = std::fs::metadata(&path).ok()?;
        (metadata.is_file() && metadata.permissions().mode() & 0o111 != 0).then_some(path)
    }

    /// Runs `hook` with `args`; `Ok(None)` when there is no such hook.
    pub fn run(&self, hook: Hook, args: &[&Path]) -> Result<Option<Outcome>, Error> {
        self.run_with_input(hook, args, &[])
    }

    /// Runs `hook` with `args` and `input` on its standard input (as git feeds
    /// `pre-receive` the ref updates); `Ok(None)` when there is no such hook.
    pub fn run_with_input(&self, hook: Hook, args: &[&Path], input: &[u8]) -> Result<Option<Outcome>, Error> {
        let Some(path) = self.find(hook) else { return Ok(None) };
        let spawn_error = |source| Error::Spawn { path: path.clone(), source };
        let (mut reader, writer) = std::io::pipe().map_err(spawn_error)?;
        let writer_for_stderr = writer.try_clone().map_err(spawn_error)?;
        let mut child = Command::new(&path)
            .args(args)
            .current_dir(&self.workdir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if input.is_empty() { Stdio::null() } else { Stdio::piped() })
            .stdout(writer)
            .stderr(writer_for_stderr)
            .spawn()
            .map_err(spawn_error)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A hook that exits without reading its input is not an error.
            let _ = std::io::Write::write_all(&mut stdin, input);
        }
        let mut output = Vec::new();
        // The pipe's write ends live only in the child now, so this reads to its exit.
        reader.read_to_end(&mut output).map_err(spawn_error)?;
        let status = child.wait().map_err(spawn_error)?;
        Ok(Some(Outcome { success: status.success(), code: status.code(), output }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner_with(script: Option<(&str, u32)>) -> (tempfile::TempDir, Runner) {
        let dir = tempfile::tempdir().unwrap();
        let hooks_dir = dir.path().join("hooks");
        std::fs::create_dir(&hooks_dir).unwrap();
        if let Some((body, mode)) = script {
            let path = hooks_dir.join("pre-commit");
            std::fs::write(&path, body).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let runner =
            Runner { hooks_dir, workdir: dir.path().to_owned(), env: vec![("PG_TEST".into(), "42".into())] };
        (dir, runner)
    }

    #[test]
    fn missing_or_non_executable_hooks_do_not_run() {
        assert_eq!(runner_with(None).1.run(Hook::PreCommit, &[]).unwrap(), None);
        let (_dir, runner) = runner_with(Some(("#!/bin/sh\nexit 1\n", 0o644)));
        assert_eq!(runner.run(Hook::PreCommit, &[]).unwrap(), None);
    }

    #[test]
    fn a_failing_hook_reports_its_code_and_interleaved_output() {
        let (_dir, runner) =
            runner_with(Some(("#!/bin/sh\necho out $PG_TEST\necho err >&2\nexit 3\n", 0o755)));
        let outcome = runner.run(Hook::PreCommit, &[]).unwrap().unwrap();
        assert!(!outcome.success);
        assert_eq!(outcome.code, Some(3));
        assert_eq!(outcome.output, b"out 42\nerr\n");
    }
}
