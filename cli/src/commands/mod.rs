//! One module per command family; each parses its arguments, calls the libraries
//! and prints.

pub mod bench_merge;
pub mod blame;
pub mod branch;
pub mod commit;
pub mod dates;
pub mod diff;
pub mod docs;
pub mod graph;
pub mod grep;
pub mod import;
pub mod init;
pub mod log;
pub mod merge;
pub mod merge_file;
pub mod moving;
pub mod oplog;
pub mod peers;
pub mod plumbing;
pub mod pretty;
pub mod restore;
pub mod stage;
pub mod stash;
pub mod status;
pub mod watch;

use std::process::ExitCode;

/// What every command returns.
pub type Outcome = anyhow::Result<ExitCode>;

/// Lossy text of a path or name.
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The abbreviation of an id held as text (as JSON rows and saved states hold
/// them), unique in `store`; text that is no id stays as it is.
pub fn abbreviate_text(store: &pg_core::store::Store, id: &str) -> String {
    id.parse().map_or_else(|_| id.to_owned(), |id| store.abbreviate(&id))
}

/// [`abbreviate_text`] where no store is at hand: [`ABBREV_LEN`] digits.
///
/// [`ABBREV_LEN`]: pg_core::id::ABBREV_LEN
pub fn abbrev_text(id: &str) -> String {
    id.parse::<pg_core::ObjectId>().map_or_else(|_| id.to_owned(), |id| id.abbrev(pg_core::id::ABBREV_LEN))
}

/// The hook runner for a repository.
pub fn hook_runner(repo: &pg_core::Repository) -> pg_hooks::Runner {
    pg_hooks::Runner {
        hooks_dir: repo.hooks_dir(),
        workdir: repo.workdir().to_owned(),
        env: vec![
            ("PG_DIR".into(), repo.pg_dir().display().to_string()),
            ("PG_INDEX_FILE".into(), repo.index_path().display().to_string()),
        ],
    }
}

/// Runs a hook, shows its output, and fails when it fails, saying what did not
/// happen (`consequence`).
pub fn run_hook(
    runner: &pg_hooks::Runner,
    hook: pg_hooks::Hook,
    args: &[&std::path::Path],
    consequence: &str,
) -> anyhow::Result<()> {
    use std::io::Write;
    let Some(outcome) = runner.run(hook, args)? else { return Ok(()) };
    std::io::stderr().write_all(&outcome.output)?;
    if !outcome.success {
        let code = outcome.code.map_or("a signal".to_owned(), |c| format!("exit code {c}"));
        anyhow::bail!("the {} hook failed ({code}); {consequence}", hook.file_name());
    }
    Ok(())
}
