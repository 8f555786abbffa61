//! Writing a repository's history as a `git fast-import` stream.
//!
//! Commits come parents first, each with the file changes against its first parent
//! (deletions before additions, so a file can become a directory), blobs just
//! before the first commit that needs them, then annotated tags, then a `reset` per
//! ref to its exact tip. For history that came from a stream, `git fast-import` of
//! this output gives the ids `git fast-import` of the original gave.
//!
//! # Deviation from git
//! None in the format. Like git's own fast-export, a stream cannot carry commit
//! headers other than the encoding and signatures (`mergetag`, `change-id`, ...);
//! such commits are counted in [`Stats::lossy_commits`], and `pg export git` is the
//! exact path.

use pg_core::diff::{self, FileChange};
use pg_core::object::{Commit, EntryKind, Object, ObjectKind};
use pg_core::refs::RefTarget;
use pg_core::store::{self, Store};
use pg_core::{repo, ObjectId, Repository};
use std::collections::{HashMap, HashSet};
use std::io::Write;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A ref given on the command line does not exist.
    #[error("no ref named '{0}' (see `pg show-ref`)")]
    UnknownRef(String),
    /// Writing the stream failed.
    #[error("writing the stream: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// Reading refs failed.
    #[error(transparent)]
    Repo(#[from] repo::Error),
}

/// Counts of what an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Commits written.
    pub commits: u64,
    /// Blobs written.
    pub blobs: u64,
    /// Annotated tags written.
    pub tags: u64,
    /// Commits with headers the stream does not carry (dropped from it): headers a
    /// stream cannot express, and stripped signatures.
    pub lossy_commits: u64,
    /// Refs left out because they point at something a stream cannot reset to.
    pub skipped_refs: Vec<String>,
}

/// What to do with commit signatures, as `git fast-export --signed-commits` asks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignedCommits {
    /// Leave them out (git's default: older `git fast-import` rejects them).
    #[default]
    Strip,
    /// Write them as `gpgsig` commands.
    Verbatim,
}

/// Writes the history of `refs` (full names) to `out`.
pub fn export(
    repo: &Repository,
    refs: &[String],
    signed_commits: SignedCommits,
    out: &mut dyn Write,
) -> Result<Stats, ExportError> {
    let mut targets = Vec::new();
    for name in refs {
        match repo.read_ref(name)? {
            Some(RefTarget::Object(id)) => targets.push((name.clone(), id)),
            _ => return Err(ExportError::UnknownRef(name.clone())),
        }
    }
    let mut exporter = Exporter {
        store: repo.store(),
        out,
        marks: HashMap::new(),
        next_mark: 1,
        signed_commits,
        stats: Stats::default(),
    };
    for (name, id) in &targets {
        exporter.object(name, *id)?;
    }
    for (name, id) in &targets {
        match exporter.marks.get(id) {
            Some(mark) if exporter.store.kind(id)? == ObjectKind::Commit => {
                writeln!(exporter.out, "reset {name}\nfrom :{mark}\n")?
            }
            // Annotated tags are written by their `tag` command.
            Some(_) if name.starts_with("refs/tags/") => {}
            _ => exporter.stats.skipped_refs.push(name.clone()),
        }
    }
    exporter.out.flush()?;
    Ok(exporter.stats)
}

struct Exporter<'a> {
    store: &'a Store,
    out: &'a mut dyn Write,
    marks: HashMap<ObjectId, u64>,
    next_mark: u64,
    signed_commits: SignedCommits,
    stats: Stats,
}

impl Exporter<'_> {
    fn mark(&mut self, id: ObjectId) -> u64 {
        let mark = self.next_mark;
        self.next_mark += 1;
        self.marks.insert(id, mark);
        mark
    }

    /// Writes what a ref points at (and everything it needs), once.
    fn object(&mut self, reference: &str, id: ObjectId) -> Result<(), ExportError> {
        if self.marks.contains_key(&id) {
            return Ok(());
        }
        match self.store.read(&id)? {
            Object::Commit(_) => self.history(reference, id),
            Object::Tag(tag) => {
                self.object(reference, tag.object)?;
                let Some(target) = self.marks.get(&tag.object).copied() else { return Ok(()) };
                let mark = self.mark(id);
                let name = String::from_utf8_lossy(&tag.name).into_owned();
                writeln!(self.out, "tag {name}\nmark :{mark}\nfrom :{target}")?;
                if let Some(tagger) = &tag.tagger {
                    self.line(b"tagger ", tagger)?;
                }
                self.data(&tag.message)?;
                self.stats.tags += 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes every commit reachable from `tip` that is not written yet, parents
    /// first.
    fn history(&mut self, reference: &str, tip: ObjectId) -> Result<(), ExportError> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![(tip, false)];
        while let Some((id, parents_done)) = stack.pop() {
            if parents_done {
                order.push(id);
                continue;
            }
            if self.marks.contains_key(&id) || !seen.insert(id) {
                continue;
            }
            stack.push((id, true));
            let commit = self.store.read_commit(&id)?;
            stack.extend(commit.parents.iter().rev().map(|p| (*p, false)));
        }
        for id in order {
            let commit = self.store.read_commit(&id)?;
            self.commit(reference, id, &commit)?;
        }
        Ok(())
    }

    fn commit(&mut self, reference: &str, id: ObjectId, commit: &Commit) -> Result<(), ExportError> {
        let parent_tree = match commit.parents.first() {
            Some(parent) => Some(self.store.read_commit(parent)?.tree),
            None => None,
        };
        let changes =
            diff::diff_trees(&|id| self.store.read_tree(id), parent_tree.as_ref(), Some(&commit.tree))?;
        for change in &changes {
            if let Some(new) = change.new.filter(|n| n.mode.kind() != EntryKind::Gitlink) {
                if !self.marks.contains_key(&new.id) {
                    let data = self.store.read_blob(&new.id)?;
                    let mark = self.mark(new.id);
                    writeln!(self.out, "blob\nmark :{mark}")?;
                    self.data(&data)?;
                    self.stats.blobs += 1;
                }
            }
        }
        if commit.parents.is_empty() {
            // A root commit: start the branch afresh, whatever it held.
            writeln!(self.out, "reset {reference}")?;
        }
        let mark = self.mark(id);
        writeln!(self.out, "commit {reference}\nmark :{mark}")?;
        self.line(b"author ", &commit.author)?;
        self.line(b"committer ", &commit.committer)?;
        let mut lossy = false;
        for header in &commit.extra_headers {
            match header.key.as_slice() {
                b"gpgsig" | b"gpgsig-sha256" if self.signed_commits == SignedCommits::Strip => lossy = true,
                b"gpgsig" | b"gpgsig-sha256" => {
                    let algorithm = if header.key == b"gpgsig" { "sha1" } else { "sha256" };
                    writeln!(self.out, "gpgsig {algorithm} {}", signature_format(&header.value))?;
                    self.data(&[&header.value[..], b"\n"].concat())?;
                }
                b"encoding" => self.line(b"encoding ", &header.value)?,
                _ => lossy = true,
            }
        }
        self.stats.lossy_commits += u64::from(lossy);
        self.data(&commit.message)?;
        for (i, parent) in commit.parents.iter().enumerate() {
            let parent_mark = self.marks[parent];
            writeln!(self.out, "{} :{parent_mark}", if i == 0 { "from" } else { "merge" })?;
        }
        self.file_ops(&changes)?;
        writeln!(self.out)?;
        self.stats.commits += 1;
        Ok(())
    }

    /// `D` lines first, then `M` lines: a path may stop being a file before a
    /// directory of the same name appears (git's own fast-export can get this
    /// order wrong).
    fn file_ops(&mut self, changes: &[FileChange]) -> Result<(), ExportError> {
        for change in changes.iter().filter(|c| c.new.is_none()) {
            self.out.write_all(b"D ")?;
            self.path(&change.path)?;
        }
        for change in changes {
            let Some(new) = change.new else { continue };
            let mode = String::from_utf8_lossy(new.mode.as_bytes()).into_owned();
            match new.mode.kind() {
                EntryKind::Gitlink => {
                    write!(self.out, "M {mode} {} ", pg_core::id::hex_encode(new.id.digest()))?
                }
                _ => write!(self.out, "M {mode} :{} ", self.marks[&new.id])?,
            }
            self.path(&change.path)?;
        }
        Ok(())
    }

    fn line(&mut self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        self.out.write_all(key)?;
        self.out.write_all(value)?;
        self.out.write_all(b"\n")
    }

    fn data(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        writeln!(self.out, "data {}", bytes.len())?;
        self.out.write_all(bytes)?;
        self.out.write_all(b"\n")
    }

    /// A path, C-quoted when it holds bytes a plain path cannot.
    fn path(&mut self, path: &[u8]) -> std::io::Result<()> {
        let plain = !path.starts_with(b"\"") && !path.iter().any(|&b| b == b'\n' || b == b'\\' || b < 0x20);
        if plain {
            self.out.write_all(path)?;
            return self.out.write_all(b"\n");
        }
        let mut quoted = vec![b'"'];
        for &b in path {
            match b {
                b'"' | b'\\' => quoted.extend_from_slice(&[b'\\', b]),
                b'\n' => quoted.extend_from_slice(b"\\n"),
                b'\t' => quoted.extend_from_slice(b"\\t"),
                0..=0x1f => quoted.extend_from_slice(format!("\\{b:03o}").as_bytes()),
                _ => quoted.push(b),
            }
        }
        quoted.extend_from_slice(b"\"\n");
        self.out.write_all(&quoted)
    }
}

/// The signature format fast-import expects, from the signature's armour.
fn signature_format(signature: &[u8]) -> &'static str {
    if signature.starts_with(b"-----BEGIN SSH") {
        "ssh"
    } else if signature.starts_with(b"-----BEGIN SIGNED MESSAGE") {
        "x509"
    } else {
        "openpgp"
    }
}
