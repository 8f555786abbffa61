//! `pg`: the command-line front end. It parses arguments, calls pg's libraries and
//! prints what they return; the logic lives in the libraries.

mod commands;
mod context;
mod render;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// pg: PromiseGrid's version-control and merge engine.
#[derive(Parser, Debug)]
#[command(name = "pg", version, about, propagate_version = true)]
pub struct Cli {
    /// Run as if pg was started in this directory.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    directory: Option<PathBuf>,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = render::ColorChoice::Auto)]
    color: render::ColorChoice,
    /// Print no reports of what was done, and no progress (output asked for, such
    /// as a log, and errors still print).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create an empty repository.
    Init(commands::init::Args),
    /// Stage files (new, changed or deleted) for the next commit.
    Add(commands::stage::AddArgs),
    /// Remove files from the index and the working copy.
    Rm(commands::stage::RmArgs),
    /// Move or rename a tracked file or directory.
    Mv(commands::stage::MvArgs),
    /// Show staged, unstaged and untracked changes.
    Status(commands::status::Args),
    /// Show changes as a unified diff.
    Diff(commands::diff::Args),
    /// Record the staged snapshot as a new commit.
    Commit(commands::commit::Args),
    /// Search files for a regular expression: the working copy, revisions, or --history.
    Grep(commands::grep::Args),
    /// Show the history.
    Log(commands::log::LogArgs),
    /// Show which commit last changed each line of a file (following renames).
    Blame(commands::blame::Args),
    /// Show a commit (with its diff), tag, tree or blob.
    Show(commands::log::ShowArgs),
    /// List, create or delete branches.
    Branch(commands::branch::BranchArgs),
    /// Switch the working copy to a branch.
    Switch(commands::branch::SwitchArgs),
    /// Put files back in the working copy or the index, from the index or a commit.
    Restore(commands::restore::RestoreArgs),
    /// Move the current branch to a commit; --mixed (default) also the index, --hard the files too.
    Reset(commands::restore::ResetArgs),
    /// git's checkout: `pg checkout BRANCH` switches, `pg checkout [REV] -- PATH…` restores.
    Checkout(commands::restore::CheckoutArgs),
    /// Put uncommitted work aside (push, the default), bring it back (pop, apply), list or drop it.
    Stash(commands::stash::Args),
    /// List, create or delete tags.
    Tag(commands::branch::TagArgs),
    /// Print an object's kind or contents.
    CatObject(commands::plumbing::CatObjectArgs),
    /// Print the ids that revisions name.
    RevParse(commands::plumbing::RevParseArgs),
    /// List refs with the ids they point at.
    ShowRef(commands::plumbing::ShowRefArgs),
    /// Bring history in from another system (git).
    Import(commands::import::ImportArgs),
    /// Write history out for another system (git).
    Export(commands::import::ExportArgs),
    /// Merge a branch or commit into HEAD through the cascade of merge functions.
    Merge(commands::merge::MergeArgs),
    /// Apply the changes of existing commits on HEAD, through the merge engine.
    CherryPick(commands::moving::PickArgs),
    /// Make commits that undo the changes of existing commits.
    Revert(commands::moving::PickArgs),
    /// Replay the current branch's own commits on another base (UPSTREAM, or --onto).
    Rebase(commands::moving::RebaseArgs),
    /// Mark conflicted paths resolved (with the working copy's content, or a side's).
    Resolve(commands::merge::ResolveArgs),
    /// The queue of conflicts waiting for people.
    Queue(commands::merge::QueueArgs),
    /// List the merge functions, with their content-addressed ids.
    MergeFunctions(commands::merge::FunctionsArgs),
    /// Replay the history's merges with pg's engine and compare with what was committed.
    BenchMerge(commands::bench_merge::Args),
    /// Merge three files line by line (as `git merge-file`); exits with the number of conflicts.
    MergeFile(commands::merge_file::Args),
    /// Print this node's peer id and the addresses `pg serve` listens on by default.
    Id(commands::peers::JsonArgs),
    /// Serve repositories to peers until stopped.
    Serve(commands::peers::ServeArgs),
    /// Copy a served repository (with its id, history and branches).
    Clone(commands::peers::CloneArgs),
    /// Bring a remote's new commits and move its remote-tracking refs.
    Fetch(commands::peers::FetchArgs),
    /// Move a remote's branch to this repository's, sending what it lacks.
    Push(commands::peers::PushArgs),
    /// Fetch from a remote, then merge its branch.
    Pull(commands::peers::PullArgs),
    /// Add, remove or list remotes.
    Remote(commands::peers::RemoteArgs),
    /// Print the repository's id, which its clones share.
    RepoId(commands::peers::JsonArgs),
    /// Verify the integrity of every object, ref and operation.
    Fsck(commands::plumbing::FsckArgs),
    /// Delete the objects nothing reaches (what a failed import or transfer left).
    Gc(commands::plumbing::GcArgs),
    /// Start, stop or inspect the file-system watcher that speeds up status.
    Watch(commands::watch::Args),
    /// Get or set a configuration value.
    Config(commands::plumbing::ConfigArgs),
    /// Inspect the operation log.
    Op(commands::oplog::OpArgs),
    /// Undo the last operation (repeat to go further back).
    Undo,
    /// Print a shell's completion script (e.g. `pg completions bash > ~/.local/share/bash-completion/completions/pg`).
    Completions(commands::docs::CompletionsArgs),
    /// Print a manual page as roff (`pg man commit | man -l -`), or write them all with --out DIR.
    Man(commands::docs::ManArgs),
}

/// git attaches `-M`'s optional threshold to the flag (`-M90`, `-M90%`). clap
/// cannot take an optional value only when attached (it would swallow the
/// revision of `-M HEAD`), so the attached form becomes `--find-renames=90`,
/// before a `--` only.
fn spell_out_rename_thresholds(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut ended = false;
    args.map(|arg| {
        ended |= arg == "--";
        match arg.to_str().and_then(|a| a.strip_prefix("-M")) {
            Some(threshold) if !ended && threshold.starts_with(|c: char| c.is_ascii_digit()) => {
                format!("--find-renames={threshold}").into()
            }
            _ => arg,
        }
    })
    .collect()
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = match Cli::try_parse_from(spell_out_rename_thresholds(std::env::args_os())) {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    let context = match context::Context::new(cli.directory.as_deref(), cli.color, cli.quiet) {
        Ok(context) => context,
        Err(e) => return report(e),
    };
    let result = match cli.command {
        Command::Init(args) => commands::init::run(&context, args),
        Command::Add(args) => commands::stage::add(&context, args),
        Command::Rm(args) => commands::stage::rm(&context, args),
        Command::Mv(args) => commands::stage::mv(&context, args),
        Command::Status(args) => commands::status::run(&context, args),
        Command::Diff(args) => commands::diff::run(&context, args),
        Command::Commit(args) => commands::commit::run(&context, args),
        Command::Grep(args) => commands::grep::run(&context, args),
        Command::Log(args) => commands::log::log(&context, args),
        Command::Show(args) => commands::log::show(&context, args),
        Command::Blame(args) => commands::blame::run(&context, args),
        Command::Watch(args) => commands::watch::run(&context, args),
        Command::Branch(args) => commands::branch::branch(&context, args),
        Command::Switch(args) => commands::branch::switch(&context, args),
        Command::Restore(args) => commands::restore::restore(&context, args),
        Command::Reset(args) => commands::restore::reset(&context, args),
        Command::Checkout(args) => commands::restore::checkout(&context, args),
        Command::Stash(args) => commands::stash::run(&context, args),
        Command::Tag(args) => commands::branch::tag(&context, args),
        Command::CatObject(args) => commands::plumbing::cat_object(&context, args),
        Command::RevParse(args) => commands::plumbing::rev_parse(&context, args),
        Command::ShowRef(args) => commands::plumbing::show_ref(&context, args),
        Command::Import(args) => commands::import::import(&context, args),
        Command::Export(args) => commands::import::export(&context, args),
        Command::Merge(args) => commands::merge::merge(&context, args),
        Command::CherryPick(args) => commands::moving::cherry_pick(&context, args),
        Command::Revert(args) => commands::moving::revert(&context, args),
        Command::Rebase(args) => commands::moving::rebase(&context, args),
        Command::Resolve(args) => commands::merge::resolve(&context, args),
        Command::Queue(args) => commands::merge::queue(&context, args),
        Command::MergeFunctions(args) => commands::merge::functions(&context, args),
        Command::BenchMerge(args) => commands::bench_merge::run(&context, args),
        Command::MergeFile(args) => commands::merge_file::run(&context, args),
        Command::Id(args) => commands::peers::id(&context, args),
        Command::Serve(args) => commands::peers::serve(&context, args),
        Command::Clone(args) => commands::peers::clone(&context, args),
        Command::Fetch(args) => commands::peers::fetch(&context, args),
        Command::Push(args) => commands::peers::push(&context, args),
        Command::Pull(args) => commands::peers::pull(&context, args),
        Command::Remote(args) => commands::peers::remote(&context, args),
        Command::RepoId(args) => commands::plumbing::repo_id(&context, args),
        Command::Fsck(args) => commands::plumbing::fsck(&context, args),
        Command::Gc(args) => commands::plumbing::gc(&context, args),
        Command::Config(args) => commands::plumbing::config(&context, args),
        Command::Op(args) => commands::oplog::op(&context, args),
        Command::Undo => commands::oplog::undo(&context),
        Command::Completions(args) => commands::docs::completions(Cli::command(), args),
        Command::Man(args) => commands::docs::man(Cli::command(), args),
    };
    match result {
        Ok(code) => code,
        Err(e) => report(e),
    }
}

/// Reports a command-line error as clap does (exit 2), except for `pg merge-file`,
/// whose exit codes 1 to 127 count conflicts: like git's, it fails with 255.
fn usage_error(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if !error.use_stderr() {
        return ExitCode::SUCCESS; // --help, --version
    }
    let merge_file = std::env::args().skip(1).any(|a| a == "merge-file");
    ExitCode::from(if merge_file { 255 } else { error.exit_code() as u8 })
}

/// Prints an error as one line (with its causes) and fails.
fn report(error: anyhow::Error) -> ExitCode {
    // A closed pipe (`pg log | head`) is not an error worth a message.
    if error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

/// Bulk work (a clone, an import) takes memory megabytes at a time, and glibc's
/// defaults grow each heap 128 KiB at a time and give memory back as soon as
/// 128 KiB are free at its top: the same pages are mapped, faulted in and
/// unmapped again and again (a quarter of a clone's system time, measured). Heaps
/// grow by 16 MiB of address space (pages still come only as they are touched),
/// and up to 32 MiB freed stays for reuse: more kept memory a process never gives
/// back, and a node may be a laptop. One arena for all threads: RocksDB's
/// blocks are allocated on one thread and freed on another, and with an arena
/// per thread the freed space of each stayed mapped (fsck of 336,000 objects:
/// 612 MB with arenas per thread, 355 MB with one, 11% slower).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets glibc's tuning parameters; this runs first, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}
