use super::Outcome;
use crate::context::Context;
use pg_core::repo::InitOptions;
use pg_core::{HashAlgorithm, Repository};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to create the repository (the current directory by default).
    dir: Option<PathBuf>,
    /// Hash function for new objects.
    #[arg(long, default_value = "blake3", value_parser = parse_hash)]
    hash: HashAlgorithm,
    /// Name of the first branch.
    #[arg(long, short = 'b', default_value = "main")]
    initial_branch: String,
}

fn parse_hash(text: &str) -> Result<HashAlgorithm, String> {
    text.parse().map_err(|e: pg_core::id::IdError| e.to_string())
}

pub fn run(context: &Context, args: Args) -> Outcome {
    pg_core::refs::check_name(&args.initial_branch, "branch")?;
    let dir = match &args.dir {
        Some(dir) => context.cwd.join(dir),
        None => context.cwd.clone(),
    };
    let options = InitOptions { hash: args.hash, default_branch: args.initial_branch, repository_id: None };
    let repo = Repository::init(&dir, &options, &context.op_context(None))?;
    println!("Initialized empty pg repository in {} ({})", repo.pg_dir().display(), args.hash);
    Ok(ExitCode::SUCCESS)
}
