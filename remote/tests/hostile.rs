//! Peers that lie: a misbehaving node on loopback answers a real fetch with
//! oversized frames, silence, unasked-for objects, bytes that do not match their
//! ids, refs to objects it never sends, and nonsense. Each is refused, and the
//! fetching repository is left exactly as it was and passes fsck.

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use pg_core::object::Object;
use pg_core::oplog::OpContext;
use pg_core::repo::InitOptions;
use pg_core::worktree::NoProgress;
use pg_core::{fsck, HashAlgorithm, ObjectId, Repository};
use pg_remote::compress::Compressing;
use pg_remote::node::Node;
use pg_remote::protocol::{Message, Objects, Part, Refs, Sent};
use pg_remote::sync::{self, Url};
use pg_remote::{receive, wire};
use serde_bytes::ByteBuf;
use std::time::Duration;

/// How the hostile peer answers, once the client has asked for objects.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// A frame announcing more than the limit.
    HugeFrame,
    /// Nothing at all.
    Silence,
    /// Valid objects nobody asked for, without end.
    Endless,
    /// An object whose bytes are not those of the id it is sent with.
    WrongBytes,
    /// An object said to be compressed that does not decompress.
    BadCompression,
    /// A small frame said to rebuild to a gigabyte, in a batch.
    Inflated,
    /// `done` without sending what the advertised ref needs.
    MissingObjects,
    /// A frame of random bytes.
    Nonsense,
    /// An object in parts announced larger than any object may be.
    HugeObject,
    /// An object's parts with a gap between them.
    PartsWithAGap,
    /// A compression stream primed with a commit the client never named.
    UnnamedBase,
}

fn blob(text: &str) -> (ObjectId, Vec<u8>) {
    let bytes = Object::Blob(text.as_bytes().to_vec()).encode();
    (HashAlgorithm::Blake3.hash(&bytes), bytes)
}

/// An object sent whole: its piece of the transfer's compression `stream`.
fn whole(stream: &mut Compressing, (_, bytes): (ObjectId, Vec<u8>)) -> Sent {
    Sent(None, bytes.len() as u64, ByteBuf::from(stream.next(&bytes).unwrap()))
}

/// The whole of an object's data in one part, sent as the object `id`.
fn one_part(id: &ObjectId, data: &[u8], length: usize) -> Message {
    Message::Part(Part {
        id: ByteBuf::from(id.as_bytes().to_vec()),
        base: None,
        length: length as u64,
        total: data.len() as u64,
        offset: 0,
        data: ByteBuf::from(data.to_vec()),
    })
}

/// Serves one stream the hostile way: a ref to blob "wanted", then `how`.
async fn misbehave(mut stream: libp2p::Stream, how: Misbehaviour) {
    let _request = wire::read(&mut stream).await;
    let (wanted, _) = blob("wanted\n");
    let refs = Refs {
        repository: ByteBuf::from(vec![]),
        algorithm: "blake3".into(),
        head: Some("main".into()),
        refs: vec![("refs/heads/main".into(), ByteBuf::from(wanted.as_bytes().to_vec()))],
    };
    let _ = wire::write(&mut stream, &Message::Refs(refs)).await;
    let _want = wire::read(&mut stream).await;
    let mut compressing = Compressing::new(&[]).unwrap();
    let mut objects = |list: Vec<(ObjectId, Vec<u8>)>| {
        let objects = list.into_iter().map(|object| whole(&mut compressing, object)).collect();
        Message::Objects(Objects { objects, ..Objects::default() })
    };
    match how {
        Misbehaviour::HugeFrame => {
            let _ = stream.write_all(&(64u32 << 20).to_be_bytes()).await;
            let _ = stream.write_all(&[0; 1024]).await;
        }
        Misbehaviour::Silence => tokio::time::sleep(Duration::from_secs(30)).await,
        Misbehaviour::Endless => {
            for n in 0.. {
                if wire::write(&mut stream, &objects(vec![blob(&format!("junk {n}\n"))])).await.is_err() {
                    break;
                }
            }
        }
        Misbehaviour::WrongBytes => {
            let (_, other) = blob("something else\n");
            let piece = Compressing::new(&[]).unwrap().next(&other).unwrap();
            let _ = wire::write(&mut stream, &one_part(&wanted, &piece, other.len())).await;
        }
        Misbehaviour::BadCompression | Misbehaviour::Inflated => {
            let length = if matches!(how, Misbehaviour::Inflated) { 1 << 30 } else { 1000 };
            let sent = Sent(None, length, ByteBuf::from(b"not a zstd frame".to_vec()));
            let batch = Objects { objects: vec![sent], ..Objects::default() };
            let _ = wire::write(&mut stream, &Message::Objects(batch)).await;
        }
        Misbehaviour::MissingObjects => {
            let done = Objects { done: true, ..Objects::default() };
            let _ = wire::write(&mut stream, &Message::Objects(done)).await;
        }
        Misbehaviour::UnnamedBase => {
            let primed = Objects { bases: vec![3], ..Objects::default() };
            let _ = wire::write(&mut stream, &Message::Objects(primed)).await;
        }
        Misbehaviour::HugeObject | Misbehaviour::PartsWithAGap => {
            let (id, bytes) = blob("wanted\n");
            let part = |offset: u64, total: u64| Part {
                id: ByteBuf::from(id.as_bytes().to_vec()),
                base: None,
                length: bytes.len() as u64,
                total,
                offset,
                data: ByteBuf::from(bytes[..4].to_vec()),
            };
            let parts = match how {
                Misbehaviour::HugeObject => vec![part(0, 64 << 30)],
                _ => vec![part(0, bytes.len() as u64), part(5, bytes.len() as u64)],
            };
            for part in parts {
                let _ = wire::write(&mut stream, &Message::Part(part)).await;
            }
        }
        Misbehaviour::Nonsense => {
            let junk: Vec<u8> = (0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
            let _ = stream.write_all(&(junk.len() as u32).to_be_bytes()).await;
            let _ = stream.write_all(&junk).await;
        }
    }
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest).await;
}

/// Fetches from a hostile peer into a fresh repository; returns the error, after
/// checking that the repository is unchanged and passes fsck.
async fn fetch_from(how: Misbehaviour) -> sync::Error {
    let dir = tempfile::tempdir().unwrap();
    let context = OpContext { command: "test".into(), user: "t".into(), time: 0 };
    let repo = Repository::init(dir.path(), &InitOptions::default(), &context).unwrap();
    let objects_before = fsck::check(&repo).objects;
    let listen = ["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    let hostile = Node::start(libp2p::identity::Keypair::generate_ed25519(), &listen).await.unwrap();
    let address = hostile.url_address(&hostile.listen_addresses[0]);
    let mut incoming = hostile.accept();
    tokio::spawn(async move {
        while let Some((_, stream)) = incoming.next().await {
            tokio::spawn(misbehave(stream, how));
        }
    });
    let client = Node::start(libp2p::identity::Keypair::generate_ed25519(), &[]).await.unwrap();
    let url = Url { address, repository: repo.repository_id().unwrap().unwrap() };
    let mut session = sync::connect(&client, &url).await.unwrap();
    assert_eq!(session.advertised.peer, hostile.peer_id, "errors can name the peer");
    session.idle_timeout = Duration::from_secs(2);
    let error =
        session.fetch(repo.store(), &[], &NoProgress).await.expect_err("a hostile transfer is refused");
    let report = fsck::check(&repo);
    assert!(report.problems.is_empty(), "{how:?}: fsck found {:?}", report.problems);
    assert_eq!(report.objects, objects_before, "{how:?}: nothing was stored");
    assert!(repo.list_refs("refs/").unwrap().is_empty(), "{how:?}: no ref moved");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_over_the_limit_are_refused_unread() {
    let error = fetch_from(Misbehaviour::HugeFrame).await;
    assert!(matches!(error, sync::Error::Wire(wire::Error::TooLarge(n)) if n == 64 << 20), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_dropped() {
    let error = fetch_from(Misbehaviour::Silence).await;
    assert!(matches!(error, sync::Error::Silent(_)), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_objects_nobody_asked_for_is_cut_at_the_first() {
    let error = fetch_from(Misbehaviour::Endless).await;
    assert!(matches!(error, sync::Error::Receive(receive::Error::Unexpected(_))), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_match_their_id_are_refused() {
    let error = fetch_from(Misbehaviour::WrongBytes).await;
    assert!(matches!(error, sync::Error::Receive(receive::Error::Mismatch { .. })), "{error}");
}

/// Fetches from a peer that misbehaves `how`, and checks that the objects were
/// refused as malformed with an error saying each of `words`.
async fn refused_as_malformed(how: Misbehaviour, words: &[&str]) {
    let error = fetch_from(how).await;
    let said = error.to_string();
    assert!(matches!(error, sync::Error::Receive(receive::Error::Malformed { .. })), "{said}");
    assert!(words.iter().all(|word| said.contains(word)), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_that_do_not_decompress_are_refused() {
    refused_as_malformed(Misbehaviour::BadCompression, &["an object sent whole", "decompress"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_primed_with_commits_never_named_is_refused() {
    refused_as_malformed(Misbehaviour::UnnamedBase, &["stream", "primed with commits [3] of the 0 named"])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_objects_in_a_batch_are_refused_before_they_are_rebuilt() {
    refused_as_malformed(Misbehaviour::Inflated, &["1073741824 bytes in a batch"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refs_to_objects_never_sent_move_nothing() {
    let error = fetch_from(Misbehaviour::MissingObjects).await;
    assert!(matches!(error, sync::Error::Receive(receive::Error::Missing(_))), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_is_refused() {
    let error = fetch_from(Misbehaviour::Nonsense).await;
    assert!(
        matches!(error, sync::Error::Wire(wire::Error::NoFunction(_) | wire::Error::UnknownFunction(_))),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_larger_than_any_may_be_are_refused_before_they_arrive() {
    refused_as_malformed(Misbehaviour::HugeObject, &["more than the largest object"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_out_of_order_are_refused() {
    let error = fetch_from(Misbehaviour::PartsWithAGap).await;
    assert!(error.to_string().contains("out of order"), "{error}");
}
