//! Alert documents for each kind of detection: their Kibana fields, the copied source fields,
//! the explanation fields, and the identity that makes `kibana.alert.uuid` stable.

use events::time::parse_timestamp;
use events::{Document, Map, Value};
use rules::alert::{AlertSource, alert_identity, build_alerts, identity_uuid};
use rules::{Rule, bundled};

fn rule(id: &str) -> Rule {
    bundled().into_iter().find(|r| r.rule_id == id).unwrap()
}

fn secrets_rule() -> Rule {
    rule("b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c")
}

fn sequence_rule() -> Rule {
    rule("5d1c962d-5d2a-48d4-bdcf-e980e3914947")
}

fn t(s: &str) -> i64 {
    parse_timestamp(s).unwrap()
}

fn get<'a>(m: &'a Map, k: &str) -> &'a Value {
    m.get(k)
        .unwrap_or_else(|| panic!("alert has no {k}: {}", Value::Object(m.clone()).to_json()))
}

fn s<'a>(m: &'a Map, k: &str) -> &'a str {
    get(m, k)
        .as_str()
        .unwrap_or_else(|| panic!("{k} is not a string"))
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn doc(json: &str, id: &str, index: &str) -> Document {
    let mut d = Document::from_json(json).unwrap();
    d.id = id.into();
    d.index = index.into();
    d
}

const WINDOW: (i64, i64) = (1_741_068_960_000_000_000, 1_741_069_320_000_000_000);

#[test]
fn esql_aggregated_row_alert() {
    let rule = secrets_rule();
    let columns = strs(&[
        "user.name",
        "source.ip",
        "user_agent.original",
        "Esql.unique_credentials",
        "Esql.secrets_names",
        "Esql.namespaces",
        "Esql.outcome",
    ]);
    let row = vec![
        Value::from("alice"),
        Value::from("10.0.0.5"),
        Value::from("curl/8.5.0"),
        Value::Int(3),
        Value::from(vec!["db-pass", "registry", "tls"]),
        Value::Null,
        Value::from("allow"),
    ];
    let group = vec![
        Value::from("alice"),
        Value::from("10.0.0.5"),
        Value::from("curl/8.5.0"),
    ];
    let ids = strs(&["e1", "e2", "e3", "e4"]);
    let raised = t("2025-03-04T06:22:30.123456Z");
    let src = AlertSource::EsqlRow {
        columns: &columns,
        row: &row,
        group: &group,
        event_ids: &ids,
        event_count: 4,
    };
    let alerts = build_alerts(&rule, src, WINDOW, raised);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];

    assert_eq!(s(a, "@timestamp"), "2025-03-04T06:22:30.123Z");
    assert_eq!(a.keys().next(), Some("@timestamp"));
    assert_eq!(s(a, "event.kind"), "signal");
    assert_eq!(s(a, "kibana.alert.status"), "active");
    assert_eq!(s(a, "kibana.alert.workflow_status"), "open");
    assert_eq!(s(a, "kibana.alert.severity"), "high");
    assert_eq!(get(a, "kibana.alert.risk_score"), &Value::Int(73));
    assert_eq!(
        s(a, "kibana.alert.rule.name"),
        "Kubernetes Rapid Secret GET Activity Against Multiple Objects"
    );
    assert_eq!(
        s(a, "kibana.alert.rule.rule_id"),
        "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c"
    );
    assert_eq!(get(a, "kibana.alert.rule.version"), &Value::Int(1));
    assert_eq!(s(a, "kibana.alert.rule.severity"), "high");
    assert_eq!(get(a, "kibana.alert.rule.risk_score"), &Value::Int(73));
    assert_eq!(s(a, "kibana.alert.rule.from"), "now-6m");
    assert_eq!(s(a, "kibana.alert.rule.to"), "now");
    assert_eq!(s(a, "kibana.alert.rule.interval"), "5m");
    assert_eq!(s(a, "kibana.alert.rule.type"), "esql");
    assert_eq!(s(a, "kibana.alert.rule.language"), "esql");
    assert_eq!(s(a, "kibana.alert.rule.category"), "ES|QL Rule");
    assert_eq!(s(a, "kibana.alert.rule.rule_type_id"), "siem.esqlRule");
    assert_eq!(s(a, "kibana.alert.rule.timestamp_override"), "event.ingested");
    assert_eq!(get(a, "kibana.alert.rule.max_signals"), &Value::Int(100));
    assert!(s(a, "kibana.alert.rule.query").contains("count_distinct(kubernetes.audit.objectRef.name)"));
    assert!(s(a, "kibana.alert.rule.description").starts_with("This rule detects an unusual volume"));
    assert!(s(a, "kibana.alert.rule.note").contains("Triage and analysis"));
    assert_eq!(get(a, "kibana.alert.rule.tags").as_array().unwrap().len(), 5);
    assert_eq!(
        get(a, "kibana.alert.rule.references"),
        &Value::from(vec!["https://attack.mitre.org/techniques/T1552/007/"])
    );
    assert_eq!(
        get(a, "kibana.alert.rule.threat").to_json(),
        r#"[{"framework":"MITRE ATT&CK","tactic":{"id":"TA0006","name":"Credential Access","reference":"https://attack.mitre.org/tactics/TA0006/"},"technique":[{"id":"T1552","name":"Unsecured Credentials","reference":"https://attack.mitre.org/techniques/T1552/","subtechnique":[{"id":"T1552.007","name":"Container API","reference":"https://attack.mitre.org/techniques/T1552/007/"}]}]}]"#
    );
    // the row's non-null columns, as written
    assert_eq!(s(a, "user.name"), "alice");
    assert_eq!(s(a, "source.ip"), "10.0.0.5");
    assert_eq!(get(a, "Esql.unique_credentials"), &Value::Int(3));
    assert_eq!(get(a, "Esql.secrets_names").as_array().unwrap().len(), 3);
    assert!(a.get("Esql.namespaces").is_none(), "null columns are dropped");
    // an aggregated row has no single original event
    assert!(a.get("kibana.alert.original_time").is_none());
    assert_eq!(get(a, "kibana.alert.ancestors"), &Value::Array(vec![]));
    assert_eq!(
        s(a, "kibana.alert.reason"),
        "event with user.name=alice, source.ip=10.0.0.5, user_agent.original=curl/8.5.0 (4 events) \
         created high alert Kubernetes Rapid Secret GET Activity Against Multiple Objects."
    );
    // explanation
    assert_eq!(s(a, "crowsnest.window.start"), "2025-03-04T06:16:00.000Z");
    assert_eq!(s(a, "crowsnest.window.end"), "2025-03-04T06:22:00.000Z");
    assert_eq!(
        get(a, "crowsnest.event_ids"),
        &Value::from(vec!["e1", "e2", "e3", "e4"])
    );
    assert_eq!(get(a, "crowsnest.event_count"), &Value::Int(4));
    assert_eq!(
        s(a, "crowsnest.rule.source"),
        "bundled:004_credential_access_kubernetes_multiple_secret_retrieval_burst.toml"
    );
    // the uuid is the v5 uuid of the identity
    let identity = alert_identity(&rule, &src);
    assert_eq!(
        identity,
        r#"{"kind":"esql","rule_id":"b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c","version":1,"group":["alice","10.0.0.5","curl/8.5.0"],"event":"e1"}"#
    );
    assert_eq!(s(a, "kibana.alert.uuid"), identity_uuid(&identity));
    assert_eq!(s(a, "kibana.alert.uuid").len(), 36);
}

#[test]
fn esql_identity_is_stable_and_discriminating() {
    let rule = secrets_rule();
    let columns = strs(&["user.name", "Esql.n"]);
    let row = vec![Value::from("alice"), Value::Int(3)];
    let group = vec![Value::from("alice")];
    let ids = strs(&["e1", "e2"]);
    let uuid = |rule: &Rule, row: &[Value], group: &[Value], ids: &[String], window, raised| {
        let src = AlertSource::EsqlRow {
            columns: &columns,
            row,
            group,
            event_ids: ids,
            event_count: ids.len() as u64,
        };
        let a = build_alerts(rule, src, window, raised);
        a[0].get("kibana.alert.uuid")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    };
    let base = uuid(&rule, &row, &group, &ids, WINDOW, 1);
    // another window, another raise time, other aggregate values, more events after the
    // first: the same activity, the same alert
    let later = (WINDOW.0 + 300_000_000_000, WINDOW.1 + 300_000_000_000);
    let row2 = vec![Value::from("alice"), Value::Int(5)];
    assert_eq!(
        base,
        uuid(&rule, &row2, &group, &strs(&["e1", "e2", "e9"]), later, 99)
    );
    // another group key, another first event, another rule version: another alert
    assert_ne!(base, uuid(&rule, &row, &[Value::from("bob")], &ids, WINDOW, 1));
    assert_ne!(base, uuid(&rule, &row, &group, &strs(&["e2"]), WINDOW, 1));
    let mut v2 = rule.clone();
    v2.version = 2;
    assert_ne!(base, uuid(&v2, &row, &group, &ids, WINDOW, 1));
    let mut other = rule.clone();
    other.rule_id = "other".into();
    assert_ne!(base, uuid(&other, &row, &group, &ids, WINDOW, 1));
}

#[test]
fn esql_row_of_a_non_aggregating_query() {
    let rule = secrets_rule();
    let columns = strs(&[
        "@timestamp",
        "_id",
        "_index",
        "_version",
        "event.action",
        "user.name",
        "kibana.x",
    ]);
    let row = vec![
        Value::from("2025-03-04T06:20:01.5Z"),
        Value::from("doc-7"),
        Value::from(".ds-logs-kubernetes.audit_logs-default"),
        Value::Int(1),
        Value::from("get"),
        Value::from("alice"),
        Value::from("dropped"),
    ];
    let src = AlertSource::EsqlRow {
        columns: &columns,
        row: &row,
        group: &[],
        event_ids: &[],
        event_count: 1,
    };
    let a = &build_alerts(&rule, src, WINDOW, WINDOW.1)[0];
    assert_eq!(s(a, "kibana.alert.original_time"), "2025-03-04T06:20:01.500Z");
    assert_eq!(s(a, "@timestamp"), "2025-03-04T06:22:00.000Z");
    assert!(a.get("_id").is_none() && a.get("_index").is_none() && a.get("_version").is_none());
    assert!(
        a.get("kibana.x").is_none(),
        "kibana.* columns would collide with alert fields"
    );
    assert_eq!(s(a, "event.action"), "get");
    assert_eq!(s(a, "kibana.alert.original_event.action"), "get");
    assert_eq!(
        get(a, "kibana.alert.ancestors").to_json(),
        r#"[{"id":"doc-7","type":"event","index":".ds-logs-kubernetes.audit_logs-default","depth":0}]"#
    );
    assert_eq!(get(a, "crowsnest.event_ids"), &Value::from(vec!["doc-7"]));
    assert!(alert_identity(&rule, &src).ends_with(r#""group":[],"event":"doc-7"}"#));
    assert_eq!(
        s(a, "kibana.alert.reason"),
        "event by alice created high alert Kubernetes Rapid Secret GET Activity Against Multiple Objects."
    );
}

const EXEC: &str = r#"{"@timestamp":"2025-03-04T06:20:00.100Z",
  "event":{"kind":"event","category":["process"],"type":["start"],"action":"exec","ingested":"2025-03-04T06:20:01Z"},
  "process":{"name":"curl","args":["curl","-k","https://kubernetes.default.svc"],"parent":{"name":"bash"},"interactive":true},
  "user":{"name":"root"},"host":{"name":"node-1","os":{"type":"linux"}},
  "orchestrator":{"resource":{"name":"web-1"}},"container":{"id":"c1"}}"#;

const AUDIT: &str = r#"{"@timestamp":"2025-03-04T06:20:00.600Z",
  "event":{"kind":"event","dataset":"kubernetes.audit_logs","action":"get","ingested":"2025-03-04T06:20:01Z"},
  "host":{"os":{"type":"linux"}},
  "kubernetes":{"audit":{"stage":"ResponseComplete","annotations":{"authorization_k8s_io/decision":"forbid"},
    "user":{"username":"system:serviceaccount:default:web","extra":{"authentication.kubernetes.io/pod-name":["web-1"]}}}},
  "source":{"ip":"10.0.0.9"},"user":{"name":"system:serviceaccount:default:web"}}"#;

#[test]
fn event_alert_copies_the_source_event() {
    let rule = sequence_rule();
    let d = doc(EXEC, "x1", ".ds-logs-cloud_defend.process-default");
    let alerts = build_alerts(&rule, AlertSource::Event { doc: &d }, WINDOW, WINDOW.1);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    let view = Document::new(a.clone());
    // the source's fields, as they were, except its time and kind
    assert_eq!(view.first_str("process.name"), Some("curl"));
    assert_eq!(view.field("process.args").len(), 3);
    assert_eq!(view.first_str("orchestrator.resource.name"), Some("web-1"));
    assert_eq!(
        view.field("event.kind").len(),
        1,
        "the source's event.kind is replaced"
    );
    assert_eq!(view.first_str("event.kind"), Some("signal"));
    assert_eq!(view.field("@timestamp").len(), 1);
    assert_eq!(s(a, "@timestamp"), "2025-03-04T06:22:00.000Z");
    assert_eq!(s(a, "kibana.alert.original_time"), "2025-03-04T06:20:00.100Z");
    // kibana.alert.original_event.* is the source's event.* (kind included)
    assert_eq!(s(a, "kibana.alert.original_event.kind"), "event");
    assert_eq!(s(a, "kibana.alert.original_event.action"), "exec");
    assert_eq!(
        get(a, "kibana.alert.original_event.category"),
        &Value::from(vec!["process"])
    );
    assert_eq!(
        s(a, "kibana.alert.original_event.ingested"),
        "2025-03-04T06:20:01Z"
    );
    assert_eq!(
        s(a, "kibana.alert.reason"),
        "process event with process curl, parent process bash, by root on node-1 \
         created medium alert Forbidden Direct Interactive Kubernetes API Request."
    );
    assert_eq!(
        get(a, "kibana.alert.ancestors").to_json(),
        r#"[{"id":"x1","type":"event","index":".ds-logs-cloud_defend.process-default","depth":0}]"#
    );
    assert_eq!(get(a, "kibana.alert.depth"), &Value::Int(1));
    assert_eq!(s(a, "kibana.alert.rule.category"), "Event Correlation Rule");
    assert_eq!(
        get(a, "kibana.alert.rule.index"),
        &Value::from(vec!["logs-cloud_defend.process*", "logs-kubernetes.audit_logs-*"])
    );
    assert_eq!(
        get(a, "kibana.alert.rule.false_positives")
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(get(a, "crowsnest.event_ids"), &Value::from(vec!["x1"]));
    let identity = alert_identity(&rule, &AlertSource::Event { doc: &d });
    assert_eq!(
        identity,
        r#"{"kind":"event","rule_id":"5d1c962d-5d2a-48d4-bdcf-e980e3914947","version":1,"event":"x1"}"#
    );
    assert_eq!(s(a, "kibana.alert.uuid"), identity_uuid(&identity));

    // the same event in a later window is the same alert; another event is another
    let again = build_alerts(&rule, AlertSource::Event { doc: &d }, (WINDOW.1, WINDOW.1 + 1), 0);
    assert_eq!(get(&again[0], "kibana.alert.uuid"), get(a, "kibana.alert.uuid"));
    let d2 = doc(EXEC, "x2", "i");
    let other = build_alerts(&rule, AlertSource::Event { doc: &d2 }, WINDOW, WINDOW.1);
    assert_ne!(get(&other[0], "kibana.alert.uuid"), get(a, "kibana.alert.uuid"));
}

#[test]
fn event_without_id_is_identified_by_content() {
    let rule = sequence_rule();
    let a = doc(EXEC, "", "i");
    let b = doc(AUDIT, "", "i");
    let ia = alert_identity(&rule, &AlertSource::Event { doc: &a });
    assert_eq!(ia, alert_identity(&rule, &AlertSource::Event { doc: &a.clone() }));
    assert_ne!(ia, alert_identity(&rule, &AlertSource::Event { doc: &b }));
}

#[test]
fn sequence_gives_a_shell_and_building_blocks() {
    let rule = sequence_rule();
    let exec = doc(EXEC, "p1", ".ds-logs-cloud_defend.process-default");
    let audit = doc(AUDIT, "k1", ".ds-logs-kubernetes.audit_logs-default");
    let docs = [&exec, &audit];
    let keys = [Value::from("web-1")];
    let src = AlertSource::Sequence {
        docs: &docs,
        join_keys: &keys,
    };
    let alerts = build_alerts(&rule, src, WINDOW, WINDOW.1);
    assert_eq!(alerts.len(), 3);
    let (shell, blocks) = (&alerts[0], &alerts[1..]);

    let identity = alert_identity(&rule, &src);
    assert_eq!(
        identity,
        r#"{"kind":"sequence","rule_id":"5d1c962d-5d2a-48d4-bdcf-e980e3914947","version":1,"events":["p1","k1"]}"#
    );
    assert_eq!(s(shell, "kibana.alert.uuid"), identity_uuid(&identity));
    assert!(shell.get("kibana.alert.building_block_type").is_none());
    assert!(shell.get("kibana.alert.group.index").is_none());
    let group = s(shell, "kibana.alert.group.id");
    assert_eq!(get(shell, "kibana.alert.depth"), &Value::Int(2));
    assert_eq!(get(shell, "crowsnest.event_ids"), &Value::from(vec!["p1", "k1"]));
    assert_eq!(
        get(shell, "crowsnest.sequence.join_keys"),
        &Value::from(vec!["web-1"])
    );
    assert_eq!(s(shell, "kibana.alert.original_time"), "2025-03-04T06:20:00.100Z");
    // the shell keeps what every member has in common, and nothing else
    assert_eq!(s(shell, "host.os.type"), "linux");
    assert_eq!(s(shell, "event.ingested"), "2025-03-04T06:20:01Z");
    assert_eq!(
        s(shell, "kibana.alert.original_event.ingested"),
        "2025-03-04T06:20:01Z"
    );
    let view = Document::new(shell.clone());
    assert!(!view.has("process.name") && !view.has("kubernetes.audit.stage") && !view.has("user.name"));
    assert_eq!(
        s(shell, "kibana.alert.reason"),
        "event created medium alert Forbidden Direct Interactive Kubernetes API Request."
    );
    let ancestors = get(shell, "kibana.alert.ancestors").as_array().unwrap();
    assert_eq!(ancestors.len(), 4, "both events and both building blocks");

    let mut uuids = vec![s(shell, "kibana.alert.uuid").to_string()];
    for (i, (bb, d)) in blocks.iter().zip(docs).enumerate() {
        assert_eq!(s(bb, "kibana.alert.building_block_type"), "default");
        assert_eq!(s(bb, "kibana.alert.group.id"), group);
        assert_eq!(get(bb, "kibana.alert.group.index"), &Value::Int(i as i64));
        assert_eq!(get(bb, "kibana.alert.depth"), &Value::Int(1));
        assert_eq!(get(bb, "crowsnest.event_ids"), &Value::from(vec![d.id.as_str()]));
        assert_eq!(s(bb, "event.kind"), "signal");
        assert_eq!(
            s(bb, "kibana.alert.uuid"),
            identity_uuid(&format!("{identity}#{i}"))
        );
        assert!(
            ancestors.contains(&Value::Object(
                [
                    ("id".to_string(), get(bb, "kibana.alert.uuid").clone()),
                    ("type".to_string(), Value::from("signal")),
                    (
                        "index".to_string(),
                        Value::from(".alerts-security.alerts-default")
                    ),
                    ("depth".to_string(), Value::Int(1)),
                ]
                .into_iter()
                .collect()
            ))
        );
        uuids.push(s(bb, "kibana.alert.uuid").to_string());
    }
    assert_eq!(
        Document::new(blocks[0].clone()).first_str("process.name"),
        Some("curl")
    );
    assert_eq!(
        s(&blocks[1], "kibana.alert.original_event.dataset"),
        "kubernetes.audit_logs"
    );
    assert_eq!(
        s(&blocks[1], "kibana.alert.reason"),
        "event source 10.0.0.9, by system:serviceaccount:default:web \
         created medium alert Forbidden Direct Interactive Kubernetes API Request."
    );
    uuids.sort();
    uuids.dedup();
    assert_eq!(uuids.len(), 3);

    // stable across windows; the order of members is part of the identity
    let again = build_alerts(&rule, src, (0, 1), 5);
    assert_eq!(again[0].get("kibana.alert.uuid"), shell.get("kibana.alert.uuid"));
    assert_eq!(
        again[2].get("kibana.alert.uuid"),
        blocks[1].get("kibana.alert.uuid")
    );
    let swapped = [&audit, &exec];
    let other = AlertSource::Sequence {
        docs: &swapped,
        join_keys: &keys,
    };
    assert_ne!(alert_identity(&rule, &other), identity);
}

#[test]
fn rule_name_override_names_the_alert_after_a_source_field() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/elastic-rules/kubernetes/cloud_defend/container_workload_protection.toml"
    );
    let rule = rules::parse_rule(&std::fs::read_to_string(path).unwrap(), path).unwrap();
    assert_eq!(rule.rule_name_override(), Some("message"));
    assert_eq!(rule.max_signals, 1000);
    let with = doc(
        r#"{"@timestamp":"2025-03-04T06:20:00Z","message":"Process drift detected","event":{"kind":"alert"}}"#,
        "w1",
        "i",
    );
    let a = &build_alerts(&rule, AlertSource::Event { doc: &with }, WINDOW, WINDOW.1)[0];
    assert_eq!(s(a, "kibana.alert.rule.name"), "Process drift detected");
    assert_eq!(s(a, "kibana.alert.rule.rule_name_override"), "message");
    assert_eq!(
        s(a, "kibana.alert.reason"),
        "event created medium alert Process drift detected."
    );
    assert_eq!(s(a, "kibana.alert.original_event.kind"), "alert");
    let without = doc(r#"{"@timestamp":"2025-03-04T06:20:00Z"}"#, "w2", "i");
    let a = &build_alerts(&rule, AlertSource::Event { doc: &without }, WINDOW, WINDOW.1)[0];
    assert_eq!(s(a, "kibana.alert.rule.name"), "Container Workload Protection");
}
