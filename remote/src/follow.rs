//! Following: a served repository announces its refs on gossipsub whenever they
//! change, and a mirror that hears the announcement fetches from the peer it
//! follows. Announcements are hints carrying a digest, never data: whatever
//! arrives is fetched over the sync protocol and checked like any fetch.

use crate::node::{Announcement, Node};
use crate::protocol::{self, Announce, Message};
use crate::sync::{self, Error, Url};
use crate::wire;
use pg_core::index::Index;
use pg_core::oplog::OpContext;
use pg_core::refs::RefTarget;
use pg_core::store::RefUpdate;
use pg_core::worktree::{self, NoProgress};
use pg_core::{HashAlgorithm, ObjectId, Repository};
use serde_bytes::ByteBuf;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// How often a served repository's refs are looked at for changes.
const WATCH_PERIOD: Duration = Duration::from_millis(250);

/// How often the current digest is announced even without a change, so that a
/// follower that missed an announcement (it was not yet in the mesh) catches up.
const REPEAT_PERIOD: Duration = Duration::from_secs(5);

/// How often a follower makes sure it is connected to the peer it follows.
const REDIAL_PERIOD: Duration = Duration::from_secs(3);

/// The digest of branches and tags: BLAKE3 of `<name> <id>\n` for each, sorted by
/// name; other refs (remote-tracking, pg's own) are left out.
pub fn refs_digest<'a>(refs: impl IntoIterator<Item = (&'a str, &'a ObjectId)>) -> ObjectId {
    let mut lines: Vec<String> = refs
        .into_iter()
        .filter(|(name, _)| name.starts_with("refs/heads/") || name.starts_with("refs/tags/"))
        .map(|(name, id)| format!("{name} {id}\n"))
        .collect();
    lines.sort_unstable();
    HashAlgorithm::Blake3.hash(lines.concat().as_bytes())
}

/// A repository's branches and tags, as (full name, commit or tag).
fn branches_and_tags(repo: &Repository) -> Result<Vec<(String, ObjectId)>, Error> {
    let mut refs = Vec::new();
    for prefix in ["refs/heads/", "refs/tags/"] {
        for (name, target) in repo.list_refs(prefix)? {
            if let RefTarget::Object(id) = target {
                refs.push((name, id));
            }
        }
    }
    Ok(refs)
}

fn digest_of(refs: &[(String, ObjectId)]) -> ObjectId {
    refs_digest(refs.iter().map(|(name, id)| (name.as_str(), id)))
}

/// The `sync/announce` envelope for a repository whose refs have `digest`.
pub fn announcement(repository: &ObjectId, digest: &ObjectId) -> Vec<u8> {
    wire::envelope(&Message::Announce(Announce {
        repository: ByteBuf::from(repository.as_bytes().to_vec()),
        refs: ByteBuf::from(digest.as_bytes().to_vec()),
    }))
}

/// Announces the repository at `workdir` on its topic until the node stops: at
/// once, whenever its branches or tags change, and every few seconds anyway.
pub async fn announce(node: Arc<Node>, workdir: PathBuf, repository: ObjectId) {
    let topic = protocol::topic(&repository);
    let _ = node.subscribe(&topic);
    let mut last: Option<(ObjectId, tokio::time::Instant)> = None;
    let mut ticks = tokio::time::interval(WATCH_PERIOD);
    loop {
        ticks.tick().await;
        // Read-only, so the owner's commands are never locked out.
        let Ok(digest) = Repository::discover_read_only(&workdir)
            .map_err(Error::from)
            .and_then(|r| branches_and_tags(&r).map(|refs| digest_of(&refs)))
        else {
            continue;
        };
        let due = match last {
            Some((previous, at)) => previous != digest || at.elapsed() >= REPEAT_PERIOD,
            None => true,
        };
        if due {
            if node.publish(&topic, announcement(&repository, &digest)).is_err() {
                return;
            }
            last = Some((digest, tokio::time::Instant::now()));
        }
    }
}

/// What one round of mirroring did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mirrored {
    /// Refs moved.
    pub moved: usize,
    /// Objects fetched.
    pub objects: usize,
    /// The digest of the branches and tags the peer advertised.
    pub digest: ObjectId,
}

/// Makes the repository at `workdir` a mirror of `url`'s branches and tags:
/// fetches what is new, then sets each branch and tag to the peer's. The checked-out
/// branch moves together with the working copy, unless that would overwrite local
/// edits (then it stays where it is until the next round).
pub async fn mirror(node: &Node, url: &Url, workdir: &Path) -> Result<Mirrored, Error> {
    let repo = Repository::discover(workdir)?;
    let haves: Vec<ObjectId> = branches_and_tags(&repo)?.into_iter().map(|(_, id)| id).collect();
    let session = sync::connect(node, url).await?;
    let advertised = session.advertised.refs.clone();
    let fetched = session.fetch(repo.store(), &haves, &NoProgress).await?;
    let checked_out = repo.head()?.branch().map(|b| format!("refs/heads/{b}"));
    let mut updates = Vec::new();
    for (name, id) in &advertised {
        let current = repo.read_ref(name)?;
        if current == Some(RefTarget::Object(*id)) {
            continue;
        }
        if checked_out.as_deref() == Some(name) && !move_working_copy(&repo, current.as_ref(), id)? {
            continue;
        }
        updates.push(RefUpdate { name: name.clone(), expected: current, new: Some(RefTarget::Object(*id)) });
    }
    let moved = updates.len();
    if moved > 0 {
        let context = OpContext {
            command: format!("follow {url}"),
            user: "pg serve --follow".into(),
            time: sync::now(),
        };
        repo.update_refs(&context, Vec::new(), updates)?;
    }
    Ok(Mirrored { moved, objects: fetched.objects, digest: digest_of(&advertised) })
}

/// Checks out `to`'s tree over `from`'s; false when local edits are in the way.
fn move_working_copy(repo: &Repository, from: Option<&RefTarget>, to: &ObjectId) -> Result<bool, Error> {
    let mut index = Index::load(&repo.index_path()).map_err(|e| Error::Refused(e.to_string()))?;
    let from = from.and_then(RefTarget::as_object);
    match worktree::switch(repo, &mut index, from, Some(to), &NoProgress) {
        Ok(_) => Ok(true),
        Err(worktree::Error::WouldOverwrite(_)) => Ok(false),
        Err(e) => Err(Error::Refused(e.to_string())),
    }
}

/// Keeps the repository at `workdir` a mirror of `url` until the node stops:
/// mirrors at once, then whenever the followed peer announces refs other than the
/// ones last mirrored. `report` hears how each round went.
pub async fn follow(
    node: Arc<Node>,
    url: Url,
    workdir: PathBuf,
    mut announcements: UnboundedReceiver<Announcement>,
    report: impl Fn(Result<Mirrored, Error>),
) {
    let topic = protocol::topic(&url.repository);
    let _ = node.subscribe(&topic);
    let leader = crate::node::peer_of(&url.address);
    let mut last: Option<ObjectId> = None;
    let mut redial = tokio::time::interval(REDIAL_PERIOD);
    let mut pending = true;
    loop {
        if pending {
            let round = mirror(&node, &url, &workdir).await;
            if let Ok(mirrored) = &round {
                last = Some(mirrored.digest);
            }
            pending = round.is_err();
            report(round);
        }
        tokio::select! {
            heard = announcements.recv() => {
                let Some(heard) = heard else { return };
                if heard.topic != topic || heard.source != leader {
                    continue;
                }
                if let Ok(Message::Announce(announce)) = wire::open(&heard.data) {
                    pending |= last.is_none_or(|d| d.as_bytes() != announce.refs.as_slice());
                }
            }
            _ = redial.tick() => {
                let _ = node.dial(&url.address).await;
            }
        }
    }
}
