//! The `git fast-import` stream format: a streaming parser ([`Parser`]) of the
//! whole grammar that git's documentation gives, yielding one [`Command`] at a time
//! so memory stays bounded however long the stream is.

mod apply;
mod parse;
mod tree;

pub use apply::{import, ImportError, Options, Progress, Stats};
pub use parse::{ParseError, Parser};

/// A mark: `:N`, a stream-local name for an object.
pub type Mark = u64;

/// Where a commit, tag or reset points: resolved by the importer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitIsh {
    /// A mark defined earlier in the stream.
    Mark(Mark),
    /// A branch name, a full ref name or a git object id in hex.
    Name(Vec<u8>),
}

/// Where a file's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataRef {
    /// A blob given earlier with a mark.
    Mark(Mark),
    /// An object by its git id in hex (already in the repository).
    Id(Vec<u8>),
    /// The data that followed the command.
    Inline(Vec<u8>),
}

/// One change to the tree of the commit being built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileOp {
    /// `M`: put content at a path.
    Modify {
        /// The mode, normalised (`644` is `100644`).
        mode: Vec<u8>,
        /// The content.
        source: DataRef,
        /// The path.
        path: Vec<u8>,
    },
    /// `D`: remove a file or directory.
    Delete(Vec<u8>),
    /// `C`: copy a file or directory.
    Copy {
        /// From.
        source: Vec<u8>,
        /// To.
        destination: Vec<u8>,
    },
    /// `R`: rename a file or directory.
    Rename {
        /// From.
        source: Vec<u8>,
        /// To.
        destination: Vec<u8>,
    },
    /// `deleteall`: start from an empty tree.
    DeleteAll,
    /// `N`: attach a note to a commit.
    Note {
        /// The note's content.
        source: DataRef,
        /// The annotated commit.
        commit: CommitIsh,
    },
}

/// A commit signature carried by the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The git hash algorithm it applies to (`sha1` or `sha256`).
    pub algorithm: Vec<u8>,
    /// The signature format (`openpgp`, `ssh`, `x509`), when given.
    pub format: Option<Vec<u8>>,
    /// The signature.
    pub data: Vec<u8>,
}

/// A `commit` command.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CommitCommand {
    /// The branch it is made on.
    pub reference: Vec<u8>,
    /// Its mark.
    pub mark: Option<Mark>,
    /// The id it had in the system that exported it.
    pub original_oid: Option<Vec<u8>>,
    /// Raw author identity (the committer's when absent).
    pub author: Option<Vec<u8>>,
    /// Raw committer identity.
    pub committer: Vec<u8>,
    /// Signatures, in order.
    pub signatures: Vec<Signature>,
    /// The message's encoding, when not UTF-8.
    pub encoding: Option<Vec<u8>>,
    /// The message.
    pub message: Vec<u8>,
    /// The first parent, when given.
    pub from: Option<CommitIsh>,
    /// Further parents.
    pub merges: Vec<CommitIsh>,
    /// Tree changes, in order.
    pub ops: Vec<FileOp>,
}

/// A `tag` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagCommand {
    /// The tag's name (without `refs/tags/`).
    pub name: Vec<u8>,
    /// Its mark.
    pub mark: Option<Mark>,
    /// What it tags.
    pub from: CommitIsh,
    /// The id it had in the system that exported it.
    pub original_oid: Option<Vec<u8>>,
    /// Raw tagger identity, when there is one.
    pub tagger: Option<Vec<u8>>,
    /// The message (with its signature appended, when signed).
    pub message: Vec<u8>,
}

/// One command of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `blob`.
    Blob {
        /// Its mark.
        mark: Option<Mark>,
        /// The id it had in the system that exported it.
        original_oid: Option<Vec<u8>>,
        /// The content.
        data: Vec<u8>,
    },
    /// `commit`.
    Commit(CommitCommand),
    /// `tag`.
    Tag(TagCommand),
    /// `reset`: create or move a branch.
    Reset {
        /// The ref.
        reference: Vec<u8>,
        /// Where it goes (`None`: it is deleted, or started afresh).
        from: Option<CommitIsh>,
    },
    /// `alias`: a mark for an existing object.
    Alias {
        /// The new mark.
        mark: Mark,
        /// What it names.
        to: CommitIsh,
    },
    /// `checkpoint`: make everything so far durable, refs included.
    Checkpoint,
    /// `progress`: a message to show.
    Progress(Vec<u8>),
    /// `done`: the stream ends here.
    Done,
    /// `feature NAME[=ARG]`, already checked to be one pg supports.
    Feature {
        /// The feature.
        name: Vec<u8>,
        /// Its argument.
        argument: Option<Vec<u8>>,
    },
    /// `option ...`.
    Option(Vec<u8>),
}
