//! `pg stash`: put uncommitted work aside, and bring it back.

use super::Outcome;
use crate::context::{Context, Role};
use anyhow::Result;
use pg_merge::cache::Cache;
use pg_merge::stash::{self, Entry, Identity};
use pg_merge::tree::{self, Merger};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Put the tracked changes (staged and not) aside and leave the working copy
    /// as HEAD has it (the default).
    Push {
        /// What the entry holds.
        #[arg(short, long)]
        message: Option<String>,
    },
    /// Bring an entry back and drop it.
    Pop {
        /// Which entry (0, the newest, by default).
        #[arg(default_value_t = 0)]
        entry: usize,
    },
    /// Bring an entry back and keep it.
    Apply {
        /// Which entry (0, the newest, by default).
        #[arg(default_value_t = 0)]
        entry: usize,
    },
    /// List the entries, newest first.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Delete an entry (`pg undo` brings it back).
    Drop {
        /// Which entry (0, the newest, by default).
        #[arg(default_value_t = 0)]
        entry: usize,
    },
}

pub fn run(context: &Context, args: Args) -> Outcome {
    match args.command.unwrap_or(Command::Push { message: None }) {
        Command::Push { message } => push(context, message.as_deref()),
        Command::Pop { entry } => bring_back(context, entry, true),
        Command::Apply { entry } => bring_back(context, entry, false),
        Command::List { json } => list(context, json),
        Command::Drop { entry } => {
            let repo = context.repo()?;
            let dropped = stash::drop(&repo, entry, &context.op_context(Some(&repo)))?;
            report(context, "Dropped", &dropped)
        }
    }
}

fn push(context: &Context, message: Option<&str>) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let (author, committer) =
        (context.signature(&repo, Role::Author)?, context.signature(&repo, Role::Committer)?);
    let who = Identity { author: &author, committer: &committer };
    let op = context.op_context(Some(&repo));
    let entry = stash::push(&repo, &mut index, message, &who, &op, &context.progress("stashing"))?;
    writeln!(context.reports(), "Saved working directory and index state {}", entry.message)?;
    Ok(ExitCode::SUCCESS)
}

fn bring_back(context: &Context, number: usize, drop: bool) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let registry = super::merge::registry(&repo)?;
    let mut merger =
        Merger::new(repo.store(), &registry, Cache::new(repo.store(), true), tree::Options::default());
    let op = context.op_context(Some(&repo));
    let progress = context.progress("restoring");
    let entry = stash::apply(&repo, &mut index, &mut merger, number, drop, &op, &progress)?;
    report(context, if drop { "Popped" } else { "Applied" }, &entry)
}

fn report(context: &Context, verb: &str, entry: &Entry) -> Outcome {
    writeln!(context.reports(), "{verb} stash@{{{}}} ({})", entry.number, entry.message)?;
    Ok(ExitCode::SUCCESS)
}

fn list(context: &Context, json: bool) -> Result<ExitCode> {
    let repo = context.repo_to_read()?;
    let entries = stash::list(&repo)?;
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| serde_json::json!({ "entry": e.number, "commit": e.commit.to_hex(), "message": e.message }))
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    }
    for entry in entries.iter().filter(|_| !json) {
        writeln!(out, "stash@{{{}}}: {}", entry.number, entry.message)?;
    }
    Ok(ExitCode::SUCCESS)
}
