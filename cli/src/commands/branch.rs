use super::Outcome;
use crate::context::{Context, Role};
use anyhow::{bail, Result};
use pg_core::object::{Object, Tag};
use pg_core::refs::{self, RefTarget, BRANCH_PREFIX, HEAD, TAG_PREFIX};
use pg_core::repo::Head;
use pg_core::store::RefUpdate;
use pg_core::{history, revision, worktree, ObjectId, Repository};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct BranchArgs {
    /// Create a branch with this name.
    name: Option<String>,
    /// Where the new branch starts (HEAD by default).
    start: Option<String>,
    /// Delete a branch (refused when its commits are not in HEAD).
    #[arg(short = 'd', long = "delete", value_name = "NAME", conflicts_with_all = ["name", "force_delete"])]
    delete: Option<String>,
    /// Delete a branch even when its commits are not in HEAD.
    #[arg(short = 'D', value_name = "NAME", conflicts_with = "name")]
    force_delete: Option<String>,
    /// Print the name of the checked-out branch (nothing when HEAD is detached).
    #[arg(long, conflicts_with_all = ["name", "delete", "force_delete"])]
    show_current: bool,
    /// Machine-readable list.
    #[arg(long)]
    json: bool,
}

fn require_commit(head: &Head) -> Result<ObjectId> {
    match head.commit() {
        Some(id) => Ok(id),
        None => bail!("HEAD has no commit yet: make one with `pg commit` first"),
    }
}

pub fn branch(context: &Context, args: BranchArgs) -> Outcome {
    let repo = context.repo()?;
    let head = repo.head()?;
    if args.show_current {
        if let Some(name) = head.branch() {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = args.delete.as_ref().or(args.force_delete.as_ref()) {
        let full = format!("{BRANCH_PREFIX}{name}");
        let Some(tip) = repo.resolve_ref(&full)? else { bail!("branch '{name}' not found") };
        if head.branch() == Some(name.as_str()) {
            bail!("cannot delete branch '{name}': it is checked out (switch to another branch first)");
        }
        let merged =
            head.commit().map(|h| history::is_ancestor(repo.store(), tip, h)).transpose()?.unwrap_or(false);
        if args.delete.is_some() && !merged {
            bail!("branch '{name}' is not merged into HEAD; delete it anyway with -D {name}");
        }
        let update = RefUpdate { name: full, expected: Some(RefTarget::Object(tip)), new: None };
        repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), vec![update])?;
        println!("Deleted branch {name} (was {}).", repo.store().abbreviate(&tip));
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(name) = &args.name {
        refs::check_name(name, "branch")?;
        let start = match &args.start {
            Some(rev) => revision::resolve_commit(&repo, rev)?,
            None => require_commit(&head)?,
        };
        create_branch(context, &repo, name, start, Vec::new())?;
        return Ok(ExitCode::SUCCESS);
    }
    list_branches(context, &repo, &head, args.json)
}

fn create_branch(
    context: &Context,
    repo: &Repository,
    name: &str,
    start: ObjectId,
    more: Vec<RefUpdate>,
) -> Result<()> {
    let full = format!("{BRANCH_PREFIX}{name}");
    if repo.read_ref(&full)?.is_some() {
        bail!("a branch named '{name}' already exists");
    }
    let mut updates = vec![RefUpdate { name: full, expected: None, new: Some(RefTarget::Object(start)) }];
    updates.extend(more);
    repo.update_refs(&context.op_context(Some(repo)), Vec::new(), updates)?;
    Ok(())
}

fn list_branches(context: &Context, repo: &Repository, head: &Head, json: bool) -> Outcome {
    let branches = repo.list_refs(BRANCH_PREFIX)?;
    let mut out = std::io::stdout().lock();
    if json {
        let list: Vec<_> = branches
            .iter()
            .map(|(name, target)| {
                let short = &name[BRANCH_PREFIX.len()..];
                serde_json::json!({
                    "name": short,
                    "commit": target.as_object().map(|id| id.to_hex()),
                    "current": head.branch() == Some(short),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Head::Detached(id) = head {
        writeln!(out, "* (HEAD detached at {})", repo.store().abbreviate(id))?;
    }
    for (name, _) in &branches {
        let short = &name[BRANCH_PREFIX.len()..];
        if head.branch() == Some(short) {
            writeln!(out, "* {}", crate::render::paint(context.color, crate::render::NEW, short))?;
        } else {
            writeln!(out, "  {short}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct SwitchArgs {
    /// The branch to switch to (or to create, with -c).
    branch: String,
    /// Create the branch first, at START or HEAD.
    #[arg(short = 'c', long = "create")]
    create: bool,
    /// Where a created branch starts.
    start: Option<String>,
}

pub fn switch(context: &Context, args: SwitchArgs) -> Outcome {
    switch_to(context, &args.branch, args.create, args.start)
}

/// Switches to `branch`, first creating it at `start` (or `HEAD`) with `create`.
pub fn switch_to(context: &Context, branch: &str, create: bool, start: Option<String>) -> Outcome {
    let repo = context.repo()?;
    let head = repo.head()?;
    let full = format!("{BRANCH_PREFIX}{branch}");
    if start.is_some() && !create {
        bail!("a start point only makes sense with -c (create)");
    }
    let target = if create {
        refs::check_name(branch, "branch")?;
        if repo.read_ref(&full)?.is_some() {
            bail!("a branch named '{branch}' already exists");
        }
        match &start {
            Some(rev) => Some(revision::resolve_commit(&repo, rev)?),
            None => head.commit(),
        }
    } else {
        match repo.resolve_ref(&full)? {
            Some(id) => Some(id),
            None => {
                bail!("no branch named '{branch}' (create it with `pg switch -c {branch}`)")
            }
        }
    };
    move_working_copy(context, &repo, head.commit(), target)?;
    let head_update = RefUpdate {
        name: HEAD.into(),
        expected: repo.read_ref(HEAD)?,
        new: Some(RefTarget::Symbolic(full.clone())),
    };
    match (create, target) {
        (true, Some(start)) => create_branch(context, &repo, branch, start, vec![head_update])?,
        _ => {
            repo.update_refs(&context.op_context(Some(&repo)), Vec::new(), vec![head_update])?;
        }
    }
    let verb = if create { "a new branch" } else { "branch" };
    if !context.quiet() {
        // On stderr, as git: stdout stays for what a script asked for.
        eprintln!("Switched to {verb} '{branch}'");
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks out `to`'s tree over `from`'s, keeping local changes that do not clash.
pub fn move_working_copy(
    context: &Context,
    repo: &Repository,
    from: Option<ObjectId>,
    to: Option<ObjectId>,
) -> Result<()> {
    if from == to {
        return Ok(());
    }
    let mut index = context.load_index(repo)?;
    worktree::switch(repo, &mut index, from.as_ref(), to.as_ref(), &context.progress("checkout"))?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct TagArgs {
    /// The tag to create.
    name: Option<String>,
    /// What it points at (HEAD by default).
    rev: Option<String>,
    /// Make an annotated tag with this message.
    #[arg(short, long)]
    message: Option<String>,
    /// Delete a tag.
    #[arg(short, long, value_name = "NAME", conflicts_with = "name")]
    delete: Option<String>,
    /// Machine-readable list.
    #[arg(long)]
    json: bool,
}

pub fn tag(context: &Context, args: TagArgs) -> Outcome {
    let repo = context.repo()?;
    let op = context.op_context(Some(&repo));
    if let Some(name) = &args.delete {
        let full = format!("{TAG_PREFIX}{name}");
        let Some(current) = repo.read_ref(&full)? else { bail!("tag '{name}' not found") };
        repo.update_refs(
            &op,
            Vec::new(),
            vec![RefUpdate { name: full, expected: Some(current), new: None }],
        )?;
        println!("Deleted tag '{name}'");
        return Ok(ExitCode::SUCCESS);
    }
    let Some(name) = &args.name else {
        let tags = repo.list_refs(TAG_PREFIX)?;
        let names: Vec<&str> = tags.iter().map(|(n, _)| &n[TAG_PREFIX.len()..]).collect();
        if args.json {
            println!("{}", serde_json::to_string_pretty(&names)?);
        } else {
            names.iter().for_each(|n| println!("{n}"));
        }
        return Ok(ExitCode::SUCCESS);
    };
    refs::check_name(name, "tag")?;
    let full = format!("{TAG_PREFIX}{name}");
    if repo.read_ref(&full)?.is_some() {
        bail!("tag '{name}' already exists");
    }
    let target = revision::resolve(&repo, args.rev.as_deref().unwrap_or("HEAD"))?;
    let mut objects = Vec::new();
    let pointee = match &args.message {
        None => target,
        Some(message) => {
            let object = Object::Tag(Tag {
                object: target,
                target_kind: repo.store().kind(&target)?,
                name: name.as_bytes().to_vec(),
                tagger: Some(context.signature(&repo, Role::Committer)?),
                extra_headers: Vec::new(),
                message: format!("{}\n", message.trim_end()).into_bytes(),
            });
            let (id, bytes) = repo.store().prepare(&object);
            objects.push((id, bytes));
            id
        }
    };
    let update = RefUpdate { name: full, expected: None, new: Some(RefTarget::Object(pointee)) };
    repo.update_refs(&op, objects, vec![update])?;
    Ok(ExitCode::SUCCESS)
}
