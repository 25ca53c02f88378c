//! Elastic Defend for Containers process documents (`logs-cloud_defend.process-default`): one
//! ECS JSON line per exec/fork/end event, in the shape of the cloud_defend package's process data
//! stream (`process.*` with parent, session, entry and group leaders, `container.*`,
//! `orchestrator.*` with the pod name in `orchestrator.resource.name`, `host.os.type: linux`).
//!
//! `event.ingested` equals `@timestamp` (millisecond precision) so that replayed sequences
//! correlate on the instant the process ran; Elastic would stamp the later ingest time.

use crate::audit::{esc, push_u64};
use crate::timefmt::TimeFmt;

/// Where a process runs.
#[derive(Clone, Debug)]
pub struct PodCtx {
    pub ns: String,
    pub pod: String,
    pub app: String,
    pub pod_ip: String,
    pub container_id: String,
    pub image_name: String,
    pub image_tag: String,
    pub node: String,
    pub node_ip: String,
    pub host_id: String,
    pub agent_id: String,
    pub boot_id: String,
}

impl PodCtx {
    /// Splits `registry/repo:tag` into name and tag.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ns: &str,
        pod: &str,
        app: &str,
        pod_ip: &str,
        container_id: &str,
        image: &str,
        node: &str,
        node_ip: &str,
    ) -> PodCtx {
        let (name, tag) = match image.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (image, "latest"),
        };
        let h = container_id.as_bytes();
        let hexpart = |off: usize, n: usize| -> String {
            (0..n)
                .map(|i| h[(off + i * 7) % h.len().max(1)] as char)
                .collect()
        };
        PodCtx {
            ns: ns.into(),
            pod: pod.into(),
            app: app.into(),
            pod_ip: pod_ip.into(),
            container_id: container_id.into(),
            image_name: name.into(),
            image_tag: tag.into(),
            node: node.into(),
            node_ip: node_ip.into(),
            host_id: format!("ec2{}", hexpart(1, 29)),
            agent_id: format!(
                "{}-{}-4{}-8{}-{}",
                hexpart(2, 8),
                hexpart(3, 4),
                hexpart(4, 3),
                hexpart(5, 3),
                hexpart(6, 12)
            ),
            boot_id: format!(
                "{}-{}-4{}-9{}-{}",
                hexpart(7, 8),
                hexpart(8, 4),
                hexpart(9, 3),
                hexpart(10, 3),
                hexpart(11, 12)
            ),
        }
    }
}

/// A process (the subject, a parent or a leader).
#[derive(Clone, Debug)]
pub struct Proc {
    pub pid: u32,
    pub name: String,
    pub executable: String,
    pub args: Vec<String>,
    pub interactive: bool,
    pub start: i64,
    pub user_id: u32,
    pub cwd: String,
}

impl Proc {
    pub fn new(pid: u32, executable: &str, args: &[&str], interactive: bool, start: i64) -> Proc {
        Proc {
            pid,
            name: executable.rsplit('/').next().unwrap_or(executable).to_string(),
            executable: executable.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            interactive,
            start,
            user_id: 0,
            cwd: "/".into(),
        }
    }
}

/// One event: the process, its parent and its session/entry leader.
#[derive(Clone, Debug)]
pub struct ProcEvent<'a> {
    pub ts: i64,
    pub action: &'a str,
    pub ctx: &'a PodCtx,
    pub proc_: &'a Proc,
    pub parent: &'a Proc,
    pub leader: &'a Proc,
    pub event_id: [u8; 16],
    pub exit_code: Option<i32>,
}

/// Appends `v` escaped as JSON string content.
fn push_esc(out: &mut Vec<u8>, v: &str) {
    if !v.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.extend_from_slice(v.as_bytes());
    } else {
        out.extend_from_slice(esc(v).as_bytes());
    }
}

fn push_str_field(out: &mut Vec<u8>, key: &str, v: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
    push_esc(out, v);
    out.push(b'"');
}

fn push_args(out: &mut Vec<u8>, args: &[String]) {
    out.extend_from_slice(b"\"args\":[");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        push_esc(out, a);
        out.push(b'"');
    }
    out.push(b']');
}

fn push_entity_id(out: &mut Vec<u8>, ctx: &PodCtx, p: &Proc) {
    out.extend_from_slice(b"\"entity_id\":\"");
    out.extend_from_slice(&ctx.agent_id.as_bytes()[..8]);
    out.push(b'-');
    push_u64(out, p.pid as u64);
    out.push(b'-');
    push_u64(out, (p.start / 1_000_000).max(0) as u64);
    out.push(b'"');
}

fn push_proc(out: &mut Vec<u8>, tf: &mut TimeFmt, ctx: &PodCtx, p: &Proc, same: bool, entry_meta: bool) {
    out.push(b'{');
    push_args(out, &p.args);
    out.push(b',');
    push_entity_id(out, ctx, p);
    if entry_meta {
        out.extend_from_slice(b",\"entry_meta\":{\"type\":\"container\"}");
    }
    out.push(b',');
    push_str_field(out, "executable", &p.executable);
    out.extend_from_slice(b",\"group\":{\"id\":\"");
    push_u64(out, p.user_id as u64);
    out.extend_from_slice(b"\"},\"interactive\":");
    out.extend_from_slice(if p.interactive { b"true" } else { b"false" });
    out.push(b',');
    push_str_field(out, "name", &p.name);
    out.extend_from_slice(b",\"pid\":");
    push_u64(out, p.pid as u64);
    out.extend_from_slice(b",\"same_as_process\":");
    out.extend_from_slice(if same { b"true" } else { b"false" });
    out.extend_from_slice(b",\"start\":\"");
    tf.millis(out, p.start);
    out.extend_from_slice(b"\",\"user\":{\"id\":\"");
    push_u64(out, p.user_id as u64);
    out.extend_from_slice(b"\"},");
    push_str_field(out, "working_directory", &p.cwd);
    out.push(b'}');
}

/// Writes one process document as a JSON line into `out`.
pub fn write_line(out: &mut Vec<u8>, tf: &mut TimeFmt, e: &ProcEvent<'_>) {
    let c = e.ctx;
    let p = e.proc_;
    let s = out;
    let lit = |s: &mut Vec<u8>, t: &str| s.extend_from_slice(t.as_bytes());
    lit(s, "{\"@timestamp\":\"");
    tf.millis(s, e.ts);
    lit(s, "\",\"agent\":{\"id\":\"");
    lit(s, &c.agent_id);
    lit(
        s,
        concat!(
            "\",\"type\":\"cloud-defend\",\"version\":\"9.3.0\"},",
            "\"cloud\":{\"account\":{\"id\":\"418272771234\"},\"availability_zone\":\"eu-west-1a\",",
            "\"instance\":{\"name\":\""
        ),
    );
    lit(s, &c.node);
    lit(
        s,
        concat!(
            "\"},\"provider\":\"aws\",\"region\":\"eu-west-1\"},",
            "\"cloud_defend\":{\"hook_point\":[\"tracepoint__sched_process_fork\",\"tracepoint__sched_process_exec\",",
            "\"kprobe__taskstats_exit\"],\"matched_selectors\":[\"allProcesses\"],",
            "\"package_policy_id\":\"4c9cbba0-c812-11ed-a8dd-91ec403e4f03\",\"package_policy_revision\":3},",
            "\"container\":{\"id\":\""
        ),
    );
    lit(s, &c.container_id);
    lit(s, "\",\"image\":{\"name\":\"");
    lit(s, &c.image_name);
    lit(s, "\",\"tag\":\"");
    lit(s, &c.image_tag);
    lit(s, "\"},\"name\":\"");
    lit(s, &c.app);
    lit(
        s,
        concat!(
            "\"},\"data_stream\":{\"dataset\":\"cloud_defend.process\",\"namespace\":\"default\",\"type\":\"logs\"},",
            "\"ecs\":{\"version\":\"8.10.0\"},\"event\":{\"action\":\""
        ),
    );
    lit(s, e.action);
    lit(
        s,
        "\",\"agent_id_status\":\"verified\",\"category\":\"process\",\"created\":\"",
    );
    tf.millis(s, e.ts);
    lit(s, "\",\"dataset\":\"cloud_defend.process\",\"id\":\"");
    crate::audit::push_uuid(s, &e.event_id);
    lit(s, "\",\"ingested\":\"");
    tf.millis(s, e.ts);
    lit(s, "\",\"kind\":\"event\",\"module\":\"cloud_defend\",\"type\":\"");
    lit(s, if e.action == "end" { "end" } else { "start" });
    lit(s, "\"},\"group\":{\"id\":\"");
    push_u64(s, p.user_id as u64);
    lit(s, "\"},\"host\":{\"architecture\":\"amd64\",\"boot\":{\"id\":\"");
    lit(s, &c.boot_id);
    lit(s, "\"},\"hostname\":\"");
    lit(s, &c.node);
    lit(s, "\",\"id\":\"");
    lit(s, &c.host_id);
    lit(s, "\",\"ip\":[\"");
    lit(s, &c.node_ip);
    lit(s, "\"],\"name\":\"");
    lit(s, &c.node);
    lit(
        s,
        concat!(
            "\",\"os\":{\"family\":\"amazon\",\"full\":\"Amazon Linux 2023.6.20241031\",",
            "\"kernel\":\"6.1.112-124.190.amzn2023.x86_64\",\"name\":\"Linux\",\"platform\":\"amzn\",",
            "\"type\":\"linux\",\"version\":\"2023.6.20241031\"},\"pid_ns_ino\":4026531836},",
            "\"orchestrator\":{\"cluster\":{\"id\":\"5f0c3e2a-8b1d-4c6e-9a7f-2d4b6c8e0a1f\",\"name\":\"prod-eu-1\"},",
            "\"namespace\":\""
        ),
    );
    lit(s, &c.ns);
    lit(s, "\",\"resource\":{\"ip\":\"");
    lit(s, &c.pod_ip);
    lit(s, "\",\"label\":[\"app.kubernetes.io/name:");
    lit(s, &c.app);
    lit(s, "\"],\"name\":\"");
    lit(s, &c.pod);
    lit(
        s,
        "\",\"parent\":{\"type\":\"ReplicaSet\"},\"type\":\"pod\"},\"type\":\"kubernetes\"},\"process\":{",
    );
    push_args(s, &p.args);
    lit(s, ",\"args_count\":");
    push_u64(s, p.args.len() as u64);
    lit(s, ",\"command_line\":\"");
    for (i, a) in p.args.iter().enumerate() {
        if i > 0 {
            s.push(b' ');
        }
        push_esc(s, a);
    }
    s.push(b'"');
    if let Some(code) = e.exit_code {
        lit(s, ",\"end\":\"");
        tf.millis(s, e.ts);
        lit(s, "\",\"exit_code\":");
        lit(s, &code.to_string());
    }
    s.push(b',');
    push_entity_id(s, c, p);
    lit(s, ",\"entry_leader\":");
    push_proc(s, tf, c, e.leader, false, true);
    s.push(b',');
    push_str_field(s, "executable", &p.executable);
    lit(s, ",\"group_leader\":");
    push_proc(s, tf, c, p, true, false);
    lit(s, ",\"interactive\":");
    lit(s, if p.interactive { "true" } else { "false" });
    s.push(b',');
    push_str_field(s, "name", &p.name);
    lit(s, ",\"parent\":");
    push_proc(s, tf, c, e.parent, false, false);
    lit(s, ",\"pid\":");
    push_u64(s, p.pid as u64);
    lit(s, ",\"previous\":[{");
    push_args(s, &e.parent.args);
    s.push(b',');
    push_str_field(s, "executable", &e.parent.executable);
    lit(s, "}],\"session_leader\":");
    push_proc(s, tf, c, e.leader, false, true);
    lit(s, ",\"start\":\"");
    tf.millis(s, p.start);
    lit(s, "\",\"user\":{\"id\":\"");
    push_u64(s, p.user_id as u64);
    lit(s, "\"},");
    push_str_field(s, "working_directory", &p.cwd);
    lit(s, "},\"user\":{\"id\":\"");
    push_u64(s, p.user_id as u64);
    lit(s, "\"}}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_doc_has_rule_fields() {
        let ctx = PodCtx::new(
            "web",
            "web-1",
            "web",
            "10.244.3.4",
            &"ab12".repeat(16),
            "registry.corp.example/web/frontend:2025.11.3",
            "prod-worker-01",
            "10.0.1.10",
        );
        let leader = Proc::new(10, "/bin/bash", &["bash"], true, 1_000_000_000);
        let curl = Proc::new(
            11,
            "/usr/bin/curl",
            &["curl", "-sk", "https://kubernetes.default.svc/api/v1/secrets"],
            true,
            1_500_000_000,
        );
        let e = ProcEvent {
            ts: 1_500_000_000,
            action: "exec",
            ctx: &ctx,
            proc_: &curl,
            parent: &leader,
            leader: &leader,
            event_id: [3; 16],
            exit_code: None,
        };
        let mut out = Vec::new();
        write_line(&mut out, &mut TimeFmt::default(), &e);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["event"]["dataset"], "cloud_defend.process");
        assert_eq!(v["event"]["type"], "start");
        assert_eq!(v["event"]["action"], "exec");
        assert_eq!(v["host"]["os"]["type"], "linux");
        assert_eq!(v["process"]["name"], "curl");
        assert_eq!(v["process"]["interactive"], true);
        assert_eq!(v["orchestrator"]["resource"]["name"], "web-1");
        assert_eq!(v["container"]["id"].as_str().unwrap().len(), 64);
        assert_eq!(v["data_stream"]["dataset"], "cloud_defend.process");
        assert_eq!(v["@timestamp"], "1970-01-01T00:00:01.500Z");
        assert_eq!(v["image"], serde_json::Value::Null);
        assert_eq!(v["container"]["image"]["tag"], "2025.11.3");
    }
}
