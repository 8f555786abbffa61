//! `pg merge-file`: a 3-way merge of three files, as `git merge-file` does it, for
//! scripts and as a git merge driver.

use super::Outcome;
use crate::context::Context;
use anyhow::{bail, Context as _};
use pg_merge::text::{self, Algorithm, ConflictStyle, Favor, Labels, Options};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write the result to standard output instead of CURRENT.
    #[arg(short = 'p', long = "stdout")]
    stdout: bool,
    /// Show the base in conflicts too.
    #[arg(long, conflicts_with = "zdiff3")]
    diff3: bool,
    /// diff3, with lines both sides agree on moved out of conflicts.
    #[arg(long)]
    zdiff3: bool,
    /// Settle conflicts with our lines.
    #[arg(long, conflicts_with_all = ["theirs", "union"])]
    ours: bool,
    /// Settle conflicts with their lines.
    #[arg(long, conflicts_with = "union")]
    theirs: bool,
    /// Settle conflicts with both sides' lines, ours first.
    #[arg(long)]
    union: bool,
    /// The diff algorithm: myers (git's default), minimal or histogram.
    #[arg(long, value_name = "ALGORITHM", default_value = "myers", value_parser = parse_algorithm)]
    diff_algorithm: Algorithm,
    /// Length of the conflict markers.
    #[arg(long, value_name = "N", default_value_t = text::DEFAULT_MARKER_SIZE)]
    marker_size: usize,
    /// Labels for CURRENT, BASE and OTHER, in that order (default: the file names).
    #[arg(short = 'L', value_name = "LABEL", num_args = 1, action = clap::ArgAction::Append)]
    labels: Vec<std::ffi::OsString>,
    /// Print no error messages (the exit code still tells).
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Our version; the result is written here unless -p is given.
    current: PathBuf,
    /// The common ancestor.
    base: PathBuf,
    /// Their version.
    other: PathBuf,
}

/// Exit code for errors; git's merge-file exits 255, so that codes 1..=127 always
/// mean a number of conflicts.
const ERROR_EXIT: u8 = 255;

pub fn run(context: &Context, args: Args) -> Outcome {
    match merge_files(context, &args) {
        Ok(conflicts) => Ok(ExitCode::from(conflicts.min(127) as u8)),
        Err(error) => {
            if !args.quiet {
                eprintln!("error: {error:#}");
            }
            Ok(ExitCode::from(ERROR_EXIT))
        }
    }
}

fn merge_files(context: &Context, args: &Args) -> anyhow::Result<usize> {
    if args.labels.len() > 3 {
        bail!("too many labels: -L names CURRENT, BASE and OTHER, at most three");
    }
    let paths = [&args.current, &args.base, &args.other];
    let mut contents = Vec::with_capacity(3);
    for path in paths {
        contents.push(read_text(&context.cwd.join(path), path)?);
    }
    let label = |i: usize| {
        Some(
            args.labels
                .get(i)
                .map_or_else(|| paths[i].as_os_str().as_bytes().to_vec(), |l| l.as_bytes().to_vec()),
        )
    };
    let options = Options {
        style: if args.zdiff3 {
            ConflictStyle::Zdiff3
        } else if args.diff3 {
            ConflictStyle::Diff3
        } else {
            ConflictStyle::Merge
        },
        favor: [(args.ours, Favor::Ours), (args.theirs, Favor::Theirs), (args.union, Favor::Union)]
            .into_iter()
            .find_map(|(set, favor)| set.then_some(favor)),
        labels: Labels { ours: label(0), base: label(1), theirs: label(2) },
        marker_size: args.marker_size,
        algorithm: args.diff_algorithm,
        ..Options::default()
    };
    let outcome = text::merge(&contents[1], &contents[0], &contents[2], &options);
    if args.stdout {
        std::io::stdout().lock().write_all(&outcome.text)?;
    } else {
        let target = context.cwd.join(&args.current);
        std::fs::write(&target, &outcome.text)
            .with_context(|| format!("cannot write {}", args.current.display()))?;
    }
    Ok(outcome.conflicts)
}

fn read_text(path: &Path, shown: &Path) -> anyhow::Result<Vec<u8>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", shown.display()))?;
    if text::looks_binary(&data) {
        bail!("cannot merge binary file {}: it has a NUL byte in its first 8000 bytes", shown.display());
    }
    Ok(data)
}

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "myers" | "default" => Ok(Algorithm::Myers),
        "minimal" => Ok(Algorithm::Minimal),
        "histogram" => Ok(Algorithm::Histogram),
        "patience" => Err("patience is not implemented; use myers, minimal or histogram".into()),
        other => Err(format!("unknown diff algorithm '{other}'; use myers, minimal or histogram")),
    }
}
