//! git's delta encoding (the data of a pack's `OFS_DELTA` entries): the base's
//! size and the result's as varints, then instructions that either copy a run of
//! the base or insert literal bytes. See `docs/FORMAT.md`, "git packs".
//!
//! The encoder indexes the base by the hash of each [`BLOCK`]-byte block, looks up
//! the block at every position of the target, and extends each match both ways: a
//! new version of a file or directory costs little more than what changed in it.

use rustc_hash::FxHashMap as HashMap;

/// The length of the blocks the base is indexed by: shorter matches are inserted.
const BLOCK: usize = 16;

/// The longest run one copy instruction can take.
const MAX_COPY: usize = 0xff_ffff;

/// The longest literal one insert instruction can hold.
const MAX_INSERT: usize = 0x7f;

/// The instructions that rebuild `target` from `base`, with both sizes in front;
/// `None` once they would be `limit` bytes or more (not worth a delta).
pub fn encode(base: &[u8], target: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(limit.min(target.len() / 2 + 32));
    write_size(&mut out, base.len());
    write_size(&mut out, target.len());
    let index = index_blocks(base);
    let mut literal_from = 0;
    let mut at = 0;
    while at + BLOCK <= target.len() {
        let Some(found) = index.get(&block_at(target, at)).copied() else {
            at += 1;
            continue;
        };
        // Extend back into the pending literal, then forward as far as both agree.
        let back = common_suffix(&base[..found], &target[literal_from..at]);
        let forward = BLOCK + common_prefix(&base[found + BLOCK..], &target[at + BLOCK..]);
        insert(&mut out, &target[literal_from..at - back]);
        copy(&mut out, found - back, back + forward);
        at += forward;
        literal_from = at;
        if out.len() >= limit {
            return None;
        }
    }
    insert(&mut out, &target[literal_from..]);
    (out.len() < limit).then_some(out)
}

/// Where each block-aligned block of `base` starts (the first, of equal blocks).
fn index_blocks(base: &[u8]) -> HashMap<u128, usize> {
    let mut index = HashMap::with_capacity_and_hasher(base.len() / BLOCK, Default::default());
    for start in (0..base.len().saturating_sub(BLOCK - 1)).step_by(BLOCK) {
        index.entry(block_at(base, start)).or_insert(start);
    }
    index
}

fn block_at(bytes: &[u8], at: usize) -> u128 {
    u128::from_le_bytes(bytes[at..at + BLOCK].try_into().expect("a whole block"))
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count()
}

/// A size as git's delta header writes it: seven bits a byte, low first.
fn write_size(out: &mut Vec<u8>, mut size: usize) {
    while size >= 0x80 {
        out.push(0x80 | (size & 0x7f) as u8);
        size >>= 7;
    }
    out.push(size as u8);
}

fn insert(out: &mut Vec<u8>, literal: &[u8]) {
    for piece in literal.chunks(MAX_INSERT) {
        out.push(piece.len() as u8);
        out.extend_from_slice(piece);
    }
}

/// Copy instructions for `length` bytes of the base from `offset`: a command byte
/// whose low seven bits say which offset and size bytes follow (zero bytes are
/// left out).
fn copy(out: &mut Vec<u8>, mut offset: usize, mut length: usize) {
    while length > 0 {
        let run = length.min(MAX_COPY);
        let command = out.len();
        out.push(0x80);
        for (bit, byte) in (offset as u32).to_le_bytes().into_iter().enumerate() {
            if byte != 0 {
                out[command] |= 1 << bit;
                out.push(byte);
            }
        }
        for (bit, byte) in (run as u32).to_le_bytes().into_iter().take(3).enumerate() {
            if byte != 0 {
                out[command] |= 0x10 << bit;
                out.push(byte);
            }
        }
        offset += run;
        length -= run;
    }
}

/// Rebuilds a target from `base` and `delta` (the decoder, for tests: git itself
/// is the other reader).
#[cfg(test)]
pub fn apply(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    fn size(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 0;
    if size(delta, &mut at)? != base.len() {
        return None;
    }
    let length = size(delta, &mut at)?;
    let mut out = Vec::with_capacity(length);
    while let Some(&command) = delta.get(at) {
        at += 1;
        if command & 0x80 == 0 {
            out.extend_from_slice(delta.get(at..at + usize::from(command))?);
            at += usize::from(command);
            continue;
        }
        let mut field = |bits: std::ops::Range<u8>| {
            let mut value = 0usize;
            for (n, bit) in bits.enumerate() {
                if command & (1 << bit) != 0 {
                    value |= usize::from(*delta.get(at)?) << (8 * n);
                    at += 1;
                }
            }
            Some(value)
        };
        let offset = field(0..4)?;
        let run = match field(4..7)? {
            0 => 0x10000,
            run => run,
        };
        out.extend_from_slice(base.get(offset..offset + run)?);
    }
    (out.len() == length).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_delta_rebuilds_its_target(
            base in proptest::collection::vec(0u8..4, 0..600),
            edits in proptest::collection::vec((0usize..600, 0usize..40, proptest::collection::vec(0u8..4, 0..40)), 0..6),
        ) {
            let mut target = base.clone();
            for (at, cut, insert) in edits {
                let at = at.min(target.len());
                let end = (at + cut).min(target.len());
                target.splice(at..end, insert);
            }
            let delta = encode(&base, &target, usize::MAX).expect("no limit");
            prop_assert_eq!(apply(&base, &delta), Some(target));
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap()).collect()
    }

    #[test]
    fn the_delta_vectors_in_format_md_hold() {
        let doc = include_str!("../../../docs/FORMAT.md");
        let blocks: Vec<&str> =
            doc.split("```git-delta\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
        assert_eq!(blocks.len(), 1, "FORMAT.md should hold one git delta vector");
        for block in blocks {
            let field = |name: &str| {
                let line = block.lines().find(|l| l.starts_with(name)).unwrap();
                hex(line[name.len()..].trim())
            };
            let (base, target, delta) = (field("base:"), field("target:"), field("delta:"));
            assert_eq!(encode(&base, &target, usize::MAX).unwrap(), delta);
            assert_eq!(apply(&base, &delta).unwrap(), target);
        }
    }

    #[test]
    fn a_small_change_to_a_large_file_costs_a_few_bytes() {
        let base: Vec<u8> = (0..20_000u32).flat_map(|n| format!("line {n}\n").into_bytes()).collect();
        let mut target = base.clone();
        target.splice(70_000..70_000, b"a new line\n".iter().copied());
        let delta = encode(&base, &target, usize::MAX).unwrap();
        assert!(delta.len() < 40, "{} bytes", delta.len());
        assert_eq!(apply(&base, &delta).unwrap(), target);
        assert_eq!(encode(&base, &target, delta.len()), None, "at the limit: not worth it");
    }

    #[test]
    fn long_runs_take_several_copies_and_literals_several_inserts() {
        let base: Vec<u8> = (0..(MAX_COPY + 5000)).map(|n| (n % 251) as u8 ^ (n / 251) as u8).collect();
        let mut target = base.clone();
        target.extend((0..300).map(|n| (n * 7 % 256) as u8));
        let delta = encode(&base, &target, usize::MAX).unwrap();
        assert_eq!(apply(&base, &delta).unwrap(), target);
    }
}
