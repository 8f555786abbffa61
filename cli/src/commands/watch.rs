//! `pg watch`: the file-system watcher that lets status look only where
//! something changed; and whether status asks it (`core.watch`).

use super::Outcome;
use crate::context::Context;
use anyhow::{bail, Context as _};
use pg_core::config::Config;
use pg_core::repo::Location;
use pg_watch::{client, Error};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Start the watcher in the background (status uses it when core.watch is true).
    Start,
    /// Stop the watcher.
    Stop,
    /// Show whether the watcher runs, and what it watches.
    Status {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Run the watcher in the foreground until it stops.
    Run,
}

pub fn run(context: &Context, args: Args) -> Outcome {
    let location = context.repo_to_read()?.location().clone();
    match args.command {
        Command::Start => start(context, &location),
        Command::Stop => match client::stop(&location.pg_dir) {
            Ok(()) => {
                writeln!(context.reports(), "Stopped the watcher of {}", location.workdir.display())?;
                Ok(ExitCode::SUCCESS)
            }
            Err(Error::NotRunning) => not_running(&location),
            Err(e) => Err(e.into()),
        },
        Command::Status { json } => status(&location, json),
        Command::Run => {
            pg_watch::daemon::run(
                &location.workdir,
                &location.pg_dir,
                &pg_watch::daemon::Options::default(),
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn not_running(location: &Location) -> Outcome {
    eprintln!("No watcher is running for {} (start one with 'pg watch start')", location.workdir.display());
    Ok(ExitCode::FAILURE)
}

fn start(context: &Context, location: &Location) -> Outcome {
    if let Ok(status) = client::status(&location.pg_dir) {
        writeln!(context.reports(), "The watcher is already running (pid {})", status.pid)?;
        return Ok(ExitCode::SUCCESS);
    }
    spawn(location).context("starting the watcher")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client::status(&location.pg_dir) {
            Ok(status) => {
                let workdir = location.workdir.display();
                writeln!(
                    context.reports(),
                    "Watching {workdir} ({} directories, pid {})",
                    status.watched,
                    status.pid
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            Err(Error::NotRunning) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(Error::NotRunning) => {
                bail!("the watcher did not start: see {}", log_path(&location.pg_dir).display())
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn status(location: &Location, json: bool) -> Outcome {
    let status = match client::status(&location.pg_dir) {
        Err(Error::NotRunning) => return not_running(location),
        other => other?,
    };
    let workdir = String::from_utf8_lossy(&status.workdir);
    if json {
        let json = serde_json::json!({
            "pid": status.pid,
            "started": status.started,
            "workdir": workdir,
            "watched_directories": status.watched,
            "changed_paths": status.journal,
        });
        println!("{json:#}");
    } else {
        println!(
            "Watching {workdir} (pid {}, since {})",
            status.pid,
            crate::render::utc_date(status.started as i64)
        );
        println!("{} directories watched, {} changed paths remembered", status.watched, status.journal);
    }
    Ok(ExitCode::SUCCESS)
}

/// Starts `pg watch run` in the background, in its own process group (a
/// terminal's Ctrl-C does not reach it), its errors going to `.pg/watch/log`.
pub fn spawn(location: &Location) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt;
    std::fs::create_dir_all(pg_watch::watch_dir(&location.pg_dir))?;
    let log = std::fs::File::create(log_path(&location.pg_dir))?;
    std::process::Command::new(std::env::current_exe()?)
        .args(["watch", "run"])
        .current_dir(&location.workdir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()?;
    Ok(())
}

fn log_path(pg_dir: &Path) -> std::path::PathBuf {
    pg_watch::watch_dir(pg_dir).join("log")
}

/// Whether status asks the watcher: `core.watch` in the repository's config,
/// else the user's.
pub fn enabled(context: &Context, config: &Config) -> anyhow::Result<bool> {
    match context.setting_in(Some(config), "core.watch")?.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false" | "no" | "off" | "0") => Ok(false),
        Some("true" | "yes" | "on" | "1") => Ok(true),
        Some(other) => bail!("core.watch is '{other}': set it to true or false (pg config core.watch true)"),
    }
}
