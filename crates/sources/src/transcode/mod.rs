//! ECS JSON text out: what `crowsnest normalize` prints for each document of a record, one
//! JSON object per line, written straight into a byte buffer.
//!
//! Native and legacy audit Event lines (the common shape: one JSON object per line, as
//! kube-apiserver writes them with `--audit-log-path`) go through a transcoder ([`event`]): the
//! raw bytes are walked once and the document's JSON text is written without building an
//! [`events::Value`] tree. Untouched strings, integers and literals are copied as they are; what
//! the pipeline changes is rewritten; empty values are pruned (containers are written
//! tentatively and cut back when they end up empty). The output is byte for byte what the tree
//! path prints (the document's `Map` through `serde_json`): same key order, escaping and number
//! formatting. Any record the transcoder is not sure about (see [`event`]) goes through the tree
//! path instead, so errors and unusual shapes are exactly as before.
//!
//! With [`EcsFormat`] fields, only those fields are written ([`fields`]), as `normalize
//! --fields` projects them from the full document; the transcoder then skips the members no
//! requested field comes from without writing them. Field lists whose projected documents
//! nest into each other (`user` with `user.name`) use the tree path.

mod event;
mod fields;
mod json;

use std::cell::RefCell;

use events::{Document, Map, Value};

use crate::Normalizer;

pub(crate) use event::Scratch;

/// What is printed per document: all of it or only some fields, with or without `_id` and
/// `_index` (`crowsnest normalize --fields`, `--meta`).
#[derive(Debug, Clone)]
pub struct EcsFormat {
    fields: Option<Vec<String>>,
    /// The transcoder's plan for `fields`; `None` inside when it cannot serve them.
    plan: Option<Option<fields::Plan>>,
    meta: bool,
    transcode: bool,
}

impl EcsFormat {
    /// Every field (`fields` `None` or empty) or only the given dotted fields; `meta` adds
    /// `_id` and `_index` after them.
    pub fn new(fields: Option<Vec<String>>, meta: bool) -> EcsFormat {
        let fields = fields.filter(|f| !f.is_empty());
        EcsFormat {
            plan: fields.as_deref().map(fields::Plan::new),
            fields,
            meta,
            transcode: true,
        }
    }

    /// The same output through the tree path only (tests and the bench compare the two).
    pub fn tree_only(mut self) -> EcsFormat {
        self.transcode = false;
        self
    }

    /// Whether the transcoder serves this format (else every record takes the tree path).
    pub fn transcodes(&self) -> bool {
        self.transcode && !matches!(self.plan, Some(None))
    }

    pub(crate) fn plain() -> EcsFormat {
        EcsFormat::new(None, false)
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Normalizer {
    /// Writes the ECS JSON lines (each ending in `\n`) of the documents of one record to `out`;
    /// how many. The error is the record's, as [`Normalizer::normalize_line`] gives it (then
    /// nothing is written).
    pub fn write_ecs(&self, line: &[u8], format: &EcsFormat, out: &mut Vec<u8>) -> Result<u64, String> {
        if self.transcode(line, format, out) {
            return Ok(1);
        }
        let docs = self.normalize_line(line)?;
        for doc in &docs {
            write_document(doc, format, out);
        }
        Ok(docs.len() as u64)
    }

    /// The transcoder alone: true when it wrote the record's line into `out`, false (nothing
    /// written) when the record takes the tree path. Public for the bench and tests.
    #[doc(hidden)]
    pub fn transcode(&self, line: &[u8], format: &EcsFormat, out: &mut Vec<u8>) -> bool {
        // Projected documents of a reader with `Options::fields` may hold less than the full
        // ones; `event.original` is not transcoded.
        if !format.transcodes() || self.opts.fields.is_some() || self.opts.preserve_original {
            return false;
        }
        let Ok(text) = crate::util::utf8(crate::util::trim_ascii(line)) else {
            return false;
        };
        // Offsets are kept as u32.
        if text.len() >= u32::MAX as usize {
            return false;
        }
        out.reserve(text.len() + 1024);
        let start = out.len();
        let done = SCRATCH.with(|s| {
            let Ok(mut s) = s.try_borrow_mut() else {
                return Err(json::Fail);
            };
            match &format.plan {
                None => event::full(text, self, format, &mut s, out),
                Some(Some(plan)) => event::projected(text, self, format, plan, &mut s, out),
                Some(None) => Err(json::Fail),
            }
        });
        if done.is_ok() {
            out.push(b'\n');
            true
        } else {
            out.truncate(start);
            false
        }
    }
}

/// Writes a document's line as `crowsnest normalize` prints it: its source, or the requested
/// fields (each field's values, one as it is, several as an array, nested at the dots), then
/// `_id`/`_index` with `meta`; a newline at the end.
pub fn write_document(doc: &Document, format: &EcsFormat, out: &mut Vec<u8>) {
    let projected;
    let mut with_meta;
    let mut map = match &format.fields {
        None => &doc.source,
        Some(fields) => {
            projected = project(doc, fields);
            &projected
        }
    };
    if format.meta {
        with_meta = map.clone();
        with_meta.insert("_id", Value::from(doc.id.as_str()));
        with_meta.insert("_index", Value::from(doc.index.as_str()));
        map = &with_meta;
    }
    // Writing into a Vec cannot fail, and a Map always serializes.
    let _ = serde_json::to_writer(&mut *out, map);
    out.push(b'\n');
}

fn project(doc: &Document, fields: &[String]) -> Map {
    let mut out = Map::new();
    for f in fields {
        let vals = doc.field(f);
        match vals.len() {
            0 => {}
            1 => out.insert_path(f, vals[0].clone()),
            _ => out.insert_path(f, Value::Array(vals.into_iter().cloned().collect())),
        }
    }
    out
}
