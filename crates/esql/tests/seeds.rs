//! Semantics of the seed rules on small hand-built audit documents: thresholds on both sides,
//! multi-valued source IPs, the `to_string(...) in (...)` null rule, RLIKE/LIKE exclusions,
//! minute buckets, provenance, prefilter soundness and merging of partial executions.

use std::path::Path;

use events::{Catalog, Document, Value};

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds/rules");

fn seed_query(prefix: &str) -> esql::Query {
    let dir = Path::new(SEEDS);
    let file = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap();
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let q = doc["rule"]["query"].as_str().unwrap();
    esql::compile(q, &Catalog::ecs()).unwrap()
}

fn ctx() -> esql::ExecContext {
    esql::ExecContext {
        now_nanos: events::time::parse_timestamp("2025-03-04T06:30:00Z").unwrap(),
    }
}

fn doc(id: &str, json: &str) -> Document {
    let mut d = Document::from_json(json).unwrap();
    d.id = id.to_string();
    d.index = ".ds-logs-kubernetes.audit_logs-default".to_string();
    d
}

/// A secret read as rule 004 looks for.
fn secret_get(id: &str, user: &str, ip: &str, name: &str) -> Document {
    doc(
        id,
        &format!(
            r#"{{"@timestamp":"2025-03-04T06:22:18.819Z","event":{{"dataset":"kubernetes.audit_logs","action":"get"}},
               "user":{{"name":"{user}"}},"source":{{"ip":{ip}}},"user_agent":{{"original":"kubectl/v1.30"}},
               "kubernetes":{{"audit":{{"objectRef":{{"resource":"secrets","name":"{name}","namespace":"default"}},
               "annotations":{{"authorization_k8s_io/decision":"allow"}}}}}}}}"#
        ),
    )
}

fn column<'a>(r: &'a esql::QueryResult, row: usize, name: &str) -> &'a Value {
    let i = r
        .columns
        .iter()
        .position(|c| c.name == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    &r.rows[row][i]
}

#[test]
fn secret_burst_fires_at_three_distinct_names_not_two() {
    let q = seed_query("004");
    let two = [
        secret_get("a", "mallory", r#""10.0.0.5""#, "s1"),
        secret_get("b", "mallory", r#""10.0.0.5""#, "s2"),
        secret_get("c", "mallory", r#""10.0.0.5""#, "s2"),
    ];
    let r = esql::run(&q, two.iter(), ctx());
    assert!(r.rows.is_empty(), "two distinct secrets stay below the threshold");

    let three = [
        secret_get("a", "mallory", r#""10.0.0.5""#, "s1"),
        secret_get("b", "mallory", r#""10.0.0.5""#, "s2"),
        secret_get("c", "mallory", r#""10.0.0.5""#, "s3"),
        secret_get("d", "alice", r#""10.0.0.6""#, "s1"),
    ];
    let r = esql::run(&q, three.iter(), ctx());
    assert_eq!(r.rows.len(), 1);
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "user.name",
            "source.ip",
            "user_agent.original",
            "Esql.unique_credentials",
            "Esql.secrets_names",
            "Esql.namespaces",
            "Esql.outcome"
        ]
    );
    assert_eq!(column(&r, 0, "Esql.unique_credentials"), &Value::Int(3));
    assert_eq!(column(&r, 0, "source.ip"), &Value::from("10.0.0.5"));
    assert_eq!(r.columns[1].data_type, "ip");
    let prov = &r.provenance[0];
    assert_eq!(prov.event_ids, vec!["a", "b", "c"]);
    assert_eq!(prov.event_count, 3);
    assert_eq!(
        prov.group,
        vec![
            Value::from("mallory"),
            Value::from("10.0.0.5"),
            Value::from("kubectl/v1.30")
        ]
    );
}

#[test]
fn multi_valued_source_ip_makes_to_string_in_null_and_drops_the_event() {
    // NOTES §3: to_string(source.ip) in (...) on a two-IP event is null, `not null` is null
    let q = seed_query("004");
    let docs = [
        secret_get("a", "bob", r#"["10.0.0.5","172.16.0.1"]"#, "s1"),
        secret_get("b", "bob", r#"["10.0.0.5","172.16.0.1"]"#, "s2"),
        secret_get("c", "bob", r#"["10.0.0.5","172.16.0.1"]"#, "s3"),
    ];
    let r = esql::run(&q, docs.iter(), ctx());
    assert!(r.rows.is_empty());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("single-value function encountered multi-value")),
        "{:?}",
        r.warnings
    );
    // and loopback sources are excluded too
    let local = [
        secret_get("a", "bob", r#""127.0.0.1""#, "s1"),
        secret_get("b", "bob", r#""127.0.0.1""#, "s2"),
        secret_get("c", "bob", r#""127.0.0.1""#, "s3"),
    ];
    assert!(esql::run(&q, local.iter(), ctx()).rows.is_empty());
}

#[test]
fn helm_release_secrets_are_excluded_by_like() {
    let q = seed_query("004");
    let docs = [
        secret_get("a", "bob", r#""10.0.0.5""#, "sh.helm.release.v1.a"),
        secret_get("b", "bob", r#""10.0.0.5""#, "sh.helm.release.v1.b"),
        secret_get("c", "bob", r#""10.0.0.5""#, "s3"),
    ];
    assert!(esql::run(&q, docs.iter(), ctx()).rows.is_empty());
    assert!(!q.prefilter(&docs[0]), "the LIKE exclusion is pushed down");
    assert!(q.prefilter(&docs[2]));
}

#[test]
fn prefilter_is_sound_and_reads_only_needed_fields() {
    let q = seed_query("004");
    let ok = secret_get("a", "bob", r#""10.0.0.5""#, "s1");
    let wrong_verb = doc(
        "x",
        r#"{"event":{"dataset":"kubernetes.audit_logs","action":"list"}}"#,
    );
    assert!(q.prefilter(&ok));
    assert!(!q.prefilter(&wrong_verb));
    let needed = q.needed_fields();
    assert!(needed.contains(&"kubernetes.audit.objectRef.name".to_string()));
    assert!(
        !needed.contains(&"kubernetes.audit.verb".to_string()),
        "{needed:?}"
    );
}

#[test]
fn partial_executions_merge() {
    let q = seed_query("004");
    let docs = [
        secret_get("a", "mallory", r#""10.0.0.5""#, "s1"),
        secret_get("b", "mallory", r#""10.0.0.5""#, "s2"),
        secret_get("c", "mallory", r#""10.0.0.5""#, "s3"),
    ];
    let mut left = q.start(ctx());
    left.push(&docs[0]);
    let mut right = q.start(ctx());
    right.push(&docs[1]);
    right.push(&docs[2]);
    left.merge(right);
    let merged = left.finish();
    let whole = esql::run(&q, docs.iter(), ctx());
    assert_eq!(merged.rows, whole.rows);
    assert_eq!(merged.provenance[0].event_count, 3);
}

fn recon(
    id: &str,
    user: &str,
    ips: &str,
    uri: &str,
    resource: &str,
    decision: &str,
    extra: &str,
) -> Document {
    doc(
        id,
        &format!(
            r#"{{"@timestamp":"2025-03-04T06:22:18.819Z","event":{{"dataset":"kubernetes.audit_logs"}},
               "kubernetes":{{"audit":{{"stage":"ResponseComplete","verb":"list","requestURI":"{uri}",
               "user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":{ips},
               "objectRef":{{"resource":"{resource}"}},"annotations":{{"authorization_k8s_io/decision":"{decision}"}}
               {extra}}}}}}}"#
        ),
    )
}

#[test]
fn permission_enumeration_groups_by_each_source_ip() {
    let q = seed_query("000");
    let mut docs = Vec::new();
    let resources = ["pods", "secrets", "nodes", "configmaps", "roles", "services"];
    for (i, r) in resources.iter().enumerate() {
        let decision = if i % 2 == 0 { "allow" } else { "forbid" };
        docs.push(recon(
            &format!("e{i}"),
            "eve",
            r#"["10.1.1.1","10.2.2.2"]"#,
            &format!("/api/v1/{r}?x={i}"),
            r,
            decision,
            "",
        ));
    }
    let r = esql::run(&q, docs.iter(), ctx());
    // STATS BY a multi-valued field puts the row in one group per value
    assert_eq!(r.rows.len(), 2, "{:?}", r.rows);
    for row in 0..2 {
        assert_eq!(column(&r, row, "Esql.document_count"), &Value::Int(6));
        assert_eq!(
            column(
                &r,
                row,
                "Esql.kubernetes_audit_annotations_authorization_k8s_io_decision_count_distinct"
            ),
            &Value::Int(2)
        );
    }
    let ips: Vec<&Value> = (0..2)
        .map(|i| column(&r, i, "kubernetes.audit.sourceIPs"))
        .collect();
    assert!(ips.contains(&&Value::from("10.1.1.1")) && ips.contains(&&Value::from("10.2.2.2")));
    // one decision only: below the `== 2` threshold
    let allowed: Vec<Document> = resources
        .iter()
        .enumerate()
        .map(|(i, res)| {
            recon(
                &format!("f{i}"),
                "eve",
                r#""10.1.1.1""#,
                &format!("/u{i}"),
                res,
                "allow",
                "",
            )
        })
        .collect();
    assert!(esql::run(&q, allowed.iter(), ctx()).rows.is_empty());
    // five distinct URIs: below `> 5`
    let few: Vec<Document> = resources[..5]
        .iter()
        .enumerate()
        .map(|(i, res)| {
            let d = if i == 0 { "forbid" } else { "allow" };
            recon(
                &format!("g{i}"),
                "eve",
                r#""10.1.1.1""#,
                &format!("/u{i}"),
                res,
                d,
                "",
            )
        })
        .collect();
    assert!(esql::run(&q, few.iter(), ctx()).rows.is_empty());
}

#[test]
fn anonymous_enumeration_counts_outcomes_with_case() {
    let q = seed_query("001");
    let mut docs = Vec::new();
    let resources = ["pods", "secrets", "nodes", "configmaps", "roles", "services"];
    for (i, r) in resources.iter().enumerate() {
        let (decision, code) = if i == 0 { ("forbid", 403) } else { ("", 404) };
        let ann = if decision.is_empty() {
            String::new()
        } else {
            format!(r#","annotations":{{"authorization_k8s_io/decision":"{decision}"}}"#)
        };
        docs.push(doc(
            &format!("n{i}"),
            &format!(
                r#"{{"kubernetes":{{"audit":{{"level":"Request","user":{{"username":"system:anonymous"}},
                   "sourceIPs":["203.0.113.9"],"userAgent":"curl/8","requestURI":"/api/v1/{r}/{i}",
                   "objectRef":{{"resource":"{r}"}},"responseStatus":{{"code":{code}}}{ann}}}}}}}"#
            ),
        ));
    }
    let r = esql::run(&q, docs.iter(), ctx());
    assert_eq!(r.rows.len(), 1, "{:?}", r.rows);
    assert_eq!(column(&r, 0, "Esql.authz_forbid_count"), &Value::Int(1));
    assert_eq!(column(&r, 0, "Esql.not_found_count"), &Value::Int(5));
    assert_eq!(column(&r, 0, "Esql.document_count"), &Value::Int(6));
    // an authenticated user is not anonymous
    let named: Vec<Document> = docs
        .iter()
        .map(|d| {
            let text = d.source.clone();
            let mut d2 = Document::new(text);
            d2.id = d.id.clone();
            d2.source
                .get_mut("kubernetes")
                .and_then(|k| k.as_object_mut())
                .and_then(|k| k.get_mut("audit"))
                .and_then(|a| a.as_object_mut())
                .unwrap()
                .insert_path("user.username", Value::from("alice"));
            d2
        })
        .collect();
    assert!(esql::run(&q, named.iter(), ctx()).rows.is_empty());
}

fn recon_event(id: &str, ts: &str, user: &str, resource: &str) -> Document {
    doc(
        id,
        &format!(
            r#"{{"@timestamp":"{ts}","event":{{"dataset":"kubernetes.audit_logs","action":"list"}},
               "user":{{"name":"{user}"}},"source":{{"ip":"10.0.0.7"}},"user_agent":{{"original":"kubectl"}},
               "kubernetes":{{"audit":{{"user":{{"username":"{user}"}},"objectRef":{{"resource":"{resource}"}}}}}}}}"#
        ),
    )
}

#[test]
fn multi_resource_recon_buckets_by_minute_and_excludes_system_users() {
    let q = seed_query("002");
    let same_minute = [
        recon_event("a", "2025-03-04T06:22:01Z", "dev", "pods"),
        recon_event("b", "2025-03-04T06:22:30Z", "dev", "nodes"),
        recon_event("c", "2025-03-04T06:22:59Z", "dev", "roles"),
    ];
    let r = esql::run(&q, same_minute.iter(), ctx());
    assert_eq!(r.rows.len(), 1);
    assert_eq!(column(&r, 0, "Esql.unique_resources"), &Value::Int(3));
    assert_eq!(
        column(&r, 0, "Esql.time_interval"),
        &Value::from("2025-03-04T06:22:00.000Z")
    );
    let split = [
        recon_event("a", "2025-03-04T06:22:01Z", "dev", "pods"),
        recon_event("b", "2025-03-04T06:22:30Z", "dev", "nodes"),
        recon_event("c", "2025-03-04T06:23:00Z", "dev", "roles"),
    ];
    assert!(
        esql::run(&q, split.iter(), ctx()).rows.is_empty(),
        "two minute buckets"
    );
    let system = [
        recon_event("a", "2025-03-04T06:22:01Z", "system:kube-scheduler", "pods"),
        recon_event("b", "2025-03-04T06:22:30Z", "system:kube-scheduler", "nodes"),
        recon_event("c", "2025-03-04T06:22:59Z", "system:kube-scheduler", "roles"),
    ];
    assert!(
        esql::run(&q, system.iter(), ctx()).rows.is_empty(),
        "RLIKE exclusion"
    );
}

#[test]
fn conditions_on_now_are_not_pushed_down() {
    let q = esql::compile(
        "from logs-* | where @timestamp > now() - 1 hour and event.action == \"get\" | stats c = count()",
        &Catalog::ecs(),
    )
    .unwrap();
    let d = doc(
        "a",
        r#"{"@timestamp":"2025-03-04T06:22:18Z","event":{"action":"get"}}"#,
    );
    assert!(q.prefilter(&d), "prefilter has no NOW(): it must not reject");
    let mut e = q.start(ctx());
    e.push(&d);
    assert_eq!(e.finish().rows, vec![vec![Value::Int(1)]]);
}

#[test]
fn queries_and_executions_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<esql::Query>();
    send::<esql::Execution>();
    send_sync::<esql::QueryResult>();
    send_sync::<esql::Diagnostic>();
}
