//! docs/PROTOCOL.md against the implementation: function ids, frames, and what
//! the documented compression streams rebuild.

use pg_core::id::hex_decode;
use pg_core::object::Object;
use pg_core::oplog::OpContext;
use pg_core::repo::InitOptions;
use pg_core::{HashAlgorithm, Repository};
use pg_remote::compress::{self, Decompressing};
use pg_remote::follow::{announcement, refs_digest};
use pg_remote::protocol::{Function, ListRefs, Message, Objects, Sent};
use pg_remote::wire;
use serde_bytes::ByteBuf;

const DOC: &str = include_str!("../../docs/PROTOCOL.md");

/// The values of the documented lines starting `name`, in order.
fn fields(name: &str) -> Vec<&'static str> {
    DOC.lines().filter_map(|l| l.strip_prefix(name)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn function_ids_in_the_table_are_the_hashes_of_the_descriptors() {
    for function in Function::ALL {
        let row = format!("| {} | `{}` |", function.name(), function.id());
        assert!(DOC.contains(&row), "PROTOCOL.md lacks the row {row}");
        assert_eq!(Function::by_id(&function.id()), Some(function));
    }
}

/// A whole object as its piece of a stream (documented in PROTOCOL.md).
fn piece(length: u64, hex: &str) -> Sent {
    Sent(None, length, ByteBuf::from(hex_decode(hex).unwrap()))
}

#[test]
fn documented_frames_are_what_the_implementation_writes_and_reads() {
    let frames: Vec<Vec<u8>> = fields("frame: ").iter().map(|hex| hex_decode(hex).expect("hex")).collect();
    assert_eq!(frames.len(), 3);
    let repository = HashAlgorithm::Blake3.hash(b"blob 0\0");
    let two_blobs = vec![
        piece(7, "28b52ffd0060380000626c6f62203000"),
        piece(130, "a4000068626c6f6220313231007067200a0100d2d42501"),
    ];
    let commit = piece(
        270,
        "28b52ffd00603c010090323539706172656e7436367365636f6e640a0700a01080f34219665b0117ab2d086896ae0102",
    );
    let expected = [
        Message::ListRefs(ListRefs { repository: ByteBuf::from(repository.as_bytes().to_vec()) }),
        Message::Objects(Objects { objects: two_blobs, bases: vec![], done: true }),
        Message::Objects(Objects { objects: vec![commit], bases: vec![0], done: true }),
    ];
    for (frame, message) in frames.iter().zip(expected) {
        let envelope = wire::envelope(&message);
        assert_eq!(hex(&frame[4..]), hex(&envelope));
        assert_eq!(u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize, envelope.len());
        assert_eq!(wire::open(&frame[4..]).unwrap(), message);
    }
}

/// Every write it is given, apart.
#[derive(Default)]
struct Writes(Vec<Vec<u8>>);

impl futures::AsyncWrite for Writes {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        bytes: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.push(bytes.to_vec());
        std::task::Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_frame_is_written_in_one_piece() {
    // On a yamux stream each write is a data frame with a header of its own.
    for frame in fields("frame: ") {
        let frame = hex_decode(frame).unwrap();
        let mut writes = Writes::default();
        wire::write(&mut writes, &wire::open(&frame[4..]).unwrap()).await.unwrap();
        assert_eq!(writes.0, vec![frame]);
    }
}

/// The documented primed stream's base commit, in a repository of its own.
fn repository_with_the_base() -> (tempfile::TempDir, Repository, pg_core::ObjectId) {
    let dir = tempfile::tempdir().unwrap();
    let context = OpContext { command: "test".into(), user: "t".into(), time: 0 };
    let repo = Repository::init(dir.path(), &InitOptions::default(), &context).unwrap();
    let base = hex_decode(fields("base commit: ")[0]).unwrap();
    repo.store().write(&Object::decode(b"tree 0\0").unwrap()).unwrap();
    let id = repo.store().write(&Object::decode(&base).unwrap()).unwrap();
    (dir, repo, id)
}

#[test]
fn documented_objects_rebuild_to_the_documented_ids() {
    let (_dir, repo, base) = repository_with_the_base();
    let (primer, _) = compress::primer(repo.store(), &[base]).unwrap();
    assert_eq!(hex(&primer), fields("primer: ")[0]);
    let frames = fields("frame: ");
    let ids = fields("object ids: ");
    assert_eq!(ids.len(), 2);
    for (frame, ids) in frames[1..].iter().zip(ids) {
        let Message::Objects(batch) = wire::open(&hex_decode(frame).unwrap()[4..]).unwrap() else {
            panic!("a sync/objects frame")
        };
        let mut stream = Decompressing::new(if batch.bases.is_empty() { &[] } else { &primer }).unwrap();
        let rebuilt: Vec<String> = batch
            .objects
            .iter()
            .map(|Sent(_, length, data)| {
                let bytes = stream.next(data, *length as usize).unwrap();
                Object::decode(&bytes).unwrap();
                HashAlgorithm::Blake3.hash(&bytes).to_string()
            })
            .collect();
        assert_eq!(rebuilt.join(" "), ids);
    }
}

#[test]
fn the_documented_announcement_is_what_a_follower_reads() {
    let repository = HashAlgorithm::Blake3.hash(b"blob 0\0");
    let digest = refs_digest([("refs/heads/main", &repository), ("refs/remotes/origin/main", &repository)]);
    assert_eq!(fields("refs digest: ")[0], digest.to_string());
    let envelope = hex_decode(fields("envelope: ")[0]).unwrap();
    assert_eq!(envelope, announcement(&repository, &digest));
    let Message::Announce(read) = wire::open(&envelope).unwrap() else { panic!("not an announcement") };
    assert_eq!(read.refs.as_slice(), digest.as_bytes());
}
