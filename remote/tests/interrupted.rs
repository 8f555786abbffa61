//! A transfer cut in the middle, on real nodes on loopback: the fetching store
//! keeps only objects whose references are all stored (fsck passes), no ref
//! moves, and the next fetch is sent only what the first did not complete.

use futures::{AsyncRead, AsyncWrite, StreamExt};
use pg_core::object::{Commit, EntryKind, Mode, Object, Tree, TreeEntry};
use pg_core::oplog::OpContext;
use pg_core::refs::RefTarget;
use pg_core::repo::InitOptions;
use pg_core::store::RefUpdate;
use pg_core::worktree::Progress;
use pg_core::{fsck, ObjectId, Repository};
use pg_remote::node::Node;
use pg_remote::receive;
use pg_remote::sync::{self, Served, Url};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

fn context() -> OpContext {
    OpContext { command: "test".into(), user: "t".into(), time: 0 }
}

fn new_repo(dir: &std::path::Path, id: Option<ObjectId>) -> Repository {
    let options = InitOptions { repository_id: id, ..InitOptions::default() };
    Repository::init(dir, &options, &context()).unwrap()
}

fn entry(kind: EntryKind, name: &str, id: ObjectId) -> TreeEntry {
    TreeEntry { mode: Mode::for_kind(kind), name: name.as_bytes().to_vec(), id }
}

/// `main` in `repo`: `commits` commits, each adding a file of 32 KiB in
/// `files/` and changing `log.txt`.
fn make_history(repo: &Repository, commits: usize) -> ObjectId {
    let store = repo.store();
    let mut files = Vec::new();
    let mut parent: Option<ObjectId> = None;
    for n in 0..commits {
        // Incompressible, so the transfer spans several batches.
        let mut state = n as u64 + 1;
        let noise: Vec<u8> = (0..32 << 10)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let blob = store.write(&Object::Blob(noise)).unwrap();
        files.push(entry(EntryKind::File, &format!("f{n:03}"), blob));
        let dir = store.write(&Object::Tree(Tree { entries: files.clone() })).unwrap();
        let log = store.write(&Object::Blob(format!("{n} commits\n").into_bytes())).unwrap();
        let mut root = Tree {
            entries: vec![entry(EntryKind::Tree, "files", dir), entry(EntryKind::File, "log.txt", log)],
        };
        root.sort();
        let tree = store.write(&Object::Tree(root)).unwrap();
        let signature = format!("T <t@example.com> {} +0000", 1_700_000_000 + n).into_bytes();
        let commit = Commit {
            tree,
            parents: parent.into_iter().collect(),
            author: signature.clone(),
            committer: signature,
            extra_headers: Vec::new(),
            message: format!("commit {n}\n").into_bytes(),
        };
        parent = Some(store.write(&Object::Commit(commit)).unwrap());
    }
    let update =
        RefUpdate { name: "refs/heads/main".into(), expected: None, new: parent.map(RefTarget::Object) };
    repo.update_refs(&context(), Vec::new(), vec![update]).unwrap();
    parent.unwrap()
}

/// A stream whose writes fail once `left` bytes have gone through.
struct Cut<S> {
    inner: S,
    left: usize,
}

impl<S: AsyncRead + Unpin> AsyncRead for Cut<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Cut<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.left == 0 {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let allowed = buf.len().min(self.left);
        let written = futures::ready!(Pin::new(&mut self.inner).poll_write(cx, &buf[..allowed]))?;
        self.left -= written;
        Poll::Ready(Ok(written))
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Serves `served` on a new node, cutting each answer after `cut` bytes when given.
async fn serve(served: Served, cut: Option<usize>) -> Node {
    let listen = ["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let node = Node::start(libp2p::identity::Keypair::generate_ed25519(), &listen).await.unwrap();
    let mut incoming = node.accept();
    let served = Arc::new(served);
    tokio::spawn(async move {
        while let Some((_, stream)) = incoming.next().await {
            let served = served.clone();
            tokio::spawn(async move {
                let mut stream = Cut { inner: stream, left: cut.unwrap_or(usize::MAX) };
                let _ = served.answer(&mut stream).await;
            });
        }
    });
    node
}

/// Counts the objects a fetch says arrived.
#[derive(Default)]
struct Counted(std::sync::atomic::AtomicU64);

impl Progress for Counted {
    fn start(&self, _: u64) {}

    fn advance(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn fetch(
    client: &Node,
    server: &Node,
    repo: &Repository,
    id: ObjectId,
) -> Result<sync::Fetched, sync::Error> {
    let url = Url { address: server.url_address(&server.listen_addresses[0]), repository: id };
    let counted = Counted::default();
    let fetched = sync::connect(client, &url).await?.fetch(repo.store(), &[], &counted).await?;
    assert_eq!(counted.0.into_inner(), fetched.objects as u64, "progress counts every object received");
    Ok(fetched)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_transfer_keeps_complete_objects_and_the_next_fetch_takes_only_the_rest() {
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let origin = new_repo(dirs[0].path(), None);
    let id = origin.repository_id().unwrap().unwrap();
    let tip = make_history(&origin, 100);
    let mut served = Served::default();
    served.add(id, dirs[0].path().to_owned());
    let honest = serve(served, None).await;
    let client = Node::start(libp2p::identity::Keypair::generate_ed25519(), &[]).await.unwrap();

    // The whole transfer, to know its size.
    let whole = fetch(&client, &honest, &new_repo(dirs[1].path(), Some(id)), id).await.unwrap();

    let mut served = Served::default();
    served.add(id, dirs[0].path().to_owned());
    let cutting = serve(served, Some(whole.wire_bytes as usize / 2)).await;
    let repo = new_repo(dirs[2].path(), Some(id));
    let before = fsck::check(&repo).objects;
    let error = fetch(&client, &cutting, &repo, id).await.expect_err("the cut transfer fails");
    assert!(matches!(error, sync::Error::Wire(_)), "{error}");
    let report = fsck::check(&repo);
    assert!(report.problems.is_empty(), "fsck after the cut: {:?}", report.problems);
    let kept = (report.objects - before) as usize;
    assert!(kept > 0 && kept < whole.objects, "kept {kept} of {}", whole.objects);
    assert!(repo.list_refs("refs/").unwrap().is_empty(), "no ref moved");
    let unfinished = receive::unfinished(repo.store()).unwrap();
    assert!(!unfinished.is_empty(), "the stored commits are recorded");

    let rest = fetch(&client, &honest, &repo, id).await.unwrap();
    // Nothing stored is sent again: not even the parts of the commit being sent
    // when the transfer was cut.
    assert_eq!(rest.objects, whole.objects - kept, "kept {kept} of {}", whole.objects);
    let report = fsck::check(&repo);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.objects - before, whole.objects as u64);
    assert!(repo.store().read_commit(&tip).is_ok());
    assert!(receive::unfinished(repo.store()).unwrap().is_empty(), "a finished fetch clears the record");
}
