//! Asking a repository's daemon.
//!
//! Anyone on the machine could listen on an abstract socket's name first, so
//! both sides check that the other runs as the same user: a daemon of someone
//! else's could otherwise tell status that nothing changed.

use crate::protocol::{self, DaemonStatus, Reply, Request};
use crate::{Error, Result};
use std::path::Path;
use std::time::Duration;

/// What changed since a token, by the daemon's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    /// Ask with this next time.
    pub token: Vec<u8>,
    /// Paths changed since the token asked with, sorted; `None`: the daemon
    /// cannot tell, look at everything.
    pub changed: Option<Vec<Vec<u8>>>,
}

/// Asks the daemon of the repository at `pg_dir` what changed since `token`
/// (empty: none yet).
pub fn changes(pg_dir: &Path, token: &[u8]) -> Result<Changes> {
    match ask(pg_dir, &Request::Changes(token.to_vec()))? {
        Reply::Changes { token, changed } => Ok(Changes { token, changed }),
        _ => Err(Error::Protocol("the answer to a question about changes was something else")),
    }
}

/// The daemon's state.
pub fn status(pg_dir: &Path) -> Result<DaemonStatus> {
    match ask(pg_dir, &Request::Status)? {
        Reply::Status(status) => Ok(status),
        _ => Err(Error::Protocol("the answer to a question about status was something else")),
    }
}

/// Stops the daemon.
pub fn stop(pg_dir: &Path) -> Result<()> {
    match ask(pg_dir, &Request::Stop)? {
        Reply::Stopped => Ok(()),
        _ => Err(Error::Protocol("the answer to stop was something else")),
    }
}

/// How long a client waits for an answer: the daemon's own sync wait, and then some.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);

fn ask(pg_dir: &Path, request: &Request) -> Result<Reply> {
    #[cfg(target_os = "linux")]
    return linux::ask(pg_dir, request);
    #[cfg(not(target_os = "linux"))]
    return Err(Error::Unsupported);
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::io::ErrorKind;
    use std::os::unix::net::UnixStream;

    pub(super) fn ask(pg_dir: &Path, request: &Request) -> Result<Reply> {
        let address = crate::socket_address(pg_dir)?;
        let mut stream = match UnixStream::connect_addr(&address) {
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::NotFound) => {
                return Err(Error::NotRunning)
            }
            other => other.map_err(|e| Error::io("connecting to the watcher", e))?,
        };
        if !same_user(&stream) {
            return Err(Error::Protocol("the watcher's socket belongs to another user"));
        }
        let talk = |stream: &mut UnixStream| -> std::io::Result<Vec<u8>> {
            stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
            protocol::send(stream, &request.encode())?;
            protocol::receive(stream)
        };
        let body = talk(&mut stream).map_err(|e| Error::io("asking the watcher", e))?;
        match Reply::decode(&body) {
            Some(Reply::Refused(why)) => {
                Err(Error::Io { what: "the watcher refused".into(), source: std::io::Error::other(why) })
            }
            Some(reply) => Ok(reply),
            None => Err(Error::Protocol("not a reply of this protocol")),
        }
    }
}

/// Whether the process at the other end of `stream` runs as this one's user.
#[cfg(target_os = "linux")]
pub(crate) fn same_user(stream: &std::os::unix::net::UnixStream) -> bool {
    rustix::net::sockopt::socket_peercred(stream).is_ok_and(|peer| peer.uid == rustix::process::getuid())
}
