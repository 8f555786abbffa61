use super::{hook_runner, run_hook, text, Outcome};
use crate::context::{Context, Role};
use anyhow::{bail, Context as _};
use pg_core::commit::{self, Options};
use pg_core::index::Index;
use pg_core::{worktree, Repository};
use pg_hooks::Hook;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The message; several are joined as paragraphs. Without one, the editor
    /// opens ($PG_EDITOR, core.editor, $VISUAL, $EDITOR, else vi).
    #[arg(short, long = "message")]
    message: Vec<String>,
    /// Replace HEAD's commit with one of the index (its message, unless given).
    #[arg(long)]
    amend: bool,
    /// With --amend: keep the message without opening the editor.
    #[arg(long, requires = "amend")]
    no_edit: bool,
    /// Stage every change to tracked files first (new files are not added).
    #[arg(short, long)]
    all: bool,
    /// Commit even if nothing changed.
    #[arg(long)]
    allow_empty: bool,
    /// Skip the pre-commit and commit-msg hooks.
    #[arg(short = 'n', long)]
    no_verify: bool,
}

/// git's clean-up of a message: trailing blanks off each line, blank lines off both
/// ends, one newline at the end.
fn clean_message(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
    let end = lines.iter().rposition(|l| !l.is_empty()).map_or(start, |i| i + 1);
    let mut message = lines[start..end].join("\n");
    if !message.is_empty() {
        message.push('\n');
    }
    message
}

pub fn run(context: &Context, args: Args) -> Outcome {
    let repo = context.repo()?;
    let mut index = context.load_index(&repo)?;
    if args.all {
        let bar = context.progress("staging");
        worktree::add(&repo, &mut index, &[Vec::new()], true, &bar)?;
        drop(bar);
        context.save_index(&repo, &mut index)?;
    }
    let amended = match (args.amend, repo.head()?.commit()) {
        (true, Some(id)) => Some(repo.store().read_commit(&id)?),
        (true, None) => bail!("nothing to amend: HEAD has no commit yet"),
        (false, _) => None,
    };
    let runner = hook_runner(&repo);
    if !args.no_verify {
        run_hook(&runner, Hook::PreCommit, &[], "nothing was committed")?;
    }
    let message_file = repo.pg_dir().join("COMMIT_EDITMSG");
    let mut message = match (&args.message[..], &amended) {
        ([], Some(old)) if args.no_edit => text(&old.message).into_owned(),
        ([], _) => {
            let start = amended.as_ref().map(|c| text(&c.message).into_owned()).unwrap_or_default();
            let template = format!(
                "{start}\n{}",
                template_comments(&repo, &mut index, amended.as_ref(), &context.standing_in(&repo))?
            );
            write_message(&message_file, &template)?;
            edit(&context.editor(&repo)?, &message_file)?;
            without_comments(&std::fs::read_to_string(&message_file)?)
        }
        (given, _) => given.join("\n\n"),
    };
    message = clean_message(&message);
    if !args.no_verify && runner.find(Hook::CommitMsg).is_some() {
        write_message(&message_file, &message)?;
        run_hook(&runner, Hook::CommitMsg, &[&message_file], "nothing was committed")?;
        message = clean_message(&std::fs::read_to_string(&message_file)?);
    }
    if message.is_empty() {
        bail!("aborting commit due to empty commit message");
    }
    let author = match &amended {
        Some(old) => old.author.clone(),
        None => context.signature(&repo, Role::Author)?,
    };
    let options = Options {
        message: message.into_bytes(),
        author,
        committer: context.signature(&repo, Role::Committer)?,
        extra_headers: Vec::new(),
        allow_empty: args.allow_empty,
        amend: args.amend,
    };
    let outcome = commit::commit(&repo, &mut index, &options, &context.op_context(Some(&repo)))?;
    context.save_index(&repo, &mut index)?;
    let place = outcome.branch.as_deref().unwrap_or("detached HEAD");
    let root = if outcome.root { " (root-commit)" } else { "" };
    let summary = text(options.message.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
    writeln!(context.reports(), "[{place}{root} {}] {summary}", repo.store().abbreviate(&outcome.id))?;
    Ok(ExitCode::SUCCESS)
}

fn write_message(file: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))
}

/// Runs the editor on `file` as git does: through the shell, so the setting
/// may carry arguments (`code --wait`).
fn edit(editor: &str, file: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(file)
        .status()
        .with_context(|| format!("running the editor '{editor}'"))?;
    if !status.success() {
        bail!("the editor '{editor}' failed ({status}); nothing was committed");
    }
    Ok(())
}

/// What the message file says below the message: how to write it, and what
/// the commit will hold, as git's template does.
fn template_comments(
    repo: &Repository,
    index: &mut Index,
    amended: Option<&pg_core::object::Commit>,
    standing_in: &[u8],
) -> anyhow::Result<String> {
    let head = repo.head()?;
    let base = match amended {
        Some(commit) => {
            commit.parents.first().map(|p| repo.store().read_commit(p)).transpose()?.map(|c| c.tree)
        }
        None => head.commit().map(|id| repo.store().read_commit(&id)).transpose()?.map(|c| c.tree),
    };
    let mut out = String::from(
        "# Please enter the commit message for your changes. Lines starting\n\
         # with '#' will be ignored, and an empty message aborts the commit.\n#\n",
    );
    match head.branch() {
        Some(branch) => out.push_str(&format!("# On branch {branch}\n")),
        None => out.push_str("# HEAD detached\n"),
    }
    let staged = worktree::staged_changes(repo.store(), index, base.as_ref())?;
    if !staged.is_empty() {
        out.push_str("# Changes to be committed:\n");
    }
    for change in staged {
        out.push_str(&format!(
            "#\t{:<12}{}\n",
            super::status::label(change.kind()),
            text(&worktree::relative_path(standing_in, &change.path))
        ));
    }
    Ok(out)
}

/// The message without the lines the template commented.
fn without_comments(edited: &str) -> String {
    edited.lines().filter(|line| !line.starts_with('#')).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::clean_message;

    #[test]
    fn messages_are_cleaned_as_git_does() {
        assert_eq!(clean_message("\n\n  subject  \nbody \n\n"), "  subject\nbody\n");
        assert_eq!(clean_message(" \n\n"), "");
    }

    #[test]
    fn comment_lines_are_not_part_of_an_edited_message() {
        assert_eq!(super::without_comments("fix\n# On branch main\n\nbody\n#\tmodified: a"), "fix\n\nbody");
    }
}
