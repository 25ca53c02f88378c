//! Elastic Defend for Containers process documents (`logs-cloud_defend.process-default`): one
//! ECS JSON line per exec/fork/end event, in the shape of the cloud_defend package's process data
//! stream (`process.*` with parent, session, entry and group leaders, `container.*`,
//! `orchestrator.*` with the pod name in `orchestrator.resource.name`, `host.os.type: linux`).
//!
//! `event.ingested` equals `@timestamp` (millisecond precision) so that replayed sequences
//! correlate on the instant the process ran; Elastic would stamp the later ingest time.

use crate::audit::esc;
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

fn push_str_field(out: &mut String, key: &str, v: &str) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":\"");
    out.push_str(&esc(v));
    out.push('"');
}

fn push_args(out: &mut String, args: &[String]) {
    out.push_str("\"args\":[");
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(&esc(a));
        out.push('"');
    }
    out.push(']');
}

fn entity_id(ctx: &PodCtx, p: &Proc) -> String {
    format!("{}-{}-{}", &ctx.agent_id[..8], p.pid, p.start / 1_000_000)
}

fn push_ts(out: &mut String, tf: &mut TimeFmt, ns: i64) {
    let mut b = Vec::with_capacity(24);
    tf.millis(&mut b, ns);
    out.push_str(std::str::from_utf8(&b).unwrap_or(""));
}

fn push_proc(out: &mut String, tf: &mut TimeFmt, ctx: &PodCtx, p: &Proc, same: bool, entry_meta: bool) {
    out.push('{');
    push_args(out, &p.args);
    out.push(',');
    push_str_field(out, "entity_id", &entity_id(ctx, p));
    if entry_meta {
        out.push_str(",\"entry_meta\":{\"type\":\"container\"}");
    }
    out.push(',');
    push_str_field(out, "executable", &p.executable);
    out.push_str(",\"group\":{\"id\":\"");
    out.push_str(&p.user_id.to_string());
    out.push_str("\"},\"interactive\":");
    out.push_str(if p.interactive { "true" } else { "false" });
    out.push(',');
    push_str_field(out, "name", &p.name);
    out.push_str(",\"pid\":");
    out.push_str(&p.pid.to_string());
    out.push_str(",\"same_as_process\":");
    out.push_str(if same { "true" } else { "false" });
    out.push_str(",\"start\":\"");
    push_ts(out, tf, p.start);
    out.push_str("\",\"user\":{\"id\":\"");
    out.push_str(&p.user_id.to_string());
    out.push_str("\"},");
    push_str_field(out, "working_directory", &p.cwd);
    out.push('}');
}

/// Writes one process document as a JSON line into `out`.
pub fn write_line(out: &mut Vec<u8>, tf: &mut TimeFmt, e: &ProcEvent<'_>) {
    let c = e.ctx;
    let p = e.proc_;
    let mut s = String::with_capacity(3072);
    s.push_str("{\"@timestamp\":\"");
    push_ts(&mut s, tf, e.ts);
    s.push_str("\",\"agent\":{\"id\":\"");
    s.push_str(&c.agent_id);
    s.push_str(concat!(
        "\",\"type\":\"cloud-defend\",\"version\":\"9.3.0\"},",
        "\"cloud\":{\"account\":{\"id\":\"418272771234\"},\"availability_zone\":\"eu-west-1a\",",
        "\"instance\":{\"name\":\""
    ));
    s.push_str(&c.node);
    s.push_str(concat!(
        "\"},\"provider\":\"aws\",\"region\":\"eu-west-1\"},",
        "\"cloud_defend\":{\"hook_point\":[\"tracepoint__sched_process_fork\",\"tracepoint__sched_process_exec\",",
        "\"kprobe__taskstats_exit\"],\"matched_selectors\":[\"allProcesses\"],",
        "\"package_policy_id\":\"4c9cbba0-c812-11ed-a8dd-91ec403e4f03\",\"package_policy_revision\":3},",
        "\"container\":{\"id\":\""
    ));
    s.push_str(&c.container_id);
    s.push_str("\",\"image\":{\"name\":\"");
    s.push_str(&c.image_name);
    s.push_str("\",\"tag\":\"");
    s.push_str(&c.image_tag);
    s.push_str("\"},\"name\":\"");
    s.push_str(&c.app);
    s.push_str(concat!(
        "\"},\"data_stream\":{\"dataset\":\"cloud_defend.process\",\"namespace\":\"default\",\"type\":\"logs\"},",
        "\"ecs\":{\"version\":\"8.10.0\"},\"event\":{\"action\":\""
    ));
    s.push_str(e.action);
    s.push_str("\",\"agent_id_status\":\"verified\",\"category\":\"process\",\"created\":\"");
    push_ts(&mut s, tf, e.ts);
    s.push_str("\",\"dataset\":\"cloud_defend.process\",\"id\":\"");
    s.push_str(&crate::audit::uuid_string(&e.event_id));
    s.push_str("\",\"ingested\":\"");
    push_ts(&mut s, tf, e.ts);
    s.push_str("\",\"kind\":\"event\",\"module\":\"cloud_defend\",\"type\":\"");
    s.push_str(if e.action == "end" { "end" } else { "start" });
    s.push_str("\"},\"group\":{\"id\":\"");
    s.push_str(&p.user_id.to_string());
    s.push_str("\"},\"host\":{\"architecture\":\"amd64\",\"boot\":{\"id\":\"");
    s.push_str(&c.boot_id);
    s.push_str("\"},\"hostname\":\"");
    s.push_str(&c.node);
    s.push_str("\",\"id\":\"");
    s.push_str(&c.host_id);
    s.push_str("\",\"ip\":[\"");
    s.push_str(&c.node_ip);
    s.push_str("\"],\"name\":\"");
    s.push_str(&c.node);
    s.push_str(concat!(
        "\",\"os\":{\"family\":\"amazon\",\"full\":\"Amazon Linux 2023.6.20241031\",",
        "\"kernel\":\"6.1.112-124.190.amzn2023.x86_64\",\"name\":\"Linux\",\"platform\":\"amzn\",",
        "\"type\":\"linux\",\"version\":\"2023.6.20241031\"},\"pid_ns_ino\":4026531836},",
        "\"orchestrator\":{\"cluster\":{\"id\":\"5f0c3e2a-8b1d-4c6e-9a7f-2d4b6c8e0a1f\",\"name\":\"prod-eu-1\"},",
        "\"namespace\":\""
    ));
    s.push_str(&c.ns);
    s.push_str("\",\"resource\":{\"ip\":\"");
    s.push_str(&c.pod_ip);
    s.push_str("\",\"label\":[\"app.kubernetes.io/name:");
    s.push_str(&c.app);
    s.push_str("\"],\"name\":\"");
    s.push_str(&c.pod);
    s.push_str(
        "\",\"parent\":{\"type\":\"ReplicaSet\"},\"type\":\"pod\"},\"type\":\"kubernetes\"},\"process\":{",
    );
    push_args(&mut s, &p.args);
    s.push_str(",\"args_count\":");
    s.push_str(&p.args.len().to_string());
    s.push(',');
    push_str_field(&mut s, "command_line", &p.args.join(" "));
    if let Some(code) = e.exit_code {
        s.push_str(",\"end\":\"");
        push_ts(&mut s, tf, e.ts);
        s.push_str("\",\"exit_code\":");
        s.push_str(&code.to_string());
    }
    s.push(',');
    push_str_field(&mut s, "entity_id", &entity_id(c, p));
    s.push_str(",\"entry_leader\":");
    push_proc(&mut s, tf, c, e.leader, false, true);
    s.push(',');
    push_str_field(&mut s, "executable", &p.executable);
    s.push_str(",\"group_leader\":");
    push_proc(&mut s, tf, c, p, true, false);
    s.push_str(",\"interactive\":");
    s.push_str(if p.interactive { "true" } else { "false" });
    s.push(',');
    push_str_field(&mut s, "name", &p.name);
    s.push_str(",\"parent\":");
    push_proc(&mut s, tf, c, e.parent, false, false);
    s.push_str(",\"pid\":");
    s.push_str(&p.pid.to_string());
    s.push_str(",\"previous\":[{");
    push_args(&mut s, &e.parent.args);
    s.push(',');
    push_str_field(&mut s, "executable", &e.parent.executable);
    s.push_str("}],\"session_leader\":");
    push_proc(&mut s, tf, c, e.leader, false, true);
    s.push_str(",\"start\":\"");
    push_ts(&mut s, tf, p.start);
    s.push_str("\",\"user\":{\"id\":\"");
    s.push_str(&p.user_id.to_string());
    s.push_str("\"},");
    push_str_field(&mut s, "working_directory", &p.cwd);
    s.push_str("},\"user\":{\"id\":\"");
    s.push_str(&p.user_id.to_string());
    s.push_str("\"}}\n");
    out.extend_from_slice(s.as_bytes());
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
