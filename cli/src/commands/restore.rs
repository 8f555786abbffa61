//! Undoing work in the working copy: restore, reset, and git's checkout of paths.
//! Each is an operation in the log, so `pg undo` takes it back.

use super::{text, Outcome};
use crate::context::Context;
use anyhow::bail;
use pg_core::refs::BRANCH_PREFIX;
use pg_core::worktree::{self, ResetMode, RestoreOptions};
use pg_core::{revision, Repository};
use pg_merge::operation;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The files or directories to put back.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Put them back in the index (from HEAD unless --source).
    #[arg(short = 'S', long)]
    staged: bool,
    /// Put them back in the working copy (the default; from the index unless
    /// --source, or from HEAD with --staged).
    #[arg(short = 'W', long)]
    worktree: bool,
    /// The commit or tree to take them from.
    #[arg(short, long, value_name = "REV")]
    source: Option<String>,
}

pub fn restore(context: &Context, args: RestoreArgs) -> Outcome {
    let repo = context.repo()?;
    let options = RestoreOptions {
        paths: context.repo_paths(&repo, &args.paths)?,
        source: args.source.as_deref().map(|rev| revision::resolve_tree(&repo, rev)).transpose()?,
        staged: args.staged,
        worktree: args.worktree || !args.staged,
    };
    put_back(context, &repo, &options)
}

fn put_back(context: &Context, repo: &Repository, options: &RestoreOptions) -> Outcome {
    let mut index = context.load_index(repo)?;
    let op = context.op_context(Some(repo));
    worktree::restore(repo, &mut index, options, &op, &context.progress("restoring"))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ResetArgs {
    /// Move only the branch; the index and files stay.
    #[arg(long, group = "mode")]
    soft: bool,
    /// Move the branch and the index; files keep their edits (the default).
    #[arg(long, group = "mode")]
    mixed: bool,
    /// Move the branch, the index and the tracked files: edits are discarded
    /// (`pg undo` brings them back).
    #[arg(long, group = "mode")]
    hard: bool,
    /// The commit to move to (HEAD by default).
    rev: Option<String>,
    /// Only unstage these paths (the index takes REV's version of them).
    #[arg(last = true)]
    paths: Vec<PathBuf>,
}

pub fn reset(context: &Context, args: ResetArgs) -> Outcome {
    let repo = context.repo()?;
    let rev = args.rev.as_deref().unwrap_or("HEAD");
    if !args.paths.is_empty() {
        if args.soft || args.hard {
            bail!("--soft and --hard move the branch, not paths; `pg restore` puts back files");
        }
        let options = RestoreOptions {
            paths: context.repo_paths(&repo, &args.paths)?,
            source: Some(revision::resolve_tree(&repo, rev)?),
            staged: true,
            worktree: false,
        };
        return put_back(context, &repo, &options);
    }
    if let Some(state) = operation::load_state(&repo)? {
        let command = state.command().name();
        bail!("a {command} is in progress: finish it with `pg {command} --continue`, or leave it with `pg {command} --abort`");
    }
    let mode = match (args.soft, args.hard) {
        (true, _) => ResetMode::Soft,
        (_, true) => ResetMode::Hard,
        _ => ResetMode::Mixed,
    };
    let commit = revision::resolve_commit(&repo, rev)?;
    let mut index = context.load_index(&repo)?;
    let op = context.op_context(Some(&repo));
    worktree::reset(&repo, &mut index, commit, mode, &op, &context.progress("resetting"))?;
    if mode == ResetMode::Hard {
        let message = repo.store().read_commit(&commit)?.message;
        let subject = text(message.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
        writeln!(context.reports(), "HEAD is now at {} {subject}", repo.store().abbreviate(&commit))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct CheckoutArgs {
    /// A branch to switch to, or (before `--`) the commit to take paths from.
    rev: Option<String>,
    /// Create this branch at REV (or HEAD) and switch to it.
    #[arg(short = 'b', value_name = "NEW")]
    create: Option<String>,
    /// Paths to put back in the index and the working copy from REV (from the
    /// index alone without REV).
    #[arg(last = true)]
    paths: Vec<PathBuf>,
}

/// git's `checkout`, for the fingers that type it: with paths it is
/// `pg restore`, without them `pg switch`.
pub fn checkout(context: &Context, args: CheckoutArgs) -> Outcome {
    if let Some(branch) = args.create {
        return super::branch::switch_to(context, &branch, true, args.rev);
    }
    let repo = context.repo()?;
    let (rev, paths) = match (args.rev, args.paths) {
        (Some(rev), paths) if paths.is_empty() => {
            if repo.read_ref(&format!("{BRANCH_PREFIX}{rev}"))?.is_some() {
                drop(repo);
                return super::branch::switch_to(context, &rev, false, None);
            }
            // `pg checkout FILE`, as git takes it when no branch has that name.
            (None, vec![PathBuf::from(rev)])
        }
        (None, paths) if paths.is_empty() => {
            bail!("name a branch to switch to, or paths after `--` to restore")
        }
        (rev, paths) => (rev, paths),
    };
    let options = RestoreOptions {
        paths: context.repo_paths(&repo, &paths)?,
        source: rev.as_deref().map(|rev| revision::resolve_tree(&repo, rev)).transpose()?,
        staged: rev.is_some(),
        worktree: true,
    };
    put_back(context, &repo, &options)
}
