//! A transfer's compression stream: every whole object a transfer sends is the
//! next piece of one zstd frame, flushed at the object's end. An object is thus
//! compressed against everything sent before it (a commit against the commits
//! before it, a directory against its other versions) and decodes as soon as its
//! piece arrives, which per-object frames could not do.
//!
//! The stream starts *primed* with objects the receiver has (see [`primer`]): a
//! new commit's parent line and unchanged lines, and its root tree's unchanged
//! entries, then cost a few bytes each, so a small fetch is as small as what is
//! new in it.

use pg_core::object::{Object, ObjectKind};
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use zstd::zstd_safe::zstd_sys::ZSTD_EndDirective;
use zstd::zstd_safe::{self, CParameter, DParameter, InBuffer, OutBuffer};

/// The stream's window: how far back an object may refer (and what a receiver
/// holds in memory for it).
const WINDOW_LOG: u32 = 22;

/// The largest window a receiver accepts: a peer cannot make it hold more.
const MAX_WINDOW_LOG: u32 = 23;

/// zstd's level: its fastest positive one. Level 3 made a clone's stream 4% smaller
/// for 20% more of the server's time.
const LEVEL: i32 = 1;

/// A primer is cut at this many bytes (big root trees are cut, not skipped).
pub const MAX_PRIMER: usize = 1 << 20;

/// Compresses a transfer's whole objects, each into its piece of the stream.
pub struct Compressing {
    context: zstd_safe::CCtx<'static>,
}

impl Compressing {
    /// A stream primed with `primer` (empty: unprimed).
    pub fn new(primer: &[u8]) -> Result<Compressing, String> {
        let mut context = zstd_safe::CCtx::create();
        let setup = context
            .set_parameter(CParameter::CompressionLevel(LEVEL))
            .and_then(|_| context.set_parameter(CParameter::WindowLog(WINDOW_LOG)))
            .and_then(|_| context.set_parameter(CParameter::ChecksumFlag(false)))
            .and_then(|_| match primer.is_empty() {
                true => Ok(0),
                false => context.load_dictionary(primer),
            });
        setup.map_err(zstd_error)?;
        Ok(Compressing { context })
    }

    /// `object`'s piece of the stream: what, after the pieces before it, decodes
    /// to exactly `object`.
    pub fn next(&mut self, object: &[u8]) -> Result<Vec<u8>, String> {
        let mut piece = Vec::with_capacity(zstd_safe::compress_bound(object.len()) + 32);
        let mut input = InBuffer::around(object);
        loop {
            if piece.len() == piece.capacity() {
                piece.reserve(1 << 10);
            }
            let written = piece.len();
            let mut output = OutBuffer::around_pos(&mut piece, written);
            let unflushed = self
                .context
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .map_err(zstd_error)?;
            if unflushed == 0 && input.pos() == object.len() {
                return Ok(piece);
            }
        }
    }
}

/// Decompresses a transfer's pieces, in the order they were made.
pub struct Decompressing {
    context: zstd_safe::DCtx<'static>,
}

impl Decompressing {
    /// A stream primed with `primer`, as the sender's was.
    pub fn new(primer: &[u8]) -> Result<Decompressing, String> {
        let mut context = zstd_safe::DCtx::create();
        let setup =
            context.set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG)).and_then(|_| {
                match primer.is_empty() {
                    true => Ok(0),
                    false => context.load_dictionary(primer),
                }
            });
        setup.map_err(zstd_error)?;
        Ok(Decompressing { context })
    }

    /// The object a piece decodes to, which must be exactly `length` bytes: a
    /// piece that would give more fails once it gave one byte more.
    pub fn next(&mut self, piece: &[u8], length: usize) -> Result<Vec<u8>, String> {
        let mut object = Vec::with_capacity(length + 1);
        let mut input = InBuffer::around(piece);
        while input.pos() < piece.len() && object.len() <= length {
            let written = object.len();
            let mut output = OutBuffer::around_pos(&mut object, written);
            self.context
                .decompress_stream(&mut output, &mut input)
                .map_err(|code| format!("does not decompress: {}", zstd_error(code)))?;
        }
        match object.len() {
            n if n == length && input.pos() == piece.len() => Ok(object),
            n if n > length => Err(format!("decompresses to more than {length} bytes")),
            n => Err(format!("decompresses to {n} bytes, not {length}")),
        }
    }
}

fn zstd_error(code: usize) -> String {
    format!("zstd: {}", zstd_safe::get_error_name(code))
}

/// The bytes a transfer's stream is primed with, given commits the receiver has
/// (`bases`): for each, its id in text form and a newline, then for each its
/// encoding and its root tree's; cut at [`MAX_PRIMER`] bytes. Both sides build it
/// from their own store. With the root trees it holds. A base that is not a
/// commit is [`store::Error::WrongKind`].
pub fn primer(store: &Store, bases: &[ObjectId]) -> Result<(Vec<u8>, Vec<ObjectId>), store::Error> {
    let mut primer: Vec<u8> = bases.iter().flat_map(|id| format!("{id}\n").into_bytes()).collect();
    let mut trees = Vec::new();
    for id in bases {
        let commit = store.read_raw(id)?;
        let tree = match Object::decode(&commit) {
            Ok(Object::Commit(commit)) => commit.tree,
            Ok(other) => {
                return Err(store::Error::WrongKind {
                    id: *id,
                    expected: ObjectKind::Commit,
                    actual: other.kind(),
                })
            }
            Err(e) => return Err(store::Error::Corrupt { id: *id, reason: e.to_string() }),
        };
        primer.extend_from_slice(&commit);
        primer.extend_from_slice(&store.read_raw(&tree)?);
        trees.push(tree);
        if primer.len() >= MAX_PRIMER {
            break;
        }
    }
    primer.truncate(MAX_PRIMER);
    Ok((primer, trees))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn through_the_stream(primer: &[u8], objects: &[Vec<u8>]) -> (Vec<Vec<u8>>, usize) {
        let mut sending = Compressing::new(primer).unwrap();
        let mut receiving = Decompressing::new(primer).unwrap();
        let mut size = 0;
        let received = objects
            .iter()
            .map(|object| {
                let piece = sending.next(object).unwrap();
                size += piece.len();
                receiving.next(&piece, object.len()).unwrap()
            })
            .collect();
        (received, size)
    }

    proptest! {
        #[test]
        fn objects_come_out_as_they_went_in(
            primer in proptest::collection::vec(any::<u8>(), 0..300),
            objects in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..2000), 1..20),
        ) {
            prop_assert_eq!(through_the_stream(&primer, &objects).0, objects);
        }
    }

    #[test]
    fn an_object_like_one_sent_before_costs_little() {
        let commit = |n: u32| {
            format!(
                "commit 200\0tree {n:064x}\nauthor A U Thor <a@example.com> 1700000000 +0000\n\nchange {n}\n"
            )
        };
        let objects: Vec<Vec<u8>> = (0..10).map(|n| commit(n * 7919).into_bytes()).collect();
        let (_, size) = through_the_stream(&[], &objects);
        let alone = Compressing::new(&[]).unwrap().next(&objects[0]).unwrap().len();
        assert!(size < alone * 4, "ten similar objects take {size} bytes, one {alone}");
    }

    #[test]
    fn a_primer_the_object_repeats_makes_it_smaller() {
        let parent = pg_core::HashAlgorithm::Blake3.hash(b"the parent").to_string().into_bytes();
        let mut commit = b"commit 99\0parent ".to_vec();
        commit.extend_from_slice(&parent);
        let unprimed = through_the_stream(&[], &[commit.clone()]).1;
        let primed = through_the_stream(&parent, &[commit]).1;
        assert!(primed + 30 < unprimed, "primed {primed} bytes, unprimed {unprimed}");
    }

    #[test]
    fn a_piece_that_gives_more_or_less_than_its_length_is_refused() {
        let object = b"blob 20\0twenty bytes of text".to_vec();
        let piece = Compressing::new(&[]).unwrap().next(&object).unwrap();
        for length in [object.len() - 1, object.len() + 1] {
            let error = Decompressing::new(&[]).unwrap().next(&piece, length).unwrap_err();
            assert!(error.contains("decompresses to"), "{error}");
        }
        let error = Decompressing::new(&[]).unwrap().next(b"not zstd at all", 10).unwrap_err();
        assert!(error.contains("does not decompress"), "{error}");
    }
}
