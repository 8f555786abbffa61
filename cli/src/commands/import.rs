use super::Outcome;
use crate::context::Context;
use anyhow::{Context as _, Result};
use pg_core::refs::BRANCH_PREFIX;
use pg_import::fast_import::{self, Stats};
use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(clap::Subcommand, Debug)]
enum Source {
    /// Read a `git fast-export` stream (standard input when no FILE).
    GitFastExport {
        /// The stream.
        file: Option<PathBuf>,
        /// Read marks (git's format) before the stream.
        #[arg(long, value_name = "FILE")]
        import_marks: Option<PathBuf>,
        /// Like --import-marks, but a missing file is fine.
        #[arg(long, value_name = "FILE", conflicts_with = "import_marks")]
        import_marks_if_exists: Option<PathBuf>,
        /// Write all marks to this file at the end.
        #[arg(long, value_name = "FILE")]
        export_marks: Option<PathBuf>,
        /// Move branches even when that loses commits.
        #[arg(long)]
        force: bool,
        /// Leave the working copy alone, even in a repository that had no commit.
        #[arg(long)]
        no_checkout: bool,
    },
    /// Read a git repository directly, object by object (exact: every header,
    /// signature and tree entry as git has it).
    Git {
        /// The git repository (its working copy or its .git directory).
        path: PathBuf,
        /// Leave the working copy alone, even in a repository that had no commit.
        #[arg(long)]
        no_checkout: bool,
    },
}

/// Shows counts on a terminal while importing; `progress` commands go to stdout.
struct Report {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
}

impl fast_import::Progress for Report {
    fn update(&self, stats: &Stats) {
        if let Some(bar) = &self.bar {
            let seconds = self.started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{} commits, {} blobs, {} trees, {:.1} MB ({:.0} commits/s)",
                stats.commits,
                stats.blobs,
                stats.trees,
                stats.bytes as f64 / 1e6,
                stats.commits as f64 / seconds
            ));
        }
    }

    fn message(&self, text: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ =
            out.write_all(b"progress ").and_then(|_| out.write_all(text)).and_then(|_| out.write_all(b"\n"));
    }
}

pub fn import(context: &Context, args: ImportArgs) -> Outcome {
    match args.source {
        Source::Git { path, no_checkout } => import_git(context, &context.cwd.join(path), no_checkout),
        Source::GitFastExport {
            file,
            import_marks,
            import_marks_if_exists,
            export_marks,
            force,
            no_checkout,
        } => {
            let options = fast_import::Options {
                import_marks_if_exists: import_marks_if_exists.is_some(),
                import_marks: import_marks.or(import_marks_if_exists),
                export_marks,
                force,
            };
            import_stream(context, file, &options, no_checkout)
        }
    }
}

fn import_stream(
    context: &Context,
    file: Option<PathBuf>,
    options: &fast_import::Options,
    no_checkout: bool,
) -> Outcome {
    let repo = context.repo()?;
    let head_before = repo.head()?.commit();
    let report = Report { bar: context.spinner(), started: Instant::now() };
    let op = context.op_context(Some(&repo));
    let imported = match &file {
        Some(path) => {
            let input =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            fast_import::import(&repo, BufReader::with_capacity(1 << 20, input), options, &report, &op)
        }
        None => fast_import::import(&repo, std::io::stdin().lock(), options, &report, &op),
    };
    let stats = imported.map_err(|e| {
        anyhow::anyhow!(
            "{e}\nrefs move only at the stream's checkpoints and at its end; the objects stored \
             before the error stay, unreferenced: importing the stream again reuses them, \
             `pg gc` deletes them"
        )
    })?;
    if let Some(bar) = &report.bar {
        bar.finish_and_clear();
    }
    adopt_first_import(context, &repo, head_before, None, no_checkout)?;
    let seconds = report.started.elapsed().as_secs_f64();
    eprintln!(
        "imported {} commits, {} blobs, {} trees, {} tags ({:.1} MB) in {seconds:.1} s; {} refs updated",
        stats.commits,
        stats.blobs,
        stats.trees,
        stats.tags,
        stats.bytes as f64 / 1e6,
        stats.refs_updated
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows on `spinner` (a terminal's) how many objects went, and how fast.
fn object_counts(spinner: &Option<indicatif::ProgressBar>) -> impl Fn(u64) + '_ {
    let started = Instant::now();
    move |objects: u64| {
        if let Some(bar) = spinner {
            let rate = objects as f64 / started.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!("{objects} objects ({rate:.0}/s)"));
        }
    }
}

fn import_git(context: &Context, path: &std::path::Path, no_checkout: bool) -> Outcome {
    let repo = context.repo()?;
    let head_before = repo.head()?.commit();
    let started = Instant::now();
    let spinner = context.spinner();
    let stats =
        pg_import::git_repo::import(&repo, path, &context.op_context(Some(&repo)), &object_counts(&spinner))?;
    if let Some(bar) = &spinner {
        bar.finish_and_clear();
    }
    let source_head = pg_import::git_repo::head_branch(path)?;
    adopt_first_import(context, &repo, head_before, source_head.as_deref(), no_checkout)?;
    eprintln!(
        "imported {} objects from {} in {:.1} s; {} refs updated",
        stats.objects,
        path.display(),
        started.elapsed().as_secs_f64(),
        stats.refs
    );
    Ok(ExitCode::SUCCESS)
}

/// Into a repository that had no commit, an import does what a clone does: HEAD
/// follows the source's (see [`pg_import::head`]), and unless `no_checkout` (or
/// the index already holds something) its commit is checked out.
fn adopt_first_import(
    context: &Context,
    repo: &pg_core::Repository,
    head_before: Option<pg_core::ObjectId>,
    preferred: Option<&str>,
    no_checkout: bool,
) -> Result<()> {
    if head_before.is_some() {
        return Ok(());
    }
    pg_import::head::follow_imported_head(repo, preferred, &context.op_context(Some(repo)))?;
    let head_after = repo.head()?.commit();
    if no_checkout || head_after.is_none() || !context.load_index(repo)?.entries().is_empty() {
        return Ok(());
    }
    super::branch::move_working_copy(context, repo, None, head_after)
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(clap::Subcommand, Debug)]
enum Target {
    /// Write a `git fast-import` stream to standard output.
    GitFastExport {
        /// Export every ref.
        #[arg(long, conflicts_with = "refs")]
        all: bool,
        /// Refs to export (branch and tag names, or full ref names).
        refs: Vec<String>,
        /// Commit signatures: strip them (git's default; older git fast-import
        /// refuses them) or write them verbatim.
        #[arg(long, value_enum, default_value_t = SignedCommitsArg::Strip)]
        signed_commits: SignedCommitsArg,
    },
    /// Write objects and refs straight into a git repository (made bare when
    /// missing): the exact path, git -> pg -> git keeps every id.
    Git {
        /// The git repository.
        path: PathBuf,
        /// Export every ref.
        #[arg(long, conflicts_with = "refs")]
        all: bool,
        /// Refs to export (branch and tag names, or full ref names).
        refs: Vec<String>,
    },
}

/// `--signed-commits` values.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SignedCommitsArg {
    Strip,
    Verbatim,
}

pub fn export(context: &Context, args: ExportArgs) -> Outcome {
    let (path, all, refs, signed) = match args.target {
        Target::GitFastExport { all, refs, signed_commits } => (None, all, refs, signed_commits),
        Target::Git { path, all, refs } => (Some(path), all, refs, SignedCommitsArg::Verbatim),
    };
    let signed_commits = match signed {
        SignedCommitsArg::Strip => pg_import::fast_export::SignedCommits::Strip,
        SignedCommitsArg::Verbatim => pg_import::fast_export::SignedCommits::Verbatim,
    };
    let repo = context.repo_to_read()?;
    let names: Vec<String> = if all {
        repo.list_refs("refs/")?.into_iter().map(|(name, _)| name).collect()
    } else if refs.is_empty() {
        anyhow::bail!("name the refs to export, or use --all");
    } else {
        refs.iter().map(|r| full_ref_name(&repo, r)).collect::<Result<_>>()?
    };
    if let Some(path) = path {
        let path = context.cwd.join(path);
        let spinner = context.spinner();
        let stats = pg_import::git_repo::export(&repo, &path, &names, &object_counts(&spinner))?;
        if let Some(bar) = &spinner {
            bar.finish_and_clear();
        }
        eprintln!("exported {} objects and {} refs to {}", stats.objects, stats.refs, path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let stats = pg_import::fast_export::export(&repo, &names, signed_commits, &mut out)?;
    drop(out);
    eprintln!("exported {} commits, {} blobs, {} tags", stats.commits, stats.blobs, stats.tags);
    if stats.lossy_commits > 0 {
        eprintln!(
            "warning: {} commits have signatures or headers the stream leaves out (mergetag, change-id, ...); \
             `pg export git` keeps them",
            stats.lossy_commits
        );
    }
    for name in &stats.skipped_refs {
        eprintln!("warning: {name} points at neither a commit nor a tag; a stream cannot carry it");
    }
    Ok(ExitCode::SUCCESS)
}

/// `main` -> `refs/heads/main`, `v1` -> `refs/tags/v1`; full names as they are.
fn full_ref_name(repo: &pg_core::Repository, name: &str) -> Result<String> {
    if name.starts_with("refs/") {
        return Ok(name.to_owned());
    }
    for prefix in [BRANCH_PREFIX, pg_core::refs::TAG_PREFIX] {
        let full = format!("{prefix}{name}");
        if repo.read_ref(&full)?.is_some() {
            return Ok(full);
        }
    }
    anyhow::bail!("no branch or tag named '{name}'")
}
