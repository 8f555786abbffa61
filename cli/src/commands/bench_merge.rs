//! `pg bench-merge`: replays the repository's own merges and scores the engine.

use super::Outcome;
use crate::context::Context;
use anyhow::{bail, Result};
use pg_core::worktree::Progress;
use pg_core::ObjectId;
use pg_merge::replay::{self, Class};
use pg_merge::tree;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the history to replay starts.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Replay at most this many merges (the newest).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// One JSON record per merge (and a summary record last).
    #[arg(long)]
    json: bool,
    /// Merges replayed at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Answer from the merge cache, and fill it (off by default, so timings are
    /// of merging, not of lookups).
    #[arg(long)]
    cache: bool,
}

#[derive(serde::Serialize)]
struct Record {
    commit: String,
    git_commit: Option<String>,
    parents: Vec<String>,
    git_parents: Vec<Option<String>>,
    bases: usize,
    class: Class,
    conflicts: usize,
    settled: BTreeMap<String, usize>,
    micros: u128,
}

#[derive(serde::Serialize, Default)]
struct Summary {
    merges: usize,
    skipped_one_sided: usize,
    conflict: usize,
    identical: usize,
    wrong_clean: usize,
    clean_rate: f64,
    identical_rate: f64,
    settled: BTreeMap<String, usize>,
    seconds: f64,
}

pub fn run(context: &Context, args: Args) -> Outcome {
    let repo = context.repo()?;
    let head = pg_core::revision::resolve(&repo, &args.rev)?;
    if repo.store().kind(&head)? != pg_core::object::ObjectKind::Commit {
        bail!("{} is not a commit", args.rev);
    }
    let store = repo.store();
    let (merges, skipped) = replay::true_merges(store, head, args.limit.unwrap_or(usize::MAX))?;
    let registry = super::merge::registry(&repo)?;
    let options = tree::Options { render_conflicts: false, ..tree::Options::default() };
    let git_id = |id: &ObjectId| -> Result<Option<String>> {
        Ok(store.backend().git_id_for_pg(id)?.map(|g| pg_core::id::hex_encode(g.digest())))
    };
    let threads = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut summary = Summary { skipped_one_sided: skipped, ..Summary::default() };
    let mut out = std::io::stdout().lock();
    let bar = context.progress("replaying");
    bar.start(merges.len() as u64);
    let started = Instant::now();
    let replayed =
        replay::replay_all(store, &registry, &options, args.cache, &merges, threads, &|| bar.advance(1))?;
    summary.seconds = started.elapsed().as_secs_f64();
    for (merge, (replayed, took)) in merges.iter().zip(replayed) {
        let mut settled = BTreeMap::new();
        for (function, count) in &replayed.settled {
            let name = registry.describe(function).map_or_else(|| function.to_string(), |d| d.name);
            *settled.entry(name.clone()).or_default() += count;
            *summary.settled.entry(name).or_default() += count;
        }
        summary.merges += 1;
        match replayed.class {
            Class::Conflict => summary.conflict += 1,
            Class::Identical => summary.identical += 1,
            Class::WrongClean => summary.wrong_clean += 1,
        }
        if args.json {
            let parents = &merge.commit.parents;
            let record = Record {
                commit: merge.id.to_string(),
                git_commit: git_id(&merge.id)?,
                parents: parents.iter().map(ToString::to_string).collect(),
                git_parents: parents.iter().map(git_id).collect::<Result<_>>()?,
                bases: merge.bases.len(),
                class: replayed.class,
                conflicts: replayed.conflicts,
                settled,
                micros: took.as_micros(),
            };
            serde_json::to_writer(&mut out, &record)?;
            writeln!(out)?;
        }
    }
    drop(bar);
    let rate = |n: usize| if summary.merges == 0 { 0.0 } else { n as f64 / summary.merges as f64 };
    summary.clean_rate = rate(summary.identical + summary.wrong_clean);
    summary.identical_rate = rate(summary.identical);
    if args.json {
        serde_json::to_writer(&mut out, &serde_json::json!({ "summary": summary }))?;
        writeln!(out)?;
    } else {
        write_summary(&mut out, &summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_summary(out: &mut dyn Write, s: &Summary) -> Result<()> {
    let percent = |n: usize| if s.merges == 0 { 0.0 } else { 100.0 * n as f64 / s.merges as f64 };
    writeln!(
        out,
        "replayed {} true merge(s) in {:.2} s ({} one-sided merge(s) skipped)",
        s.merges, s.seconds, s.skipped_one_sided
    )?;
    for (name, n) in [("conflict", s.conflict), ("identical", s.identical), ("wrong-clean", s.wrong_clean)] {
        writeln!(out, "  {name:<12} {n:>6}  {:5.1}%", percent(n))?;
    }
    writeln!(
        out,
        "clean rate {:.1}%, identical-to-commit rate {:.1}%",
        100.0 * s.clean_rate,
        100.0 * s.identical_rate
    )?;
    let settled: Vec<String> = s.settled.iter().map(|(name, n)| format!("{name} {n}")).collect();
    if !settled.is_empty() {
        writeln!(out, "paths both sides changed, settled by: {}", settled.join(", "))?;
    }
    Ok(())
}
