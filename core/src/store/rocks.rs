//! The RocksDB backend: one database per repository, a column family per record kind.

use super::{delta, Backend, Batch, Durability, Error, Result, Stored, StoredAs, Table};
use crate::id::ObjectId;
use crate::refs::RefTarget;
use rocksdb::{
    BlockBasedOptions, ColumnFamilyDescriptor, DBCompressionType, DataBlockIndexType, Direction,
    IngestExternalFileOptions, IteratorMode, LogLevel, Options, SstFileWriter, WriteBatch, WriteOptions, DB,
};
use rustc_hash::{FxHashMap, FxHashSet};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const OBJECTS: &str = "objects";
const REFS: &str = "refs";
const OPLOG: &str = "oplog";
const GITMAP: &str = "gitmap";
const MERGE_CACHE: &str = "merge_cache";
const QUEUE: &str = "queue";
const TRANSFERS: &str = "transfers";
const FAMILIES: [&str; 7] = [OBJECTS, REFS, OPLOG, GITMAP, MERGE_CACHE, QUEUE, TRANSFERS];

fn family(table: Table) -> &'static str {
    match table {
        Table::MergeCache => MERGE_CACHE,
        Table::Queue => QUEUE,
        Table::Transfers => TRANSFERS,
    }
}

/// Objects, refs and the operation log in one RocksDB database.
///
/// Objects compress with zstd; ref updates are checked and written under a lock so
/// compare-and-swap holds within the process, and RocksDB's own lock file keeps
/// other processes out while it is open.
pub struct RocksBackend {
    db: DB,
    write_lock: Mutex<()>,
    mode: OpenMode,
    wrote: AtomicBool,
    recent: Mutex<Recent>,
    compressor: Mutex<delta::Compressor>,
    /// Where the database is, and the options of the table files that bulk loads
    /// write themselves (see [`RocksBackend::ingest`]).
    path: PathBuf,
    bulk_options: Options,
    /// How many table files bulk loads wrote (to name the next).
    bulk_files: AtomicU64,
}

/// Objects read or written lately, whole: the previous version of a file is the
/// usual delta base of its next one, and should not need rebuilding from its chain.
/// Evicted oldest first, except that an object used since it was put gets a second
/// chance (CLOCK): a base that many later versions build on (a file changed now and
/// then in a long history) stays, where plain first-in-first-out dropped it and
/// its chain was rebuilt for each of them.
#[derive(Default)]
struct Recent {
    objects: HashMap<ObjectId, Cached>,
    order: VecDeque<ObjectId>,
    bytes: usize,
}

struct Cached {
    bytes: Arc<Vec<u8>>,
    depth: u8,
    used: bool,
}

impl Recent {
    const CAPACITY: usize = 64 << 20;

    fn get(&mut self, id: &ObjectId) -> Option<(Arc<Vec<u8>>, u8)> {
        let cached = self.objects.get_mut(id)?;
        cached.used = true;
        Some((cached.bytes.clone(), cached.depth))
    }

    fn put(&mut self, id: ObjectId, bytes: Arc<Vec<u8>>, depth: u8) {
        if bytes.len() > Self::CAPACITY / 8 || self.objects.contains_key(&id) {
            return;
        }
        self.bytes += bytes.len();
        self.objects.insert(id, Cached { bytes, depth, used: false });
        self.order.push_back(id);
        while self.bytes > Self::CAPACITY {
            let Some(old) = self.order.pop_front() else { break };
            let Some(cached) = self.objects.get_mut(&old) else { continue };
            if std::mem::take(&mut cached.used) {
                self.order.push_back(old);
            } else if let Some(cached) = self.objects.remove(&old) {
                self.bytes -= cached.bytes.len();
            }
        }
    }
}

/// How to open the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create it if missing, read and write.
    Create,
    /// Read and write an existing database.
    ReadWrite,
    /// Read only: takes no lock and writes nothing, so it is cheaper to open and
    /// can run beside a writer.
    ReadOnly,
}

/// The objects' block cache for an open of `mode`. Readers (serving a clone,
/// fsck, export) read whole histories, revisiting blocks: serving a clone of
/// 700,000 generated objects took 28 s of CPU with 128 MiB, 17 s with 256 MiB.
/// Writers (clone, import) mostly read what they just wrote, which the cache of
/// recent objects holds whole: a clone's client of a real history of 336,000
/// objects took as long with 64 MiB as with 256 MiB, at 350 MB instead of 520 MB,
/// but an import with 64 MiB took a quarter longer than with 128 MiB.
fn block_cache_bytes(mode: OpenMode) -> usize {
    match mode {
        OpenMode::ReadOnly => 256 << 20,
        OpenMode::Create | OpenMode::ReadWrite => 128 << 20,
    }
}

fn backend_error(e: rocksdb::Error) -> Error {
    let text = e.into_string();
    if text.contains("lock") && text.contains("LOCK") {
        Error::Backend(format!("another pg process has this repository open ({text}); wait for it to finish"))
    } else {
        Error::Backend(text)
    }
}

impl RocksBackend {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self> {
        let mut db_options = Options::default();
        db_options.create_if_missing(mode == OpenMode::Create);
        db_options.create_missing_column_families(true);
        db_options.set_max_background_jobs(2);
        db_options.set_keep_log_file_num(2);
        db_options.set_paranoid_checks(true);
        // Most pg commands read a few keys and exit: open tables lazily, skip the
        // statistics scan, and keep RocksDB's own log quiet, so opening is cheap.
        db_options.set_max_open_files(512);
        db_options.set_max_file_opening_threads(1);
        db_options.set_skip_stats_update_on_db_open(true);
        db_options.set_skip_checking_sst_file_sizes_on_db_open(true);
        db_options.set_log_level(LogLevel::Error);

        let mut objects = Options::default();
        // Flushes (a clone writes one every few MB) compress with fast LZ4; the
        // compactions that settle data in the last level, with zstd.
        objects.set_compression_type(DBCompressionType::Lz4);
        objects.set_bottommost_compression_type(DBCompressionType::Zstd);
        objects.set_write_buffer_size(128 << 20);
        // Bulk writes come as table files of a few MB (see `ingest`) whose ids spread
        // over the whole key space, so each overlaps all of level 1: compacting every
        // 4 of them (the default) rewrote level 1 each time, and a clone of 336,000
        // objects took 20.5 s instead of 14.6 s.
        objects.set_level_zero_file_num_compaction_trigger(16);
        objects.set_level_zero_slowdown_writes_trigger(48);
        objects.set_level_zero_stop_writes_trigger(64);
        if mode != OpenMode::ReadOnly {
            // Most lookups while writing are for ids not stored yet. (The filter is
            // allocated with each memtable, so readers, which write nothing, skip it.)
            objects.set_memtable_prefix_bloom_ratio(0.05);
            objects.set_memtable_whole_key_filtering(true);
        }
        let mut table = BlockBasedOptions::default();
        // Walks of history (blame, log -- PATH) read one commit and one tree here
        // and there over the whole key space: every miss decompresses a block. On
        // rust-analyzer's history (336,000 objects) blaming Cargo.toml took 1.95 s
        // with 64 KiB blocks, 1.01 s with 16 KiB (8 KiB: no faster), for a store
        // an eighth larger (189 MB instead of 168 MB) and clones as fast.
        table.set_block_size(16 << 10);
        // Whole-history reads (serving a clone, fsck, replaying merges) revisit the
        // same zstd blocks; RocksDB's default 8 MB cache would decompress them again.
        // Memory is taken only as blocks are read.
        if let Ok(cache) = rocksdb::Cache::new_lru_cache(block_cache_bytes(mode)) {
            table.set_block_cache(&cache);
        }
        table.set_bloom_filter(10.0, false);
        // A point lookup finds its key in a block by hash, not by a binary
        // search over the block's restart points and a scan after it.
        table.set_data_block_index_type(DataBlockIndexType::BinaryAndHash);
        objects.set_block_based_table_factory(&table);

        let descriptors = |names: &[&str]| -> Vec<ColumnFamilyDescriptor> {
            names
                .iter()
                .map(|name| {
                    let options = if *name == OBJECTS { objects.clone() } else { Options::default() };
                    ColumnFamilyDescriptor::new(*name, options)
                })
                .collect()
        };
        let db = match mode {
            OpenMode::Create | OpenMode::ReadWrite => {
                DB::open_cf_descriptors(&db_options, path, descriptors(&FAMILIES))
            }
            // A read-only open cannot create column families: when one added in a
            // later version is missing, open those that exist (it reads as empty).
            OpenMode::ReadOnly => {
                DB::open_cf_descriptors_read_only(&db_options, path, descriptors(&FAMILIES), false).or_else(
                    |_| {
                        let existing = DB::list_cf(&db_options, path).unwrap_or_default();
                        let names: Vec<&str> =
                            FAMILIES.into_iter().filter(|f| existing.iter().any(|e| e == f)).collect();
                        DB::open_cf_descriptors_read_only(&db_options, path, descriptors(&names), false)
                    },
                )
            }
        }
        .map_err(backend_error)?;
        if mode != OpenMode::ReadOnly {
            tidy_database_dir(path);
        }
        // Bulk loads go to level 0, and compactions settle them in the last level
        // with zstd: written with fast LZ4, like a flush.
        let mut bulk_options = objects.clone();
        bulk_options.set_bottommost_compression_type(DBCompressionType::Lz4);
        Ok(RocksBackend {
            db,
            write_lock: Mutex::new(()),
            mode,
            wrote: AtomicBool::new(false),
            recent: Mutex::new(Recent::default()),
            compressor: Mutex::new(delta::Compressor::default()),
            path: path.to_path_buf(),
            bulk_options,
            bulk_files: AtomicU64::new(0),
        })
    }

    fn check_writable(&self) -> Result<()> {
        match self.mode {
            OpenMode::ReadOnly => Err(Error::Backend("the repository was opened read-only".into())),
            _ => Ok(()),
        }
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db.cf_handle(name).expect("writable opens create every column family")
    }

    fn get(&self, family: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.db.cf_handle(family) {
            Some(cf) => self.db.get_cf(cf, key).map_err(backend_error),
            None => Ok(None),
        }
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many objects wait in memtables, not yet in table files.
    fn memtable_entries(&self) -> Result<u64> {
        let mut entries = 0;
        for property in ["rocksdb.num-entries-active-mem-table", "rocksdb.num-entries-imm-mem-tables"] {
            let count = self.db.property_int_value_cf(self.cf(OBJECTS), property).map_err(backend_error)?;
            entries += count.unwrap_or(0);
        }
        Ok(entries)
    }

    /// Stores new objects, sorted by id, as a table file of their own taken into
    /// the database whole: no memtable fills (a clone's 128 MiB of them, and their
    /// flushes, were a third of its memory and a fifth of its time), and the objects
    /// are durable once it returns. Only for ids the store does not hold.
    fn ingest(&self, sorted: &[(&ObjectId, Cow<'_, [u8]>)]) -> Result<()> {
        let number = self.bulk_files.fetch_add(1, Ordering::Relaxed);
        let path = self.path.join(format!("{BULK_PREFIX}{}-{number}.sst", std::process::id()));
        let ingested = self.write_table(&path, sorted).and_then(|()| {
            // Bulk writes before this one may wait unlogged in the memtable: they go
            // to disk first, so that a crash keeps a prefix of the writes and no
            // object survives what it refers to.
            if self.memtable_entries()? > 0 {
                self.db.flush_cf(self.cf(OBJECTS)).map_err(backend_error)?;
            }
            let mut options = IngestExternalFileOptions::default();
            options.set_move_files(true);
            self.db
                .ingest_external_file_cf_opts(self.cf(OBJECTS), &options, vec![&path])
                .map_err(backend_error)
        });
        // Moved in on success (a link, then this name is dropped); not taken on failure.
        let _ = std::fs::remove_file(&path);
        ingested
    }

    /// Writes objects sorted by id, each once, to a table file at `path`.
    fn write_table(&self, path: &Path, sorted: &[(&ObjectId, Cow<'_, [u8]>)]) -> Result<()> {
        let mut writer = SstFileWriter::create(&self.bulk_options);
        writer.open(path).map_err(backend_error)?;
        for (id, value) in sorted {
            writer.put(id.as_bytes(), value).map_err(backend_error)?;
        }
        writer.finish().map_err(backend_error)
    }

    /// An object's bytes and delta depth, reconstructing deltas.
    fn load(&self, id: &ObjectId) -> Result<Option<(Arc<Vec<u8>>, u8)>> {
        let cached = self.recent().get(id);
        if let Some(hit) = cached {
            return Ok(Some(hit));
        }
        let Some(stored) = self.db.get_pinned_cf(self.cf(OBJECTS), id.as_bytes()).map_err(backend_error)?
        else {
            return Ok(None);
        };
        self.rebuild(id, &stored).map(Some)
    }

    /// An object's bytes and delta depth from what is stored for it.
    fn rebuild(&self, id: &ObjectId, stored: &[u8]) -> Result<(Arc<Vec<u8>>, u8)> {
        let (bytes, depth) = self.expand(id, stored, delta::MAX_DEPTH)?;
        let bytes = Arc::new(bytes);
        // Only rebuilt objects are worth keeping; full ones are one read away.
        if depth > 0 {
            self.recent().put(*id, bytes.clone(), depth);
        }
        Ok((bytes, depth))
    }

    /// Stored bytes to object bytes (and delta depth), following at most `budget`
    /// more deltas, so that damaged data cannot make a read loop.
    fn expand(&self, id: &ObjectId, stored: &[u8], budget: u8) -> Result<(Vec<u8>, u8)> {
        let (_, stored) = split_git_id(stored);
        if !delta::is_delta(stored) {
            return Ok((stored.to_vec(), 0));
        }
        let corrupt = |reason: String| Error::Corrupt { id: *id, reason };
        let delta = delta::parse(stored).map_err(corrupt)?;
        if budget == 0 {
            return Err(corrupt(format!("its delta chain is longer than {}", delta::MAX_DEPTH)));
        }
        // Bound first: a guard in the match would still be held by the recursion.
        let cached = self.recent().get(&delta.base);
        let (base, base_depth) = match cached {
            Some(hit) => hit,
            None => {
                let stored =
                    self.db.get_pinned_cf(self.cf(OBJECTS), delta.base.as_bytes()).map_err(backend_error)?;
                let stored =
                    stored.ok_or_else(|| corrupt(format!("its delta base {} is missing", delta.base)))?;
                let (bytes, depth) = self.expand(&delta.base, &stored, budget - 1)?;
                let bytes = Arc::new(bytes);
                // Keep every base rebuilt on the way: reading a file's versions newest
                // first (as a clone does) would otherwise rebuild each chain again.
                if depth > 0 {
                    self.recent().put(delta.base, bytes.clone(), depth);
                }
                (bytes, depth)
            }
        };
        // Depths strictly decrease along a chain, which also rules out cycles.
        if base_depth + 1 != delta.depth {
            return Err(corrupt(format!("delta depth {} on a base of depth {base_depth}", delta.depth)));
        }
        Ok((delta.apply(&base).map_err(corrupt)?, delta.depth))
    }

    /// What to store for `bytes`, and its delta depth: a delta against its
    /// suggested base when that is smaller, the bytes themselves otherwise. The base
    /// may be stored, or come `earlier` in the same batch.
    fn stored_form(
        &self,
        id: &ObjectId,
        bytes: &Arc<Vec<u8>>,
        base: Option<&ObjectId>,
        earlier: &FxHashMap<ObjectId, (Arc<Vec<u8>>, u8)>,
    ) -> Result<Option<(Vec<u8>, u8)>> {
        let Some(base_id) = base else { return Ok(None) };
        let base_data = match earlier.get(base_id) {
            Some((base_bytes, depth)) => Some((base_bytes.clone(), *depth)),
            None => self.load(base_id)?,
        };
        if let Some((base_bytes, depth)) = base_data {
            let mut compressor = self.compressor.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(stored) = compressor.encode(bytes, base_id, &base_bytes, depth) {
                // Its next version will want it as a base: keep it whole.
                self.recent().put(*id, bytes.clone(), depth + 1);
                return Ok(Some((stored, depth + 1)));
            }
        }
        Ok(None)
    }

    /// How an object that came as a patch of `base` is stored: as that patch, when
    /// the chain stays short enough and the patch is worth it (no compressing
    /// again); otherwise whole (`None`: compressing against the same base would
    /// make the same patch).
    fn patched_form(
        &self,
        id: &ObjectId,
        bytes: &Arc<Vec<u8>>,
        base: &ObjectId,
        frame: &[u8],
        earlier: &FxHashMap<ObjectId, (Arc<Vec<u8>>, u8)>,
    ) -> Result<Option<(Vec<u8>, u8)>> {
        let cached = earlier.get(base).cloned().or_else(|| self.recent().get(base));
        let depth = match cached {
            Some((_, depth)) => Some(depth),
            None => self.stored_depth(base)?,
        };
        let stored = depth.and_then(|depth| delta::patch_to_delta(bytes.len(), base, depth, frame));
        if let Some((_, depth)) = &stored {
            self.recent().put(*id, bytes.clone(), *depth);
        }
        Ok(stored)
    }

    /// The delta depth of a stored object (0 when stored whole), read from its
    /// header without rebuilding it.
    fn stored_depth(&self, id: &ObjectId) -> Result<Option<u8>> {
        let Some(stored) = self.db.get_pinned_cf(self.cf(OBJECTS), id.as_bytes()).map_err(backend_error)?
        else {
            return Ok(None);
        };
        let (_, stored) = split_git_id(&stored);
        if !delta::is_delta(stored) {
            return Ok(Some(0));
        }
        let parsed = delta::parse(stored).map_err(|reason| Error::Corrupt { id: *id, reason })?;
        Ok(Some(parsed.depth))
    }

    fn get_id(&self, id: &ObjectId) -> Result<Option<ObjectId>> {
        let Some(bytes) = self.get(GITMAP, &git_map_key(id))? else { return Ok(None) };
        ObjectId::from_bytes(&bytes).map(Some).map_err(|e| Error::CorruptRecord {
            what: format!("git-id map entry for {id}"),
            reason: e.to_string(),
        })
    }
}

impl Backend for RocksBackend {
    fn read_object(&self, id: &ObjectId) -> Result<Option<Vec<u8>>> {
        Ok(self.load(id)?.map(|(bytes, _)| Arc::unwrap_or_clone(bytes)))
    }

    fn has_object(&self, id: &ObjectId) -> Result<bool> {
        let cf = self.cf(OBJECTS);
        if !self.db.key_may_exist_cf(cf, id.as_bytes()) {
            return Ok(false);
        }
        Ok(self.db.get_pinned_cf(cf, id.as_bytes()).map_err(backend_error)?.is_some())
    }

    fn ids_with_prefix(&self, leading: &[u8], limit: usize) -> Result<Vec<ObjectId>> {
        let mut ids = Vec::new();
        let iter = self.db.iterator_cf(self.cf(OBJECTS), IteratorMode::From(leading, Direction::Forward));
        for item in iter {
            let (key, _) = item.map_err(backend_error)?;
            if !key.starts_with(leading) || ids.len() == limit {
                break;
            }
            if let Ok(id) = ObjectId::from_bytes(&key) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn for_each_object(&self, visit: &mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<()> {
        for item in self.db.iterator_cf(self.cf(OBJECTS), IteratorMode::Start) {
            let (key, value) = item.map_err(backend_error)?;
            let wrapped = delta::is_delta(&value) || split_git_id(&value).0.is_some();
            let bytes = match (wrapped, ObjectId::from_bytes(&key)) {
                (true, Ok(id)) => match self.expand(&id, &value, delta::MAX_DEPTH) {
                    Ok((bytes, _)) => bytes,
                    // fsck reports it: bytes that cannot hash to the key.
                    Err(e) => e.to_string().into_bytes(),
                },
                _ => value.into_vec(),
            };
            if !visit(&key, &bytes) {
                break;
            }
        }
        Ok(())
    }

    fn for_each_stored(&self, visit: &mut dyn FnMut(&[u8], StoredAs) -> bool) -> Result<()> {
        for item in self.db.iterator_cf(self.cf(OBJECTS), IteratorMode::Start) {
            let (key, value) = item.map_err(backend_error)?;
            let stored = match ObjectId::from_bytes(&key).map(|id| parse_stored(&id, &value)) {
                Ok(Ok(Stored::Delta { base, .. })) => StoredAs::Delta(base),
                Ok(Ok(Stored::Whole(_))) => StoredAs::Whole,
                Ok(Err(e)) => StoredAs::Unreadable(e.to_string()),
                Err(e) => StoredAs::Unreadable(format!("key is not an object id: {e}")),
            };
            if !visit(&key, stored) {
                break;
            }
        }
        Ok(())
    }

    fn rebuild_from(&self, id: &ObjectId, base: Option<&[u8]>) -> Result<Vec<u8>> {
        let stored = self.db.get_pinned_cf(self.cf(OBJECTS), id.as_bytes()).map_err(backend_error)?;
        let stored = stored.ok_or(Error::Missing(*id))?;
        let (_, stored) = split_git_id(&stored);
        if !delta::is_delta(stored) {
            return Ok(stored.to_vec());
        }
        let corrupt = |reason: String| Error::Corrupt { id: *id, reason };
        let delta = delta::parse(stored).map_err(corrupt)?;
        let base = base.ok_or_else(|| corrupt(format!("its delta base {} was not given", delta.base)))?;
        delta.apply(base).map_err(corrupt)
    }

    fn read_ref(&self, name: &str) -> Result<Option<RefTarget>> {
        let Some(bytes) = self.get(REFS, name.as_bytes())? else { return Ok(None) };
        decode_ref(name, &bytes).map(Some)
    }

    fn pg_id_for_git(&self, git: &ObjectId) -> Result<Option<ObjectId>> {
        self.get_id(git)
    }

    fn git_id_for_pg(&self, pg: &ObjectId) -> Result<Option<ObjectId>> {
        let stored = self.db.get_pinned_cf(self.cf(OBJECTS), pg.as_bytes()).map_err(backend_error)?;
        Ok(stored.and_then(|stored| split_git_id(&stored).0.map(|digest| ObjectId::from_git_sha1(&digest))))
    }

    fn list_refs(&self, prefix: &str) -> Result<Vec<(String, RefTarget)>> {
        let mode = IteratorMode::From(prefix.as_bytes(), Direction::Forward);
        let mut refs = Vec::new();
        for item in self.db.iterator_cf(self.cf(REFS), mode) {
            let (key, value) = item.map_err(backend_error)?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            let name = String::from_utf8_lossy(&key).into_owned();
            let target = decode_ref(&name, &value)?;
            refs.push((name, target));
        }
        Ok(refs)
    }

    fn read_operations(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut ops = Vec::new();
        for item in self.db.iterator_cf(self.cf(OPLOG), IteratorMode::End).take(limit) {
            let (key, value) = item.map_err(backend_error)?;
            let seq: [u8; 8] = key.as_ref().try_into().map_err(|_| Error::CorruptRecord {
                what: "operation key".into(),
                reason: format!("{} bytes, not 8", key.len()),
            })?;
            ops.push((u64::from_be_bytes(seq), value.into_vec()));
        }
        Ok(ops)
    }

    fn stored(&self, id: &ObjectId) -> Result<Option<Stored>> {
        let Some(stored) = self.db.get_pinned_cf(self.cf(OBJECTS), id.as_bytes()).map_err(backend_error)?
        else {
            return Ok(None);
        };
        parse_stored(id, &stored).map(Some)
    }

    fn stored_and_read(&self, id: &ObjectId) -> Result<Option<(Stored, Arc<Vec<u8>>)>> {
        let Some(stored) = self.db.get_pinned_cf(self.cf(OBJECTS), id.as_bytes()).map_err(backend_error)?
        else {
            return Ok(None);
        };
        let cached = self.recent().get(id);
        let bytes = match cached {
            Some((bytes, _)) => bytes,
            None => self.rebuild(id, &stored)?.0,
        };
        Ok(Some((parse_stored(id, &stored)?, bytes)))
    }

    fn read_record(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get(family(table), key)
    }

    fn list_records(&self, table: Table, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let Some(cf) = self.db.cf_handle(family(table)) else { return Ok(Vec::new()) };
        let mut records = Vec::new();
        for item in self.db.iterator_cf(cf, IteratorMode::From(prefix, Direction::Forward)) {
            let (key, value) = item.map_err(backend_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            records.push((key.into_vec(), value.into_vec()));
        }
        Ok(records)
    }

    fn write(&self, batch: Batch, durability: Durability) -> Result<()> {
        self.check_writable()?;
        let _guard = self.write_lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for update in &batch.refs {
            if self.read_ref(&update.name)? != update.expected {
                return Err(Error::RefChanged { name: update.name.clone() });
            }
        }
        let mut wb = WriteBatch::default();
        let objects = self.cf(OBJECTS);
        let git_of: FxHashMap<&ObjectId, &ObjectId> =
            batch.git_ids.iter().map(|(git, pg)| (pg, git)).collect();
        let mut already_stored = FxHashSet::default();
        // Shared, not copied, with the cache of recent objects.
        let batch_objects: Vec<(ObjectId, Arc<Vec<u8>>)> =
            batch.objects.into_iter().map(|(id, bytes)| (id, Arc::new(bytes))).collect();
        let mut earlier: FxHashMap<ObjectId, (Arc<Vec<u8>>, u8)> = FxHashMap::default();
        // In key order: a table file takes nothing else, the memtable sorted keys faster.
        let mut puts: Vec<(&ObjectId, Cow<'_, [u8]>)> = Vec::with_capacity(batch_objects.len());
        for (id, bytes) in &batch_objects {
            // Objects never change: one stored already stays as it is (rewriting it
            // as a delta could make a cycle with its own descendants).
            if !batch.objects_are_new
                && self.db.get_pinned_cf(objects, id.as_bytes()).map_err(backend_error)?.is_some()
            {
                already_stored.insert(*id);
                continue;
            }
            let delta = match batch.patches.get(id) {
                Some((base, frame)) => self.patched_form(id, bytes, base, frame, &earlier)?,
                None => self.stored_form(id, bytes, batch.delta_bases.get(id), &earlier)?,
            };
            let depth = delta.as_ref().map_or(0, |(_, depth)| *depth);
            let value = delta.map_or(Cow::Borrowed(bytes.as_slice()), |(d, _)| Cow::Owned(d));
            puts.push(match git_of.get(id) {
                Some(git) => (id, Cow::Owned(with_git_id(Some(git), value.into_owned()))),
                None => (id, value),
            });
            earlier.insert(*id, (bytes.clone(), depth));
        }
        puts.sort_unstable_by_key(|(id, _)| *id);
        // An object twice in a batch is stored once (a table file takes each key once).
        puts.dedup_by_key(|(id, _)| *id);
        let put_bytes: usize = puts.iter().map(|(_, value)| value.len()).sum();
        if durability == Durability::Bulk && put_bytes >= MIN_INGEST_BYTES {
            self.ingest(&puts)?;
        } else {
            for (id, value) in &puts {
                wb.put_cf(objects, id.as_bytes(), value);
            }
        }
        // Objects stored earlier learn their git id in place.
        let written: FxHashSet<&ObjectId> =
            batch_objects.iter().map(|(id, _)| id).filter(|id| !already_stored.contains(*id)).collect();
        for (git, pg) in batch.git_ids.iter().filter(|(_, pg)| !written.contains(pg)) {
            let Some(stored) = self.db.get_cf(objects, pg.as_bytes()).map_err(backend_error)? else {
                continue;
            };
            if split_git_id(&stored).0.is_none() {
                wb.put_cf(objects, pg.as_bytes(), with_git_id(Some(git), stored));
            }
        }
        for id in &batch.removed_objects {
            let Some(stored) = self.db.get_pinned_cf(objects, id.as_bytes()).map_err(backend_error)? else {
                continue;
            };
            if let (Some(git), _) = split_git_id(&stored) {
                wb.delete_cf(self.cf(GITMAP), git_map_key(&ObjectId::from_git_sha1(&git)));
            }
            wb.delete_cf(objects, id.as_bytes());
        }
        let refs = self.cf(REFS);
        for update in &batch.refs {
            match &update.new {
                Some(target) => wb.put_cf(refs, update.name.as_bytes(), target.encode()),
                None => wb.delete_cf(refs, update.name.as_bytes()),
            }
        }
        let gitmap = self.cf(GITMAP);
        for (git, pg) in batch.git_ids.iter().chain(&batch.git_aliases) {
            wb.put_cf(gitmap, git_map_key(git), pg.as_bytes());
        }
        for (table, key, value) in &batch.records {
            let cf = self.cf(family(*table));
            match value {
                Some(value) => wb.put_cf(cf, key, value),
                None => wb.delete_cf(cf, key),
            }
        }
        if let Some((seq, bytes)) = &batch.operation {
            wb.put_cf(self.cf(OPLOG), seq.to_be_bytes(), bytes);
        }
        self.wrote.store(true, Ordering::Relaxed);
        let mut options = WriteOptions::default();
        match durability {
            Durability::Synced => options.set_sync(true),
            Durability::Bulk => options.disable_wal(true),
        }
        self.db.write_opt(wb, &options).map_err(backend_error)
    }

    fn persist(&self) -> Result<()> {
        self.check_writable()?;
        self.db.flush_cf(self.cf(OBJECTS)).map_err(backend_error)
    }
}

impl Drop for RocksBackend {
    /// Refs and operations are small and would sit in the write-ahead log for ever
    /// (their memtables never fill), making every later open replay them all. A
    /// process that wrote flushes its memtables on the way out, so the log is
    /// retired and the next open reads only table files.
    fn drop(&mut self) {
        if self.wrote.load(Ordering::Relaxed) {
            for name in FAMILIES {
                // Failing here loses nothing: the log still holds the writes.
                let _ = self.db.flush_cf(self.cf(name));
            }
        }
    }
}

/// Bulk writes of at least this many bytes of objects go in as table files of
/// their own (see [`RocksBackend::ingest`]); smaller ones through the memtable.
const MIN_INGEST_BYTES: usize = 1 << 20;

/// How the table files a bulk load writes before they are taken in are named.
const BULK_PREFIX: &str = "bulk-";

/// Deletes, with the database's lock held, what earlier opens left in its
/// directory and nothing will read:
/// - the table files of bulk loads that a process died writing (none is being
///   written now): they were never taken in;
/// - the write-ahead logs that earlier read-write opens left empty. Each
///   read-write open starts a log, and RocksDB 7.8 keeps an empty one for good
///   (the next open does not retire it: facebook/rocksdb#11313, fixed in 8.3), so
///   every command that writes nothing would leave one more file for every later
///   open to replay. The empty logs older than this open's own (the newest) are
///   deleted, as RocksDB's maintainers advise for older versions: safe while
///   `track_and_verify_wals_in_manifest` is off, its default. A log that cannot be
///   deleted stays, and costs nothing but its file.
fn tidy_database_dir(path: &Path) {
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut logs: Vec<(u64, std::fs::DirEntry)> = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name.starts_with(BULK_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
        } else if let Some(number) = name.strip_suffix(".log").and_then(|n| n.parse().ok()) {
            logs.push((number, entry));
        }
    }
    logs.sort_unstable_by_key(|(number, _)| *number);
    logs.pop();
    for (_, log) in logs {
        if log.metadata().is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(log.path());
        }
    }
}

/// The git-id map's key prefix for git id -> pg id entries.
const GIT_TO_PG: u8 = b'g';

fn git_map_key(git: &ObjectId) -> Vec<u8> {
    [&[GIT_TO_PG][..], git.as_bytes()].concat()
}

/// Stored objects may carry their git id: `0x02`, the 20-byte SHA-1 digest, then
/// the stored form (full or delta). The id is not part of the object's bytes.
const GIT_ID_TAG: u8 = 0x02;

/// How an object is stored, from its stored bytes.
fn parse_stored(id: &ObjectId, stored: &[u8]) -> Result<Stored> {
    let (_, inner) = split_git_id(stored);
    if !delta::is_delta(inner) {
        return Ok(Stored::Whole(inner.to_vec()));
    }
    let delta = delta::parse(inner).map_err(|reason| Error::Corrupt { id: *id, reason })?;
    Ok(Stored::Delta { base: delta.base, frame: delta.frame().to_vec(), length: delta.length })
}

fn split_git_id(stored: &[u8]) -> (Option<[u8; 20]>, &[u8]) {
    match stored.split_first() {
        Some((&GIT_ID_TAG, rest)) if rest.len() >= 20 => {
            (Some(rest[..20].try_into().expect("20 bytes")), &rest[20..])
        }
        _ => (None, stored),
    }
}

fn with_git_id(git: Option<&ObjectId>, stored: Vec<u8>) -> Vec<u8> {
    match git.filter(|g| g.digest().len() == 20) {
        Some(git) => [&[GIT_ID_TAG][..], git.digest(), &stored].concat(),
        None => stored,
    }
}

fn decode_ref(name: &str, bytes: &[u8]) -> Result<RefTarget> {
    RefTarget::decode(bytes).map_err(|reason| Error::CorruptRecord { what: format!("ref {name}"), reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_objects_used_since_they_came_outlive_unused_older_ones() {
        let mut recent = Recent::default();
        let object = Arc::new(vec![0; Recent::CAPACITY / 16]);
        let id = |n: u8| crate::HashAlgorithm::Blake3.hash(&[n]);
        recent.put(id(0), object.clone(), 1);
        recent.put(id(1), object.clone(), 1);
        assert!(recent.get(&id(0)).is_some());
        for n in 2..18 {
            recent.put(id(n), object.clone(), 1);
        }
        assert!(recent.get(&id(0)).is_some(), "used: kept");
        assert!(recent.get(&id(1)).is_none(), "unused and older: evicted");
        assert!(recent.get(&id(2)).is_none(), "unused and older: evicted");
        assert_eq!(recent.bytes, recent.objects.len() * object.len());
        assert!(recent.bytes <= Recent::CAPACITY);
    }

    /// `count` distinct objects of `size` bytes, keyed by their hashes.
    fn objects(count: u32, size: usize) -> Vec<(ObjectId, Vec<u8>)> {
        (0..count)
            .map(|n| {
                let mut bytes = format!("blob {n}\n").into_bytes();
                bytes.resize(size, b'a' + (n % 26) as u8);
                (crate::HashAlgorithm::Blake3.hash(&bytes), bytes)
            })
            .collect()
    }

    #[test]
    fn large_bulk_writes_go_in_as_table_files_and_stored_objects_stay_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let backend = RocksBackend::open(&path, OpenMode::Create).unwrap();
        let first = objects(300, 8 << 10);
        // Twice in one batch: a table file takes each key once.
        let mut batch = Batch { objects: first.clone(), ..Batch::default() };
        batch.objects.push(first[0].clone());
        backend.write(batch, Durability::Bulk).unwrap();
        assert_eq!(backend.memtable_entries().unwrap(), 0, "ingested, not put");
        // Stored already, and suggested as a delta of another: kept whole, as stored.
        let (id, bytes) = first[1].clone();
        let mut again = Batch { objects: vec![(id, bytes.clone())], ..Batch::default() };
        again.objects.extend(objects(300, 4 << 10).into_iter().skip(1));
        again.delta_bases.insert(id, first[2].0);
        backend.write(again, Durability::Bulk).unwrap();
        assert_eq!(backend.stored(&id).unwrap(), Some(Stored::Whole(bytes)));
        // A small write goes through the memtable.
        backend.write(Batch { objects: objects(1, 100), ..Batch::default() }, Durability::Bulk).unwrap();
        assert_eq!(backend.memtable_entries().unwrap(), 1);
        // ...and to disk before the next load, which is durable at once.
        backend
            .write(Batch { objects: objects(200, 6 << 10), ..Batch::default() }, Durability::Bulk)
            .unwrap();
        assert_eq!(backend.memtable_entries().unwrap(), 0);
        drop(backend);
        // What a process that died mid-load left is removed at the next open.
        std::fs::write(path.join(format!("{BULK_PREFIX}1-0.sst")), b"half a table").unwrap();
        drop(RocksBackend::open(&path, OpenMode::ReadWrite).unwrap());
        let left: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .filter_map(|entry| entry.unwrap().file_name().into_string().ok())
            .filter(|name| name.starts_with(BULK_PREFIX))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let read_only = RocksBackend::open(&path, OpenMode::ReadOnly).unwrap();
        for (id, bytes) in first {
            assert_eq!(read_only.read_object(&id).unwrap(), Some(bytes));
        }
    }

    fn logs(path: &Path) -> Vec<(String, u64)> {
        let mut logs: Vec<(String, u64)> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
            .map(|entry| (entry.file_name().to_string_lossy().into_owned(), entry.metadata().unwrap().len()))
            .collect();
        logs.sort();
        logs
    }

    fn record(key: &[u8], value: &[u8]) -> Batch {
        let records = vec![(Table::Transfers, key.to_vec(), Some(value.to_vec()))];
        Batch { records, ..Batch::default() }
    }

    #[test]
    fn opens_that_write_nothing_leave_no_logs_behind_and_logged_writes_survive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        drop(RocksBackend::open(&path, OpenMode::Create).unwrap());
        for _ in 0..5 {
            drop(RocksBackend::open(&path, OpenMode::ReadWrite).unwrap());
        }
        assert!(logs(&path).len() <= 2, "{:?}", logs(&path));
        // A logged write that was never flushed (the process died): its log is not
        // empty, and stays until it is replayed.
        let crashed = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::rocks::tests::a_writer_that_dies", "--include-ignored"])
            .env(DYING_WRITER, &path)
            .output()
            .unwrap();
        assert!(!crashed.status.success(), "the writer died");
        assert!(logs(&path).iter().any(|(_, len)| *len > 0), "{:?}", logs(&path));
        let reopened = RocksBackend::open(&path, OpenMode::ReadWrite).unwrap();
        assert_eq!(reopened.read_record(Table::Transfers, b"key").unwrap(), Some(b"value".to_vec()));
        drop(reopened);
        let read_only = RocksBackend::open(&path, OpenMode::ReadOnly).unwrap();
        assert_eq!(read_only.read_record(Table::Transfers, b"key").unwrap(), Some(b"value".to_vec()));
    }

    /// Where [`a_writer_that_dies`] writes: it runs only when this is set.
    const DYING_WRITER: &str = "PG_TEST_DYING_WRITER";

    /// Writes a record through the log, then dies before anything flushes it.
    #[test]
    #[ignore = "run by the test above, in a process of its own"]
    fn a_writer_that_dies() {
        let Some(path) = std::env::var_os(DYING_WRITER) else { return };
        let backend = RocksBackend::open(Path::new(&path), OpenMode::ReadWrite).unwrap();
        backend.write(record(b"key", b"value"), Durability::Synced).unwrap();
        // Exits without running destructors: nothing flushes the memtable.
        std::process::exit(3);
    }
}
