//! The deployment kit in `deploy/`: the example `crowsnest.toml` passes
//! `crowsnest serve --check-config` once the files it names exist (certificates made with the
//! `openssl` command), its commented optional sinks pass too, and the audit policy and webhook
//! kubeconfig have the shape the kube-apiserver and the bundled rules need.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(deploy(name)).unwrap_or_else(|e| panic!("deploy/{name}: {e}"))
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command is needed to make the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (also used as the client CA and the Elasticsearch CA) and a server certificate it signs.
fn make_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "client-ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    ]);
    openssl(dir, &ca);
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "tls.key",
        "-out",
        "tls.csr",
        "-subj",
        "/CN=crowsnest.example",
    ]);
    openssl(dir, &req);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:crowsnest.example\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "client-ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "tls.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    std::fs::copy(dir.join("client-ca.crt"), dir.join("es-ca.crt")).unwrap();
}

/// The example config with its absolute paths moved under `dir`.
fn relocate(text: &str, dir: &Path) -> String {
    let d = dir.display();
    let out = text
        .replace("/etc/crowsnest/", &format!("{d}/etc/"))
        .replace("/var/lib/crowsnest", &format!("{d}/state"))
        .replace("/var/log/crowsnest/", &format!("{d}/log/"));
    for line in out.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert!(
            !line.contains("\"/etc/") && !line.contains("\"/var/"),
            "a path was not relocated: {line}"
        );
    }
    out
}

/// Enables the commented optional sinks: after the `# ---- optional sinks` marker, `# ` lines
/// are configuration and `##` lines are prose.
fn uncomment_optional(text: &str) -> String {
    let mut optional = false;
    let mut out = String::new();
    let mut enabled = 0;
    for line in text.lines() {
        if line.starts_with("# ---- optional sinks") {
            optional = true;
        } else if optional && let Some(rest) = line.strip_prefix("# ") {
            out.push_str(rest);
            out.push('\n');
            enabled += 1;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(enabled >= 10, "optional sinks not found ({enabled} lines)");
    out
}

fn check_config(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crowsnest"))
        .args(["serve", "--check-config", "--config"])
        .arg(config)
        .output()
        .expect("runs")
}

#[test]
fn example_config_passes_check_config() {
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    make_certificates(&etc);
    let text = relocate(&read("crowsnest.toml"), tmp.path());
    let config = tmp.path().join("crowsnest.toml");

    std::fs::write(&config, &text).unwrap();
    let out = check_config(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("configuration OK"), "{err}");

    // The commented Slack and Elasticsearch sinks are valid as written.
    std::fs::write(&config, uncomment_optional(&text)).unwrap();
    let out = check_config(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");

    // Control: the same config without its certificate is refused.
    std::fs::remove_file(etc.join("tls.crt")).unwrap();
    std::fs::write(&config, &text).unwrap();
    let out = check_config(&config);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("tls.cert"), "{err}");
}

/// The policy's rules, each as its text block, in order (comments dropped).
fn policy_rules(text: &str) -> Vec<String> {
    let body = text.split("\nrules:\n").nth(1).expect("a rules: list");
    let mut rules: Vec<String> = Vec::new();
    for line in body.lines() {
        let line = line.split(" #").next().unwrap_or("");
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with("  - level: ") {
            rules.push(String::new());
        }
        let rule = rules.last_mut().expect("rules start with `- level:`");
        rule.push_str(line.trim());
        rule.push('\n');
    }
    rules
}

fn level(rule: &str) -> &str {
    rule.lines().next().unwrap().trim_start_matches("- level: ")
}

#[test]
fn audit_policy_keeps_what_the_rules_read() {
    let text = read("audit-policy.yaml");
    assert!(!text.contains('\t'), "YAML forbids tabs");
    assert!(text.contains("\napiVersion: audit.k8s.io/v1\n"));
    assert!(text.contains("\nkind: Policy\n"));
    let stages = text.split("\nomitStages:\n").nth(1).expect("omitStages");
    let stages: Vec<&str> = stages.lines().take_while(|l| l.starts_with("  - ")).collect();
    assert_eq!(
        stages,
        ["  - \"RequestReceived\""],
        "ResponseStarted must stay (rules 001, 003)"
    );

    let rules = policy_rules(&text);
    assert!(rules.len() >= 5, "{rules:?}");
    for r in &rules {
        assert!(
            ["None", "Metadata", "Request"].contains(&level(r)),
            "response bodies are never logged: {r}"
        );
    }
    // Nothing dropped selects anonymous users or all users of a non-resource URL (rule 001).
    for r in rules.iter().filter(|r| level(r) == "None") {
        assert!(!r.contains("anonymous") && !r.contains("unauthenticated"), "{r}");
        assert!(
            r.contains("users:") || r.contains("userGroups:"),
            "a None rule must name the system identities it drops: {r}"
        );
        assert!(!r.contains("\"secrets\""), "rule 004 reads secrets: {r}");
        assert!(!r.contains("\"/api"), "{r}");
    }
    let health = rules
        .iter()
        .find(|r| r.contains("/healthz"))
        .expect("health probes dropped");
    assert!(
        health.contains("userGroups: [\"system:authenticated\"]"),
        "{health}"
    );
    // Secret-bearing writes are at Metadata, before any Request rule.
    let sensitive = rules
        .iter()
        .position(|r| r.contains("\"secrets\""))
        .expect("a secrets rule");
    assert_eq!(level(&rules[sensitive]), "Metadata");
    for needle in [
        "configmaps",
        "tokenreviews",
        "serviceaccounts/token",
        "create",
        "patch",
        "update",
    ] {
        assert!(
            rules[sensitive].contains(needle),
            "{needle}: {}",
            rules[sensitive]
        );
    }
    let first_request = rules.iter().position(|r| level(r) == "Request").unwrap();
    assert!(sensitive < first_request);
    // Reads at Request (rule 001 filters on level), and a catch-all last rule at Request.
    assert!(rules[first_request].contains("verbs: [\"get\", \"list\", \"watch\"]"));
    assert_eq!(rules.last().unwrap(), "- level: Request\n");
}

#[test]
fn webhook_kubeconfig_points_at_the_audit_path() {
    let text = read("audit-webhook-kubeconfig.yaml");
    assert!(!text.contains('\t'));
    assert!(text.contains("\nkind: Config\n"));
    assert!(text.contains("server: https://crowsnest.example:8443/audit\n"));
    for key in [
        "certificate-authority:",
        "client-certificate:",
        "client-key:",
        "current-context:",
    ] {
        assert!(text.contains(key), "{key}");
    }
    let config = read("crowsnest.toml");
    assert!(config.contains("audit_path = \"/audit\""));
    assert!(config.contains("listen = \"0.0.0.0:8443\""));
    let flags = read("apiserver-flags.md");
    for flag in [
        "--audit-policy-file=",
        "--audit-webhook-config-file=",
        "--audit-webhook-mode=batch",
        "--audit-webhook-batch-max-size=",
        "--audit-webhook-initial-backoff=",
    ] {
        assert!(flags.contains(flag), "{flag}");
    }
}
