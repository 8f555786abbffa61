//! Objects stored as differences from a similar object (its *base*): a zstd frame
//! compressed with the base's bytes as dictionary, like `zstd --patch-from`.
//!
//! Stored form: `0x01, depth: u8, length: u32 LE, base id (multihash), frame`.
//! Full encodings start with an ASCII kind name, so the tag byte cannot be confused
//! with one. A delta's base is at depth `depth - 1`; chains are at most
//! [`MAX_DEPTH`] long, so a read decompresses at most that many frames.

use crate::id::ObjectId;
use zstd::zstd_safe::CParameter;

/// The longest chain of deltas a read follows (git's default pack depth).
pub const MAX_DEPTH: u8 = 50;

const TAG: u8 = 0x01;

/// Objects and bases together larger than 2^this are not stored as deltas: zstd
/// decoders refuse larger windows unless told otherwise.
const MAX_WINDOW_LOG: u32 = 27;

/// A delta is kept only when it is at most this fraction of the full size.
const WORTH_IT: f64 = 0.5;

/// A stored delta, parsed.
pub struct Delta<'a> {
    /// Its depth (1 for a delta against a full object).
    pub depth: u8,
    /// The length of the object it reconstructs.
    pub length: usize,
    /// Its base.
    pub base: ObjectId,
    frame: &'a [u8],
}

/// Rebuilds an object from its base and a patch frame (as sent between peers):
/// the frame must rebuild exactly `length` bytes.
pub fn apply_patch(base: &[u8], frame: &[u8], length: usize) -> Result<Vec<u8>, String> {
    let bytes = decompress_with_prefix(frame, base, length)
        .map_err(|code| format!("patch does not decompress: {}", zstd::zstd_safe::get_error_name(code)))?;
    if bytes.len() != length {
        return Err(format!("patch gives {} bytes, not {length}", bytes.len()));
    }
    Ok(bytes)
}

/// Whether stored bytes are a delta.
pub fn is_delta(stored: &[u8]) -> bool {
    stored.first() == Some(&TAG)
}

/// Makes deltas, reusing one zstd context: creating a context per delta costs more
/// than compressing it.
pub struct Compressor {
    context: zstd::zstd_safe::CCtx<'static>,
}

impl Default for Compressor {
    fn default() -> Self {
        let mut context = zstd::zstd_safe::CCtx::create();
        context.set_parameter(CParameter::CompressionLevel(3)).expect("level 3 is a valid zstd level");
        Compressor { context }
    }
}

impl Compressor {
    /// Encodes `bytes` against `base` (at `base_depth`), when that is worth it.
    pub fn encode(
        &mut self,
        bytes: &[u8],
        base_id: &ObjectId,
        base: &[u8],
        base_depth: u8,
    ) -> Option<Vec<u8>> {
        if base_depth >= MAX_DEPTH || base.is_empty() || bytes.len() < 64 {
            return None;
        }
        let frame = self.compress_with_prefix(bytes, base)?;
        frame_to_delta(bytes.len(), base_id, base_depth, frame)
    }

    /// A patch frame that rebuilds `bytes` from `base` (what [`apply_patch`]
    /// takes, and peers send), if one can be made (never for fewer than 64 bytes,
    /// which a frame's header and tables would outweigh).
    pub fn patch(&mut self, bytes: &[u8], base: &[u8]) -> Option<Vec<u8>> {
        if base.is_empty() || bytes.len() < 64 {
            return None;
        }
        self.compress_with_prefix(bytes, base)
    }

    /// zstd with the base as a raw prefix: no dictionary to build, so it costs
    /// little more than plain compression (this is `zstd --patch-from`).
    fn compress_with_prefix(&mut self, bytes: &[u8], base: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: zstd uses a prefix for the next frame only (ZSTD_CCtx_refPrefix);
        // `compress2` below completes that frame, and a failed frame replaces the
        // context, so the context never reads `base` after this function returns,
        // although it outlives it. The 'static is needed only because zstd-safe ties
        // the prefix's lifetime to the context's.
        let prefix: &'static [u8] = unsafe { std::mem::transmute::<&[u8], &'static [u8]>(base) };
        // The window must span the base, or a big file's patch could use only the
        // base's last few MiB; decompressors accept up to 2^27 without asking.
        let span = base.len() + bytes.len();
        if span > 1 << MAX_WINDOW_LOG {
            return None;
        }
        let window_log = span.next_power_of_two().trailing_zeros().max(10);
        let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(bytes.len()));
        let done = self
            .context
            .set_parameter(CParameter::WindowLog(window_log))
            .and_then(|_| self.context.set_parameter(CParameter::EnableLongDistanceMatching(window_log > 23)))
            .and_then(|_| self.context.ref_prefix(prefix))
            .and_then(|_| self.context.compress2(&mut frame, bytes));
        if done.is_err() {
            *self = Compressor::default();
            return None;
        }
        Some(frame)
    }
}

/// The stored form of an object of `length` bytes that a patch `frame` rebuilds
/// from `base_id` (at `base_depth`), as received from a peer that checked nothing:
/// the caller has rebuilt and verified it. `None` when the chain would be too long
/// or the patch is not worth keeping; with the depth it is stored at.
pub fn patch_to_delta(
    length: usize,
    base_id: &ObjectId,
    base_depth: u8,
    frame: &[u8],
) -> Option<(Vec<u8>, u8)> {
    if base_depth >= MAX_DEPTH {
        return None;
    }
    frame_to_delta(length, base_id, base_depth, frame.to_vec()).map(|stored| (stored, base_depth + 1))
}

fn frame_to_delta(length: usize, base_id: &ObjectId, base_depth: u8, frame: Vec<u8>) -> Option<Vec<u8>> {
    let mut stored = Vec::with_capacity(6 + base_id.as_bytes().len() + frame.len());
    stored.push(TAG);
    stored.push(base_depth + 1);
    stored.extend_from_slice(&u32::try_from(length).ok()?.to_le_bytes());
    stored.extend_from_slice(base_id.as_bytes());
    stored.extend_from_slice(&frame);
    ((stored.len() as f64) <= length as f64 * WORTH_IT).then_some(stored)
}

/// Parses a stored delta.
pub fn parse(stored: &[u8]) -> Result<Delta<'_>, String> {
    let header = stored.get(..6).ok_or("truncated delta header")?;
    let depth = header[1];
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(format!("delta depth {depth} out of range"));
    }
    let length = u32::from_le_bytes(header[2..6].try_into().expect("4 bytes")) as usize;
    let (base, used) = ObjectId::read_prefix(&stored[6..]).map_err(|e| format!("delta base: {e}"))?;
    Ok(Delta { depth, length, base, frame: &stored[6 + used..] })
}

impl<'a> Delta<'a> {
    /// The zstd frame that rebuilds the object from its base (with the base as
    /// prefix): what [`apply_patch`] takes.
    pub fn frame(&self) -> &'a [u8] {
        self.frame
    }

    /// Reconstructs the object from its base's bytes.
    pub fn apply(&self, base: &[u8]) -> Result<Vec<u8>, String> {
        let bytes = decompress_with_prefix(self.frame, base, self.length).map_err(|code| {
            format!("delta does not decompress: {}", zstd::zstd_safe::get_error_name(code))
        })?;
        if bytes.len() != self.length {
            return Err(format!("delta gives {} bytes, not {}", bytes.len(), self.length));
        }
        Ok(bytes)
    }
}

thread_local! {
    /// One decompression context per thread: creating one costs more than
    /// decompressing a typical delta.
    static DECOMPRESSOR: std::cell::RefCell<zstd::zstd_safe::DCtx<'static>> =
        std::cell::RefCell::new(zstd::zstd_safe::DCtx::create());
}

fn decompress_with_prefix(frame: &[u8], base: &[u8], length: usize) -> Result<Vec<u8>, usize> {
    DECOMPRESSOR.with(|cell| {
        let mut context = cell.borrow_mut();
        // SAFETY: as in `Compressor::compress_with_prefix`: the prefix serves the
        // next frame only, which `decompress` below finishes; on failure the
        // context is reset (dropping the prefix) before `base` can go away.
        let prefix: &'static [u8] = unsafe { std::mem::transmute::<&[u8], &'static [u8]>(base) };
        let mut bytes = Vec::with_capacity(length);
        let done = context.ref_prefix(prefix).and_then(|_| context.decompress(&mut bytes, frame));
        if let Err(code) = done {
            *context = zstd::zstd_safe::DCtx::create();
            return Err(code);
        }
        Ok(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_similar_version_round_trips_as_a_small_delta() {
        let base: Vec<u8> = (0..200).flat_map(|i| format!("line {i} of the file\n").into_bytes()).collect();
        let mut next = base.clone();
        next.extend_from_slice(b"one more line\n");
        let base_id = crate::HashAlgorithm::Blake3.hash(&base);
        let mut compressor = Compressor::default();
        let stored = compressor.encode(&next, &base_id, &base, 0).expect("worth it");
        assert!(stored.len() < next.len() / 20, "{} bytes for {}", stored.len(), next.len());
        let delta = parse(&stored).unwrap();
        assert_eq!((delta.depth, delta.base), (1, base_id));
        assert_eq!(delta.apply(&base).unwrap(), next);
        assert!(delta.apply(b"some other base").is_err() || delta.apply(b"some other base").unwrap() != next);
        // The reused context makes the same delta again.
        assert_eq!(compressor.encode(&next, &base_id, &base, 0).unwrap(), stored);
    }

    #[test]
    fn a_patch_rebuilds_only_from_its_base_and_to_its_length() {
        let base: Vec<u8> = (0..300).flat_map(|i| format!("entry {i}\n").into_bytes()).collect();
        let mut next = base.clone();
        next[1000..1005].copy_from_slice(b"fresh");
        let mut compressor = Compressor::default();
        let frame = compressor.patch(&next, &base).expect("made");
        assert!(frame.len() < 40, "{} bytes", frame.len());
        assert_eq!(apply_patch(&base, &frame, next.len()).unwrap(), next);
        assert!(apply_patch(&base, &frame, next.len() + 1).is_err(), "fewer bytes than announced");
        let mut other = base.clone();
        other[2000..2010].copy_from_slice(b"0123456789");
        assert!(apply_patch(&other, &frame, next.len()).map_or(true, |bytes| bytes != next), "another base");
        assert_eq!(compressor.patch(b"short", &base), None);
    }

    #[test]
    fn a_big_file_changed_at_its_start_is_a_small_delta() {
        // Incompressible, so only a match into the base's start can make it small:
        // the window must span the whole base.
        let mut state = 5u64;
        let base: Vec<u8> = (0..12 << 20)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 56) as u8
            })
            .collect();
        let mut next = base.clone();
        next[100..110].copy_from_slice(b"0123456789");
        let base_id = crate::HashAlgorithm::Blake3.hash(&base);
        let stored = Compressor::default().encode(&next, &base_id, &base, 0).expect("worth it");
        assert!(stored.len() < 64 << 10, "{} bytes", stored.len());
        assert_eq!(parse(&stored).unwrap().apply(&base).unwrap(), next);
    }

    #[test]
    fn unrelated_or_too_deep_bases_are_not_used() {
        let id = crate::HashAlgorithm::Blake3.hash(b"x");
        let mut random = vec![0u8; 4096];
        blake3::Hasher::new().finalize_xof().fill(&mut random);
        let mut compressor = Compressor::default();
        assert!(compressor.encode(&random, &id, b"unrelated base text", 0).is_none());
        let text = vec![b'a'; 4096];
        assert!(compressor.encode(&text, &id, &text, MAX_DEPTH).is_none());
        assert!(parse(&[TAG, 0, 0, 0, 0, 0]).is_err());
    }
}
