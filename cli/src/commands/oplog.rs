use super::Outcome;
use crate::context::Context;
use crate::render;
use pg_core::oplog::{RefChange, Snapshot, WorkingCopyChange};
use pg_core::refs::RefTarget;
use pg_core::store::Store;
use pg_core::worktree;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct OpArgs {
    #[command(subcommand)]
    command: OpCommand,
}

#[derive(clap::Subcommand, Debug)]
enum OpCommand {
    /// List operations, newest first.
    Log {
        /// Show at most N operations.
        #[arg(short = 'n', long = "max-count")]
        max_count: Option<usize>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn target_text(store: &Store, target: &Option<RefTarget>) -> String {
    match target {
        None => "(none)".into(),
        Some(RefTarget::Object(id)) => store.abbreviate(id),
        Some(RefTarget::Symbolic(name)) => name.clone(),
    }
}

fn change_text(store: &Store, change: &RefChange) -> String {
    format!(
        "{}: {} -> {}",
        change.name,
        target_text(store, &change.before),
        target_text(store, &change.after)
    )
}

/// A working-copy move as its two snapshots, each as index and files trees.
fn working_copy_text(store: &Store, change: &WorkingCopyChange) -> String {
    let side =
        |s: &Snapshot| format!("index {} files {}", store.abbreviate(&s.index), store.abbreviate(&s.files));
    format!("working copy: {} -> {}", side(&change.before), side(&change.after))
}

pub fn op(context: &Context, args: OpArgs) -> Outcome {
    let OpCommand::Log { max_count, json } = args.command;
    let repo = context.repo_to_read()?;
    let ops = repo.operations(max_count.unwrap_or(usize::MAX))?;
    let mut out = std::io::stdout().lock();
    if json {
        let records: Vec<_> = ops
            .iter()
            .map(|op| {
                serde_json::json!({
                    "seq": op.seq,
                    "command": op.context.command,
                    "user": op.context.user,
                    "time": op.context.time,
                    "undoes": op.undoes,
                    "changes": op.changes,
                    "working_copy": op.working_copy,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for op in &ops {
        let when = render::date(op.context.time, "+0000", 0);
        let seq = render::paint(context.color, render::ID, &format!("#{}", op.seq));
        writeln!(out, "{seq} {when} {} pg {}", op.context.user, op.context.command)?;
        for change in &op.changes {
            writeln!(out, "    {}", change_text(repo.store(), change))?;
        }
        if let Some(change) = &op.working_copy {
            writeln!(out, "    {}", working_copy_text(repo.store(), change))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn undo(context: &Context) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let op = context.op_context(Some(&repo));
    let (target, _) = worktree::undo(&repo, &mut index, &op, &context.progress("checkout"))?;
    println!("Undid operation #{} (pg {})", target.seq, target.context.command);
    for change in &target.changes {
        let (before, after) =
            (target_text(repo.store(), &change.after), target_text(repo.store(), &change.before));
        println!("    {}: {before} -> {after}", change.name);
    }
    if let Some(change) = &target.working_copy {
        println!("    {}", working_copy_text(repo.store(), &change.inverse()));
    }
    Ok(ExitCode::SUCCESS)
}
