//! Running one file through its cascade of merge functions, with the cache.

use crate::cache::{self, Cache, Cached};
use crate::function::{FunctionId, Input, MergeFunction, Registry, Verdict};
use crate::text::Markers;
use pg_core::object::Object;
use pg_core::store::{self, Store};
use pg_core::ObjectId;
use std::sync::Arc;

/// Where a file's merge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    /// A function settled it; the merged content is `blob`.
    Settled {
        /// The function that settled it.
        function: FunctionId,
        /// The merged content.
        blob: ObjectId,
    },
    /// No function settled it.
    Unsettled {
        /// The functions that found a conflict.
        tried: Vec<FunctionId>,
        /// Content with conflict markers for the working copy, if a function in
        /// the cascade can show this conflict.
        rendering: Option<ObjectId>,
    },
}

/// One file's three blob ids and its path.
#[derive(Debug, Clone, Copy)]
pub struct Blobs<'p> {
    /// The path (for functions that look at extensions).
    pub path: &'p [u8],
    /// The base version (`None`: both sides added the file).
    pub base: Option<ObjectId>,
    /// Ours.
    pub ours: ObjectId,
    /// Theirs.
    pub theirs: ObjectId,
}

/// The contents of the three versions, read once when a function first needs them.
struct Contents {
    base: Option<Vec<u8>>,
    ours: Vec<u8>,
    theirs: Vec<u8>,
}

/// Runs `blobs` through the functions `cascade` names, in order, until one settles
/// it. Verdicts come from the cache when it has them. With `markers`, an unsettled
/// file is also rendered with conflict markers by the first function that can.
pub fn run(
    store: &Store,
    cache: &mut Cache,
    functions: &[Arc<dyn MergeFunction>],
    blobs: Blobs,
    markers: Option<&Markers>,
) -> store::Result<FileOutcome> {
    let mut contents: Option<Contents> = None;
    let mut tried = Vec::new();
    for function in functions {
        let id = function.descriptor().id();
        let key = cache::key(&id, blobs.base.as_ref(), &blobs.ours, &blobs.theirs);
        let verdict = match cache.get(&key)? {
            Some(cached) => cached,
            None => {
                let data = load(store, &blobs, &mut contents)?;
                let verdict = match function.merge(&input(&blobs, data)) {
                    Verdict::Clean(merged) => Cached::Clean(store.write_bulk(&Object::Blob(merged))?),
                    Verdict::Conflict => Cached::Conflict,
                    Verdict::Defer => Cached::Defer,
                };
                cache.put(&key, verdict)?;
                verdict
            }
        };
        match verdict {
            Cached::Clean(blob) => return Ok(FileOutcome::Settled { function: id, blob }),
            Cached::Conflict => tried.push(id),
            Cached::Defer => {}
        }
    }
    let rendering = match markers {
        Some(markers) => {
            let data = load(store, &blobs, &mut contents)?;
            let input = input(&blobs, data);
            match functions.iter().find_map(|f| f.render_conflict(&input, markers)) {
                Some(text) => Some(store.write_bulk(&Object::Blob(text))?),
                None => None,
            }
        }
        None => None,
    };
    Ok(FileOutcome::Unsettled { tried, rendering })
}

fn load<'c>(store: &Store, blobs: &Blobs, contents: &'c mut Option<Contents>) -> store::Result<&'c Contents> {
    if contents.is_none() {
        *contents = Some(Contents {
            base: blobs.base.map(|id| store.read_blob(&id)).transpose()?,
            ours: store.read_blob(&blobs.ours)?,
            theirs: store.read_blob(&blobs.theirs)?,
        });
    }
    Ok(contents.as_ref().expect("loaded just above"))
}

fn input<'a>(blobs: &Blobs<'a>, data: &'a Contents) -> Input<'a> {
    Input { path: blobs.path, base: data.base.as_deref(), ours: &data.ours, theirs: &data.theirs }
}

/// The functions a cascade names, looked up in `registry`.
pub fn resolve(registry: &Registry, names: &[String]) -> Result<Vec<Arc<dyn MergeFunction>>, String> {
    names.iter().map(|name| registry.get(name).cloned().ok_or_else(|| name.clone())).collect()
}
