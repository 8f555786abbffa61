//! docs/PROTOCOL.md against the implementation: function ids and frames.

use pg_core::id::hex_decode;
use pg_core::object::Object;
use pg_core::store::delta::decompress;
use pg_core::HashAlgorithm;
use pg_remote::follow::{announcement, refs_digest};
use pg_remote::protocol::{Done, Function, ListRefs, Message, Objects, Sent};
use pg_remote::wire;
use serde_bytes::ByteBuf;

const DOC: &str = include_str!("../../docs/PROTOCOL.md");

#[test]
fn function_ids_in_the_table_are_the_hashes_of_the_descriptors() {
    for function in Function::ALL {
        let row = format!("| {} | `{}` |", function.name(), function.id());
        assert!(DOC.contains(&row), "PROTOCOL.md lacks the row {row}");
        assert_eq!(Function::by_id(&function.id()), Some(function));
    }
}

#[test]
fn documented_frames_are_what_the_implementation_writes_and_reads() {
    let frames: Vec<Vec<u8>> = DOC
        .lines()
        .filter_map(|l| l.strip_prefix("frame: "))
        .map(|hex| hex_decode(hex).expect("frames are hex"))
        .collect();
    assert_eq!(frames.len(), 3);
    let repository = pg_core::HashAlgorithm::Blake3.hash(b"blob 0\0");
    let expected = [
        Message::ListRefs(ListRefs { repository: ByteBuf::from(repository.as_bytes().to_vec()) }),
        Message::Objects(Objects { objects: vec![whole(b"blob 0\0"), compressed_blob()] }),
        Message::Done(Done { objects: 3 }),
    ];
    for (frame, message) in frames.iter().zip(expected) {
        let envelope = wire::envelope(&message);
        assert_eq!(&frame[4..], envelope.as_slice());
        assert_eq!(u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize, envelope.len());
        assert_eq!(wire::open(&frame[4..]).unwrap(), message);
    }
}

/// An object sent as it is.
fn whole(encoding: &[u8]) -> Sent {
    Sent(None, encoding.len() as u64, ByteBuf::from(encoding.to_vec()))
}

/// The blob `pg pg pg … pg\n` (40 times), sent as a zstd frame (any valid frame
/// would do: this one is zstd's at level 3).
fn compressed_blob() -> Sent {
    let frame = hex_decode("28b52ffd2082a5000068626c6f6220313231007067200a0100d2d42501").unwrap();
    Sent(None, 130, ByteBuf::from(frame))
}

#[test]
fn documented_objects_rebuild_to_the_documented_ids() {
    let field = |name: &str| DOC.lines().find_map(|l| l.strip_prefix(name)).expect("documented");
    let documented: Vec<&str> = field("object ids: ").split(' ').collect();
    let rebuilt: Vec<String> = [whole(b"blob 0\0"), compressed_blob()]
        .into_iter()
        .map(|Sent(_, length, data)| {
            let bytes = match data.len() as u64 == length {
                true => data.into_vec(),
                false => decompress(&data, length as usize).unwrap(),
            };
            let object = Object::decode(&bytes).unwrap();
            assert!(matches!(object, Object::Blob(_)), "both are blobs");
            HashAlgorithm::Blake3.hash(&bytes).to_string()
        })
        .collect();
    assert_eq!(rebuilt, documented);
}

#[test]
fn the_documented_announcement_is_what_a_follower_reads() {
    let field = |name: &str| {
        DOC.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no '{name}' in PROTOCOL.md"))
    };
    let repository = pg_core::HashAlgorithm::Blake3.hash(b"blob 0\0");
    let digest = refs_digest([("refs/heads/main", &repository), ("refs/remotes/origin/main", &repository)]);
    assert_eq!(field("refs digest: "), digest.to_string());
    let envelope = hex_decode(field("envelope: ")).unwrap();
    assert_eq!(envelope, announcement(&repository, &digest));
    let Message::Announce(read) = wire::open(&envelope).unwrap() else { panic!("not an announcement") };
    assert_eq!(read.refs.as_slice(), digest.as_bytes());
}
