//! The document model shared by every crowsnest crate.
//!
//! An event is a JSON-like tree ([`Value`], [`Map`]) wrapped in a [`Document`] that also carries
//! the metadata Elasticsearch keeps beside `_source` (`_id`, `_index`, where the line came from).
//! Field access ([`Document::field`]) follows Elasticsearch's flattening rules: a dotted path
//! reaches keys that themselves contain dots, arrays are transparent, and a field's value is the
//! flat list of its non-null leaf values (a multi-valued field has more than one).
//!
//! Strings and object keys are `compact_str::CompactString` (24 bytes inline, no allocation for
//! the short keys and values most of an event is made of): [`Value::Str`] holds one, [`Map`]
//! iterates by value as `(CompactString, Value)`, and [`Map::insert`] takes any key that is
//! `AsRef<str> + Into<CompactString>` (`&str`, `String`, `CompactString`).
//!
//! Types are not stored in the document: JSON has no `ip` or `date`. They come from the mapping,
//! modelled by [`catalog::Catalog`], which the query analyzers consult to tell an unknown column
//! from a missing value.

pub mod catalog;
pub mod document;
pub mod glob;
pub mod time;
pub mod value;

pub use catalog::{Catalog, FieldType};
pub use document::{Document, FieldValues, Flat, Origin};
pub use value::{Map, Value};
