//! Process events → `logs-cloud_defend.process-*` documents with the ECS fields Elastic Defend
//! for Containers writes (the mapping table is in the crate docs), and the pass-through of
//! documents already in ECS shape.

use compact_str::{CompactString, ToCompactString};
use events::time::parse_timestamp_value;
use events::{Map, Value};

use crate::fasttime::{format_millis, format_secs, parse as parse_timestamp};

use crate::util::{basename, get_path, get_str, set_path};
use crate::{Normalizer, Shape, TimePolicy};

/// The dataset of process documents.
pub const DATASET: &str = "cloud_defend.process";
/// `ecs.version` as the Defend for Containers agent writes it.
pub const ECS_VERSION: &str = "8.7.0";

/// Keeps an ECS document as it is; fills in `data_stream.*`, `event.dataset` and
/// `event.ingested` when missing. The index comes from `data_stream.*`, else `event.dataset`,
/// else `generic` (Fleet's default dataset).
pub(crate) fn pass_through(mut doc: Map, ctx: &Normalizer) -> Result<(Map, String), String> {
    let flat = |doc: &Map, path: &str| {
        get_str(doc, path)
            .or_else(|| doc.get(path).and_then(Value::as_str))
            .map(CompactString::from)
    };
    let dataset = flat(&doc, "data_stream.dataset")
        .or_else(|| flat(&doc, "event.dataset"))
        .unwrap_or_else(|| CompactString::const_new("generic"));
    let namespace =
        flat(&doc, "data_stream.namespace").unwrap_or_else(|| CompactString::from(&*ctx.opts.namespace));
    let ds_type = flat(&doc, "data_stream.type").unwrap_or_else(|| CompactString::const_new("logs"));
    if get_path(&doc, "data_stream.dataset").is_none() && doc.get("data_stream.dataset").is_none() {
        set_path(&mut doc, "data_stream.dataset", Value::Str(dataset.clone()));
        set_path(&mut doc, "data_stream.namespace", Value::Str(namespace.clone()));
        set_path(&mut doc, "data_stream.type", Value::Str(ds_type.clone()));
    }
    if get_path(&doc, "event.dataset").is_none() && doc.get("event.dataset").is_none() {
        set_path(&mut doc, "event.dataset", Value::Str(dataset.clone()));
    }
    if get_path(&doc, "event.ingested").is_none() && doc.get("event.ingested").is_none() {
        let ingested = match ctx.opts.time_policy {
            TimePolicy::Replay => doc.get("@timestamp").and_then(parse_timestamp_value),
            TimePolicy::Live => Some(ctx.now()),
        };
        if let Some(t) = ingested {
            set_path(&mut doc, "event.ingested", Value::Str(format_secs(t)));
        }
    }
    Ok((doc, format!("{ds_type}-{dataset}-{namespace}")))
}

/// The fields every mapped process document gets.
fn base(
    action: &str,
    event_type: &str,
    time: i64,
    original: Option<String>,
    ctx: &Normalizer,
) -> (Map, String) {
    let mut doc = Map::with_capacity(12);
    doc.insert("@timestamp", Value::Str(format_millis(time)));
    let mut event = Map::with_capacity(8);
    event.insert("kind", Value::from_static("event"));
    event.insert("category", Value::from_static("process"));
    event.insert("type", Value::from(event_type));
    event.insert("action", Value::from(action));
    event.insert("module", Value::from_static("cloud_defend"));
    let ingested = match ctx.opts.time_policy {
        TimePolicy::Replay => time,
        TimePolicy::Live => ctx.now(),
    };
    event.insert("ingested", Value::Str(format_secs(ingested)));
    if let Some(o) = original {
        event.insert("original", Value::from(o));
        doc.insert(
            "tags",
            Value::Array(vec![Value::from_static("preserve_original_event")]),
        );
    }
    doc.insert("event", Value::Object(event));
    set_path(&mut doc, "ecs.version", Value::from_static(ECS_VERSION));
    set_path(&mut doc, "host.os.type", Value::from_static("linux"));
    crate::set_data_stream(&mut doc, DATASET, &ctx.opts.namespace);
    let index = ctx.process_index.clone();
    (doc, index)
}

fn set_opt(doc: &mut Map, path: &str, v: Option<Value>) {
    if let Some(v) = v.filter(|v| !v.is_empty_value()) {
        set_path(doc, path, v);
    }
}

fn string_value(v: &Value) -> Option<Value> {
    match v {
        Value::Str(s) if !s.is_empty() => Some(Value::Str(s.clone())),
        Value::Int(i) => Some(Value::Str(i.to_compact_string())),
        _ => None,
    }
}

/// Splits `name:tag` (a `:` after the last `/`), dropping a `@digest`.
fn split_image(image: &str) -> (&str, Option<&str>) {
    let image = image.split('@').next().unwrap_or(image);
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], Some(&image[slash + i + 1..])),
        None => (image, None),
    }
}

/// Strips the runtime prefix of a container id (`containerd://abc` → `abc`).
fn container_id(id: &str) -> &str {
    id.split_once("://").map_or(id, |(_, rest)| rest)
}

/// Splits Tetragon's `arguments` string: words separated by spaces, double-quoted words
/// (Tetragon quotes arguments containing spaces) kept whole with `\"` unescaped.
pub fn split_tetragon_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_quotes && matches!(chars.peek(), Some('"') | Some('\\')) => {
                cur.push(chars.next().unwrap_or('\\'));
            }
            '"' => {
                in_quotes = !in_quotes;
                has_word = true;
            }
            ' ' if !in_quotes => {
                if has_word {
                    out.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                cur.push(c);
                has_word = true;
            }
        }
    }
    if has_word {
        out.push(cur);
    }
    out
}

/// Maps one Tetragon process object (`process` or `parent`) onto `prefix.*`.
fn tetragon_process(doc: &mut Map, prefix: &str, p: &Map) {
    let mut m = Map::with_capacity(10);
    let binary = p.get("binary").and_then(Value::as_str).filter(|s| !s.is_empty());
    if let Some(bin) = binary {
        m.insert("executable", Value::from(bin));
        m.insert("name", Value::from(basename(bin)));
        let mut args = vec![bin.to_string()];
        if let Some(a) = p.get("arguments").and_then(Value::as_str) {
            args.extend(split_tetragon_args(a));
        }
        m.insert("args_count", Value::Int(args.len() as i64));
        m.insert("command_line", Value::from(args.join(" ")));
        m.insert("args", Value::from(args));
    }
    set_opt(
        &mut m,
        "pid",
        p.get("pid").filter(|v| v.as_i64().is_some()).cloned(),
    );
    set_opt(&mut m, "working_directory", p.get("cwd").cloned());
    set_opt(&mut m, "entity_id", p.get("exec_id").cloned());
    set_opt(&mut m, "user.id", p.get("uid").and_then(string_value));
    if let Some(t) = p
        .get("start_time")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
    {
        m.insert("start", Value::Str(format_millis(t)));
    }
    merge_at(doc, prefix, m);
}

/// Inserts every entry of `m` into the object at the dotted `prefix` (created if needed).
fn merge_at(doc: &mut Map, prefix: &str, m: Map) {
    if !matches!(crate::util::get_path(doc, prefix), Some(Value::Object(_))) {
        set_path(doc, prefix, Value::Object(Map::with_capacity(m.len())));
    }
    if let Some(Value::Object(target)) = crate::util::get_path_mut(doc, prefix) {
        for (k, v) in m {
            target.insert(k, v);
        }
    }
}

/// The container a Tetragon process runs in, and its pid inside the container.
fn tetragon_container(p: &Map) -> Option<(&str, Option<i64>)> {
    let c = get_path(p, "pod.container")?.as_object()?;
    let id = c.get("id")?.as_str().filter(|s| !s.is_empty())?;
    Some((id, c.get("pid").and_then(Value::as_i64)))
}

/// `process.entry_leader.*` as Defend reports it for containers: the process that entered the
/// container (the container's init, pid 1 inside it, or a process exec'd into it from outside,
/// e.g. by `kubectl exec` through runc) is its own entry leader (`same_as_process: true`); a
/// process whose parent runs in the same container is not (`same_as_process: false`), and when
/// that parent is the container's pid 1 the parent is the entry leader.
fn tetragon_entry_leader(doc: &mut Map, process: &Map, parent: Option<&Map>) {
    let Some((cid, pid_in_container)) = tetragon_container(process) else {
        return;
    };
    let parent_container = parent.and_then(tetragon_container);
    let entered =
        pid_in_container == Some(1) || (parent.is_some() && parent_container.map(|c| c.0) != Some(cid));
    if entered {
        tetragon_process(doc, "process.entry_leader", process);
        set_path(doc, "process.entry_leader.same_as_process", Value::Bool(true));
    } else if let Some(parent) = parent {
        if parent_container.and_then(|c| c.1) == Some(1) {
            tetragon_process(doc, "process.entry_leader", parent);
        }
        set_path(doc, "process.entry_leader.same_as_process", Value::Bool(false));
    } else {
        return;
    }
    set_path(
        doc,
        "process.entry_leader.entry_meta.type",
        Value::from_static("container"),
    );
}

/// Parent names of a container entrypoint, from Falco's `container_entrypoint` macro
/// (`not proc.pname exists or proc.pname in (...)`).
const FALCO_ENTRYPOINT_PARENTS: [&str; 10] = [
    "runc:[0:PARENT]",
    "runc:[1:CHILD]",
    "runc",
    "docker-runc",
    "exe",
    "docker-runc-cur",
    "containerd-shim",
    "systemd",
    "crio",
    "conmon",
];

/// Maps a Tetragon `process_exec` / `process_exit` export line.
pub(crate) fn tetragon(
    mut rec: Map,
    shape: Shape,
    original: Option<String>,
    ctx: &Normalizer,
) -> Result<(Map, String), String> {
    let (key, action, event_type) = match shape {
        Shape::TetragonExit => ("process_exit", "end", "end"),
        _ => ("process_exec", "exec", "start"),
    };
    let body = match rec.remove(key) {
        Some(Value::Object(m)) => m,
        Some(v) => {
            return Err(format!(
                "Tetragon `{key}` must be an object, found {}",
                v.type_name()
            ));
        }
        None => return Err(format!("Tetragon record without `{key}`")),
    };
    let process = match body.get("process") {
        Some(Value::Object(m)) => m,
        Some(v) => {
            return Err(format!(
                "Tetragon `{key}.process` must be an object, found {}",
                v.type_name()
            ));
        }
        None => return Err(format!("Tetragon `{key}` without `process`")),
    };
    let time_field = match rec.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) => Some(
            parse_timestamp(s).ok_or_else(|| format!("Tetragon `time` is not a valid timestamp: {s:?}"))?,
        ),
        Some(v) => {
            return Err(format!(
                "Tetragon `time` must be a timestamp string, found {}",
                v.type_name()
            ));
        }
    };
    let start = process
        .get("start_time")
        .and_then(Value::as_str)
        .and_then(parse_timestamp);
    let time = match (time_field, shape) {
        (Some(t), _) => t,
        (None, Shape::TetragonExec) => {
            start.ok_or("Tetragon process_exec without `time` or `process.start_time`")?
        }
        (None, _) => return Err("Tetragon process_exit without `time`".to_string()),
    };
    let (mut doc, index) = base(action, event_type, time, original, ctx);
    tetragon_process(&mut doc, "process", process);
    if let Some(id) = process.get("parent_exec_id").filter(|v| !v.is_empty_value()) {
        set_path(&mut doc, "process.parent.entity_id", id.clone());
    }
    if let Some(Value::Object(parent)) = body.get("parent") {
        tetragon_process(&mut doc, "process.parent", parent);
    }
    if let Some(uid) = process.get("uid").and_then(string_value) {
        set_path(&mut doc, "user.id", uid);
    }
    if shape == Shape::TetragonExit {
        set_opt(
            &mut doc,
            "process.exit_code",
            body.get("status").filter(|v| v.as_i64().is_some()).cloned(),
        );
        set_path(&mut doc, "process.end", Value::Str(format_millis(time)));
    }
    if let Some(Value::Object(pod)) = process.get("pod") {
        if let Some(name) = pod.get("name").and_then(Value::as_str).filter(|s| !s.is_empty()) {
            set_path(&mut doc, "orchestrator.resource.name", Value::from(name));
            set_path(&mut doc, "orchestrator.resource.type", Value::from_static("pod"));
            set_path(&mut doc, "orchestrator.type", Value::from_static("kubernetes"));
        }
        set_opt(&mut doc, "orchestrator.namespace", pod.get("namespace").cloned());
        if let Some(Value::Object(labels)) = pod.get("pod_labels") {
            let labels: Vec<Value> = labels
                .iter()
                .map(|(k, v)| Value::from(format!("{k}:{v}")))
                .collect();
            set_opt(
                &mut doc,
                "orchestrator.resource.label",
                Some(Value::Array(labels)),
            );
        }
        if let Some(Value::Object(c)) = pod.get("container") {
            if let Some(id) = c.get("id").and_then(Value::as_str) {
                set_opt(&mut doc, "container.id", Some(Value::from(container_id(id))));
            }
            set_opt(&mut doc, "container.name", c.get("name").cloned());
            if let Some(image) = get_path(c, "image.name").and_then(Value::as_str) {
                let (name, tag) = split_image(image);
                set_opt(&mut doc, "container.image.name", Some(Value::from(name)));
                set_opt(&mut doc, "container.image.tag", tag.map(Value::from));
            }
        }
    }
    tetragon_entry_leader(&mut doc, process, body.get("parent").and_then(Value::as_object));
    if let Some(node) = rec
        .get("node_name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        set_path(&mut doc, "host.name", Value::from(node));
        set_path(&mut doc, "host.hostname", Value::from(node));
    }
    Ok((doc, index))
}

/// Maps a Falco JSON alert line.
pub(crate) fn falco(rec: Map, original: Option<String>, ctx: &Normalizer) -> Result<(Map, String), String> {
    let empty = Map::new();
    let fields = match rec.get("output_fields") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => &empty,
        Some(v) => {
            return Err(format!(
                "Falco `output_fields` must be an object, found {}",
                v.type_name()
            ));
        }
    };
    let f = |k: &str| fields.get(k).filter(|v| !v.is_empty_value());
    let fs = |k: &str| f(k).and_then(Value::as_str);
    let time = match rec.get("time") {
        Some(Value::Str(s)) => {
            parse_timestamp(s).ok_or_else(|| format!("Falco `time` is not a valid timestamp: {s:?}"))?
        }
        Some(v) if !v.is_null() => {
            return Err(format!(
                "Falco `time` must be a timestamp string, found {}",
                v.type_name()
            ));
        }
        _ => match f("evt.time") {
            Some(Value::Int(ns)) => *ns,
            _ => return Err("Falco alert without `time` or `evt.time`".to_string()),
        },
    };
    let evt_type = fs("evt.type");
    let (action, event_type) = match evt_type {
        Some("execve") | Some("execveat") => ("exec", "start"),
        Some("clone") | Some("clone3") | Some("fork") | Some("vfork") => ("fork", "start"),
        Some("procexit") => ("end", "end"),
        Some(other) => (other, "info"),
        None if fields.keys().any(|k| k.starts_with("fd.")) => ("alert", "info"),
        None => ("exec", "start"),
    };
    let (mut doc, index) = base(action, event_type, time, original, ctx);

    let cmdline = fs("proc.cmdline");
    let args: Option<Vec<String>> = cmdline.map(|c| c.split_whitespace().map(str::to_string).collect());
    let name = fs("proc.name").or_else(|| cmdline.and_then(|c| c.split_whitespace().next()));
    set_opt(&mut doc, "process.name", name.map(Value::from));
    let exe = fs("proc.exepath").or_else(|| fs("proc.exe").filter(|e| e.starts_with('/')));
    set_opt(&mut doc, "process.executable", exe.map(Value::from));
    if let Some(args) = args.filter(|a| !a.is_empty()) {
        set_path(&mut doc, "process.args_count", Value::Int(args.len() as i64));
        set_path(&mut doc, "process.args", Value::from(args));
    }
    set_opt(&mut doc, "process.command_line", cmdline.map(Value::from));
    set_opt(&mut doc, "process.pid", f("proc.pid").cloned());
    set_opt(&mut doc, "process.working_directory", f("proc.cwd").cloned());
    if let Some(tty) = f("proc.tty").and_then(Value::as_i64) {
        set_path(&mut doc, "process.interactive", Value::Bool(tty != 0));
    }
    set_opt(&mut doc, "process.parent.name", f("proc.pname").cloned());
    set_opt(&mut doc, "process.parent.executable", f("proc.pexepath").cloned());
    set_opt(&mut doc, "process.parent.pid", f("proc.ppid").cloned());
    if let Some(pcmd) = fs("proc.pcmdline") {
        let pargs: Vec<String> = pcmd.split_whitespace().map(str::to_string).collect();
        set_opt(&mut doc, "process.parent.command_line", Some(Value::from(pcmd)));
        set_opt(&mut doc, "process.parent.args", Some(Value::from(pargs)));
    }
    set_opt(&mut doc, "user.name", f("user.name").cloned());
    set_opt(&mut doc, "user.id", f("user.uid").and_then(string_value));
    set_opt(
        &mut doc,
        "container.id",
        fs("container.id").map(|id| Value::from(container_id(id))),
    );
    set_opt(&mut doc, "container.name", f("container.name").cloned());
    let repo = fs("container.image.repository");
    let image = fs("container.image");
    match (repo, image) {
        (Some(repo), _) => {
            set_path(&mut doc, "container.image.name", Value::from(repo));
            set_opt(&mut doc, "container.image.tag", f("container.image.tag").cloned());
        }
        (None, Some(image)) => {
            let (name, tag) = split_image(image);
            set_opt(&mut doc, "container.image.name", Some(Value::from(name)));
            set_opt(&mut doc, "container.image.tag", tag.map(Value::from));
        }
        (None, None) => {}
    }
    if let Some(pod) = fs("k8s.pod.name") {
        set_path(&mut doc, "orchestrator.resource.name", Value::from(pod));
        set_path(&mut doc, "orchestrator.resource.type", Value::from_static("pod"));
        set_path(&mut doc, "orchestrator.type", Value::from_static("kubernetes"));
    }
    set_opt(&mut doc, "orchestrator.namespace", f("k8s.ns.name").cloned());
    // Entry leader: Falco's own definition of a container entrypoint (or pid 1 in the container).
    if fs("container.id").is_some_and(|id| id != "host") {
        let pname = fs("proc.pname");
        let entered = pname.is_none_or(|p| FALCO_ENTRYPOINT_PARENTS.contains(&p))
            || f("proc.vpid").and_then(Value::as_i64) == Some(1);
        if entered {
            for (from, to) in [
                ("process.name", "process.entry_leader.name"),
                ("process.executable", "process.entry_leader.executable"),
                ("process.args", "process.entry_leader.args"),
                ("process.pid", "process.entry_leader.pid"),
            ] {
                let v = get_path(&doc, from).cloned();
                set_opt(&mut doc, to, v);
            }
        }
        set_path(
            &mut doc,
            "process.entry_leader.same_as_process",
            Value::Bool(entered),
        );
        set_path(
            &mut doc,
            "process.entry_leader.entry_meta.type",
            Value::from_static("container"),
        );
    }
    if let Some(host) = rec
        .get("hostname")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        set_path(&mut doc, "host.name", Value::from(host));
        set_path(&mut doc, "host.hostname", Value::from(host));
    }
    let mut falco = Map::with_capacity(6);
    for key in ["rule", "priority", "output", "source", "tags", "output_fields"] {
        if let Some(v) = rec.get(key).filter(|v| !v.is_empty_value()) {
            falco.insert(key, v.clone());
        }
    }
    doc.insert("falco", Value::Object(falco));
    Ok((doc, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tetragon_args_are_split_shell_style() {
        assert_eq!(split_tetragon_args("-t 1 -m"), vec!["-t", "1", "-m"]);
        assert_eq!(
            split_tetragon_args(r#"-g "daemon off;""#),
            vec!["-g", "daemon off;"]
        );
        assert_eq!(
            split_tetragon_args(r#"-c "7z a s3nsitiv3.7z ../ops_bank_accounts/""#),
            vec!["-c", "7z a s3nsitiv3.7z ../ops_bank_accounts/"]
        );
        assert_eq!(split_tetragon_args(r#"a "" b"#), vec!["a", "", "b"]);
        assert!(split_tetragon_args("").is_empty());
    }

    #[test]
    fn images_split_at_the_tag() {
        assert_eq!(
            split_image("docker.io/tgraf/netperf:latest"),
            ("docker.io/tgraf/netperf", Some("latest"))
        );
        assert_eq!(split_image("registry:5000/app"), ("registry:5000/app", None));
        assert_eq!(split_image("nginx@sha256:abc"), ("nginx", None));
        assert_eq!(container_id("containerd://19a0"), "19a0");
        assert_eq!(container_id("5892b41bcf46"), "5892b41bcf46");
    }
}
