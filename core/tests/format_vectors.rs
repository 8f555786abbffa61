//! Checks the encoding vectors in docs/FORMAT.md byte for byte: each encoding
//! decodes, re-encodes to the same bytes, and hashes to the documented ids.

use pg_core::id::hex_decode;
use pg_core::object::Object;
use pg_core::HashAlgorithm;

struct Vector {
    title: String,
    fields: Vec<(String, String)>,
}

fn vectors() -> Vec<Vector> {
    let doc = include_str!("../../docs/FORMAT.md");
    let mut vectors = Vec::new();
    let mut title = String::new();
    let mut current: Option<Vec<(String, String)>> = None;
    for line in doc.lines() {
        if let Some(t) = line.strip_prefix("### Vector: ") {
            title = t.to_owned();
        } else if line == "```vector" {
            current = Some(Vec::new());
        } else if line == "```" {
            if let Some(fields) = current.take() {
                vectors.push(Vector { title: title.clone(), fields });
            }
        } else if let Some(fields) = current.as_mut() {
            let (key, value) = line.split_once(": ").expect("vector lines are 'key: value'");
            fields.push((key.to_owned(), value.to_owned()));
        }
    }
    vectors
}

fn field<'v>(vector: &'v Vector, key: &str) -> &'v str {
    let found = vector.fields.iter().find(|(k, _)| k == key);
    &found.unwrap_or_else(|| panic!("vector '{}' has no {key}", vector.title)).1
}

#[test]
fn every_documented_vector_matches_the_implementation() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 7, "FORMAT.md should hold seven vectors");
    for vector in &vectors {
        let bytes = hex_decode(field(vector, "encoding")).expect("encoding is hex");
        let object = Object::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", vector.title));
        assert_eq!(object.encode(), bytes, "{}: not canonical", vector.title);
        assert_eq!(object.id(HashAlgorithm::Blake3).to_hex(), field(vector, "blake3"), "{}", vector.title);
        assert_eq!(
            object.id(HashAlgorithm::Sha2_256).to_hex(),
            field(vector, "sha2-256"),
            "{}",
            vector.title
        );
    }
}

#[test]
fn the_signed_commit_vector_keeps_its_headers_in_order() {
    let vector = vectors().into_iter().find(|v| v.title.starts_with("commit with a parent")).unwrap();
    let Object::Commit(commit) = Object::decode(&hex_decode(field(&vector, "encoding")).unwrap()).unwrap()
    else {
        panic!("not a commit");
    };
    let keys: Vec<&[u8]> = commit.extra_headers.iter().map(|h| h.key.as_slice()).collect();
    assert_eq!(keys, [&b"encoding"[..], b"gpgsig"]);
    assert!(commit.extra_headers[1].value.contains(&b'\n'));
    assert_eq!(commit.message, b"Gr\xfc\xdfe\n");
    assert_eq!(commit.author_signature().unwrap().offset_minutes(), -(13 * 60 + 45));
}
