//! `pg cherry-pick`, `pg revert` and `pg rebase`: commits moved through the
//! merge engine, stopping at conflicts as `pg merge` does.

use super::merge::{registry, write_conflicts};
use super::Outcome;
use crate::context::{Context, Role};
use anyhow::{bail, Result};
use pg_core::{history, revision, ObjectId, Repository};
use pg_merge::cache::Cache;
use pg_merge::operation::Command;
use pg_merge::sequence::{self, Applied, Ended, Request, Resume, Stopped};
use pg_merge::tree::{self, Merger};
use std::io::Write;
use std::process::ExitCode;

/// What to do with a sequence that stopped at a conflict.
#[derive(clap::Args, Debug)]
pub struct Control {
    /// Commit the resolved step and go on.
    #[arg(long = "continue", conflicts_with_all = ["skip", "abort"])]
    continue_: bool,
    /// Leave out the commit that conflicts, and go on.
    #[arg(long, conflicts_with = "abort")]
    skip: bool,
    /// Put the branch and the working copy back as they were before.
    #[arg(long)]
    abort: bool,
}

impl Control {
    fn any(&self) -> bool {
        self.continue_ || self.skip || self.abort
    }
}

#[derive(clap::Args, Debug)]
pub struct PickArgs {
    /// The commits whose changes to apply, in order; `A..B` names the commits of B
    /// not in A, oldest first.
    #[arg(required_unless_present_any = ["continue_", "skip", "abort"], conflicts_with_all = ["continue_", "skip", "abort"])]
    revs: Vec<String>,
    #[command(flatten)]
    control: Control,
}

#[derive(clap::Args, Debug)]
pub struct RebaseArgs {
    /// The branch or commit to replay the current branch's own commits on.
    #[arg(required_unless_present_any = ["continue_", "skip", "abort"], conflicts_with_all = ["continue_", "skip", "abort"])]
    upstream: Option<String>,
    /// Replay them on this commit instead (the commits replayed are still those
    /// not in UPSTREAM).
    #[arg(long, value_name = "NEWBASE", conflicts_with_all = ["continue_", "skip", "abort"])]
    onto: Option<String>,
    #[command(flatten)]
    control: Control,
}

pub fn cherry_pick(context: &Context, args: PickArgs) -> Outcome {
    pick(context, Command::CherryPick, args)
}

pub fn revert(context: &Context, args: PickArgs) -> Outcome {
    pick(context, Command::Revert, args)
}

fn pick(context: &Context, command: Command, args: PickArgs) -> Outcome {
    if args.control.any() {
        return control(context, command, &args.control);
    }
    let repo = context.repo()?;
    let mut commits = Vec::new();
    for rev in &args.revs {
        commits.extend(commits_named(&repo, rev)?);
    }
    if commits.is_empty() {
        bail!("{} names no commit", args.revs.join(" "));
    }
    exit(run(context, &repo, Request { command, commits, onto: None })?)
}

fn exit(done: bool) -> Outcome {
    Ok(if done { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The commits `rev` names: one, or those of a range `A..B`, oldest first.
fn commits_named(repo: &Repository, rev: &str) -> Result<Vec<ObjectId>> {
    let Some((exclude, include)) = rev.split_once("..") else {
        return Ok(vec![revision::resolve_commit(repo, rev)?]);
    };
    let side = |rev: &str| revision::resolve_commit(repo, if rev.is_empty() { "HEAD" } else { rev });
    let (exclude, include) = (side(exclude)?, side(include)?);
    Ok(history::Graph::new(repo.store()).only_in(include, exclude)?)
}

pub fn rebase(context: &Context, args: RebaseArgs) -> Outcome {
    if args.control.any() {
        return control(context, Command::Rebase, &args.control);
    }
    let repo = context.repo()?;
    let upstream = args.upstream.expect("clap requires UPSTREAM without --continue, --skip or --abort");
    let upstream = revision::resolve_commit(&repo, &upstream)?;
    let onto = match &args.onto {
        Some(rev) => revision::resolve_commit(&repo, rev)?,
        None => upstream,
    };
    let Some(head) = repo.head()?.commit() else { bail!("HEAD has no commit yet: commit something first") };
    let commits = sequence::to_rebase(&repo, upstream, head)?;
    if !run(context, &repo, Request { command: Command::Rebase, commits, onto: Some(onto) })? {
        return Ok(ExitCode::FAILURE);
    }
    let now = repo.head()?;
    let branch = now.branch().unwrap_or("HEAD");
    match now.commit() == Some(head) {
        true => writeln!(context.reports(), "Current branch {branch} is up to date.")?,
        false => writeln!(context.reports(), "Successfully rebased {branch}.")?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts the sequence and reports it; whether it is done.
fn run(context: &Context, repo: &Repository, request: Request) -> Result<bool> {
    let mut index = context.load_index(repo)?;
    let registry = registry(repo)?;
    let mut merger =
        Merger::new(repo.store(), &registry, Cache::new(repo.store(), true), tree::Options::default());
    let committer = context.signature(repo, Role::Committer)?;
    let op = context.op_context(Some(repo));
    let ended = sequence::start(repo, &mut index, &mut merger, &request, &committer, &op)?;
    report(context, repo, request.command, ended)
}

fn control(context: &Context, command: Command, control: &Control) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let op = context.op_context(Some(&repo));
    if control.abort {
        let back = sequence::abort(&repo, &mut index, command, &op)?;
        let back = repo.store().abbreviate(&back);
        writeln!(context.reports(), "{} aborted; HEAD is back at {back}.", capitalized(command))?;
        return Ok(ExitCode::SUCCESS);
    }
    let registry = registry(&repo)?;
    let mut merger =
        Merger::new(repo.store(), &registry, Cache::new(repo.store(), true), tree::Options::default());
    let committer = context.signature(&repo, Role::Committer)?;
    let how = if control.skip { Resume::Skip } else { Resume::Continue };
    let ended = sequence::resume(&repo, &mut index, &mut merger, (command, how), &committer, &op)?;
    let done = report(context, &repo, command, ended)?;
    if done && command == Command::Rebase {
        writeln!(context.reports(), "Successfully rebased {}.", repo.head()?.branch().unwrap_or("HEAD"))?;
    }
    exit(done)
}

fn capitalized(command: Command) -> String {
    let name = command.name();
    format!("{}{}", name[..1].to_uppercase(), &name[1..])
}

/// One line a step, as git prints them; a conflict prints its paths and what to
/// do. Whether the sequence is done.
fn report(context: &Context, repo: &Repository, command: Command, ended: Ended) -> Result<bool> {
    let Ended { applied, stopped } = ended;
    let mut out = context.reports();
    let store = repo.store();
    let branch = repo.head()?.branch().unwrap_or("HEAD detached").to_owned();
    for Applied { from, to } in &applied {
        let subject = store.read_commit(from)?.summary();
        match to {
            Some(to) if to == from => {}
            Some(to) => {
                writeln!(out, "[{branch} {}] {}", store.abbreviate(to), store.read_commit(to)?.summary())?
            }
            None => writeln!(
                out,
                "skipped {} ({subject}): its change is in HEAD already",
                store.abbreviate(from)
            )?,
        }
    }
    let Some(Stopped { at, outcome, items }) = stopped else { return Ok(true) };
    drop(out);
    // Not a report: it says why the command fails, and what to do.
    let mut out = std::io::stdout().lock();
    write_conflicts(&mut out, &outcome)?;
    let name = command.name();
    writeln!(
        out,
        "could not apply {} ({}): {} conflict(s) queued ({}). Fix them, `pg resolve` each path, then `pg {name} --continue` (or `pg {name} --skip`, `pg {name} --abort`).",
        store.abbreviate(&at),
        store.read_commit(&at)?.summary(),
        items.len(),
        items.iter().map(|i| store.abbreviate(i)).collect::<Vec<_>>().join(", ")
    )?;
    Ok(false)
}
