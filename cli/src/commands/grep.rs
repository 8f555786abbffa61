//! `pg grep`: search the working copy, revisions, or the whole history.

use super::{text, Outcome};
use crate::context::Context;
use crate::render::{paint, ID, META};
use anyhow::Result;
use pg_core::object::Object;
use pg_core::{revision, worktree, ObjectId, Repository};
use pg_search::{BlobMatches, FileMatches, Found, PathFilter, Pattern, PatternOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A regular expression (Rust's `regex` syntax).
    pattern: String,
    /// Revisions whose trees to search instead of the working copy (with
    /// --history: the tips whose histories to search, instead of every ref).
    revs: Vec<String>,
    /// Only these paths (relative to the current directory, which is the
    /// default, as in git).
    #[arg(last = true)]
    paths: Vec<PathBuf>,
    /// Search every version of every file in the history, each once, and say
    /// which commits first and last held each version that matches.
    #[arg(long)]
    history: bool,
    /// Letters match either case.
    #[arg(short, long)]
    ignore_case: bool,
    /// Matches must be whole words.
    #[arg(short, long)]
    word_regexp: bool,
    /// Accepted for git's sake: patterns are always extended regular expressions
    /// (Rust's syntax, where `(`, `|` and `+` are operators).
    #[arg(short = 'E', long)]
    extended_regexp: bool,
    /// The pattern is a literal string.
    #[arg(short = 'F', long)]
    fixed_strings: bool,
    /// Prefix lines with their line numbers.
    #[arg(short = 'n', long)]
    line_number: bool,
    /// Print only the names of files that match.
    #[arg(short = 'l', long, conflicts_with = "count")]
    files_with_matches: bool,
    /// Print how many lines match in each file.
    #[arg(short, long)]
    count: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Exits 0 when something matched, 1 when nothing did, and 2 when the search
/// could not be made (a bad pattern or revision), as grep: a script can tell
/// "nothing found" from "failed".
pub fn run(context: &Context, args: Args) -> Outcome {
    match search(context, args) {
        Ok(true) => Ok(ExitCode::SUCCESS),
        Ok(false) => Ok(ExitCode::FAILURE),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(ExitCode::from(2))
        }
    }
}

/// Runs the search and prints what it found; whether anything matched.
fn search(context: &Context, args: Args) -> Result<bool> {
    let repo = context.repo_to_read()?;
    let options =
        PatternOptions { ignore_case: args.ignore_case, word: args.word_regexp, fixed: args.fixed_strings };
    let pattern = Pattern::new(&args.pattern, options)?;
    let standing_in = context.standing_in(&repo);
    let filter = match args.paths.is_empty() {
        true => PathFilter::new(vec![standing_in.clone()]),
        false => PathFilter::new(context.repo_paths(&repo, &args.paths)?),
    };
    let shown = |path: &[u8]| text(&worktree::relative_path(&standing_in, path)).into_owned();
    let mut out = std::io::stdout().lock();
    let matched = if args.history {
        let tips = history_tips(&repo, &args.revs)?;
        let progress = context.progress("searching commits");
        let found = pg_search::search_history(repo.store(), &tips, &pattern, &filter, &progress)?;
        drop(progress);
        write_history(&mut out, context, &repo, &args, &found, &shown)?;
        !found.is_empty()
    } else if args.revs.is_empty() {
        let index = context.load_index(&repo)?;
        let found = pg_search::search_working_copy(repo.workdir(), &index, &pattern, &filter)?;
        write_files(&mut out, context, &args, &[(None, found.as_slice())], &shown)?
    } else {
        let mut all = Vec::new();
        for rev in &args.revs {
            let tree = revision::resolve_tree(&repo, rev)?;
            all.push((Some(rev.as_str()), pg_search::search_tree(repo.store(), &tree, &pattern, &filter)?));
        }
        let views: Vec<(Option<&str>, &[FileMatches])> =
            all.iter().map(|(r, f)| (*r, f.as_slice())).collect();
        write_files(&mut out, context, &args, &views, &shown)?
    };
    out.flush()?;
    Ok(matched)
}

/// The commits whose histories `--history` searches: the revisions given, or
/// every ref and HEAD (git's `rev-list --all`).
fn history_tips(repo: &Repository, revs: &[String]) -> Result<Vec<ObjectId>> {
    if !revs.is_empty() {
        return revs.iter().map(|rev| Ok(revision::resolve_commit(repo, rev)?)).collect();
    }
    let mut tips: Vec<ObjectId> = repo.head()?.commit().into_iter().collect();
    for (_, target) in repo.list_refs("refs/")? {
        let Some(id) = target.as_object() else { continue };
        if let (id, Object::Commit(_)) = revision::peel(repo, *id)? {
            tips.push(id);
        }
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// Lines as git grep prints them: `[REV:]PATH[:N]:TEXT`. Whether anything matched.
fn write_files(
    out: &mut dyn Write,
    context: &Context,
    args: &Args,
    found: &[(Option<&str>, &[FileMatches])],
    shown: &dyn Fn(&[u8]) -> String,
) -> Result<bool> {
    if args.json {
        let rows: Vec<_> = found
            .iter()
            .flat_map(|(rev, files)| files.iter().map(move |f| (rev, f)))
            .map(|(rev, f)| {
                let mut row = found_json(&f.found);
                row["path"] = text(&f.path).into();
                row["rev"] = rev.map(str::to_owned).into();
                row
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
    }
    for (rev, files) in found.iter().filter(|_| !args.json) {
        for file in *files {
            let name = paint(
                context.color,
                META,
                &format!("{}{}", rev.map_or(String::new(), |r| format!("{r}:")), shown(&file.path)),
            );
            write_found(out, args, &name, &file.found)?;
        }
    }
    Ok(found.iter().any(|(_, files)| !files.is_empty()))
}

fn write_found(out: &mut dyn Write, args: &Args, name: &str, found: &Found) -> std::io::Result<()> {
    match found {
        Found::Binary if args.files_with_matches => writeln!(out, "{name}"),
        Found::Binary if args.count => writeln!(out, "{name}:1"),
        Found::Binary => writeln!(out, "Binary file {name} matches"),
        Found::Lines(_) if args.files_with_matches => writeln!(out, "{name}"),
        Found::Lines(lines) if args.count => writeln!(out, "{name}:{}", lines.len()),
        Found::Lines(lines) => lines.iter().try_for_each(|line| {
            let number = if args.line_number { format!("{}:", line.number) } else { String::new() };
            writeln!(out, "{name}:{number}{}", text(&line.text))
        }),
    }
}

fn found_json(found: &Found) -> serde_json::Value {
    match found {
        Found::Binary => serde_json::json!({ "binary": true, "lines": [] }),
        Found::Lines(lines) => serde_json::json!({
            "binary": false,
            "lines": lines.iter().map(|l| serde_json::json!({ "line": l.number, "text": text(&l.text) })).collect::<Vec<_>>(),
        }),
    }
}

/// One block per matching version: `PATH @ BLOB (FIRST DATE .. LAST DATE)`, then
/// its lines as `N:TEXT`.
fn write_history(
    out: &mut dyn Write,
    context: &Context,
    repo: &Repository,
    args: &Args,
    found: &[BlobMatches],
    shown: &dyn Fn(&[u8]) -> String,
) -> Result<()> {
    let store = repo.store();
    if args.json {
        let rows: Vec<_> = found
            .iter()
            .map(|m| {
                let mut row = found_json(&m.found);
                row["blob"] = m.blob.to_hex().into();
                row["path"] = text(&m.path).into();
                row["first"] = serde_json::json!({ "commit": m.first.commit.to_hex(), "time": m.first.time });
                row["last"] = serde_json::json!({ "commit": m.last.commit.to_hex(), "time": m.last.time });
                row
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    for m in found {
        let span = |c: &pg_search::Containing| format!("{} {}", store.abbreviate(&c.commit), day(c.time));
        let head = format!("{} @ {}", shown(&m.path), store.abbreviate(&m.blob));
        let name = paint(context.color, META, &head);
        let when = paint(context.color, ID, &format!("({} .. {})", span(&m.first), span(&m.last)));
        match (&m.found, args.files_with_matches || args.count) {
            // Line numbers always: a version is no file one can open to look.
            (Found::Lines(lines), false) => {
                writeln!(out, "{name} {when}")?;
                for line in lines {
                    writeln!(out, "{}:{}", line.number, text(&line.text))?;
                }
            }
            _ => write_found(out, args, &format!("{name} {when}"), &m.found)?,
        }
    }
    Ok(())
}

/// A commit time as its UTC day.
fn day(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .map_or_else(|_| seconds.to_string(), |t| t.date().to_string())
}
