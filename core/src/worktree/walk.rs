//! Listing the working copy's files, in parallel, honouring `.pgignore`.
//!
//! Files are stat'ed through their directory (`fstatat` under
//! `DirEntry::metadata`), which spares the kernel a full path lookup per file;
//! on a large tree that is most of the cost of `pg status`.

use super::Error;
use crate::index::Stat;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

/// The name of the files that list what pg leaves untracked (gitignore syntax).
pub const IGNORE_FILE: &str = ".pgignore";

/// What pg needs to know of a file from the file system: its `lstat` data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileMeta {
    /// What the index records.
    pub stat: Stat,
    mode: u32,
}

impl FileMeta {
    fn from_stat(st: &rustix::fs::Stat) -> FileMeta {
        let stat = Stat {
            mtime_s: st.st_mtime,
            mtime_ns: st.st_mtime_nsec as u32,
            ctime_s: st.st_ctime,
            ctime_ns: st.st_ctime_nsec as u32,
            size: st.st_size as u64,
            ino: st.st_ino,
            dev: st.st_dev,
        };
        FileMeta { stat, mode: st.st_mode }
    }

    /// `lstat(path)`.
    pub fn lstat(path: &Path) -> std::io::Result<FileMeta> {
        Ok(FileMeta::from_stat(&rustix::fs::lstat(path)?))
    }

    fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    /// A symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == FileType::Symlink
    }

    /// A regular file with its owner's execute bit set.
    pub fn is_executable(&self) -> bool {
        self.file_type() == FileType::RegularFile && self.mode & 0o100 != 0
    }
}

/// A file found in the working copy.
pub(crate) struct Found {
    /// Path from the top, `/`-separated.
    pub path: Vec<u8>,
    /// Its `lstat` data.
    pub meta: FileMeta,
}

/// The `.pgignore` matchers that apply in a directory, innermost first.
struct Ignores {
    matcher: Option<Gitignore>,
    parent: Option<Arc<Ignores>>,
}

impl Ignores {
    fn root() -> Arc<Ignores> {
        Arc::new(Ignores { matcher: None, parent: None })
    }

    /// The stack for a directory whose own ignore file is `file` (if any).
    fn child(self: &Arc<Ignores>, dir: &Path, has_file: bool) -> Arc<Ignores> {
        if !has_file {
            return self.clone();
        }
        let mut builder = GitignoreBuilder::new(dir);
        // A malformed line is skipped, as git skips it.
        let _ = builder.add(dir.join(IGNORE_FILE));
        let matcher = builder.build().ok();
        Arc::new(Ignores { matcher, parent: Some(self.clone()) })
    }

    fn is_empty(&self) -> bool {
        self.matcher.is_none() && self.parent.is_none()
    }

    /// Whether `path` is ignored: the innermost file that has an opinion decides.
    fn ignores(&self, path: &Path, is_dir: bool) -> bool {
        let mut level = Some(self);
        while let Some(ignores) = level {
            if let Some(matcher) = &ignores.matcher {
                match matcher.matched(path, is_dir) {
                    Match::Ignore(_) => return true,
                    Match::Whitelist(_) => return false,
                    Match::None => {}
                }
            }
            level = ignores.parent.as_deref();
        }
        false
    }
}

struct Work {
    dir: Vec<u8>,
    ignores: Arc<Ignores>,
}

/// What a walk does with each file it finds (on the walking thread).
type Visit<'a, T> = dyn Fn(&[u8], FileMeta) -> Result<Option<T>, Error> + Sync + 'a;

struct Shared<'a, T> {
    root: &'a Path,
    skip: &'a HashSet<Vec<u8>>,
    visit: &'a Visit<'a, T>,
    /// Directories waiting, and how many workers are busy with one.
    queue: Mutex<(Vec<Work>, usize)>,
    wakeup: Condvar,
    error: Mutex<Option<Error>>,
}

pub(crate) fn abs(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(std::ffi::OsStr::from_bytes(rel))
}

/// Lists files (regular, executable, symlink) at or under `within` (`""`: all),
/// sorted by path. `.pg` and `.git` directories are never entered, nor the
/// directories in `skip` (gitlinks).
pub(crate) fn scan(root: &Path, within: &[u8], skip: &HashSet<Vec<u8>>) -> Result<Vec<Found>, Error> {
    let mut found =
        scan_with(root, within, skip, &|path, meta| Ok(Some(Found { path: path.to_vec(), meta })))?;
    found.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Walks like [`scan`], calling `visit` for each file on the walking threads and
/// keeping what it returns, in no particular order.
pub(crate) fn scan_with<T: Send>(
    root: &Path,
    within: &[u8],
    skip: &HashSet<Vec<u8>>,
    visit: &Visit<T>,
) -> Result<Vec<T>, Error> {
    let start = abs(root, within);
    match FileMeta::lstat(&start) {
        Ok(m) if !m.is_dir() => return Ok(visit(within, m)?.into_iter().collect()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io { path: start, source }),
    }
    let shared = Shared {
        root,
        skip,
        visit,
        queue: Mutex::new((vec![Work { dir: within.to_vec(), ignores: ignores_above(root, within) }], 0)),
        wakeup: Condvar::new(),
        error: Mutex::new(None),
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let found: Vec<T> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads).map(|_| s.spawn(|| worker(&shared))).collect();
        workers.into_iter().flat_map(|w| w.join().expect("walk workers do not panic")).collect()
    });
    if let Some(error) = shared.error.into_inner().expect("no panics") {
        return Err(error);
    }
    Ok(found)
}

/// The ignore stack in force at `within`, from the `.pgignore` files above it.
fn ignores_above(root: &Path, within: &[u8]) -> Arc<Ignores> {
    ignores_along(root, within, |_, _, _| false).0
}

/// Whether `path` (a directory when `is_dir`) of the working copy at `root` is
/// hidden by a `.pgignore`: itself, or a directory above it, as a walk of the
/// working copy would never enter that directory.
pub fn is_ignored(root: &Path, path: &[u8], is_dir: bool) -> bool {
    ignores_along(root, path, |ignores, full, last| ignores.ignores(full, is_dir || !last)).1
}

/// Goes down `path` one name at a time with the ignore stack of the directory
/// that name is in, until `stop(stack, full path, last name)` says so. Returns
/// the stack of `path`'s directory and whether it stopped.
fn ignores_along(
    root: &Path,
    path: &[u8],
    mut stop: impl FnMut(&Ignores, &Path, bool) -> bool,
) -> (Arc<Ignores>, bool) {
    let mut ignores = Ignores::root();
    let mut dir = Vec::new();
    let parts: Vec<&[u8]> = if path.is_empty() { Vec::new() } else { path.split(|&b| b == b'/').collect() };
    for (k, part) in parts.iter().enumerate() {
        let here = abs(root, &dir);
        ignores = ignores.child(&here, here.join(IGNORE_FILE).is_file());
        dir = crate::index::join(&dir, part);
        if stop(&ignores, &abs(root, &dir), k + 1 == parts.len()) {
            return (ignores, true);
        }
    }
    (ignores, false)
}

fn worker<T>(shared: &Shared<T>) -> Vec<T> {
    let mut found = Vec::new();
    while let Some(work) = next_dir(shared) {
        let mut subdirs = Vec::new();
        if let Err(e) = read_dir(shared, work, &mut found, &mut subdirs) {
            shared.error.lock().expect("no panics").get_or_insert(e);
        }
        let mut queue = shared.queue.lock().expect("no panics");
        queue.0.extend(subdirs);
        queue.1 -= 1;
        shared.wakeup.notify_all();
    }
    found
}

/// The next directory to read, or `None` when every directory has been read.
fn next_dir<T>(shared: &Shared<T>) -> Option<Work> {
    let mut queue = shared.queue.lock().expect("no panics");
    loop {
        if let Some(work) = queue.0.pop() {
            queue.1 += 1;
            return Some(work);
        }
        if queue.1 == 0 {
            return None;
        }
        queue = shared.wakeup.wait(queue).expect("no panics");
    }
}

fn read_dir<T>(
    shared: &Shared<T>,
    work: Work,
    found: &mut Vec<T>,
    subdirs: &mut Vec<Work>,
) -> Result<(), Error> {
    let dir_path = abs(shared.root, &work.dir);
    let io = |source: rustix::io::Errno| Error::Io { path: dir_path.clone(), source: source.into() };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let fd = match rustix::fs::open(&dir_path, flags, Mode::empty()) {
        Ok(fd) => fd,
        // Removed while we walk: it is simply not there.
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    // The directory's own ignore file applies to its entries, so look for it first.
    let has_ignore_file = rustix::fs::statat(&fd, IGNORE_FILE, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile);
    let ignores = work.ignores.child(&dir_path, has_ignore_file);
    let mut path = work.dir.clone();
    if !path.is_empty() {
        path.push(b'/');
    }
    let prefix_len = path.len();
    // Entries are read in place from the kernel's buffer, and a file's path is built
    // in one reused buffer: no allocation per file unless the visitor keeps it.
    let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 16 * 1024];
    let mut entries = rustix::fs::RawDir::new(&fd, &mut buffer);
    while let Some(entry) = entries.next() {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let mut file_type = entry.file_type();
        // Stat files through their directory: no path lookup from the root.
        let meta = if file_type == FileType::Directory {
            None
        } else {
            match rustix::fs::statat(&fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => Some(FileMeta::from_stat(&st)),
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => {
                    let path = dir_path.join(std::ffi::OsStr::from_bytes(name));
                    return Err(Error::Io { path, source: e.into() });
                }
            }
        };
        if let Some(meta) = &meta {
            file_type = meta.file_type();
        }
        let is_dir = file_type == FileType::Directory;
        if is_dir && (name == b".pg" || name == b".git") {
            continue;
        }
        if !ignores.is_empty() && ignores.ignores(&dir_path.join(std::ffi::OsStr::from_bytes(name)), is_dir) {
            continue;
        }
        path.truncate(prefix_len);
        path.extend_from_slice(name);
        if is_dir {
            if !shared.skip.contains(&path) {
                subdirs.push(Work { dir: path.clone(), ignores: ignores.clone() });
            }
        } else if let (FileType::RegularFile | FileType::Symlink, Some(meta)) = (file_type, meta) {
            found.extend((shared.visit)(&path, meta)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(found: &[Found]) -> Vec<String> {
        found.iter().map(|f| String::from_utf8_lossy(&f.path).into_owned()).collect()
    }

    #[test]
    fn nested_ignore_files_apply_innermost_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "a.log",
            "keep.txt",
            "sub/b.log",
            "sub/c.txt",
            "sub/deep/d.txt",
            "build/x",
            ".git/config",
            ".pg/db",
        ] {
            let path = root.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::fs::write(root.join(".pgignore"), "*.log\nbuild/\n").unwrap();
        std::fs::write(root.join("sub/.pgignore"), "!b.log\ndeep\n").unwrap();
        let all = scan(root, b"", &HashSet::new()).unwrap();
        assert_eq!(paths(&all), [".pgignore", "keep.txt", "sub/.pgignore", "sub/b.log", "sub/c.txt"]);
        let sub = scan(root, b"sub", &HashSet::new()).unwrap();
        assert_eq!(paths(&sub), ["sub/.pgignore", "sub/b.log", "sub/c.txt"]);
        let skipped = scan(root, b"", &HashSet::from([b"sub".to_vec()])).unwrap();
        assert_eq!(paths(&skipped), [".pgignore", "keep.txt"]);
    }
}
