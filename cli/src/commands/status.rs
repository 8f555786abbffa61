use super::{text, Outcome};
use crate::context::Context;
use crate::render::{paint, NEW, OLD};
use pg_core::diff::{ChangeKind, FileChange};
use pg_core::index::Index;
use pg_core::repo::Head;
use pg_core::store::Store;
use pg_core::worktree::{self, Status};
use pg_merge::operation::{self, State};
use pg_merge::rename;
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// One line per path: two status letters (staged, unstaged) and the path.
    #[arg(short, long)]
    short: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(context: &Context, args: Args) -> Outcome {
    // The working copy is compared while the store opens; only the staged half
    // needs it.
    let (repo, loaded) = context.repo_to_read_alongside(|location, config| -> anyhow::Result<_> {
        let index = Index::load(&location.pg_dir.join(pg_core::index::FILE_NAME))?;
        let changes = match super::watch::enabled(context, config)? {
            true => pg_watch::watched_changes(location, &index, || super::watch::spawn(location))?,
            false => worktree::worktree_changes(location, &index)?,
        };
        Ok((index, changes))
    })?;
    let (mut index, changes) = loaded?;
    let head = repo.head()?;
    let head_tree = match head.commit() {
        Some(id) => Some(repo.store().read_commit(&id)?.tree),
        None => None,
    };
    let (status, refreshed) =
        worktree::complete_status(repo.store(), &mut index, head_tree.as_ref(), changes)?;
    if refreshed {
        // Saving the refreshed stat data is only an optimisation; failing is fine.
        let _ = context.save_index(&repo, &mut index);
    }
    let merge = operation::load_state(&repo)?;
    let status = without_conflicts(status, merge.as_ref());
    let renames = rename::renames(rename::stored(repo.store()), &status.staged, rename::DEFAULT_THRESHOLD)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut json = json(&head, &status, merge.as_ref());
        json["renames"] =
            renames.iter().map(|r| serde_json::json!({ "from": text(&r.from), "to": text(&r.to) })).collect();
        serde_json::to_writer_pretty(&mut out, &json)?;
        writeln!(out)?;
    } else {
        let look = Look { color: context.color, standing_in: context.standing_in(&repo), renames };
        if args.short {
            write_short(&mut out, &look, &status, merge.as_ref())?;
        } else {
            write_long(&mut out, &look, repo.store(), &head, &status, merge.as_ref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How human output looks: colored or not, and paths relative to where the
/// user stands, as git prints them (JSON keeps them from the top).
struct Look {
    color: bool,
    standing_in: Vec<u8>,
    /// Staged renames (from, to), which show as one line, not a deletion and
    /// an addition.
    renames: Vec<rename::Rename>,
}

impl Look {
    fn path(&self, path: &[u8]) -> String {
        text(&worktree::relative_path(&self.standing_in, path)).into_owned()
    }

    /// How a staged change shows: its label and path, `renamed:` and `from ->
    /// to` for a rename's target, nothing for a rename's source.
    fn staged(&self, change: &FileChange) -> Option<(&'static str, char, String)> {
        if self.renames.iter().any(|r| r.from == change.path) {
            return None;
        }
        match self.renames.iter().find(|r| r.to == change.path) {
            Some(r) => Some(("renamed:", 'R', format!("{} -> {}", self.path(&r.from), self.path(&r.to)))),
            None => Some((label(change.kind()), letter(change.kind()), self.path(&change.path))),
        }
    }
}

pub fn label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Added => "new file:",
        ChangeKind::Deleted => "deleted:",
        ChangeKind::Modified => "modified:",
        ChangeKind::TypeChanged => "typechange:",
    }
}

fn letter(kind: ChangeKind) -> char {
    match kind {
        ChangeKind::Added => 'A',
        ChangeKind::Deleted => 'D',
        ChangeKind::Modified => 'M',
        ChangeKind::TypeChanged => 'T',
    }
}

/// git's long format. During a merge the merge comes first, as in git, and its
/// state, not the changes, says what to do next: the merged changes are staged
/// but "nothing to commit" would be false while conflicts are open.
fn write_long(
    out: &mut dyn Write,
    look: &Look,
    store: &Store,
    head: &Head,
    status: &Status,
    merge: Option<&State>,
) -> std::io::Result<()> {
    match head {
        Head::Branch { .. } => writeln!(out, "On branch {}", head.branch().unwrap_or_default())?,
        Head::Detached(id) => writeln!(out, "HEAD detached at {}", store.abbreviate(id))?,
    }
    if head.commit().is_none() {
        writeln!(out, "\nNo commits yet")?;
    }
    if let Some(merge) = merge {
        write_merge(out, look, store, merge)?;
    }
    let staged: Vec<(&str, String)> =
        status.staged.iter().filter_map(|c| look.staged(c)).map(|(label, _, shown)| (label, shown)).collect();
    let unstaged: Vec<(&str, String)> =
        status.unstaged.iter().map(|c| (label(c.kind()), look.path(&c.path))).collect();
    let sections =
        [("Changes to be committed:", staged, NEW), ("Changes not staged for commit:", unstaged, OLD)];
    for (title, lines, style) in sections {
        if lines.is_empty() {
            continue;
        }
        writeln!(out, "\n{title}")?;
        for (label, shown) in lines {
            writeln!(out, "\t{}", paint(look.color, style, &format!("{label:<12}{shown}")))?;
        }
    }
    if !status.untracked.is_empty() {
        writeln!(out, "\nUntracked files:")?;
        for path in &status.untracked {
            writeln!(out, "\t{}", paint(look.color, OLD, &look.path(path)))?;
        }
    }
    if status.staged.is_empty() && merge.is_none() {
        let hint = match (status.unstaged.is_empty(), status.untracked.is_empty()) {
            (true, true) => "nothing to commit, working tree clean",
            (true, false) => "nothing added to commit but untracked files present (use \"pg add\" to track)",
            (false, _) => "no changes added to commit (use \"pg add\" or \"pg commit -a\")",
        };
        writeln!(out, "\n{hint}")?;
    }
    Ok(())
}

/// Unresolved conflicts are listed on their own, not as changes.
fn without_conflicts(mut status: Status, merge: Option<&State>) -> Status {
    let Some(merge) = merge else { return status };
    let open: Vec<&[u8]> =
        merge.conflicts.iter().filter(|c| !c.resolved).map(|c| c.path.as_slice()).collect();
    status.staged.retain(|c| !open.contains(&c.path.as_slice()));
    status.unstaged.retain(|c| !open.contains(&c.path.as_slice()));
    status.untracked.retain(|p| !open.contains(&p.as_slice()));
    status
}

/// Conflicted paths of a merge in progress: their kind, and whether they are resolved.
fn write_merge(out: &mut dyn Write, look: &Look, store: &Store, merge: &State) -> std::io::Result<()> {
    let open = merge.conflicts.iter().filter(|c| !c.resolved).count();
    let theirs = super::abbreviate_text(store, &merge.theirs);
    let command = merge.command().name();
    writeln!(out, "\nYou are in the middle of a {command} of {theirs} ({open} conflict(s) unresolved).")?;
    match open {
        0 => writeln!(out, "  (all conflicts resolved: `pg {command} --continue` commits it)")?,
        _ => writeln!(
            out,
            "  (`pg resolve PATH` after fixing a path; then `pg {command} --continue`, or `pg {command} --abort`)"
        )?,
    }
    writeln!(out, "Conflicted paths:")?;
    for conflict in &merge.conflicts {
        let kind = serde_json::to_value(conflict.kind).ok().and_then(|v| v.as_str().map(str::to_owned));
        let state = if conflict.resolved { "resolved" } else { "unresolved" };
        let line = format!("{:<12}{:<15}{}", state, kind.unwrap_or_default(), look.path(&conflict.path));
        writeln!(out, "\t{}", paint(look.color, if conflict.resolved { NEW } else { OLD }, &line))?;
    }
    Ok(())
}

fn write_short(
    out: &mut dyn Write,
    look: &Look,
    status: &Status,
    merge: Option<&State>,
) -> std::io::Result<()> {
    let color = look.color;
    let unresolved: Vec<&[u8]> =
        merge.iter().flat_map(|m| &m.conflicts).filter(|c| !c.resolved).map(|c| c.path.as_slice()).collect();
    for path in &unresolved {
        writeln!(out, "{} {}", paint(color, OLD, "UU"), look.path(path))?;
    }
    // Keyed by path (a rename by its target), each with its two letters and how it shows.
    let mut rows: std::collections::BTreeMap<Vec<u8>, (char, char, String)> = Default::default();
    for change in &status.staged {
        if let Some((_, x, shown)) = look.staged(change) {
            rows.insert(change.path.clone(), (x, ' ', shown));
        }
    }
    for change in &status.unstaged {
        let row = rows.entry(change.path.clone()).or_insert_with(|| (' ', ' ', look.path(&change.path)));
        row.1 = letter(change.kind());
    }
    for (x, y, shown) in rows.into_values() {
        let (x, y) = (paint(color, NEW, &x.to_string()), paint(color, OLD, &y.to_string()));
        writeln!(out, "{x}{y} {shown}")?;
    }
    for path in &status.untracked {
        writeln!(out, "{} {}", paint(color, OLD, "??"), look.path(path))?;
    }
    Ok(())
}

fn json(head: &Head, status: &Status, merge: Option<&State>) -> serde_json::Value {
    let changes = |list: &[FileChange]| -> Vec<serde_json::Value> {
        list.iter().map(|c| serde_json::json!({ "path": text(&c.path), "change": c.kind() })).collect()
    };
    serde_json::json!({
        "branch": head.branch(),
        "head": head.commit().map(|id| id.to_hex()),
        "staged": changes(&status.staged),
        "unstaged": changes(&status.unstaged),
        "untracked": status.untracked.iter().map(|p| text(p)).collect::<Vec<_>>(),
        "merge": merge.map(|m| serde_json::json!({
            "command": m.command(),
            "theirs": m.theirs,
            "conflicts": m.conflicts.iter().map(|c| serde_json::json!({
                "path": text(&c.path), "kind": c.kind, "resolved": c.resolved, "item": c.item,
            })).collect::<Vec<_>>(),
        })),
    })
}
