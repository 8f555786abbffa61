//! The daemon: one thread reads the kernel's events into the journal, the
//! main one answers clients, one at a time (each answer takes microseconds).
//!
//! It stops when asked, when idle for [`Options::idle`], or when the working
//! copy or its `.pg/watch` directory goes away.

use crate::protocol::{self, DaemonStatus, Reply, Request};
use crate::{Error, Result};
use std::path::Path;
use std::time::Duration;

/// How the daemon behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Stop after this long without a question.
    pub idle: Duration,
    /// The most changed paths the journal holds before it forgets them all.
    pub journal_limit: usize,
    /// How long a question waits for the kernel's queue to reach it before
    /// the answer is "cannot tell".
    pub sync_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            idle: Duration::from_secs(4 * 3600),
            journal_limit: 100_000,
            sync_timeout: Duration::from_secs(2),
        }
    }
}

/// Watches the working copy at `workdir` (whose `.pg` is `pg_dir`) and answers
/// clients until it stops. Fails with [`Error::AlreadyRunning`] if another
/// daemon watches it.
pub fn run(workdir: &Path, pg_dir: &Path, options: &Options) -> Result<()> {
    #[cfg(target_os = "linux")]
    return linux::run(workdir, pg_dir, options);
    #[cfg(not(target_os = "linux"))]
    return Err(Error::Unsupported);
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use crate::journal::{Journal, Token};
    use crate::tree::{Happening, Tree, COOKIE_PREFIX};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    use std::path::PathBuf;
    use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    use std::time::{Instant, SystemTime};

    /// What both threads see.
    struct Shared {
        state: Mutex<State>,
        /// Signalled when a cookie arrives.
        cookie_seen: Condvar,
    }

    struct State {
        journal: Journal,
        /// The highest cookie number the kernel's queue has delivered.
        cookie: u64,
        watched: usize,
        stopping: Option<Result<()>>,
        last_question: Instant,
    }

    impl Shared {
        fn lock(&self) -> MutexGuard<'_, State> {
            self.state.lock().expect("daemon threads do not panic")
        }
    }

    pub(super) fn run(workdir: &Path, pg_dir: &Path, options: &Options) -> Result<()> {
        let control = crate::watch_dir(pg_dir);
        std::fs::create_dir_all(&control)
            .map_err(|e| Error::io(format!("creating {}", control.display()), e))?;
        let address = crate::socket_address(pg_dir)?;
        let listener = match UnixListener::bind_addr(&address) {
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(Error::AlreadyRunning),
            other => other.map_err(|e| Error::io("opening the watcher's socket", e))?,
        };
        // Watches are in place before the first question is accepted.
        let mut tree = Tree::new(workdir, &control)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                journal: Journal::new(instance(), options.journal_limit),
                cookie: 0,
                watched: tree.watched(),
                stopping: None,
                last_question: Instant::now(),
            }),
            cookie_seen: Condvar::new(),
        });
        let wake = Waker { shared: shared.clone(), address };
        let reader = wake.clone();
        std::thread::spawn(move || {
            let mut buffer = vec![std::mem::MaybeUninit::uninit(); 64 << 10];
            let outcome = loop {
                match tree.read(&mut buffer) {
                    Ok(happenings) => {
                        if !reader.apply(happenings, tree.watched()) {
                            break Ok(());
                        }
                    }
                    Err(e) => break Err(e),
                }
            };
            reader.stop(outcome);
        });
        let idle = options.idle;
        let timer = wake.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(idle.min(Duration::from_secs(30)));
            if timer.shared.lock().last_question.elapsed() >= idle {
                break timer.stop(Ok(()));
            }
        });
        let answering = Answering {
            shared,
            control,
            workdir: workdir.to_owned(),
            started: now(),
            options: options.clone(),
        };
        answering.serve(&listener)
    }

    /// Applies events and stops the daemon; cheap to clone into threads.
    #[derive(Clone)]
    struct Waker {
        shared: Arc<Shared>,
        address: SocketAddr,
    }

    impl Waker {
        /// Records what happened; false once the daemon should stop.
        fn apply(&self, happenings: Vec<Happening>, watched: usize) -> bool {
            let mut state = self.shared.lock();
            state.watched = watched;
            for happening in happenings {
                match happening {
                    Happening::Changed(path) => state.journal.record(path),
                    Happening::Lost => state.journal.forget(),
                    Happening::Cookie(n) => state.cookie = state.cookie.max(n),
                    Happening::Gone => return false,
                }
            }
            self.shared.cookie_seen.notify_all();
            state.stopping.is_none()
        }

        /// Asks the answering thread to stop, with `outcome` as the daemon's.
        fn stop(&self, outcome: Result<()>) {
            self.shared.lock().stopping.get_or_insert(outcome);
            self.shared.cookie_seen.notify_all();
            // The answering thread waits in accept: a connection wakes it.
            let _ = UnixStream::connect_addr(&self.address);
        }
    }

    struct Answering {
        shared: Arc<Shared>,
        control: PathBuf,
        workdir: PathBuf,
        started: u64,
        options: Options,
    }

    impl Answering {
        fn serve(&self, listener: &UnixListener) -> Result<()> {
            let mut next_cookie = 1;
            for stream in listener.incoming() {
                if let Some(outcome) = self.shared.lock().stopping.take() {
                    return outcome;
                }
                let Ok(mut stream) = stream else { continue };
                if !crate::client::same_user(&stream) {
                    continue;
                }
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(body) = protocol::receive(&mut stream) else { continue };
                let reply = match Request::decode(&body) {
                    Some(Request::Changes(token)) => self.changes(Token::decode(&token), &mut next_cookie),
                    Some(Request::Status) => Reply::Status(self.status()),
                    Some(Request::Stop) => Reply::Stopped,
                    None => Reply::Refused(
                        "not a request of this protocol; is this pg older than the watcher?".into(),
                    ),
                };
                // A client that went away loses only its answer.
                let _ = protocol::send(&mut stream, &reply.encode());
                if reply == Reply::Stopped {
                    return Ok(());
                }
            }
            Ok(())
        }

        /// What changed since `token`. Before answering, a cookie file goes
        /// through the kernel's queue: once it comes out, every change made
        /// before the question has been recorded.
        fn changes(&self, token: Option<Token>, next_cookie: &mut u64) -> Reply {
            let synced = token.is_some() && self.sync(next_cookie);
            let mut state = self.shared.lock();
            state.last_question = Instant::now();
            // Unsynced, "cannot tell" is still right: changes not yet read
            // will be numbered after the token given now.
            let changed = if synced { state.journal.since(token) } else { None };
            Reply::Changes { token: state.journal.token().encode(), changed }
        }

        fn sync(&self, next_cookie: &mut u64) -> bool {
            let number = *next_cookie;
            *next_cookie += 1;
            let cookie = self.control.join(format!("{COOKIE_PREFIX}{number}"));
            if std::fs::write(&cookie, b"").is_err() {
                return false;
            }
            let state = self.shared.lock();
            let waited = self.shared.cookie_seen.wait_timeout_while(state, self.options.sync_timeout, |s| {
                s.cookie < number && s.stopping.is_none()
            });
            let seen = waited.is_ok_and(|(state, _)| state.cookie >= number);
            let _ = std::fs::remove_file(&cookie);
            seen
        }

        fn status(&self) -> DaemonStatus {
            let state = self.shared.lock();
            DaemonStatus {
                pid: std::process::id(),
                started: self.started,
                watched: state.watched as u32,
                journal: state.journal.len() as u32,
                workdir: self.workdir.as_os_str().as_bytes().to_vec(),
            }
        }
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }

    /// A number no earlier run of the daemon had (in practice): tokens from
    /// before a restart must not be taken for this run's.
    fn instance() -> u64 {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let seed = format!("{nanos} {}", std::process::id());
        u64::from_le_bytes(blake3::hash(seed.as_bytes()).as_bytes()[..8].try_into().expect("8 bytes"))
    }
}
