//! `pg merge`, `pg resolve`, `pg queue` and `pg merge-functions`.

use super::{abbrev_text, abbreviate_text, hook_runner, run_hook, text, Outcome};
use crate::context::{Context, Role};
use anyhow::{bail, Context as _, Result};
use pg_core::id::ABBREV_LEN;
use pg_core::{revision, ObjectId, Repository};
use pg_hooks::Hook;
use pg_merge::cache::Cache;
use pg_merge::function::{trivial, Registry};
use pg_merge::operation::{self, Command, Request, Started, Take};
use pg_merge::queue::{self, ItemState};
use pg_merge::text::ConflictStyle;
use pg_merge::tree::{self, Merger, Stats};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The branch or commit to merge into HEAD.
    #[arg(required_unless_present_any = ["continue_", "abort"], conflicts_with_all = ["continue_", "abort"])]
    rev: Option<String>,
    /// Commit the merge once every conflict is resolved.
    #[arg(long = "continue", conflicts_with = "abort")]
    continue_: bool,
    /// Put everything back as it was before the merge.
    #[arg(long)]
    abort: bool,
    /// The merge commit's message.
    #[arg(short, long)]
    message: Option<String>,
    /// Make a merge commit even when HEAD could fast-forward.
    #[arg(long)]
    no_ff: bool,
    /// Merge histories that share no commit, from an empty base.
    #[arg(long)]
    allow_unrelated_histories: bool,
    /// Print what the merge did: files merged, cache hits, renames.
    #[arg(long)]
    stats: bool,
    /// Skip the pre-merge and post-merge hooks.
    #[arg(short = 'n', long)]
    no_verify: bool,
}

/// The registry with the repository's conflict style (`merge.conflictStyle`).
pub fn registry(repo: &Repository) -> Result<Registry> {
    let style = match repo.config().get("merge.conflictStyle")?.as_deref() {
        None | Some("merge") => ConflictStyle::Merge,
        Some("diff3") => ConflictStyle::Diff3,
        Some("zdiff3") => ConflictStyle::Zdiff3,
        Some(other) => bail!("merge.conflictStyle is '{other}'; it must be merge, diff3 or zdiff3"),
    };
    Ok(Registry::builtin(style))
}

/// Merges `rev` into HEAD as `pg merge REV` does (for `pg pull`).
pub fn merge_revision(context: &Context, rev: &str) -> Outcome {
    let args = MergeArgs {
        rev: Some(rev.to_owned()),
        continue_: false,
        abort: false,
        message: None,
        no_ff: false,
        allow_unrelated_histories: false,
        stats: false,
        no_verify: false,
    };
    merge(context, args)
}

pub fn merge(context: &Context, args: MergeArgs) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let op = context.op_context(Some(&repo));
    if args.abort {
        operation::abort(&repo, &mut index, Command::Merge, &op)?;
        writeln!(context.reports(), "Merge aborted; the working copy is as it was.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let author = context.signature(&repo, Role::Author)?;
    let committer = context.signature(&repo, Role::Committer)?;
    if args.continue_ {
        let commit = operation::finish(&repo, &mut index, Command::Merge, (&author, &committer), &op)?;
        let message = repo.store().read_commit(&commit)?.message;
        let subject = text(message.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
        writeln!(context.reports(), "[{}] {subject}", repo.store().abbreviate(&commit))?;
        post_merge(&repo, args.no_verify)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rev = args.rev.expect("clap requires a revision without --continue or --abort");
    let theirs = revision::resolve(&repo, &rev)?;
    if !args.no_verify {
        run_hook(&hook_runner(&repo), Hook::PreMerge, &[], "nothing was merged")?;
    }
    let registry = registry(&repo)?;
    let base_label = base_label(&repo, theirs)?;
    let options = tree::Options {
        ours_label: "HEAD".into(),
        theirs_label: rev.clone(),
        base_label,
        allow_unrelated: args.allow_unrelated_histories,
        ..tree::Options::default()
    };
    let mut merger = Merger::new(repo.store(), &registry, Cache::new(repo.store(), true), options);
    let request = Request {
        theirs,
        message: args.message.unwrap_or_else(|| default_message(&repo, &rev)),
        author,
        committer,
        no_fast_forward: args.no_ff,
    };
    let started = operation::start(&repo, &mut index, &mut merger, &request, &op)?;
    let mut out = context.reports();
    match started {
        Started::UpToDate => writeln!(out, "Already up to date.")?,
        Started::FastForward { from } => {
            let from = from.map_or("(no commit)".to_owned(), |id| repo.store().abbreviate(&id));
            writeln!(out, "Updating {from}..{}\nFast-forward", repo.store().abbreviate(&theirs))?;
            drop(out);
            post_merge(&repo, args.no_verify)?;
        }
        Started::Committed { commit, outcome } => {
            writeln!(out, "Merge made by pg: {}", settled_summary(&registry, &outcome.settled))?;
            writeln!(
                out,
                "[{}] {}",
                repo.store().abbreviate(&commit),
                request.message.lines().next().unwrap_or("")
            )?;
            if args.stats {
                write_stats(&mut out, &outcome.stats)?;
            }
            drop(out);
            post_merge(&repo, args.no_verify)?;
        }
        Started::Conflicted { outcome, items } => {
            // Not a report: it says why the command fails, and what to do.
            let mut out = std::io::stdout().lock();
            write_conflicts(&mut out, &outcome)?;
            if args.stats {
                write_stats(&mut out, &outcome.stats)?;
            }
            writeln!(
                out,
                "Automatic merge failed: {} conflict(s) queued ({}). Fix them, `pg resolve` each path, then `pg merge --continue` (or `pg merge --abort`).",
                items.len(),
                items.iter().map(|i| repo.store().abbreviate(i)).collect::<Vec<_>>().join(", ")
            )?;
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `CONFLICT (kind): path`, a line per conflict, as git prints them.
pub fn write_conflicts(out: &mut dyn Write, outcome: &tree::Outcome) -> Result<()> {
    for conflict in &outcome.conflicts {
        let kind = serde_json::to_value(conflict.kind)?;
        writeln!(out, "CONFLICT ({}): {}", kind.as_str().unwrap_or("?"), text(&conflict.path))?;
    }
    Ok(())
}

fn post_merge(repo: &Repository, no_verify: bool) -> Result<()> {
    if no_verify {
        return Ok(());
    }
    // git passes 1 for a squash merge; pg has none.
    run_hook(&hook_runner(repo), Hook::PostMerge, &[std::path::Path::new("0")], "the merge itself is done")
}

/// git's messages: `Merge branch 'x'` for a branch, `Merge commit 'rev'` otherwise,
/// with ` into y` when the current branch is not main or master.
fn default_message(repo: &Repository, rev: &str) -> String {
    let is_branch = repo.resolve_ref(&format!("refs/heads/{rev}")).ok().flatten().is_some();
    let mut message =
        if is_branch { format!("Merge branch '{rev}'") } else { format!("Merge commit '{rev}'") };
    if let Ok(head) = repo.head() {
        if let Some(branch) = head.branch().filter(|b| !matches!(*b, "main" | "master")) {
            message.push_str(&format!(" into {branch}"));
        }
    }
    message.push('\n');
    message
}

/// The base's name in diff3 markers: its short id, or git's words for a virtual base.
fn base_label(repo: &Repository, theirs: ObjectId) -> Result<String> {
    let Some(ours) = repo.head()?.commit() else { return Ok("base".into()) };
    let bases = pg_core::history::merge_bases(repo.store(), ours, theirs)?;
    Ok(match bases.as_slice() {
        [one] => repo.store().abbreviate(one),
        [] => "empty tree".into(),
        _ => "merged common ancestors".into(),
    })
}

/// `text: 2, trivial: 1` — which functions settled how many paths.
fn settled_summary(registry: &Registry, settled: &[tree::Settled]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for s in settled {
        *counts.entry(function_name(registry, &s.function)).or_default() += 1;
    }
    if counts.is_empty() {
        return "no file changed on both sides".into();
    }
    let parts: Vec<String> = counts.iter().map(|(name, n)| format!("{name}: {n}")).collect();
    format!("{} file(s) changed on both sides ({})", settled.len(), parts.join(", "))
}

fn function_name(registry: &Registry, id: &ObjectId) -> String {
    registry.describe(id).map_or_else(|| format!("unknown {}", id.abbrev(ABBREV_LEN)), |d| d.name)
}

fn write_stats(out: &mut dyn Write, stats: &Stats) -> Result<()> {
    writeln!(
        out,
        "stats: {} file(s) through the cascade, cache {} hit(s) / {} miss(es), {} rename(s)",
        stats.files_merged, stats.cache_hits, stats.cache_misses, stats.renames
    )?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct ResolveArgs {
    /// Take our version.
    #[arg(long, conflicts_with = "theirs")]
    ours: bool,
    /// Take their version.
    #[arg(long)]
    theirs: bool,
    /// Conflicted paths to mark resolved (by default, with the working copy's content).
    #[arg(required = true)]
    paths: Vec<std::path::PathBuf>,
}

pub fn resolve(context: &Context, args: ResolveArgs) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    let take = match (args.ours, args.theirs) {
        (true, _) => Take::Ours,
        (_, true) => Take::Theirs,
        _ => Take::WorkingCopy,
    };
    let (name, email) = context.identity(Some(&repo), Role::Committer)?;
    let op = context.op_context(Some(&repo));
    for path in context.repo_paths(&repo, &args.paths)? {
        operation::resolve(&repo, &mut index, &path, take, &format!("{name} <{email}>"), op.time)?;
        println!("resolved {}", text(&path));
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct QueueArgs {
    #[command(subcommand)]
    command: QueueCommand,
}

#[derive(clap::Subcommand, Debug)]
enum QueueCommand {
    /// List queue items (open ones, or all with --all).
    List {
        /// Include resolved items.
        #[arg(long)]
        all: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one item.
    Show {
        /// The item's id or a unique prefix.
        item: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct ItemJson {
    id: String,
    path: String,
    kind: String,
    state: &'static str,
    resolved_by: Option<String>,
    result: Option<String>,
    ours_commit: String,
    theirs_commit: String,
    base: Option<String>,
    ours: Option<String>,
    theirs: Option<String>,
    tried: Vec<String>,
}

fn item_json(repo: &Repository, id: &ObjectId, state: &ItemState) -> Result<ItemJson> {
    let item = queue::read(repo.store(), id)?;
    let version = |v: Option<pg_core::object::Version>| v.map(|v| format!("{} {}", v.mode, v.id));
    let (state_name, resolved_by, result) = match state {
        ItemState::Open => ("open", None, None),
        ItemState::Resolved { by, result, .. } => {
            ("resolved", Some(by.clone()), Some(result.map_or("deleted".to_owned(), |id| id.to_string())))
        }
    };
    Ok(ItemJson {
        id: id.to_string(),
        path: text(&item.path).into_owned(),
        kind: item.kind.clone(),
        state: state_name,
        resolved_by,
        result,
        ours_commit: item.ours_commit.to_string(),
        theirs_commit: item.theirs_commit.to_string(),
        base: version(item.base),
        ours: version(item.ours),
        theirs: version(item.theirs),
        tried: item.tried.iter().map(ToString::to_string).collect(),
    })
}

pub fn queue(context: &Context, args: QueueArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let mut out = std::io::stdout().lock();
    match args.command {
        QueueCommand::List { all, json } => {
            let mut items: Vec<ItemJson> = queue::list(repo.store())?
                .iter()
                .filter(|(_, state)| all || *state == ItemState::Open)
                .map(|(id, state)| item_json(&repo, id, state))
                .collect::<Result<_>>()?;
            items.sort_by(|a, b| (&a.path, &a.id).cmp(&(&b.path, &b.id)));
            if json {
                serde_json::to_writer_pretty(&mut out, &items)?;
                writeln!(out)?;
            }
            for item in items.iter().filter(|_| !json) {
                let short = abbreviate_text(repo.store(), &item.id);
                writeln!(out, "{short} {:<8} {:<13} {}", item.state, item.kind, item.path)?;
            }
        }
        QueueCommand::Show { item, json } => {
            let id = revision::resolve(&repo, &item)?;
            let state =
                queue::state(repo.store(), &id)?.with_context(|| format!("{item} is not in the queue"))?;
            let item = item_json(&repo, &id, &state)?;
            if json {
                serde_json::to_writer_pretty(&mut out, &item)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "item     {}\npath     {}\nkind     {}\nstate    {}",
                    item.id, item.path, item.kind, item.state
                )?;
                for (name, value) in [
                    ("by", &item.resolved_by),
                    ("result", &item.result),
                    ("base", &item.base),
                    ("ours", &item.ours),
                    ("theirs", &item.theirs),
                ] {
                    if let Some(value) = value {
                        writeln!(out, "{name:<8} {value}")?;
                    }
                }
                writeln!(out, "merging  {} into {}", item.theirs_commit, item.ours_commit)?;
                for tried in &item.tried {
                    writeln!(out, "tried    {tried}")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct FunctionsArgs {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct FunctionJson {
    name: String,
    version: u32,
    params: std::collections::BTreeMap<String, String>,
    id: String,
    summary: &'static str,
}

pub fn functions(context: &Context, args: FunctionsArgs) -> Outcome {
    let registry = match context.repo_to_read() {
        Ok(repo) => registry(&repo)?,
        Err(_) => Registry::builtin(ConflictStyle::Merge),
    };
    let trivial = trivial();
    let mut rows = vec![FunctionJson {
        id: trivial.id().to_string(),
        name: trivial.name,
        version: trivial.version,
        params: trivial.params,
        summary: "settles paths only one side changed, or both changed the same way, without reading them",
    }];
    rows.extend(registry.all().map(|f| {
        let d = f.descriptor();
        FunctionJson {
            name: d.name.clone(),
            version: d.version,
            params: d.params.clone(),
            id: d.id().to_string(),
            summary: f.summary(),
        }
    }));
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for row in &rows {
        let params: Vec<String> = row.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let line = format!("{:<8} v{} {} {}", row.name, row.version, abbrev_text(&row.id), params.join(" "));
        writeln!(out, "{}", line.trim_end())?;
        writeln!(out, "         {}", row.summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Serialize)]
struct ProvenanceJson {
    path: String,
    settled_by: &'static str,
    id: String,
    function: Option<String>,
    version: Option<u32>,
    resolved_by: Option<String>,
}

/// `pg show --merge-provenance`: what settled each path of a merge commit.
pub fn show_provenance(repo: &Repository, id: &ObjectId, json: bool) -> Outcome {
    let commit = repo.store().read_commit(id)?;
    if commit.parents.len() < 2 {
        bail!("{} is not a merge commit", repo.store().abbreviate(id));
    }
    let registry = registry(repo)?;
    let mut rows = Vec::new();
    for entry in pg_merge::provenance::read(&commit.extra_headers)? {
        rows.push(match entry {
            pg_merge::provenance::Entry::Settled { function, path } => {
                let descriptor = registry.describe(&function);
                ProvenanceJson {
                    path: text(&path).into_owned(),
                    settled_by: "function",
                    id: function.to_string(),
                    function: descriptor.as_ref().map(|d| d.name.clone()),
                    version: descriptor.map(|d| d.version),
                    resolved_by: None,
                }
            }
            pg_merge::provenance::Entry::Resolved { item, path } => {
                let by = match queue::state(repo.store(), &item)? {
                    Some(ItemState::Resolved { by, .. }) => Some(by),
                    _ => None,
                };
                ProvenanceJson {
                    path: text(&path).into_owned(),
                    settled_by: "person",
                    id: item.to_string(),
                    function: None,
                    version: None,
                    resolved_by: by,
                }
            }
        });
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        writeln!(out, "no path was changed on both sides: every path was taken from one side")?;
    }
    for row in &rows {
        // Function ids are the same in every repository: they print alike everywhere.
        let short = if row.settled_by == "function" {
            abbrev_text(&row.id)
        } else {
            abbreviate_text(repo.store(), &row.id)
        };
        let by = match (&row.function, row.version, &row.resolved_by) {
            (Some(name), Some(version), _) => format!("{name} v{version} ({short})"),
            (None, _, _) if row.settled_by == "function" => format!("unknown function {short}"),
            (_, _, Some(person)) => format!("resolved by {person} (queue item {short})"),
            _ => format!("resolved by a person (queue item {short})"),
        };
        writeln!(out, "{}\t{by}", row.path)?;
    }
    Ok(ExitCode::SUCCESS)
}
