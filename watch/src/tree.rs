//! The inotify watches over a working copy's directories, and what their
//! events mean for the journal.
//!
//! inotify watches one directory at a time, so a new directory must be added
//! as it appears; files made in it before its watch exists send no event. Such
//! a directory is itself reported as changed, and status walks it in full, so
//! nothing made in that moment is missed.

use crate::{Error, Result};
use pg_core::worktree::{is_ignored, IGNORE_FILE};
use rustix::fs::inotify::{self, ReadFlags, WatchFlags};
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The file names of cookies: a client's question made visible in the queue.
pub(crate) const COOKIE_PREFIX: &str = "cookie-";

/// What one event means.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Happening {
    /// This path (file or directory, relative, `/`-separated) changed.
    Changed(Vec<u8>),
    /// The cookie with this number was made.
    Cookie(u64),
    /// The kernel's queue overflowed: changes were lost.
    Lost,
    /// The working copy or the watch directory went away: time to stop.
    Gone,
}

/// The watches of one working copy.
pub(crate) struct Tree {
    fd: OwnedFd,
    root: PathBuf,
    /// Directory of each watch (relative to `root`).
    dirs: HashMap<i32, Vec<u8>>,
    /// The watch on `.pg/watch`, where cookies appear.
    control: i32,
}

const DIR_EVENTS: WatchFlags = WatchFlags::ATTRIB
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::CREATE)
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW)
    .union(WatchFlags::EXCL_UNLINK);

impl Tree {
    /// Watches every directory of the working copy at `root` that a status
    /// walks, and `control` for cookies.
    pub(crate) fn new(root: &Path, control: &Path) -> Result<Tree> {
        let fd =
            inotify::init(inotify::CreateFlags::CLOEXEC).map_err(|e| Error::io("starting inotify", e))?;
        let control = inotify::add_watch(&fd, control, DIR_EVENTS)
            .map_err(|e| Error::io(format!("watching {}", control.display()), e))?;
        let mut tree = Tree { fd, root: root.to_owned(), dirs: HashMap::new(), control };
        tree.add(b"")?;
        Ok(tree)
    }

    /// How many directories are watched.
    pub(crate) fn watched(&self) -> usize {
        self.dirs.len()
    }

    /// Watches `dir` and the directories under it that a status walks.
    fn add(&mut self, dir: &[u8]) -> Result<()> {
        let mut pending = vec![dir.to_vec()];
        while let Some(dir) = pending.pop() {
            let full = self.root.join(std::ffi::OsStr::from_bytes(&dir));
            match inotify::add_watch(&self.fd, &full, DIR_EVENTS) {
                Ok(wd) => {
                    self.dirs.insert(wd, dir.clone());
                }
                Err(rustix::io::Errno::NOSPC) => {
                    return Err(Error::TooManyDirectories { watched: self.dirs.len() })
                }
                // Gone already, or not a directory any more: its parent's event says so.
                Err(_) => continue,
            }
            let Ok(entries) = std::fs::read_dir(&full) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && !is_hidden_dir(name.as_bytes()) {
                    let path = pg_core::index::join(&dir, name.as_bytes());
                    if !is_ignored(&self.root, &path, true) {
                        pending.push(path);
                    }
                }
            }
        }
        Ok(())
    }

    /// Forgets the watches on `dir` and below (it moved away or was removed).
    fn remove(&mut self, dir: &[u8]) {
        let under =
            |path: &[u8]| path == dir || (path.starts_with(dir) && path.get(dir.len()) == Some(&b'/'));
        let gone: Vec<i32> = self.dirs.iter().filter(|(_, path)| under(path)).map(|(wd, _)| *wd).collect();
        for wd in gone {
            self.dirs.remove(&wd);
            // The kernel may have dropped it already; nothing to do then.
            let _ = inotify::remove_watch(&self.fd, wd);
        }
    }

    /// Reads the events waiting (blocking until there is one) and says what
    /// they mean, in order.
    pub(crate) fn read(&mut self, buffer: &mut [std::mem::MaybeUninit<u8>]) -> Result<Vec<Happening>> {
        // The events are taken out first: interpreting them changes the watches.
        let mut events = Vec::new();
        let mut reader = inotify::Reader::new(&self.fd, buffer);
        loop {
            let event = reader.next().map_err(|e| Error::io("reading inotify events", e))?;
            let name = event.file_name().map(|n| n.to_bytes().to_vec()).filter(|n| !n.is_empty());
            events.push((event.wd(), event.events(), name));
            if reader.is_buffer_empty() {
                break;
            }
        }
        let mut happenings = Vec::new();
        for (wd, flags, name) in events {
            self.interpret(wd, flags, name, &mut |h| happenings.push(h))?;
        }
        Ok(happenings)
    }

    fn interpret(
        &mut self,
        wd: i32,
        flags: ReadFlags,
        name: Option<Vec<u8>>,
        on: &mut impl FnMut(Happening),
    ) -> Result<()> {
        if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
            on(Happening::Lost);
            // Directories made while events were lost have no watch yet.
            return self.add(b"");
        }
        if wd == self.control {
            let gone = flags.intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF | ReadFlags::IGNORED);
            match name.as_deref().and_then(cookie_number) {
                Some(n) if flags.contains(ReadFlags::CREATE) => on(Happening::Cookie(n)),
                _ if gone => on(Happening::Gone),
                _ => {}
            }
            return Ok(());
        }
        let Some(dir) = self.dirs.get(&wd).cloned() else { return Ok(()) };
        let Some(name) = name else {
            // An event on the directory itself: only the top's matters, as
            // the parent of any other reports it.
            if dir.is_empty() && flags.intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF) {
                on(Happening::Gone);
            }
            if flags.contains(ReadFlags::IGNORED) {
                self.dirs.remove(&wd);
            }
            return Ok(());
        };
        let is_dir = flags.contains(ReadFlags::ISDIR);
        if is_dir && is_hidden_dir(&name) {
            return Ok(());
        }
        let path = pg_core::index::join(&dir, &name);
        if is_dir && flags.intersects(ReadFlags::MOVED_FROM | ReadFlags::DELETE) {
            self.remove(&path);
        }
        if is_dir
            && flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO)
            && !is_ignored(&self.root, &path, true)
        {
            self.add(&path)?;
        }
        if name == IGNORE_FILE.as_bytes() {
            // Directories this file ignored before may be walked now.
            self.add(&dir)?;
        }
        on(Happening::Changed(path));
        Ok(())
    }
}

/// `.pg` and `.git` directories are never part of the working copy.
fn is_hidden_dir(name: &[u8]) -> bool {
    name == b".pg" || name == b".git"
}

fn cookie_number(name: &[u8]) -> Option<u64> {
    std::str::from_utf8(name.strip_prefix(COOKIE_PREFIX.as_bytes())?).ok()?.parse().ok()
}
