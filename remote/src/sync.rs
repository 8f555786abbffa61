//! The sync protocol's two sides: serving a repository's refs and objects, and
//! fetching them.

use crate::compress::{self, Compressing};
use crate::node::{self, Node};
use crate::protocol::{Failure, ListRefs, Message, Objects, Part, Push, Pushed, Refs, Sent, Want};
use crate::receive::{self, Receiver};
use crate::{negotiate, wire};
use futures::{AsyncRead, AsyncWrite};
use libp2p::{Multiaddr, PeerId};
use pg_core::refs::RefTarget;
use pg_core::store::delta::Compressor;
use pg_core::store::{self, RefUpdate, Store, Stored};
use pg_core::worktree::{NoProgress, Progress};
use pg_core::{HashAlgorithm, ObjectId, Repository};
use serde_bytes::ByteBuf;
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Objects are sent in batches of about this many bytes (small enough that a cut
/// transfer loses little, large enough that framing costs nothing).
const BATCH_BYTES: usize = 1 << 20;

/// Errors of a sync session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The stream broke or carried something malformed.
    #[error(transparent)]
    Wire(#[from] wire::Error),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] node::Error),
    /// Objects were refused.
    #[error(transparent)]
    Receive(#[from] receive::Error),
    /// The other side refused, saying why.
    #[error("the peer refused: {0}")]
    Refused(String),
    /// A message out of turn.
    #[error("the peer sent {got} where {expected} was expected")]
    Unexpected {
        /// What the protocol expected.
        expected: &'static str,
        /// What came.
        got: &'static str,
    },
    /// The remote branch has commits the pusher lacks.
    #[error("{0} on the remote has commits you do not have: pull (or fetch and merge) first, or push with --force")]
    NotFastForward(String),
    /// The peer sent nothing for too long.
    #[error("the peer sent nothing for {0:?}")]
    Silent(Duration),
    /// An advertised ref or id makes no sense.
    #[error("the peer advertised {0}")]
    BadAdvertisement(String),
    /// A request that makes no sense.
    #[error("the peer sent a malformed request: {0}")]
    BadRequest(String),
    /// Compressing what is sent failed.
    #[error("cannot compress the objects to send: {0}")]
    Compress(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The repository failed.
    #[error(transparent)]
    Repo(#[from] pg_core::repo::Error),
    /// No peer serving the repository was found.
    #[error("no peer serving repository {0} was found (on the LAN, or from the peers given with --peer); give its URL from `pg serve`, or a peer that knows it")]
    NotFound(ObjectId),
    /// The other side of a pipe inside this node stopped (its own error is the
    /// one to report).
    #[error("stopped")]
    Stopped,
}

/// Where a repository is served: a peer's address and the repository's id,
/// written `<multiaddr ending in /p2p/<peer id>>#<repository id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The peer's address, with its peer id.
    pub address: Multiaddr,
    /// The repository.
    pub repository: ObjectId,
}

impl FromStr for Url {
    type Err = String;
    fn from_str(text: &str) -> Result<Url, String> {
        let (address, repository) = text
            .split_once('#')
            .ok_or("a pg URL is <multiaddr>/p2p/<peer id>#<repository id> (from `pg serve`)")?;
        let address: Multiaddr =
            address.parse().map_err(|e| format!("'{address}' is not a multiaddr: {e}"))?;
        node::peer_of(&address).ok_or("the address must end in /p2p/<peer id>")?;
        let repository =
            repository.parse().map_err(|e| format!("'{repository}' is not a repository id: {e}"))?;
        Ok(Url { address, repository })
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.address, self.repository)
    }
}

fn name_of(message: &Message) -> &'static str {
    message.function().name()
}

/// A ref change a push asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    /// The ref.
    pub name: String,
    /// Its value before (`None`: absent).
    pub old: Option<ObjectId>,
    /// Its value after.
    pub new: ObjectId,
}

/// What runs around an accepted push (hooks, in the CLI): `before` may refuse it,
/// `after` is told once the ref moved.
pub struct ReceiveHooks {
    /// Runs before the ref moves; an error refuses the push with that message.
    pub before: Box<BeforeReceive>,
    /// Runs after the ref moved.
    pub after: Box<AfterReceive>,
}

/// A check before a pushed ref moves (an error refuses the push, saying why).
pub type BeforeReceive = dyn Fn(&Repository, &RefChange) -> Result<(), String> + Send + Sync;
/// What runs after a pushed ref moved.
pub type AfterReceive = dyn Fn(&Repository, &RefChange) + Send + Sync;

/// The repositories a node serves, by id: where their working copies are. Each
/// request opens its repository read-only (a push, read-write only for the push),
/// so serving never locks out the repository's owner.
#[derive(Default)]
pub struct Served {
    repositories: HashMap<ObjectId, PathBuf>,
    /// Accept pushes, with these hooks.
    pub pushes: Option<ReceiveHooks>,
}

impl Served {
    /// Serves the repository at `workdir` under its id.
    pub fn add(&mut self, id: ObjectId, workdir: PathBuf) {
        self.repositories.insert(id, workdir);
    }

    /// Answers one sync stream: the refs asked for, then the objects wanted.
    pub async fn answer<S: AsyncRead + AsyncWrite + Unpin>(&self, stream: &mut S) -> Result<(), Error> {
        let ListRefs { repository } = match wire::read(stream).await? {
            Message::ListRefs(request) => request,
            other => return Err(Error::Unexpected { expected: "sync/list-refs", got: name_of(&other) }),
        };
        let Some(workdir) = ObjectId::from_bytes(&repository).ok().and_then(|id| self.repositories.get(&id))
        else {
            let message = "no such repository is served here".to_owned();
            wire::write(stream, &Message::Error(Failure { message: message.clone() })).await?;
            return Err(Error::Refused(message));
        };
        let repo = Repository::discover_read_only(workdir)?;
        let (refs, advertised) = advertise(&repo, repository.into_vec())?;
        wire::write(stream, &Message::Refs(refs)).await?;
        let want = match wire::read(stream).await {
            Ok(Message::Want(want)) => want,
            Ok(Message::Push(push)) => {
                drop(repo);
                return self.receive_push(stream, workdir, push, advertised).await;
            }
            Ok(other) => return Err(Error::Unexpected { expected: "sync/want", got: name_of(&other) }),
            // The asker had everything and hung up.
            Err(wire::Error::Io(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let ids = |list: &[ByteBuf]| -> Result<Vec<ObjectId>, Error> {
            list.iter()
                .map(|b| ObjectId::from_bytes(b).map_err(|e| Error::BadRequest(format!("sync/want: {e}"))))
                .collect()
        };
        let haves = ids(&want.haves)?;
        let request =
            Request { wants: ids(&want.wants)?, named: haves.clone(), haves, stored: ids(&want.stored)? };
        send_objects(stream, repo.store(), request).await.map(|_| ())
    }
}

impl Served {
    /// Takes a push: its objects, checked as a fetch checks them, then the ref
    /// update if it still applies, is a fast-forward (unless forced) and the hooks
    /// agree. Refusals are answered with `sync/error`. `advertised`: the ids of
    /// the refs this side advertised, in order.
    async fn receive_push<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        workdir: &std::path::Path,
        push: Push,
        advertised: Vec<ObjectId>,
    ) -> Result<(), Error> {
        let outcome = self.apply_push(stream, workdir, &push, advertised).await;
        let reply = match &outcome {
            Ok(()) => Message::Pushed(Pushed { name: push.name.clone() }),
            Err(error) => Message::Error(Failure { message: error.to_string() }),
        };
        wire::write(stream, &reply).await?;
        outcome
    }

    async fn apply_push<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        workdir: &std::path::Path,
        push: &Push,
        advertised: Vec<ObjectId>,
    ) -> Result<(), Error> {
        let Some(hooks) = &self.pushes else {
            return Err(Error::Refused(
                "pushing is not allowed here (the server runs without --allow-push)".into(),
            ));
        };
        if !push.name.starts_with("refs/heads/") {
            return Err(Error::Refused(format!("only branches can be pushed, not {}", push.name)));
        }
        pg_core::refs::check_name(&push.name, "branch").map_err(|e| Error::Refused(e.to_string()))?;
        let id = |bytes: &[u8]| {
            ObjectId::from_bytes(bytes).map_err(|e| Error::BadAdvertisement(format!("id: {e}")))
        };
        let old = match &push.old {
            Some(bytes) => Some(id(bytes)?),
            None => None,
        };
        let change = RefChange { name: push.name.clone(), old, new: id(&push.new)? };
        let repo = Repository::discover(workdir)?;
        // As git's receive.denyCurrentBranch: moving the checked-out branch under
        // its working copy would leave the copy and the index out of step.
        if repo.head()?.branch().is_some_and(|b| format!("refs/heads/{b}") == change.name) {
            return Err(Error::Refused(format!(
                "{} is checked out in the served repository; push another branch (it can merge it)",
                change.name
            )));
        }
        receive_objects(stream, repo.store(), &[change.new], advertised, IDLE_TIMEOUT, &NoProgress).await?;
        let current = repo.resolve_ref(&change.name)?;
        if current != change.old {
            return Err(Error::Refused(format!(
                "{} moved since you looked; fetch and push again",
                change.name
            )));
        }
        if let (Some(old), false) = (change.old, push.force) {
            if !pg_core::history::is_ancestor(repo.store(), old, change.new)? {
                return Err(Error::Refused(format!(
                    "{} is not a fast-forward: the server has commits you do not; pull first, or push with --force",
                    change.name
                )));
            }
        }
        (hooks.before)(&repo, &change).map_err(Error::Refused)?;
        let context = pg_core::oplog::OpContext {
            command: format!("push {}", change.name),
            user: "a peer".into(),
            time: now(),
        };
        let update = RefUpdate {
            name: change.name.clone(),
            expected: change.old.map(RefTarget::Object),
            new: Some(RefTarget::Object(change.new)),
        };
        repo.update_refs(&context, Vec::new(), vec![update])?;
        (hooks.after)(&repo, &change);
        Ok(())
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Reads `sync/objects` batches up to the last into `store`, checked, and
/// stores them as they complete (see [`Receiver`]), from a sender told of the
/// commits `named`. Reading and checking run side by side: the stream is read
/// (and the sender kept busy) while a blocking thread checks and stores what
/// came before.
async fn receive_objects<S: AsyncRead + Unpin>(
    stream: &mut S,
    store: &Store,
    wants: &[ObjectId],
    named: Vec<ObjectId>,
    idle: Duration,
    progress: &dyn Progress,
) -> Result<Fetched, Error> {
    let receiver = Receiver::new(store, wants, named)?;
    let (batches, incoming) = tokio::sync::mpsc::channel::<Message>(READ_AHEAD);
    let checking = tokio::task::spawn_blocking(move || check_batches(receiver, incoming));
    let read = read_batches(stream, &batches, idle, progress).await;
    drop(batches);
    let (mut receiver, checked) =
        checking.await.map_err(|e| Error::Refused(format!("checking stopped: {e}")))?;
    // A refusal stops the reading too, and says more than the closed channel.
    let outcome = checked.and(read);
    let Ok(wire_bytes) = outcome else {
        // Keep what was checked and is complete: the next fetch need not ask again.
        let _ = receiver.flush();
        return outcome.map(|_| Fetched::default());
    };
    let bytes = receiver.bytes;
    let objects = receiver.finish(wants)?;
    Ok(Fetched { objects, bytes, wire_bytes })
}

/// Batches read but not yet checked, at most (about 1 MiB each).
const READ_AHEAD: usize = 16;

fn check_batches(
    mut receiver: Receiver,
    mut incoming: tokio::sync::mpsc::Receiver<Message>,
) -> (Receiver, Result<(), Error>) {
    while let Some(message) = incoming.blocking_recv() {
        let checked = match message {
            Message::Objects(batch) => {
                let primed = match batch.bases.is_empty() {
                    true => Ok(()),
                    false => receiver.prime(&batch.bases),
                };
                primed.and_then(|()| {
                    batch.objects.into_iter().try_for_each(|Sent(base, length, data)| {
                        receiver.add(base.as_ref().map(|b| b.as_slice()), length, data.into_vec()).map(|_| ())
                    })
                })
            }
            Message::Part(part) => receiver.add_part(part),
            _ => Ok(()),
        };
        if let Err(error) = checked {
            return (receiver, Err(error.into()));
        }
    }
    (receiver, Ok(()))
}

/// Reads `sync/objects` batches and `sync/part`s up to the batch marked done
/// into `batches`; returns the bytes of the frames read. Stops early, without error,
/// if the checking side stopped.
async fn read_batches<S: AsyncRead + Unpin>(
    stream: &mut S,
    batches: &tokio::sync::mpsc::Sender<Message>,
    idle: Duration,
    progress: &dyn Progress,
) -> Result<u64, Error> {
    let mut wire_bytes = 0;
    loop {
        let (message, size) =
            tokio::time::timeout(idle, wire::read_sized(stream)).await.map_err(|_| Error::Silent(idle))??;
        wire_bytes += size as u64;
        match message {
            Message::Objects(_) | Message::Part(_) => {
                let done = matches!(&message, Message::Objects(batch) if batch.done);
                progress.advance(match &message {
                    Message::Objects(batch) => batch.objects.len() as u64,
                    Message::Part(part) => u64::from(part.offset == 0),
                    _ => 0,
                });
                if batches.send(message).await.is_err() || done {
                    return Ok(wire_bytes);
                }
            }
            Message::Error(failure) => return Err(Error::Refused(failure.message)),
            other => return Err(Error::Unexpected { expected: "sync/objects", got: name_of(&other) }),
        }
    }
}

/// The refs message for a repository: branches and tags, and `HEAD`'s branch;
/// with the ids it lists, in order.
fn advertise(repo: &Repository, repository: Vec<u8>) -> Result<(Refs, Vec<ObjectId>), Error> {
    let mut refs = Vec::new();
    let mut ids = Vec::new();
    for prefix in ["refs/heads/", "refs/tags/"] {
        for (name, target) in repo.list_refs(prefix)? {
            if let RefTarget::Object(id) = target {
                refs.push((name, ByteBuf::from(id.as_bytes().to_vec())));
                ids.push(id);
            }
        }
    }
    let refs = Refs {
        repository: ByteBuf::from(repository),
        algorithm: repo.store().algorithm().name().to_owned(),
        head: repo.head()?.branch().map(str::to_owned),
        refs,
    };
    Ok((refs, ids))
}

/// What a peer is to be sent: the objects `wants` reach beyond `haves` (commits)
/// and `stored` (trees and blobs it has whole). `named`: the commits the peer
/// named (its haves, or the refs it advertised), which may prime the stream.
struct Request {
    wants: Vec<ObjectId>,
    haves: Vec<ObjectId>,
    stored: Vec<ObjectId>,
    named: Vec<ObjectId>,
}

/// Sends what `request` asks for in `sync/objects` batches (and `sync/part`s of
/// objects too large for a batch), the last marked done; returns how many objects
/// went. The walk runs on a blocking thread and hands over messages as it goes,
/// so objects leave while later trees are being read.
async fn send_objects<S: AsyncWrite + Unpin>(
    stream: &mut S,
    store: &Store,
    request: Request,
) -> Result<usize, Error> {
    let (messages, mut outgoing) = tokio::sync::mpsc::channel::<Message>(4);
    let store = store.clone();
    let walking = tokio::task::spawn_blocking(move || walk_batches(&store, &request, &messages));
    let mut count = 0;
    while let Some(message) = outgoing.recv().await {
        count += match &message {
            Message::Objects(batch) => batch.objects.len(),
            Message::Part(part) => usize::from(part.offset == 0),
            _ => 0,
        };
        wire::write(stream, &message).await?;
    }
    walking.await.map_err(|e| Error::Refused(format!("the walk stopped: {e}")))??;
    Ok(count)
}

/// Walks `request`'s objects into `sync/objects` batches of about
/// [`BATCH_BYTES`] on `messages`, an object whose data is larger than that, or
/// that rebuilds to more than [`receive::MAX_BATCHED_OBJECT`], in `sync/part`s of
/// its own (stopping quietly if nobody takes them any more). The first batch
/// names the commits that prime the compression stream, the last is marked done.
fn walk_batches(
    store: &Store,
    request: &Request,
    messages: &tokio::sync::mpsc::Sender<Message>,
) -> Result<(), Error> {
    let send = |message: Message| messages.blocking_send(message).map_err(|_| Error::Stopped);
    let bases = stream_bases(store, &request.named, &request.wants);
    let base_ids: Vec<ObjectId> = bases.iter().map(|&at| request.named[at as usize]).collect();
    let (primer, primed) = compress::primer(store, &base_ids)?;
    let stream = Compressing::new(&primer).map_err(Error::Compress)?;
    let mut packing = Packing { stream, primed, patches: Compressor::default() };
    let mut batch = Objects { bases, ..Objects::default() };
    let mut batch_bytes = 0;
    let walked = negotiate::objects_to_send(
        store,
        &request.wants,
        &request.haves,
        &request.stored,
        &mut |id, stored, bases| {
            let object = packing.sent_form(store, &id, stored, &bases)?;
            if object.2.len() > BATCH_BYTES || object.1 > receive::MAX_BATCHED_OBJECT {
                if !batch.objects.is_empty() || !batch.bases.is_empty() {
                    send(Message::Objects(std::mem::take(&mut batch)))?;
                }
                batch_bytes = 0;
                return parts(&id, object).try_for_each(|part| send(Message::Part(part)));
            }
            batch_bytes += object.2.len();
            batch.objects.push(object);
            if batch_bytes >= BATCH_BYTES {
                batch_bytes = 0;
                send(Message::Objects(std::mem::take(&mut batch)))?;
            }
            Ok(())
        },
    );
    batch.done = true;
    match walked.and_then(|()| send(Message::Objects(batch))) {
        Err(Error::Stopped) => Ok(()),
        other => other,
    }
}

/// Which of the commits the receiver named prime the transfer's stream: up to
/// [`receive::MAX_BASES`] that this side has, the wanted commits' parents first
/// (a new commit then costs little more than what is new in it); as positions in
/// `named`.
fn stream_bases(store: &Store, named: &[ObjectId], wants: &[ObjectId]) -> Vec<u64> {
    let parents: Vec<ObjectId> = wants
        .iter()
        .filter_map(|id| match store.read_unverified(id) {
            Ok(pg_core::object::Object::Commit(commit)) => Some(commit.parents),
            _ => None,
        })
        .flatten()
        .collect();
    let mut positions: Vec<usize> = (0..named.len()).collect();
    positions.sort_by_key(|&at| !parents.contains(&named[at]));
    positions
        .into_iter()
        .filter(|&at| matches!(store.kind(&named[at]), Ok(pg_core::object::ObjectKind::Commit)))
        .take(receive::MAX_BASES)
        .map(|at| at as u64)
        .collect()
}

/// An object's data cut into `sync/part`s of [`BATCH_BYTES`].
fn parts(id: &ObjectId, Sent(base, length, data): Sent) -> impl Iterator<Item = Part> {
    let id = ByteBuf::from(id.as_bytes().to_vec());
    let total = data.len() as u64;
    let pieces: Vec<(u64, Vec<u8>)> = data
        .chunks(BATCH_BYTES)
        .enumerate()
        .map(|(n, piece)| ((n * BATCH_BYTES) as u64, piece.to_vec()))
        .collect();
    pieces.into_iter().map(move |(offset, piece)| Part {
        id: id.clone(),
        base: base.clone(),
        length,
        total,
        offset,
        data: ByteBuf::from(piece),
    })
}

/// How a transfer's objects leave: what is not sent as a patch, as its piece of
/// the compression stream.
struct Packing {
    stream: Compressing,
    /// The trees the stream is primed with.
    primed: Vec<ObjectId>,
    /// Makes patches against the asker's versions.
    patches: Compressor,
}

impl Packing {
    /// How an object travels: as stored, unhashed (the receiver checks it); a
    /// delta too when the receiver will have its base (no rebuilding, a fraction
    /// of the bytes on the wire); else as a patch of the asker's version of it
    /// when that is small; else whole, as its piece of the stream.
    fn sent_form(
        &mut self,
        store: &Store,
        id: &ObjectId,
        stored: Stored,
        bases: &negotiate::Bases<'_>,
    ) -> Result<Sent, Error> {
        let full = match stored {
            Stored::Delta { base, frame, length } if bases.contains(&base) => {
                let base = ByteBuf::from(base.as_bytes().to_vec());
                return Ok(Sent(Some(base), length as u64, ByteBuf::from(frame)));
            }
            Stored::Whole(full) => full,
            Stored::Delta { .. } => store.read_raw(id)?,
        };
        if let Some(patch) = self.patch_of_previous(store, &full, bases.previous)? {
            return Ok(patch);
        }
        let piece = self.stream.next(&full).map_err(Error::Compress)?;
        Ok(Sent(None, full.len() as u64, ByteBuf::from(piece)))
    }

    /// `full` as a patch of `previous`, the asker's version of it (a directory or
    /// file as the asker has it), when that is under half its size: a changed
    /// directory's unchanged entries then cost nearly nothing, though their ids
    /// do not compress. Not when the stream is primed with `previous`: then the
    /// stream does as well without naming the base.
    fn patch_of_previous(
        &mut self,
        store: &Store,
        full: &[u8],
        previous: Option<ObjectId>,
    ) -> Result<Option<Sent>, Error> {
        // A patch names its base: an object under twice that cannot halve.
        let Some(previous) = previous
            .filter(|previous| !self.primed.contains(previous) && full.len() > 2 * previous.as_bytes().len())
        else {
            return Ok(None);
        };
        let base = store.backend().read_object(&previous)?.ok_or(store::Error::Missing(previous))?;
        let Some(frame) = self.patches.patch(full, &base) else { return Ok(None) };
        let base = previous.as_bytes();
        if frame.len() + base.len() >= full.len() / 2 {
            return Ok(None);
        }
        Ok(Some(Sent(Some(ByteBuf::from(base.to_vec())), full.len() as u64, ByteBuf::from(frame))))
    }
}

/// What a peer advertised for a repository.
#[derive(Debug, Clone)]
pub struct Advertised {
    /// The peer.
    pub peer: PeerId,
    /// The repository's hash function.
    pub algorithm: HashAlgorithm,
    /// The branch its `HEAD` names.
    pub head: Option<String>,
    /// Its branches and tags (full ref names).
    pub refs: Vec<(String, ObjectId)>,
}

/// A sync session with a peer, after its refs were listed.
pub struct Session {
    stream: libp2p::Stream,
    /// What the peer advertised.
    pub advertised: Advertised,
    /// How long the peer may stay silent during a transfer.
    pub idle_timeout: Duration,
}

/// The default for [`Session::idle_timeout`].
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Connects to `url`'s peer and lists the repository's refs.
pub async fn connect(node: &Node, url: &Url) -> Result<Session, Error> {
    let (peer, mut stream) = node.open(&url.address).await?;
    let request = ListRefs { repository: ByteBuf::from(url.repository.as_bytes().to_vec()) };
    wire::write(&mut stream, &Message::ListRefs(request)).await?;
    let refs = match wire::read(&mut stream).await? {
        Message::Refs(refs) => refs,
        Message::Error(failure) => return Err(Error::Refused(failure.message)),
        other => return Err(Error::Unexpected { expected: "sync/refs", got: name_of(&other) }),
    };
    let algorithm: HashAlgorithm = refs
        .algorithm
        .parse()
        .map_err(|_| Error::BadAdvertisement(format!("hash function '{}'", refs.algorithm)))?;
    let mut advertised = Vec::new();
    for (name, id) in refs.refs {
        let id =
            ObjectId::from_bytes(&id).map_err(|e| Error::BadAdvertisement(format!("ref {name}: {e}")))?;
        pg_core::refs::check_name(&name, "ref").map_err(|e| Error::BadAdvertisement(e.to_string()))?;
        advertised.push((name, id));
    }
    let advertised = Advertised { peer, algorithm, head: refs.head, refs: advertised };
    Ok(Session { stream, advertised, idle_timeout: IDLE_TIMEOUT })
}

/// Finds a peer serving `repository` (through mDNS and Kademlia, as the node was
/// started to) and lists its refs there; gives up after `patience`.
pub async fn locate(node: &Node, repository: ObjectId, patience: Duration) -> Result<(Url, Session), Error> {
    let deadline = tokio::time::Instant::now() + patience;
    let mut last_error = None;
    loop {
        for address in node.find_providers(&repository).await? {
            let url = Url { address, repository };
            match connect(node, &url).await {
                Ok(session) => return Ok((url, session)),
                Err(error) => last_error = Some(error),
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(last_error.unwrap_or(Error::NotFound(repository)));
        }
        // Discovery takes a moment: mDNS answers, the first peers connect.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Counts of a fetch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Objects received.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Bytes of the frames that carried them.
    pub wire_bytes: u64,
}

/// How a push ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The server already had the ref there.
    UpToDate,
    /// The server moved the ref.
    Moved {
        /// Where it was.
        old: Option<ObjectId>,
        /// Objects sent.
        objects: usize,
    },
}

impl Session {
    /// Pushes `new` to branch `name` (a full ref name): refuses before sending when
    /// the server's branch has commits `store` lacks (unless `force`), then sends
    /// the objects the server lacks and waits for its verdict.
    pub async fn push(
        mut self,
        store: &Store,
        name: &str,
        new: ObjectId,
        force: bool,
    ) -> Result<PushOutcome, Error> {
        let old = self.advertised.refs.iter().find(|(n, _)| n == name).map(|(_, id)| *id);
        if old == Some(new) {
            return Ok(PushOutcome::UpToDate);
        }
        if let (Some(old), false) = (old, force) {
            let known = store.backend().has_object(&old)?;
            if !known || !pg_core::history::is_ancestor(store, old, new)? {
                return Err(Error::NotFastForward(name.to_owned()));
            }
        }
        let mut haves = Vec::new();
        for (_, id) in &self.advertised.refs {
            if store.backend().has_object(id)? && store.kind(id)? == pg_core::object::ObjectKind::Commit {
                haves.push(*id);
            }
        }
        let bytes = |id: &ObjectId| ByteBuf::from(id.as_bytes().to_vec());
        let request = Push { name: name.to_owned(), old: old.as_ref().map(bytes), new: bytes(&new), force };
        wire::write(&mut self.stream, &Message::Push(request)).await?;
        // A server that refuses at once answers while the objects are still on their
        // way, and closes: its answer says why better than the broken stream does.
        let named = self.advertised.refs.iter().map(|(_, id)| *id).collect();
        let request = Request { wants: vec![new], haves, stored: Vec::new(), named };
        let sending = send_objects(&mut self.stream, store, request).await;
        let reply = tokio::time::timeout(self.idle_timeout, wire::read(&mut self.stream)).await;
        match (sending, reply) {
            (Ok(objects), Ok(Ok(Message::Pushed(_)))) => Ok(PushOutcome::Moved { old, objects }),
            (_, Ok(Ok(Message::Error(failure)))) => Err(Error::Refused(failure.message)),
            (_, Ok(Ok(other))) => Err(Error::Unexpected { expected: "sync/pushed", got: name_of(&other) }),
            (Err(error), _) => Err(error),
            (Ok(_), Ok(Err(error))) => Err(error.into()),
            (Ok(_), Err(_)) => Err(Error::Silent(self.idle_timeout)),
        }
    }

    /// Fetches what the advertised refs reach that `store` lacks, telling the peer
    /// about `haves` (commits the store has) and about the commits an unfinished
    /// transfer stored. Each object is checked before it is stored, and the fetch
    /// fails unless everything the refs need is here. `progress` is told of the
    /// objects as they arrive (their number is not known before).
    pub async fn fetch(
        mut self,
        store: &Store,
        haves: &[ObjectId],
        progress: &dyn Progress,
    ) -> Result<Fetched, Error> {
        let mut wants = Vec::new();
        for (_, id) in &self.advertised.refs {
            if !store.backend().has_object(id)? && !wants.contains(id) {
                wants.push(*id);
            }
        }
        if wants.is_empty() {
            return Ok(Fetched::default());
        }
        let mut haves = haves.to_vec();
        let mut stored = Vec::new();
        for id in receive::unfinished(store)? {
            match store.kind(&id)? {
                pg_core::object::ObjectKind::Commit => haves.push(id),
                _ => stored.push(id),
            }
        }
        let bytes = |ids: &[ObjectId]| ids.iter().map(|id| ByteBuf::from(id.as_bytes().to_vec())).collect();
        let want = Want { wants: bytes(&wants), haves: bytes(&haves), stored: bytes(&stored) };
        wire::write(&mut self.stream, &Message::Want(want)).await?;
        receive_objects(&mut self.stream, store, &wants, haves, self.idle_timeout, progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pg_core::object::Object;

    /// A commit of the empty tree with `parents` and `message`, written to `store`.
    fn commit(store: &Store, parents: &[ObjectId], message: &str) -> ObjectId {
        let tree = store.write(&Object::decode(b"tree 0\0").unwrap()).unwrap();
        let mut body = format!("tree {tree}\n");
        parents.iter().for_each(|parent| body.push_str(&format!("parent {parent}\n")));
        body.push_str(
            "author A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\n",
        );
        body.push_str(message);
        let encoding = format!("commit {}\0{body}", body.len());
        store.write(&Object::decode(encoding.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn the_stream_is_primed_with_named_commits_it_has_the_wanted_ones_parents_first() {
        let dir = tempfile::tempdir().unwrap();
        let context = pg_core::oplog::OpContext { command: "test".into(), user: "t".into(), time: 0 };
        let repo = Repository::init(dir.path(), &pg_core::repo::InitOptions::default(), &context).unwrap();
        let store = repo.store();
        let [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(|m| commit(store, &[], m));
        let child = commit(store, &[b], "child");
        let unknown = HashAlgorithm::Blake3.hash(b"not stored");
        let named = [a, unknown, b, c, d, e];
        assert_eq!(stream_bases(store, &named, &[child]), vec![2, 0, 3, 4]);
        assert_eq!(stream_bases(store, &[], &[child]), Vec::<u64>::new());
    }
}
