//! Projection on raw JSON: the values of a dotted field as [`events::Document::field`] finds
//! them in the normalized document (every split of the path at dots tried against the keys,
//! arrays transparent, nulls and pruned empties absent, an object is one value), and the
//! projected document as `crowsnest normalize --fields` builds it (`Map::insert_path` of each
//! field with values: one value as it is, several as an array, in the order fields are given).

use crate::parse::MAX_DEPTH;
use crate::scan::{literal, skip_value, ws};

use super::json::{self, Fail, Keys, Members, R, Seen, after_item, member_key, opt, write_str};

/// One requested field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) path: String,
    /// The `.`-separated segments of `path` (the nesting `insert_path` builds).
    segs: Vec<String>,
    /// Each segment as an output key: `"segment":`.
    keys: Vec<Vec<u8>>,
}

impl Field {
    /// The path inside `kubernetes.audit`, when the field is under it.
    pub(crate) fn audit_path(&self) -> Option<&str> {
        self.path.strip_prefix("kubernetes.audit.")
    }

    /// The field is `kubernetes` or inside it.
    pub(crate) fn in_kubernetes(&self) -> bool {
        self.segs[0] == "kubernetes"
    }
}

/// One member of a document the transcoder wrote, indexed: nesting depth, key and value
/// bounds, how many values the field there has (array elements, else one).
type Node = (u32, u32, u32, u32, u32, u32);

/// An index of the members of a (canonical, pruned) document the transcoder wrote, down to
/// three levels, leaving out `kubernetes`: the derived and agent-set fields, found without
/// scanning the document again for each field.
#[derive(Default)]
pub(crate) struct Index {
    nodes: Vec<Node>,
}

impl Index {
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
    }

    /// A member at `depth` whose key of `key_len` bytes (then `":`) ends at `at`, where its
    /// value starts; its number.
    pub(crate) fn open(&mut self, at: usize, depth: u32, key_len: usize) -> usize {
        let ke = at - 2;
        self.nodes
            .push((depth, (ke - key_len) as u32, ke as u32, at as u32, at as u32, 1));
        self.nodes.len() - 1
    }

    /// The value of member `n` ends at `end`; `count` values.
    pub(crate) fn close(&mut self, n: usize, end: usize, count: usize) {
        self.nodes[n].4 = end as u32;
        self.nodes[n].5 = count as u32;
    }

    /// The value of member `n`, an array of `count` elements, ends at `end`.
    pub(crate) fn close_array(&mut self, n: usize, end: usize, count: usize) {
        self.nodes[n].3 += 1;
        self.close(n, end - 1, count);
    }

    /// Forgets member `n` and those after it.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.nodes.truncate(n);
    }

    /// Indexes the object `text` (written by the transcoder: no empty values, no duplicate or
    /// dotted keys outside `kubernetes`).
    pub(crate) fn build(&mut self, text: &str) -> R<()> {
        self.nodes.clear();
        self.object(text, ws(text.as_bytes(), 0), 0)?;
        Ok(())
    }

    fn object(&mut self, text: &str, i: usize, depth: u32) -> R<usize> {
        let b = text.as_bytes();
        if b.get(i) != Some(&b'{') {
            return Err(Fail);
        }
        let mut i = ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            return Ok(i + 1);
        }
        loop {
            let (ks, ke, vi) = member_key(b, i)?;
            let at = self.nodes.len();
            self.nodes.push((depth, ks as u32, ke as u32, vi as u32, 0, 1));
            let (end, count) = match b.get(vi) {
                Some(b'{') if depth < 2 && !(depth == 0 && &b[ks..ke] == b"kubernetes") => {
                    (self.object(text, vi, depth + 1)?, 1)
                }
                Some(b'[') => {
                    let mut count = 0;
                    let end = elements(text, vi, depth + 1, |i| {
                        count += 1;
                        opt(skip_value(b, i, depth + 2))
                    })?;
                    self.nodes[at].3 = vi as u32 + 1;
                    (end, count)
                }
                _ => (opt(skip_value(b, vi, depth + 1))?, 1),
            };
            let value_end = if b.get(vi) == Some(&b'[') { end - 1 } else { end };
            self.nodes[at].4 = value_end as u32;
            self.nodes[at].5 = count;
            let (more, next) = after_item(b, end, b'}')?;
            if !more {
                return Ok(next);
            }
            i = next;
        }
    }

    /// Appends the values of `field` (not inside `kubernetes`) to `vals`; how many.
    pub(crate) fn values(&self, text: &str, field: &Field, vals: &mut Vec<u8>) -> usize {
        let b = text.as_bytes();
        let (mut lo, mut hi) = (0, self.nodes.len());
        for (d, seg) in field.segs.iter().enumerate() {
            let d = d as u32;
            let Some(j) = (lo..hi).find(|&j| {
                let n = self.nodes[j];
                n.0 == d && &b[n.1 as usize..n.2 as usize] == seg.as_bytes()
            }) else {
                return 0;
            };
            let n = self.nodes[j];
            if d as usize + 1 == field.segs.len() {
                vals.extend_from_slice(&b[n.3 as usize..n.4 as usize]);
                return n.5 as usize;
            }
            lo = j + 1;
            hi = (lo..hi).find(|&k| self.nodes[k].0 <= d).unwrap_or(hi);
        }
        0
    }
}

/// The members of a document besides `kubernetes` (derived and agent-set fields), as bits:
/// which of them a projection needs written.
pub(crate) const EVENT: u16 = 1;
pub(crate) const USER: u16 = 1 << 1;
pub(crate) const USER_AGENT: u16 = 1 << 2;
pub(crate) const CLIENT: u16 = 1 << 3;
pub(crate) const SOURCE: u16 = 1 << 4;
pub(crate) const ORCHESTRATOR: u16 = 1 << 5;
pub(crate) const RELATED: u16 = 1 << 6;
pub(crate) const TIMESTAMP: u16 = 1 << 7;
pub(crate) const ECS: u16 = 1 << 8;
pub(crate) const DATA_STREAM: u16 = 1 << 9;
pub(crate) const ALL: u16 = (1 << 10) - 1;

fn root(name: &str) -> u16 {
    match name {
        "event" => EVENT,
        "user" => USER,
        "user_agent" => USER_AGENT,
        "client" => CLIENT,
        "source" => SOURCE,
        "orchestrator" => ORCHESTRATOR,
        "related" => RELATED,
        "@timestamp" => TIMESTAMP,
        "ecs" => ECS,
        "data_stream" => DATA_STREAM,
        _ => 0,
    }
}

/// The requested fields of a projection the transcoder can serve.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) fields: Vec<Field>,
    /// For fields `a`, `b`: how many leading segments they share (`a * len + b`).
    shared: Vec<usize>,
    /// Some field is the whole `kubernetes` or `kubernetes.audit` object.
    pub(crate) whole_audit: bool,
    /// The members besides `kubernetes` the fields are in.
    pub(crate) head: u16,
}

impl Plan {
    /// `None` when the fields' projected documents nest into each other (a field inside or
    /// equal to another, an empty segment): the tree path builds those.
    pub(crate) fn new(fields: &[String]) -> Option<Plan> {
        let mut out: Vec<Field> = Vec::with_capacity(fields.len());
        for f in fields {
            let segs: Vec<String> = f.split('.').map(str::to_string).collect();
            if segs.iter().any(String::is_empty) {
                return None;
            }
            let nested = |a: &[String], b: &[String]| a.len() <= b.len() && b[..a.len()] == *a;
            if out
                .iter()
                .any(|o| nested(&o.segs, &segs) || nested(&segs, &o.segs))
            {
                return None;
            }
            let keys = segs
                .iter()
                .map(|seg| {
                    let mut k = Vec::new();
                    write_str(&mut k, seg);
                    k.push(b':');
                    k
                })
                .collect();
            out.push(Field {
                path: f.clone(),
                segs,
                keys,
            });
        }
        let shared = out
            .iter()
            .flat_map(|a| {
                out.iter()
                    .map(|b| a.segs.iter().zip(&b.segs).take_while(|(x, y)| x == y).count())
            })
            .collect();
        let whole_audit = out
            .iter()
            .any(|f| f.path == "kubernetes" || f.path == "kubernetes.audit");
        let head = out.iter().fold(0, |bits, f| bits | root(&f.segs[0]));
        Some(Plan {
            shared,
            fields: out,
            whole_audit,
            head,
        })
    }
}

/// Where `key` (renamed with `.` → `_` when `dots`) stands to `path`: the whole path
/// (`Some("")`), its first part (`Some(rest)` after the dot) or neither.
fn relation<'p>(key: &[u8], path: &'p str, dots: bool) -> Option<&'p str> {
    let p = path.as_bytes();
    if p.len() < key.len() || (!dots && p.first() != key.first()) {
        return None;
    }
    let same = if dots {
        key.iter()
            .zip(p)
            .all(|(&k, &c)| k == c || (k == b'.' && c == b'_'))
    } else {
        &p[..key.len()] == key
    };
    if !same {
        return None;
    }
    if p.len() == key.len() {
        Some("")
    } else if p[key.len()] == b'.' {
        Some(&path[key.len() + 1..])
    } else {
        None
    }
}

/// Appends the values of `path` in the object `text` (a whole, already valid JSON object) to
/// `vals` (comma-separated); how many.
pub(crate) fn collect(text: &str, path: &str, keys: &mut Keys, vals: &mut Vec<u8>) -> R<usize> {
    let mut count = 0;
    let i = ws(text.as_bytes(), 0);
    object(text, i, path, 0, Members::Plain, keys, vals, &mut count)?;
    Ok(count)
}

/// The values of `path` (inside the audit object) that the top-level member `key` (value at
/// `vi`, its object's members rewritten as `mode` says) holds; how many.
pub(crate) fn member(
    text: &str,
    key: &str,
    vi: usize,
    path: &str,
    mode: Members,
    keys: &mut Keys,
    vals: &mut Vec<u8>,
) -> R<usize> {
    let mut count = 0;
    match relation(key.as_bytes(), path, false) {
        Some("") => {
            leaf(text, vi, 1, mode, keys, vals, &mut count)?;
        }
        Some(rest) => {
            inner(text, vi, rest, 1, mode, keys, vals, &mut count)?;
        }
        None => {}
    }
    Ok(count)
}

/// The members of the object at `i` (inside `depth` containers) on the way to `path`.
#[allow(clippy::too_many_arguments)]
fn object(
    text: &str,
    i: usize,
    path: &str,
    depth: u32,
    mode: Members,
    keys: &mut Keys,
    vals: &mut Vec<u8>,
    count: &mut usize,
) -> R<usize> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'{') || depth >= MAX_DEPTH {
        return Err(Fail);
    }
    let dots = mode == Members::DotsToUnderscores;
    let mark = keys.open();
    let mut seen = Seen::default();
    let mut i = ws(b, i + 1);
    let mut more = b.get(i) != Some(&b'}');
    if !more {
        i += 1;
    }
    let result = (|| {
        while more {
            let (ks, ke, vi) = member_key(b, i)?;
            keys.add(text, ks, ke, mark, dots, &mut seen)?;
            let key = &b[ks..ke];
            let end = if mode == Members::NoMetadata && key == b"metadata" {
                opt(skip_value(b, vi, depth + 1))?
            } else {
                match relation(key, path, dots) {
                    Some("") => leaf(text, vi, depth + 1, Members::Plain, keys, vals, count)?,
                    Some(rest) => inner(text, vi, rest, depth + 1, Members::Plain, keys, vals, count)?,
                    None => opt(skip_value(b, vi, depth + 1))?,
                }
            };
            (more, i) = after_item(b, end, b'}')?;
        }
        Ok(i)
    })();
    keys.close(mark);
    result
}

/// Inside the value at `i` on the way to `path`: objects are searched, arrays transparent.
#[allow(clippy::too_many_arguments)]
fn inner(
    text: &str,
    i: usize,
    path: &str,
    depth: u32,
    mode: Members,
    keys: &mut Keys,
    vals: &mut Vec<u8>,
    count: &mut usize,
) -> R<usize> {
    let b = text.as_bytes();
    match b.get(i) {
        Some(b'{') => object(text, i, path, depth, mode, keys, vals, count),
        Some(b'[') => elements(text, i, depth, |i| {
            inner(text, i, path, depth + 1, Members::Plain, keys, vals, count)
        }),
        _ => opt(skip_value(b, i, depth)),
    }
}

/// The value at `i` as values of the field: nulls dropped, arrays flattened, anything else
/// (pruned) one value unless pruned away.
#[allow(clippy::too_many_arguments)]
fn leaf(
    text: &str,
    i: usize,
    depth: u32,
    mode: Members,
    keys: &mut Keys,
    vals: &mut Vec<u8>,
    count: &mut usize,
) -> R<usize> {
    let b = text.as_bytes();
    match b.get(i) {
        Some(b'n') => opt(literal(b, i, b"null")),
        Some(b'[') => elements(text, i, depth, |i| {
            leaf(text, i, depth + 1, Members::Plain, keys, vals, count)
        }),
        _ => {
            let before = vals.len();
            if *count > 0 {
                vals.push(b',');
            }
            let (end, written) = match (mode, b.get(i)) {
                (Members::DotsToUnderscores | Members::NoMetadata, Some(b'{')) => {
                    json::object(text, i, depth, mode, keys, vals)?
                }
                _ => json::value(text, i, depth, keys, vals)?,
            };
            if written {
                *count += 1;
            } else {
                vals.truncate(before);
            }
            Ok(end)
        }
    }
}

/// Calls `f` with the index of each element of the array at `i`; the index after the array.
fn elements(text: &str, i: usize, depth: u32, mut f: impl FnMut(usize) -> R<usize>) -> R<usize> {
    let b = text.as_bytes();
    if depth >= MAX_DEPTH {
        return Err(Fail);
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b']') {
        return Ok(i + 1);
    }
    loop {
        let end = f(i)?;
        let (more, next) = after_item(b, end, b']')?;
        if !more {
            return Ok(next);
        }
        i = next;
    }
}

/// Writes the members of the projected object at the node made of the first `level` segments
/// of field `anchor` (the top when `None`): each field with values under it, its first segment
/// below the node in the order the first such field comes. `found` holds each field's values
/// (range in `vals`, count). Returns the number of members written.
pub(crate) fn emit_node(
    plan: &Plan,
    found: &[(usize, usize, usize)],
    vals: &[u8],
    anchor: Option<usize>,
    level: usize,
    out: &mut Vec<u8>,
) -> usize {
    let fields = &plan.fields;
    let same = |a: usize, b: usize, n: usize| plan.shared[a * fields.len() + b] >= n;
    let mut n = 0;
    for f in 0..fields.len() {
        if found[f].2 == 0 || anchor.is_some_and(|a| !same(f, a, level)) {
            continue;
        }
        if (0..f).any(|g| found[g].2 > 0 && same(g, f, level + 1)) {
            continue;
        }
        if n > 0 {
            out.push(b',');
        }
        n += 1;
        out.extend_from_slice(&fields[f].keys[level]);
        if fields[f].segs.len() == level + 1 {
            let (s, e, count) = found[f];
            if count == 1 {
                out.extend_from_slice(&vals[s..e]);
            } else {
                out.push(b'[');
                out.extend_from_slice(&vals[s..e]);
                out.push(b']');
            }
        } else {
            out.push(b'{');
            emit_node(plan, found, vals, Some(f), level + 1, out);
            out.push(b'}');
        }
    }
    n
}
