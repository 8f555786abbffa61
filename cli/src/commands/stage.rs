use super::{text, Outcome};
use crate::context::Context;
use anyhow::bail;
use pg_core::worktree;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// Files or directories to stage.
    paths: Vec<PathBuf>,
    /// Stage everything in the working copy, deletions included.
    #[arg(short = 'A', long = "all")]
    all: bool,
}

pub fn add(context: &Context, args: AddArgs) -> Outcome {
    let repo = context.repo()?;
    let paths = match (args.all, args.paths.is_empty()) {
        (true, _) => vec![Vec::new()],
        (false, false) => context.repo_paths(&repo, &args.paths)?,
        (false, true) => bail!("nothing specified, nothing added: name paths, or use -A for everything"),
    };
    let mut index = context.load_index(&repo)?;
    let bar = context.progress("staging");
    worktree::add(&repo, &mut index, &paths, false, &bar)?;
    drop(bar);
    context.save_index(&repo, &mut index)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// Files or directories to remove.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only unstage; keep the files.
    #[arg(long)]
    cached: bool,
    /// Remove even files with changes that are not committed.
    #[arg(short, long)]
    force: bool,
    /// Remove directories and everything in them.
    #[arg(short)]
    r: bool,
}

pub fn rm(context: &Context, args: RmArgs) -> Outcome {
    let repo = context.repo()?;
    let paths = context.repo_paths(&repo, &args.paths)?;
    let mut index = context.load_index(&repo)?;
    let options = worktree::RemoveOptions { cached: args.cached, force: args.force, recursive: args.r };
    let removed = worktree::remove(&repo, &mut index, &paths, options)?;
    context.save_index(&repo, &mut index)?;
    for path in removed {
        println!("rm '{}'", text(&path));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct MvArgs {
    /// The tracked file or directory.
    source: PathBuf,
    /// Its new path, or an existing directory to move it into.
    destination: PathBuf,
}

pub fn mv(context: &Context, args: MvArgs) -> Outcome {
    let repo = context.repo()?;
    let paths = context.repo_paths(&repo, &[args.source, args.destination])?;
    let mut index = context.load_index(&repo)?;
    worktree::move_path(&repo, &mut index, &paths[0], &paths[1])?;
    context.save_index(&repo, &mut index)?;
    Ok(ExitCode::SUCCESS)
}
