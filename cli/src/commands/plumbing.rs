use super::{text, Outcome};
use crate::context::Context;
use anyhow::bail;
use pg_core::object::{EntryKind, Object};
use pg_core::{fsck, revision, ObjectId};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CatObjectArgs {
    /// An id, id prefix or revision.
    object: String,
    /// Print only the object's kind.
    #[arg(short = 't', conflicts_with_all = ["size", "raw"])]
    kind: bool,
    /// Print only the body's size in bytes.
    #[arg(short = 's', conflicts_with = "raw")]
    size: bool,
    /// Print the canonical encoding (header and body) byte for byte.
    #[arg(long)]
    raw: bool,
}

pub fn cat_object(context: &Context, args: CatObjectArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let id = revision::resolve(&repo, &args.object)?;
    let raw = repo.store().read_raw(&id)?;
    let (kind, body) = pg_core::object::split_header(&raw)
        .map_err(|e| pg_core::store::Error::Corrupt { id, reason: e.to_string() })?;
    let mut out = std::io::stdout().lock();
    if args.kind {
        writeln!(out, "{kind}")?;
    } else if args.size {
        writeln!(out, "{}", body.len())?;
    } else if args.raw {
        out.write_all(&raw)?;
    } else {
        match repo.store().read(&id)? {
            // A tree's body holds binary ids; list it as `git cat-file -p` does.
            Object::Tree(tree) => {
                for entry in &tree.entries {
                    let kind = match entry.mode.kind() {
                        EntryKind::Tree => "tree",
                        EntryKind::Gitlink => "commit",
                        _ => "blob",
                    };
                    writeln!(out, "{} {kind} {}\t{}", entry.mode, entry.id, text(&entry.name))?;
                }
            }
            _ => out.write_all(body)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct RevParseArgs {
    /// Revisions to resolve.
    #[arg(required = true)]
    revs: Vec<String>,
    /// The arguments are git object ids: print the pg objects they were imported as.
    #[arg(long)]
    git: bool,
}

pub fn rev_parse(context: &Context, args: RevParseArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    for rev in &args.revs {
        let id = if args.git {
            let git = ObjectId::from_git_hex(rev.as_bytes())
                .ok_or_else(|| anyhow::anyhow!("'{rev}' is not a git id (40 hex digits)"))?;
            repo.store()
                .backend()
                .pg_id_for_git(&git)?
                .ok_or_else(|| anyhow::anyhow!("git object {rev} was never imported into this repository"))?
        } else {
            revision::resolve(&repo, rev)?
        };
        println!("{id}");
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ShowRefArgs {
    /// Print git ids (for objects that came from or went to git) instead of pg ids.
    #[arg(long)]
    git_ids: bool,
}

/// `<id> <ref>` per ref, as `git show-ref` prints them (symbolic refs left out).
pub fn show_ref(context: &Context, args: ShowRefArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let mut out = std::io::stdout().lock();
    for (name, target) in repo.list_refs("refs/")? {
        let Some(id) = target.as_object() else { continue };
        if args.git_ids {
            match repo.store().backend().git_id_for_pg(id)? {
                Some(git) => writeln!(out, "{} {name}", pg_core::id::hex_encode(git.digest()))?,
                None => writeln!(out, "{} {name} (no git id)", "-".repeat(40))?,
            }
        } else {
            writeln!(out, "{id} {name}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct FsckArgs {
    /// Machine-readable report.
    #[arg(long)]
    json: bool,
}

pub fn fsck(context: &Context, args: FsckArgs) -> Outcome {
    let repo = context.repo_to_read()?;
    let report = fsck::check(&repo);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        for problem in &report.problems {
            writeln!(out, "error: {}: {}", problem.subject, problem.what)?;
        }
        let verdict = if report.problems.is_empty() {
            "ok".to_owned()
        } else {
            format!("{} problems", report.problems.len())
        };
        writeln!(
            out,
            "checked {} objects, {} refs, {} operations: {verdict}",
            report.objects, report.refs, report.operations
        )?;
    }
    Ok(if report.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

#[derive(clap::Args, Debug)]
pub struct GcArgs {
    /// Count what would be deleted; delete nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Machine-readable outcome.
    #[arg(long)]
    json: bool,
}

/// Deletes the objects nothing reaches. Besides refs and the operation log, the
/// roots are what the libraries keep outside refs: the index, a merge waiting for
/// its conflicts, a cherry-pick, revert or rebase waiting to go on, the conflict queue and an unfinished transfer.
pub fn gc(context: &Context, args: GcArgs) -> Outcome {
    let repo = context.repo()?;
    let mut roots: Vec<ObjectId> = context.load_index(&repo)?.entries().iter().map(|e| e.id).collect();
    if let Some(state) = pg_merge::operation::load_state(&repo)? {
        roots.extend([state.ours(), state.theirs()].into_iter().filter_map(Result::ok));
    }
    if let Some(state) = pg_merge::sequence::load_state(&repo)? {
        roots.extend(state.roots());
    }
    for (item, state) in pg_merge::queue::list(repo.store())? {
        roots.push(item);
        if let pg_merge::queue::ItemState::Resolved { result: Some(result), .. } = state {
            roots.push(result);
        }
    }
    roots.extend(pg_remote::receive::unfinished(repo.store())?);
    let outcome = pg_core::gc::collect(&repo, &roots, args.dry_run)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &outcome)?;
        writeln!(out)?;
    } else {
        let verb = if args.dry_run { "would remove" } else { "removed" };
        writeln!(out, "{verb} {} unreachable objects; {} kept", outcome.removed, outcome.kept)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    /// The key, as section.name (e.g. user.name).
    key: String,
    /// The value to set; without it, the value is printed.
    value: Option<String>,
    /// Use the user's config ($PG_HOME/config) instead of the repository's.
    #[arg(long)]
    global: bool,
}

pub fn config(context: &Context, args: ConfigArgs) -> Outcome {
    let mut config = if args.global { context.global_config()? } else { context.repo()?.config().clone() };
    if let Some(value) = &args.value {
        if args.key == "core.hash" {
            bail!("core.hash is fixed when the repository is made (pg init --hash)");
        }
        config.set(&args.key, value)?;
        return Ok(ExitCode::SUCCESS);
    }
    match config.get(&args.key)? {
        Some(value) => {
            println!("{value}");
            Ok(ExitCode::SUCCESS)
        }
        // Like git: an unset key prints nothing and exits 1.
        None => Ok(ExitCode::FAILURE),
    }
}

/// `pg repo-id`: the repository's id (made now for a repository from before ids).
pub fn repo_id(context: &Context, args: super::peers::JsonArgs) -> Outcome {
    let (id, _) = context.repository_id_at(&context.cwd)?;
    match args.json {
        true => println!("{}", serde_json::json!({ "repository_id": id.to_string() })),
        false => println!("{id}"),
    }
    Ok(ExitCode::SUCCESS)
}
