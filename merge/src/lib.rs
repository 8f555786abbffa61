//! pg-merge: where pg's merge engine will live.
//!
//! Planned (see the merge-engine issue): a tree-level 3-way merge, the cascade of
//! content-addressed merge functions chosen per path by `.pgattributes` (trivial,
//! text diff3, structured JSON/TOML/YAML, CRDT, LLM), the merge cache, provenance
//! and the conflict queue. Nothing is implemented yet, and nothing here pretends to
//! be: the crate exists so the workspace has its final shape.
#![warn(missing_docs)]
