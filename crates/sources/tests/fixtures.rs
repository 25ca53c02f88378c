//! Every sample file in `shared/fixtures/k8s-audit-samples` and `shared/fixtures/process-sensors`
//! is read with zero errors, and the process samples carry the ECS process fields the rules use.

use events::{Document, Value};
use sources::{Options, Reader};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

/// Files in the sample folders that are not event data: provenance notes and the audit
/// *policy* audit2rbac ships beside its log (YAML, not events).
const NOT_EVENTS: [&str; 2] = ["SOURCE.md", "demo-policy.yaml"];

fn data_files(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(format!("{FIXTURES}/{dir}"))];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if !NOT_EVENTS.iter().any(|n| p.ends_with(n)) {
            out.push(p.display().to_string());
        }
    }
    out.sort();
    out
}

fn read_all(files: &[String]) -> Vec<Document> {
    let reader = Reader::open(files, Options::default()).unwrap();
    let mut docs = Vec::new();
    for item in reader {
        match item {
            Ok(d) => docs.push(d),
            Err(e) => panic!("{e}"),
        }
    }
    docs
}

fn by_file<'a>(docs: &'a [Document], suffix: &str) -> Vec<&'a Document> {
    docs.iter()
        .filter(|d| d.origin.as_ref().unwrap().source.ends_with(suffix))
        .collect()
}

fn strs<'a>(d: &'a Document, field: &str) -> Vec<&'a str> {
    d.field(field).iter().filter_map(|v| v.as_str()).collect()
}

#[test]
fn k8s_audit_samples_ingest_without_errors() {
    let files = data_files("k8s-audit-samples");
    assert_eq!(files.len(), 22);
    let docs = read_all(&files);
    // 20 Falco trace files (25 non-blank lines), 37 audit2rbac events, 2 EventList members.
    assert_eq!(docs.len(), 25 + 37 + 2);
    for d in &docs {
        assert_eq!(d.index, "logs-kubernetes.audit_logs-default");
        assert_eq!(d.first_str("event.dataset"), Some("kubernetes.audit_logs"));
        assert!(d.has("@timestamp"), "{:?}", d.origin);
    }

    let exec = by_file(&docs, "exec_pod.json");
    assert_eq!(exec.len(), 1);
    let e = exec[0];
    assert_eq!(
        e.first_str("kubernetes.audit.objectRef.subresource"),
        Some("exec")
    );
    assert_eq!(e.first_str("kubernetes.audit.stage"), Some("ResponseStarted"));
    assert_eq!(e.first_str("event.action"), Some("create"));
    assert_eq!(e.first_str("@timestamp"), Some("2018-10-26T13:38:34.867Z"));
    assert_eq!(
        e.first_str("orchestrator.resource.name"),
        Some("nginx-deployment-7998647bdf-phvq7")
    );
    assert!(
        !e.has("orchestrator.api_version"),
        "no apiVersion in this legacy event"
    );
    assert_eq!(strs(e, "related.user"), vec!["minikube-user"]);

    // The webhook EventList yields its two members, equal to the single-event files.
    let list = by_file(&docs, "SYNTHETIC-webhook-eventlist-from-falco-traces.json");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].source, e.source);
    assert_eq!(list[0].origin.as_ref().unwrap().line, 1);
    assert_ne!(list[0].id, list[1].id);
    assert_eq!(list[1].source, by_file(&docs, "/attach_pod.json")[0].source);

    // audit2rbac: legacy `timestamp`, impersonation, 403s without annotations.
    let a2r = by_file(&docs, "demo.log");
    assert_eq!(a2r.len(), 37);
    let first = a2r[0];
    assert_eq!(first.first_str("@timestamp"), Some("2017-09-11T19:55:05.000Z"));
    assert_eq!(
        first.first_str("kubernetes.audit.stageTimestamp"),
        Some("2017-09-11T19:55:05Z")
    );
    assert_eq!(
        first.first_str("kubernetes.audit.impersonatedUser.username"),
        Some("bob")
    );
    assert_eq!(
        first.first("kubernetes.audit.responseStatus.code"),
        Some(&Value::Int(403))
    );
    assert_eq!(strs(first, "source.ip"), vec!["::1"]);
    assert!(!first.has("event.outcome"));
    let forbidden = a2r
        .iter()
        .filter(|d| d.first("kubernetes.audit.responseStatus.code") == Some(&Value::Int(403)))
        .count();
    // SOURCE.md says 13; the file holds 11 events with `"code":403` (grep -c agrees).
    assert_eq!(forbidden, 11);

    // ids are distinct across distinct records. The EventList members are the very same
    // events as exec_pod.json/attach_pod.json, and those lines are compact JSON, so hashing the
    // member's compact JSON gives the same _id as hashing the line.
    assert_eq!(list[0].id, e.id);
    let mut ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), docs.len() - 2);
}

#[test]
fn process_sensor_samples_map_to_defend_process_fields() {
    let files = data_files("process-sensors");
    assert_eq!(files.len(), 9);
    let docs = read_all(&files);
    assert_eq!(docs.len(), 8 + 3 + 7);
    for d in &docs {
        assert_eq!(d.index, "logs-cloud_defend.process-default");
        assert_eq!(d.first_str("event.dataset"), Some("cloud_defend.process"));
        assert_eq!(d.first_str("host.os.type"), Some("linux"));
        assert!(d.has("@timestamp") && d.has("event.ingested"));
    }

    // Falco "Terminal shell in container": an interactive exec of sh in pod alpine.
    let falco = by_file(&docs, "falco-website-examples.jsonl");
    assert_eq!(falco.len(), 8);
    let f = falco[1];
    assert_eq!(f.first_str("event.type"), Some("start"));
    assert_eq!(f.first_str("event.action"), Some("exec"));
    assert_eq!(f.first_str("process.name"), Some("sh"));
    assert_eq!(strs(f, "process.args"), vec!["sh", "-c", "uptime"]);
    assert_eq!(f.first("process.interactive"), Some(&Value::Bool(true)));
    assert_eq!(f.first_str("process.parent.name"), Some("runc"));
    assert_eq!(f.first_str("container.id"), Some("97c9868ea832"));
    assert_eq!(f.first_str("container.image.name"), Some("alpine"));
    assert_eq!(f.first_str("orchestrator.resource.name"), Some("alpine"));
    assert_eq!(f.first_str("orchestrator.namespace"), Some("default"));
    assert_eq!(f.first_str("user.name"), Some("root"));
    assert_eq!(f.first_str("@timestamp"), Some("2021-04-10T19:27:21.002Z"));
    assert_eq!(f.first_str("falco.rule"), Some("Terminal shell in container"));
    // parent runc: the shell entered the container (Falco's container_entrypoint macro)
    assert_eq!(
        f.first("process.entry_leader.same_as_process"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        f.first_str("process.entry_leader.entry_meta.type"),
        Some("container")
    );
    assert_eq!(f.first_str("process.entry_leader.name"), Some("sh"));
    // no parent known (<NA>): also an entrypoint by Falco's macro
    assert_eq!(
        falco[0].first("process.entry_leader.same_as_process"),
        Some(&Value::Bool(true))
    );
    // "Contact K8S API Server From Container" is a connection, not an exec.
    let contact = falco[2];
    assert_eq!(contact.first_str("event.type"), Some("info"));
    assert_ne!(contact.first_str("event.action"), Some("exec"));
    assert_eq!(contact.first_str("process.name"), Some("handler"));
    assert_eq!(contact.first_str("container.image.tag"), Some("latest"));
    // the last line has a hostname and tags
    assert_eq!(falco[7].first_str("host.name"), Some("falco-xczjd"));
    assert_eq!(strs(falco[7], "process.args")[..3], ["sh", "-c", "clear;"]);

    // Tetragon nsenter from a privileged pod.
    let ns = by_file(&docs, "privileged-pod-nsenter.json");
    assert_eq!(ns.len(), 1);
    let n = ns[0];
    assert_eq!(n.origin.as_ref().unwrap().line, 1);
    assert_eq!(n.first_str("event.type"), Some("start"));
    assert_eq!(n.first_str("event.action"), Some("exec"));
    assert_eq!(n.first_str("process.name"), Some("nsenter"));
    assert_eq!(n.first_str("process.executable"), Some("/usr/bin/nsenter"));
    assert_eq!(
        strs(n, "process.args"),
        vec![
            "/usr/bin/nsenter",
            "-t",
            "1",
            "-m",
            "-u",
            "-n",
            "-i",
            "-p",
            "bash"
        ]
    );
    assert_eq!(
        n.first_str("container.id"),
        Some("85f791fd8dfa740a3b1c177e8f68e8fdb4803a7c8fa0e957a5ec38460ce047ef")
    );
    assert_eq!(n.first_str("container.image.name"), Some("nginx"));
    assert_eq!(n.first_str("container.image.tag"), Some("latest"));
    assert_eq!(n.first_str("orchestrator.resource.name"), Some("privileged-pod"));
    assert_eq!(n.first_str("orchestrator.namespace"), Some("default"));
    assert_eq!(n.first_str("process.parent.name"), Some("bash"));
    assert_eq!(n.first_str("host.name"), Some("minikube"));
    assert!(!n.has("process.interactive"), "Tetragon does not report a tty");
    // nsenter's parent bash runs in the same container: not an entry leader
    assert_eq!(
        n.first("process.entry_leader.same_as_process"),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        n.first_str("process.entry_leader.entry_meta.type"),
        Some("container")
    );
    assert!(!n.has("process.entry_leader.name"));
    // bash exec'd by runc from outside the container (kubectl exec): its own entry leader
    let bash = by_file(&docs, "privileged-pod-bash.json")[0];
    assert_eq!(
        bash.first("process.entry_leader.same_as_process"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        bash.first_str("process.entry_leader.executable"),
        Some("/bin/bash")
    );
    assert_eq!(bash.first_str("process.parent.name"), Some("runc"));

    let merlin = by_file(&docs, "merlin-agent-sh.json")[0];
    assert_eq!(
        strs(merlin, "process.args"),
        vec!["/bin/sh", "-c", "7z a s3nsitiv3.7z ../ops_bank_accounts/"]
    );

    let exit = by_file(&docs, "lifecycle_sh_process_exit.json")[0];
    assert_eq!(exit.first_str("event.type"), Some("end"));
    assert_eq!(exit.first_str("event.action"), Some("end"));
    assert_eq!(exit.first_str("@timestamp"), Some("2022-02-01T18:01:57.726Z"));
    assert_eq!(exit.first_str("process.name"), Some("sh"));
    assert_eq!(exit.first_str("orchestrator.namespace"), Some("tenant-jobs"));

    // events.json: JSON Lines from a GKE node; the first line has no `time`.
    let lines = by_file(&docs, "events.json");
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0].first_str("@timestamp"), Some("2022-10-18T03:16:18.273Z"));
    assert_eq!(lines[0].first_str("process.name"), Some("netserver"));
    assert_eq!(
        lines[0].first_str("container.image.name"),
        Some("docker.io/tgraf/netperf")
    );
    assert_eq!(
        lines[0].first_str("orchestrator.resource.name"),
        Some("tiefighter")
    );
    assert!(strs(lines[0], "orchestrator.resource.label").contains(&"class:tiefighter"));
    // pid 1 in its container: the container's init, its own entry leader
    assert_eq!(
        lines[0].first("process.entry_leader.same_as_process"),
        Some(&Value::Bool(true))
    );
    assert_eq!(lines[0].first_str("process.entry_leader.name"), Some("netserver"));
    // the merlin agent's shell carries no pod information: no container, no entry leader
    assert!(!merlin.has("process.entry_leader.same_as_process") && !merlin.has("container.id"));
}

#[test]
fn cloud_defend_documents_pass_through() {
    let dir = format!("{FIXTURES}/elastic-cloud-defend");
    let docs = read_all(&[format!("{dir}/SYNTHETIC-process-exec-from-README-table.json")]);
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.index, "logs-cloud_defend.process-default");
    assert_eq!(d.first_str("event.ingested"), Some("2023-03-20T16:04:12Z"));
    assert_eq!(
        d.first("process.entry_leader.interactive"),
        Some(&Value::Bool(true))
    );
    let text =
        std::fs::read_to_string(format!("{dir}/SYNTHETIC-process-exec-from-README-table.json")).unwrap();
    assert_eq!(Value::Object(d.source.clone()), Value::from_json(&text).unwrap());

    // The alerts sample: ECS with literal dotted keys and no dataset.
    let alerts = read_all(&[format!("{dir}/alerts/sample_event.json")]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].first_str("container.image.name"), Some("nginx"));
    assert_eq!(
        alerts[0].first_str("orchestrator.resource.name"),
        Some("nginx-pod")
    );
    assert_eq!(alerts[0].index, "logs-generic-default");
}
