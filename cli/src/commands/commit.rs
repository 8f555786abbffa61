use super::{hook_runner, run_hook, text, Outcome};
use crate::context::{Context, Role};
use anyhow::{bail, Context as _};
use pg_core::commit::{self, Options};
use pg_core::id::SHORT_ID_LEN;
use pg_core::worktree;
use pg_hooks::Hook;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The message; several are joined as paragraphs.
    #[arg(short, long = "message", required = true)]
    message: Vec<String>,
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
    let mut message = clean_message(&args.message.join("\n\n"));
    let options_base = (context.signature(&repo, Role::Author)?, context.signature(&repo, Role::Committer)?);
    let mut index = context.load_index(&repo)?;
    if args.all {
        let bar = context.progress("staging");
        worktree::add(&repo, &mut index, &[Vec::new()], true, &bar)?;
        drop(bar);
        context.save_index(&repo, &mut index)?;
    }
    if !args.no_verify {
        let runner = hook_runner(&repo);
        run_hook(&runner, Hook::PreCommit, &[], "nothing was committed")?;
        if runner.find(Hook::CommitMsg).is_some() {
            let file = repo.pg_dir().join("COMMIT_EDITMSG");
            std::fs::write(&file, &message).with_context(|| format!("writing {}", file.display()))?;
            run_hook(&runner, Hook::CommitMsg, &[&file], "nothing was committed")?;
            message = clean_message(&std::fs::read_to_string(&file)?);
        }
    }
    if message.is_empty() {
        bail!("aborting commit due to empty commit message");
    }
    let options = Options {
        message: message.into_bytes(),
        author: options_base.0,
        committer: options_base.1,
        extra_headers: Vec::new(),
        allow_empty: args.allow_empty,
    };
    let outcome = commit::commit(&repo, &mut index, &options, &context.op_context(Some(&repo)))?;
    context.save_index(&repo, &mut index)?;
    let place = outcome.branch.as_deref().unwrap_or("detached HEAD");
    let root = if outcome.root { " (root-commit)" } else { "" };
    let summary = text(options.message.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
    println!("[{place}{root} {}] {summary}", outcome.id.short(SHORT_ID_LEN));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::clean_message;

    #[test]
    fn messages_are_cleaned_as_git_does() {
        assert_eq!(clean_message("\n\n  subject  \nbody \n\n"), "  subject\nbody\n");
        assert_eq!(clean_message(" \n\n"), "");
    }
}
