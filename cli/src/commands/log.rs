use super::dates;
use super::diff::{patches as diff_patches, stat_rows as diff_stat_rows, write_patches, NewSide, RenameArgs};
use super::graph::{Graph, Rows};
use super::pretty::Format;
use super::{text, Outcome};
use crate::context::Context;
use crate::render::{self, paint, ID};
use anyhow::{bail, Result};
use pg_core::object::{Commit, EntryKind, Object, Signature};
use pg_core::refs::{RefTarget, BRANCH_PREFIX, TAG_PREFIX};
use pg_core::store::Store;
use pg_core::{diff, history, revision, ObjectId, Repository};
use pg_search::{Pattern, PatternOptions};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Where to start (HEAD by default).
    rev: Option<String>,
    /// One line per commit.
    #[arg(long)]
    oneline: bool,
    /// Each commit in this format, with git's placeholders: %H %h (commit),
    /// %T %t (tree), %P %p (parents), %s %b %B (subject, body, message),
    /// %an %ae %ad %at and %cn %ce %cd %ct (author, committer), %d %D (refs),
    /// %n, %%.
    #[arg(long, visible_alias = "pretty", value_name = "FORMAT", conflicts_with = "oneline")]
    format: Option<String>,
    /// Draw the commit graph beside the log, as git does.
    #[arg(long)]
    graph: bool,
    /// Show at most N commits.
    #[arg(short = 'n', long = "max-count", value_name = "N")]
    max_count: Option<usize>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Show each commit's git id too (for history that came from or went to git).
    #[arg(long)]
    git_ids: bool,
    /// After each commit, the files it changed and how many lines (git's diffstat).
    #[arg(long)]
    stat: bool,
    /// Only commits whose author (`Name <email>`) matches this regular expression.
    #[arg(long, value_name = "PATTERN")]
    author: Option<String>,
    /// Only commits made at or after DATE (`2024-05-01`, `2024-05-01 12:00`,
    /// `@SECONDS`, `3 weeks ago`; UTC).
    #[arg(long, visible_alias = "after", value_name = "DATE")]
    since: Option<String>,
    /// Only commits made at or before DATE.
    #[arg(long, visible_alias = "before", value_name = "DATE")]
    until: Option<String>,
    #[command(flatten)]
    renames: RenameArgs,
    /// Keep following the one PATH given through renames, as git's `--follow`.
    #[arg(long)]
    follow: bool,
    /// Only commits that changed these paths (relative to the current directory).
    #[arg(last = true)]
    paths: Vec<std::path::PathBuf>,
}

/// Which commits of the walk `pg log` shows.
struct Selection {
    author: Option<Pattern>,
    since: Option<i64>,
    until: Option<i64>,
    paths: Vec<Vec<u8>>,
    /// Whether the one path is followed through renames: when a commit made it by
    /// renaming another, the commits before it are selected by the old path.
    follow: bool,
}

impl Selection {
    fn new(context: &Context, repo: &Repository, args: &LogArgs) -> Result<Selection> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let date = |text: &Option<String>| text.as_deref().map(|t| dates::parse(t, now)).transpose();
        if args.follow && args.paths.len() != 1 {
            bail!("--follow follows one file: give exactly one path after --");
        }
        Ok(Selection {
            author: args.author.as_deref().map(|p| Pattern::new(p, PatternOptions::default())).transpose()?,
            since: date(&args.since)?,
            until: date(&args.until)?,
            paths: context.repo_paths(repo, &args.paths)?,
            follow: args.follow,
        })
    }

    fn keeps(&mut self, store: &Store, commit: &Commit) -> Result<bool> {
        let time = commit.committer_signature().map_or(0, |s| s.seconds);
        let dated =
            self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until);
        let authored = self.author.as_ref().is_none_or(|author| author.search(&commit.author).is_some());
        let touched = self.paths.is_empty() || history::touches(store, commit, &self.paths)?;
        if touched && self.follow {
            self.follow_rename(store, commit)?;
        }
        Ok(dated && authored && touched)
    }

    /// Switches the followed path to the one `commit` renamed it from, if it did.
    fn follow_rename(&mut self, store: &Store, commit: &Commit) -> Result<()> {
        let Some(parent) = commit.parents.first() else { return Ok(()) };
        let parent_tree = store.read_commit(parent)?.tree;
        if let Some(from) = pg_merge::rename::source_of(store, &parent_tree, &commit.tree, &self.paths[0])? {
            self.paths[0] = from;
        }
        Ok(())
    }
}

/// Labels of the refs that point at each commit, for `(HEAD -> main, tag: v1)`.
fn decorations(repo: &Repository) -> Result<HashMap<ObjectId, Vec<String>>> {
    let mut labels: HashMap<ObjectId, Vec<String>> = HashMap::new();
    let head = repo.head()?;
    if let (None, Some(id)) = (head.branch(), head.commit()) {
        labels.entry(id).or_default().push("HEAD".into());
    }
    for (name, target) in repo.list_refs("refs/")? {
        let Some(id) = repo.resolve_ref(&name)? else { continue };
        let id = match (&target, revision::peel(repo, id)) {
            (RefTarget::Object(_), Ok((peeled, _))) => peeled,
            _ => id,
        };
        let label = if let Some(branch) = name.strip_prefix(BRANCH_PREFIX) {
            if head.branch() == Some(branch) {
                format!("HEAD -> {branch}")
            } else {
                branch.to_owned()
            }
        } else if let Some(tag) = name.strip_prefix(TAG_PREFIX) {
            format!("tag: {tag}")
        } else {
            name.clone()
        };
        labels.entry(id).or_default().push(label);
    }
    for list in labels.values_mut() {
        list.sort_by_key(|l| (!l.starts_with("HEAD"), l.starts_with("tag: "), l.clone()));
    }
    Ok(labels)
}

pub fn log(context: &Context, args: LogArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let start = match &args.rev {
        Some(rev) => revision::resolve_commit(&repo, rev)?,
        None => match repo.head()?.commit() {
            Some(id) => id,
            None => {
                bail!("your current branch '{}' has no commits yet", repo.head()?.branch().unwrap_or("HEAD"))
            }
        },
    };
    let mut selection = Selection::new(context, &repo, &args)?;
    let store = repo.store();
    // The graph needs git's topological order, which reads the whole history
    // first; limited to paths, it joins each commit to its nearest shown
    // ancestors, as git rewrites parents.
    let mut graph_parents: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let walk: Box<dyn Iterator<Item = pg_core::store::Result<(ObjectId, Commit)>>> = match args.graph {
        true => {
            let mut order = history::topo_order(store, start)?;
            if !selection.paths.is_empty() && !selection.follow {
                graph_parents = history::simplified(store, &order, &selection.paths)?.into_iter().collect();
                order.retain(|id| graph_parents.contains_key(id));
                // Every commit left changed the paths.
                selection.paths.clear();
            }
            Box::new(order.into_iter().map(|id| Ok((id, store.read_commit(&id)?))))
        }
        // Limited to paths (not followed through renames), the walk takes
        // git's simplified history.
        false if !selection.paths.is_empty() && !selection.follow => {
            let walk = history::Walk::of_paths(store, start, std::mem::take(&mut selection.paths))?;
            Box::new(walk)
        }
        false => Box::new(history::Walk::new(store, start)?),
    };
    let mut commits = walk
        .filter_map(|item| {
            let kept = item
                .map_err(anyhow::Error::from)
                .and_then(|(id, commit)| Ok(selection.keeps(store, &commit)?.then_some((id, commit))));
            kept.transpose()
        })
        .take(args.max_count.unwrap_or(usize::MAX));
    let mut out = std::io::stdout().lock();
    if args.json {
        let records: Vec<_> =
            commits.map(|c| c.map(|(id, c)| commit_json(&id, &c))).collect::<Result<_>>()?;
        serde_json::to_writer_pretty(&mut out, &records)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let labels = decorations(&repo)?;
    let format = args.format.as_deref().map(Format::new);
    let git_id = |id: &ObjectId| -> Result<String> {
        let git = repo.store().backend().git_id_for_pg(id)?;
        Ok(git.map_or_else(|| "-".repeat(40), |g| pg_core::id::hex_encode(g.digest())))
    };
    let mut graph = args.graph.then(Graph::default);
    let full = !args.oneline && format.is_none();
    for (i, item) in commits.by_ref().enumerate() {
        let (id, commit) = item?;
        let (id, commit) = (&id, &commit);
        if full && i > 0 {
            // Between commits: a blank line (with the graph's columns through it).
            writeln!(out, "{}", graph.as_ref().map(Graph::padding).unwrap_or_default().trim_end())?;
        }
        let mut shown = Vec::new();
        let decoration = labels.get(id).map(|l| format!(" ({})", l.join(", "))).unwrap_or_default();
        if let Some(format) = &format {
            let refs = labels.get(id).map(|l| l.join(", ")).unwrap_or_default();
            writeln!(shown, "{}", format.render(repo.store(), id, commit, &refs))?;
        } else if args.oneline {
            let git = if args.git_ids { format!(" {}", &git_id(id)?[..12]) } else { String::new() };
            let short = paint(context.color, ID, &repo.store().abbreviate(id));
            writeln!(shown, "{short}{git}{decoration} {}", commit.summary())?;
        } else {
            let git = if args.git_ids { format!("\ngit {}", git_id(id)?) } else { String::new() };
            let decoration = format!("{decoration}{git}");
            write_commit_header(&mut shown, context.color, repo.store(), id, commit, &decoration)?;
        }
        if args.stat {
            write_commit_stat(&mut shown, context.color, &repo, commit, full, args.renames)?;
        }
        match &mut graph {
            None => out.write_all(&shown)?,
            Some(graph) => {
                let parents = graph_parents.get(id).unwrap_or(&commit.parents);
                write_graphed(&mut out, &graph.next(*id, parents), &shown)?
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A commit's lines behind the graph's rows.
fn write_graphed(out: &mut dyn Write, rows: &Rows, shown: &[u8]) -> std::io::Result<()> {
    let lines: Vec<&[u8]> = shown.strip_suffix(b"\n").unwrap_or(shown).split(|&b| b == b'\n').collect();
    let (prefixes, alone) = rows.prefixes(lines.len());
    for (prefix, line) in prefixes.iter().zip(&lines) {
        let joined = [prefix.as_bytes(), line].concat();
        out.write_all(joined.trim_ascii_end())?;
        writeln!(out)?;
    }
    for row in alone {
        writeln!(out, "{}", row.trim_end())?;
    }
    Ok(())
}

/// A commit's diffstat against its parent (none for a merge, as git), after a
/// blank line when it follows a message.
fn write_commit_stat(
    out: &mut dyn Write,
    color: bool,
    repo: &Repository,
    commit: &Commit,
    spaced: bool,
    renames: RenameArgs,
) -> Result<()> {
    let parent_tree = match commit.parents.as_slice() {
        [] => None,
        [parent] => Some(repo.store().read_commit(parent)?.tree),
        _ => return Ok(()),
    };
    let store = repo.store();
    let changes = diff::diff_trees(&|id| store.read_tree(id), parent_tree.as_ref(), Some(&commit.tree))?;
    if changes.is_empty() {
        return Ok(());
    }
    if spaced {
        writeln!(out)?;
    }
    let patches = diff_patches(repo, changes, NewSide::Store, renames)?;
    let rows = diff_stat_rows(repo, &patches, NewSide::Store)?;
    Ok(render::write_stat(out, color, &rows)?)
}

fn signature_json(raw: &[u8]) -> serde_json::Value {
    match Signature::parse(raw) {
        Some(s) => {
            serde_json::json!({ "name": s.name, "email": s.email, "time": s.seconds, "offset": s.offset })
        }
        None => serde_json::json!({ "raw": text(raw) }),
    }
}

fn commit_json(id: &ObjectId, commit: &Commit) -> serde_json::Value {
    serde_json::json!({
        "id": id.to_hex(),
        "tree": commit.tree.to_hex(),
        "parents": commit.parents.iter().map(|p| p.to_hex()).collect::<Vec<_>>(),
        "author": signature_json(&commit.author),
        "committer": signature_json(&commit.committer),
        "message": text(&commit.message),
    })
}

fn write_identity(out: &mut dyn Write, label: &str, raw: &[u8]) -> std::io::Result<()> {
    match Signature::parse(raw) {
        Some(sig) => {
            writeln!(out, "{label}: {} <{}>", sig.name, sig.email)?;
            writeln!(out, "Date:   {}", render::signature_date(&sig))
        }
        None => writeln!(out, "{label}: {}", text(raw)),
    }
}

fn write_message(out: &mut dyn Write, message: &[u8]) -> std::io::Result<()> {
    writeln!(out)?;
    for line in text(message).lines() {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

fn write_commit_header(
    out: &mut dyn Write,
    color: bool,
    store: &Store,
    id: &ObjectId,
    commit: &Commit,
    decoration: &str,
) -> std::io::Result<()> {
    writeln!(out, "{}{decoration}", paint(color, ID, &format!("commit {id}")))?;
    if commit.parents.len() > 1 {
        let parents: Vec<String> = commit.parents.iter().map(|p| store.abbreviate(p)).collect();
        writeln!(out, "Merge: {}", parents.join(" "))?;
    }
    write_identity(out, "Author", &commit.author)?;
    write_message(out, &commit.message)
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// What to show (HEAD by default).
    #[arg(default_value = "HEAD")]
    rev: String,
    /// For a merge commit: which merge function (or person) settled each path both
    /// sides changed.
    #[arg(long)]
    merge_provenance: bool,
    /// The files the commit changed and how many lines, instead of its patch.
    #[arg(long, conflicts_with = "merge_provenance")]
    stat: bool,
    /// Machine-readable output (with --merge-provenance).
    #[arg(long, requires = "merge_provenance")]
    json: bool,
    #[command(flatten)]
    renames: RenameArgs,
}

pub fn show(context: &Context, args: ShowArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let mut id = revision::resolve(&repo, &args.rev)?;
    if args.merge_provenance {
        return super::merge::show_provenance(&repo, &id, args.json);
    }
    let mut out = std::io::stdout().lock();
    loop {
        match repo.store().read(&id)? {
            Object::Tag(tag) => {
                writeln!(out, "tag {}", text(&tag.name))?;
                if let Some(tagger) = &tag.tagger {
                    write_identity(&mut out, "Tagger", tagger)?;
                }
                writeln!(out)?;
                out.write_all(&tag.message)?;
                writeln!(out)?;
                id = tag.object;
            }
            Object::Commit(commit) => {
                write_commit_header(&mut out, context.color, repo.store(), &id, &commit, "")?;
                if args.stat {
                    write_commit_stat(&mut out, context.color, &repo, &commit, true, args.renames)?;
                } else if commit.parents.len() <= 1 {
                    let parent_tree = match commit.parents.first() {
                        Some(p) => Some(repo.store().read_commit(p)?.tree),
                        None => None,
                    };
                    writeln!(out)?;
                    let trees = (parent_tree.as_ref(), &commit.tree);
                    write_tree_diff(&mut out, context.color, &repo, trees, args.renames)?;
                }
                break;
            }
            Object::Tree(tree) => {
                writeln!(out, "tree {}\n", args.rev)?;
                for entry in &tree.entries {
                    let slash = if entry.mode.kind() == EntryKind::Tree { "/" } else { "" };
                    writeln!(out, "{}{slash}", text(&entry.name))?;
                }
                break;
            }
            Object::Blob(data) => {
                out.write_all(&data)?;
                break;
            }
            // A queue item's encoding is its own best summary: headers, then the path.
            // Promises are binary until pg-promise reads them (`pg promise show`).
            conflict @ (Object::Conflict(_) | Object::Promise(_) | Object::Revocation(_)) => {
                out.write_all(&conflict.body())?;
                writeln!(out)?;
                break;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_tree_diff(
    out: &mut dyn Write,
    color: bool,
    repo: &Repository,
    (old, new): (Option<&ObjectId>, &ObjectId),
    renames: RenameArgs,
) -> Result<()> {
    let store = repo.store();
    let changes = diff::diff_trees(&|id| store.read_tree(id), old, Some(new))?;
    let patches = diff_patches(repo, changes, NewSide::Store, renames)?;
    write_patches(out, color, repo, &patches, NewSide::Store)
}
