//! Documentation made from the command-line definitions themselves: shell
//! completions and manual pages, so neither can fall behind the commands.

use super::Outcome;
use anyhow::{bail, Context as _};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    shell: clap_complete::Shell,
}

/// `pg completions SHELL`: the completion script on stdout.
pub fn completions(mut cli: clap::Command, args: CompletionsArgs) -> Outcome {
    // Made whole first: clap_complete panics on a write error (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cli, "pg", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The command whose page to print (pg's own page without one).
    command: Option<String>,
    /// Write every page (pg.1 and pg-COMMAND.1 for each command) into this
    /// directory instead.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    out: Option<PathBuf>,
}

/// `pg man [COMMAND]`: a manual page as roff on stdout (`pg man commit | man -l -`),
/// or all of them into a directory.
pub fn man(cli: clap::Command, args: ManArgs) -> Outcome {
    let cli = cli.name("pg");
    if let Some(dir) = args.out {
        write_all(&cli, &dir)?;
        return Ok(ExitCode::SUCCESS);
    }
    let page = match &args.command {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => page_of(&cli, sub),
            None => bail!("no command '{name}' (`pg --help` lists them)"),
        },
    };
    clap_mangen::Man::new(page).render(&mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// A subcommand as a page of its own, named as git names its pages (`pg-commit`).
fn page_of(cli: &clap::Command, sub: &clap::Command) -> clap::Command {
    let name = format!("{}-{}", cli.get_name(), sub.get_name());
    sub.clone().name(name).version(env!("CARGO_PKG_VERSION"))
}

fn write_all(cli: &clap::Command, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pages = std::iter::once(cli.clone()).chain(cli.get_subcommands().map(|sub| page_of(cli, sub)));
    for page in pages {
        let path = dir.join(format!("{}.1", page.get_name()));
        let mut file =
            std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        clap_mangen::Man::new(page).render(&mut file)?;
    }
    Ok(())
}
