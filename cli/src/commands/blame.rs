//! `pg blame`: who last changed each line of a file, and in which commit.

use super::{text, Outcome};
use crate::context::Context;
use crate::render::{self, paint, ID};
use anyhow::Result;
use pg_core::object::{Commit, Signature};
use pg_core::{revision, ObjectId};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file (relative to the current directory).
    path: PathBuf,
    /// The commit whose version to blame (HEAD by default).
    rev: Option<String>,
    /// Machine-readable output: a record per line.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct LineJson<'a> {
    line: usize,
    commit: String,
    path: std::borrow::Cow<'a, str>,
    origin_line: usize,
    author: String,
    author_time: i64,
    summary: String,
    text: std::borrow::Cow<'a, str>,
}

pub fn run(context: &Context, args: Args) -> Outcome {
    let repo = context.repo_to_read()?;
    let commit = revision::resolve_commit(&repo, args.rev.as_deref().unwrap_or("HEAD"))?;
    let path = context.repo_paths(&repo, std::slice::from_ref(&args.path))?.remove(0);
    let blame = pg_blame::blame(repo.store(), commit, &path)?;
    let mut commits: HashMap<ObjectId, Commit> = HashMap::new();
    for origin in &blame.lines {
        if let std::collections::hash_map::Entry::Vacant(slot) = commits.entry(origin.commit) {
            slot.insert(repo.store().read_commit(&origin.commit)?);
        }
    }
    let lines = pg_merge::text::xdiff::split_lines(&blame.content);
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<LineJson> = blame
            .lines
            .iter()
            .zip(&lines)
            .enumerate()
            .map(|(i, (origin, line))| {
                let commit = &commits[&origin.commit];
                let author = Signature::parse(&commit.author);
                LineJson {
                    line: i + 1,
                    commit: origin.commit.to_string(),
                    path: text(&blame.paths[origin.path]),
                    origin_line: origin.line,
                    author: author
                        .as_ref()
                        .map_or_else(|| text(&commit.author).into_owned(), |a| a.name.clone()),
                    author_time: author.map_or(0, |a| a.seconds),
                    summary: commit.summary(),
                    text: text(line.strip_suffix(b"\n").unwrap_or(line)),
                }
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let view = View::new(&repo, &blame, &commits);
    for (i, (origin, line)) in blame.lines.iter().zip(&lines).enumerate() {
        view.write_line(&mut out, context.color, i, origin, line)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// git's default layout: `id [path] (author date line) text`, each column as
/// wide as its widest entry; a root commit's id behind `^`, as git marks it.
struct View<'a> {
    ids: HashMap<ObjectId, String>,
    people: HashMap<ObjectId, (String, String)>,
    paths: Option<&'a [Vec<u8>]>,
    widths: (usize, usize, usize, usize),
}

impl<'a> View<'a> {
    fn new(
        repo: &pg_core::Repository,
        blame: &'a pg_blame::Blame,
        commits: &HashMap<ObjectId, Commit>,
    ) -> View<'a> {
        let mut ids = HashMap::new();
        let mut people = HashMap::new();
        for (id, commit) in commits {
            let root = if commit.parents.is_empty() { "^" } else { "" };
            ids.insert(*id, format!("{root}{}", repo.store().abbreviate(id)));
            let person = match Signature::parse(&commit.author) {
                Some(sig) => (sig.name.clone(), render::short_date(&sig)),
                None => (text(&commit.author).into_owned(), String::new()),
            };
            people.insert(*id, person);
        }
        // Paths show only when the file had several along its history.
        let renamed = blame.lines.iter().any(|origin| origin.path != 0);
        let paths = renamed.then_some(blame.paths.as_slice());
        let widest = |f: &dyn Fn(&pg_blame::Origin) -> usize| blame.lines.iter().map(f).max().unwrap_or(0);
        let widths = (
            ids.values().map(String::len).max().unwrap_or(0),
            paths.map_or(0, |p| widest(&|o| p[o.path].len())),
            people.values().map(|(name, _)| name.chars().count()).max().unwrap_or(0),
            blame.lines.len().to_string().len(),
        );
        View { ids, people, paths, widths }
    }

    fn write_line(
        &self,
        out: &mut dyn Write,
        color: bool,
        i: usize,
        origin: &pg_blame::Origin,
        line: &[u8],
    ) -> Result<()> {
        let (id_width, path_width, name_width, number_width) = self.widths;
        let id = paint(color, ID, &format!("{:<id_width$}", self.ids[&origin.commit]));
        let path = match self.paths {
            Some(paths) => format!(" {:<path_width$}", text(&paths[origin.path])),
            None => String::new(),
        };
        let (name, date) = &self.people[&origin.commit];
        write!(out, "{id}{path} ({name:<name_width$} {date} {:>number_width$}) ", i + 1)?;
        out.write_all(line)?;
        if !line.ends_with(b"\n") {
            writeln!(out)?;
        }
        Ok(())
    }
}
