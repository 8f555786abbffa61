//! Writing git packs: one `.pack` of zlib-compressed objects, a file or
//! directory whose previous version is in the same pack as a delta of it
//! (`OFS_DELTA`), and its version 2 `.idx`, as `git index-pack` would write them.
//! A pack is written under a temporary name and renamed into `objects/pack` only
//! when whole, its index last, so git never sees half of one. See
//! `docs/FORMAT.md`, "git packs".

pub mod delta;

use pg_core::object::ObjectKind;
use pg_core::{HashAlgorithm, ObjectId};
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// git's default `pack.depth`: longer delta chains slow every read.
const MAX_DEPTH: u8 = 50;

/// Bytes of recently written files and directories kept as delta bases.
const BASES_BYTES: usize = 64 << 20;

/// zlib's level: git's default (`core.compression` -1).
const LEVEL: i32 = 6;

/// The pack entry type of a delta against an earlier entry of the same pack.
const OFS_DELTA: u8 = 6;

/// A SHA-1 digest, as git names objects.
type GitId = [u8; 20];

/// A pack being written.
pub struct PackWriter {
    /// `objects/pack` of the repository.
    dir: PathBuf,
    temporary: PathBuf,
    file: BufWriter<File>,
    written: u64,
    entries: Vec<IndexEntry>,
    bases: Bases,
    compressor: gix::zlib::stream::deflate::Compress,
    /// An entry's header and compressed data, as it is written.
    entry: Vec<u8>,
}

struct IndexEntry {
    id: GitId,
    offset: u64,
    crc: u32,
}

impl PackWriter {
    /// Starts a pack in `objects_dir/pack` (created if missing).
    pub fn create(objects_dir: &Path) -> io::Result<PackWriter> {
        let dir = objects_dir.join("pack");
        std::fs::create_dir_all(&dir)?;
        let temporary = dir.join(format!("tmp_pack_pg_{}", std::process::id()));
        // Read back at the end, for the checksum.
        let file = File::options().read(true).write(true).create(true).truncate(true).open(&temporary)?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        // The count is known only at the end: written then, over these zeros.
        file.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            dir,
            temporary,
            file,
            written: 12,
            entries: Vec::new(),
            bases: Bases::default(),
            compressor: gix::zlib::stream::deflate::Compress::new(
                gix::zlib::Compression::new(LEVEL).expect("a zlib level"),
            ),
            entry: Vec::new(),
        })
    }

    /// Adds one object: its kind, its git id and its body (its encoding without
    /// the header). `base`: the git id of the object it is likely a new version
    /// of; when that went into this pack lately, the object goes as a delta of it
    /// if that is under half its size.
    pub fn add(
        &mut self,
        kind: ObjectKind,
        id: &ObjectId,
        body: Vec<u8>,
        base: Option<&ObjectId>,
    ) -> io::Result<()> {
        let (id, offset) = (git_id(id), self.written);
        let delta = base.and_then(|base| self.bases.delta(kind, &git_id(base), &body));
        self.entry.clear();
        let depth = match &delta {
            Some((data, base_offset, base_depth)) => {
                write_entry_header(&mut self.entry, OFS_DELTA, data.len() as u64);
                write_offset(&mut self.entry, offset - base_offset);
                deflate(&mut self.compressor, data, &mut self.entry)?;
                base_depth + 1
            }
            None => {
                write_entry_header(&mut self.entry, type_code(kind), body.len() as u64);
                deflate(&mut self.compressor, &body, &mut self.entry)?;
                0
            }
        };
        self.file.write_all(&self.entry)?;
        self.written += self.entry.len() as u64;
        self.entries.push(IndexEntry { id, offset, crc: crc32fast::hash(&self.entry) });
        if matches!(kind, ObjectKind::Blob | ObjectKind::Tree) {
            self.bases.put(id, Base { kind, body, offset, depth });
        }
        Ok(())
    }

    /// Completes the pack and its index and moves both into place; returns how
    /// many objects it holds. A pack of no objects is removed, not moved.
    pub fn finish(mut self) -> io::Result<u64> {
        if self.entries.is_empty() {
            return Ok(0);
        }
        self.file.flush()?;
        let file = self.file.get_mut();
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&(self.entries.len() as u32).to_be_bytes())?;
        let checksum = sha1_of(file)?;
        file.seek(SeekFrom::End(0))?;
        file.write_all(&checksum)?;
        file.sync_all()?;
        let name = format!("pack-{}", pg_core::id::hex_encode(&checksum));
        let index_temporary = self.temporary.with_extension("idx");
        write_index(&index_temporary, &mut self.entries, &checksum)?;
        let pack = self.dir.join(format!("{name}.pack"));
        std::fs::rename(&self.temporary, &pack)?;
        std::fs::rename(&index_temporary, self.dir.join(format!("{name}.idx")))?;
        Ok(self.entries.len() as u64)
    }
}

impl Drop for PackWriter {
    /// An unfinished pack is removed (a finished one was renamed away).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temporary);
    }
}

/// A file or directory written lately, kept whole as a delta base.
struct Base {
    kind: ObjectKind,
    body: Vec<u8>,
    offset: u64,
    depth: u8,
}

/// Recent [`Base`]s, at most [`BASES_BYTES`] of them, oldest dropped first.
#[derive(Default)]
struct Bases {
    by_id: HashMap<GitId, Base>,
    order: VecDeque<GitId>,
    bytes: usize,
}

impl Bases {
    /// `body` as a delta of `base` (its data, and the base's offset and depth),
    /// when the base is here, of the same kind, its chain not too long, and the
    /// delta under half the body.
    fn delta(&mut self, kind: ObjectKind, base: &GitId, body: &[u8]) -> Option<(Vec<u8>, u64, u8)> {
        let base = self.by_id.get(base).filter(|base| base.kind == kind && base.depth < MAX_DEPTH)?;
        let data = delta::encode(&base.body, body, body.len() / 2)?;
        Some((data, base.offset, base.depth))
    }

    fn put(&mut self, id: GitId, base: Base) {
        if base.body.len() > BASES_BYTES / 8 {
            return;
        }
        // Each object goes into a pack once, so no id comes twice.
        self.bytes += base.body.len();
        self.by_id.insert(id, base);
        self.order.push_back(id);
        while self.bytes > BASES_BYTES {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(dropped) = self.by_id.remove(&oldest) {
                self.bytes -= dropped.body.len();
            }
        }
    }
}

fn type_code(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::Commit => 1,
        ObjectKind::Tree => 2,
        ObjectKind::Blob => 3,
        ObjectKind::Tag => 4,
        kind => unreachable!("{kind} has no git kind; export refuses pg's own kinds first"),
    }
}

/// An entry's type and size: the type in bits 4-6 of the first byte with the
/// size's low four bits, then seven bits of the size a byte.
fn write_entry_header(out: &mut Vec<u8>, type_code: u8, size: u64) {
    let mut byte = (type_code << 4) | (size & 0x0f) as u8;
    let mut rest = size >> 4;
    while rest > 0 {
        out.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    out.push(byte);
}

/// How far back an `OFS_DELTA`'s base starts: seven bits a byte, high first, each
/// continued byte standing for one more than its bits (so no two encodings of one
/// distance exist).
fn write_offset(out: &mut Vec<u8>, mut distance: u64) {
    let mut bytes = vec![(distance & 0x7f) as u8];
    distance >>= 7;
    while distance > 0 {
        distance -= 1;
        bytes.push(0x80 | (distance & 0x7f) as u8);
        distance >>= 7;
    }
    out.extend(bytes.iter().rev());
}

fn deflate(
    compressor: &mut gix::zlib::stream::deflate::Compress,
    mut input: &[u8],
    out: &mut Vec<u8>,
) -> io::Result<()> {
    use gix::zlib::stream::deflate::FlushCompress;
    compressor.reset();
    let mut buffer = [0u8; 1 << 15];
    loop {
        let (before_in, before_out) = (compressor.total_in(), compressor.total_out());
        let status =
            compressor.compress(input, &mut buffer, FlushCompress::Finish).map_err(io::Error::other)?;
        out.extend_from_slice(&buffer[..(compressor.total_out() - before_out) as usize]);
        input = &input[(compressor.total_in() - before_in) as usize..];
        if matches!(status, gix::zlib::Status::StreamEnd) {
            return Ok(());
        }
    }
}

/// The SHA-1 of a whole file, read from its start.
fn sha1_of(file: &mut File) -> io::Result<GitId> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = HashAlgorithm::Sha1.hasher();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hasher.update(&buffer[..n]),
        }
    }
    Ok(git_id(&hasher.finish()))
}

fn git_id(id: &ObjectId) -> GitId {
    id.digest().try_into().expect("git ids are 20-byte SHA-1 digests")
}

/// A version 2 pack index: a fan-out table of the count of ids up to each first
/// byte, the sorted ids, their entries' CRC-32s, their offsets (four bytes, or the
/// position of eight when the high bit is set), the pack's checksum and the
/// index's own.
fn write_index(path: &Path, entries: &mut [IndexEntry], pack_checksum: &GitId) -> io::Result<()> {
    entries.sort_unstable_by_key(|entry| entry.id);
    let mut index = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    index.extend_from_slice(b"\xfftOc\0\0\0\x02");
    let mut up_to = 0usize;
    for first in 0..=255u8 {
        up_to += entries[up_to..].iter().take_while(|entry| entry.id[0] == first).count();
        index.extend_from_slice(&(up_to as u32).to_be_bytes());
    }
    for entry in entries.iter() {
        index.extend_from_slice(&entry.id);
    }
    for entry in entries.iter() {
        index.extend_from_slice(&entry.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for entry in entries.iter() {
        let small = match u32::try_from(entry.offset) {
            Ok(offset) if offset < 0x8000_0000 => offset,
            _ => {
                large.extend_from_slice(&entry.offset.to_be_bytes());
                0x8000_0000 | (large.len() / 8 - 1) as u32
            }
        };
        index.extend_from_slice(&small.to_be_bytes());
    }
    index.extend_from_slice(&large);
    index.extend_from_slice(pack_checksum);
    let checksum = git_id(&HashAlgorithm::Sha1.hash(&index));
    index.extend_from_slice(&checksum);
    let mut file = File::create(path)?;
    file.write_all(&index)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_distances_are_encoded_as_git_reads_them() {
        let mut header = Vec::new();
        write_entry_header(&mut header, 3, 100);
        assert_eq!(header, [0xb4, 0x06]);
        let mut header = Vec::new();
        write_entry_header(&mut header, 1, 15);
        assert_eq!(header, [0x1f]);
        let mut offset = Vec::new();
        write_offset(&mut offset, 127);
        assert_eq!(offset, [0x7f]);
        let mut offset = Vec::new();
        write_offset(&mut offset, 128);
        assert_eq!(offset, [0x80, 0x00]);
        let mut offset = Vec::new();
        write_offset(&mut offset, 16_511);
        assert_eq!(offset, [0xff, 0x7f]);
    }
}
