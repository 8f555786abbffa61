//! One module per command family; each parses its arguments, calls the libraries
//! and prints.

pub mod branch;
pub mod commit;
pub mod diff;
pub mod import;
pub mod init;
pub mod log;
pub mod merge_file;
pub mod oplog;
pub mod plumbing;
pub mod stage;
pub mod status;

use std::process::ExitCode;

/// What every command returns.
pub type Outcome = anyhow::Result<ExitCode>;

/// Lossy text of a path or name.
pub fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
