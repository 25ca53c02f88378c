//! [`ServeConfig`]: the `[serve]` section of `crowsnest.toml` (listener, TLS, authentication,
//! body limit, write-ahead log, lateness, sinks, followed files) and its validation
//! ([`ServeConfig::check`]), which names the offending key in every message.
//!
//! ```toml
//! listen = "0.0.0.0:8443"
//! audit_path = "/audit"            # kube-apiserver --audit-webhook-config-file points here
//! process_path = "/process"
//! bearer_token_file = "/etc/crowsnest/tokens"
//! body_limit = 16777216
//! lateness = "5m"
//! follow = ["/var/log/kubernetes/audit.log"]
//! [tls]
//! cert = "/etc/crowsnest/tls.crt"
//! key = "/etc/crowsnest/tls.key"
//! client_ca = "/etc/kubernetes/pki/ca.crt"   # mTLS; clients may use a token instead
//! [wal]
//! dir = "/var/lib/crowsnest"       # WAL, delivery records, sink queues, follow offsets
//! segment_bytes = 67108864
//! max_bytes = 2147483648
//! [[sinks]]
//! type = "file"
//! path = "/var/log/crowsnest/alerts.ndjson"
//! [[sinks]]
//! type = "webhook"
//! url = "https://hooks.slack.com/services/..."
//! format = "slack"
//! [[sinks]]
//! type = "elasticsearch"
//! url = "https://es:9200"
//! index = "crowsnest-alerts"
//! headers = [["Authorization", "ApiKey ..."]]
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `crowsnest serve` needs. Durations are written as rules write them (`30s`, `5m`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// `host:port` to listen on (`0` as port picks a free one).
    pub listen: String,
    /// Path of the audit webhook endpoint.
    pub audit_path: String,
    /// Path of the process-event (ndjson) endpoint.
    pub process_path: String,
    pub tls: TlsConfig,
    /// Accepted bearer tokens (`Authorization: Bearer <token>`).
    pub bearer_tokens: Vec<String>,
    /// A file with one accepted bearer token per line (blank lines and `#` comments ignored).
    pub bearer_token_file: Option<PathBuf>,
    /// Plain HTTP without TLS; logged as a warning at start-up.
    pub insecure: bool,
    /// Accept requests that carry neither a client certificate nor a bearer token.
    pub allow_unauthenticated: bool,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    pub wal: WalConfig,
    /// How late (by `@timestamp`, against the wall clock) an event may arrive before it is
    /// counted as late in the metrics. Late events are still evaluated.
    pub lateness: String,
    /// Where alerts go; every alert goes to every sink.
    pub sinks: Vec<SinkConfig>,
    /// Audit log files (one audit Event JSON per line) to tail.
    pub follow: Vec<PathBuf>,
    /// How often `Detector::advance` runs.
    pub tick: String,
}

/// TLS material, PEM files.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// CA bundle that client certificates must chain to (mTLS).
    pub client_ca: Option<PathBuf>,
}

/// The write-ahead log and the other durable state (delivery records, follow offsets).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WalConfig {
    pub dir: PathBuf,
    /// A segment is closed and a new one started past this size, bytes.
    pub segment_bytes: u64,
    /// Total size of the log past which new batches are refused with 429, bytes.
    pub max_bytes: u64,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            dir: PathBuf::from("crowsnest-state"),
            segment_bytes: 64 << 20,
            max_bytes: 2 << 30,
        }
    }
}

/// One alert destination.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkConfig {
    /// One alert per line on standard output.
    Stdout {
        #[serde(default)]
        name: Option<String>,
    },
    /// One alert per line in `path`; past `max_bytes` the file is renamed `path.1` (older ones
    /// shift up to `path.<max_files>`, the oldest is removed).
    File {
        #[serde(default)]
        name: Option<String>,
        path: PathBuf,
        #[serde(default = "default_file_max_bytes")]
        max_bytes: u64,
        #[serde(default = "default_file_max_files")]
        max_files: u32,
    },
    /// POST of each alert to `url`, through an on-disk queue, retried with exponential backoff.
    Webhook {
        #[serde(default)]
        name: Option<String>,
        url: String,
        #[serde(default)]
        format: WebhookFormat,
        /// Bound of the on-disk queue, bytes; alerts past it are counted and logged as dropped.
        #[serde(default = "default_queue_bytes")]
        queue_bytes: u64,
        /// Extra request headers (e.g. an authorization header).
        #[serde(default)]
        headers: Vec<(String, String)>,
        /// First retry delay; doubles up to `max_backoff`.
        #[serde(default = "default_backoff")]
        backoff: String,
        #[serde(default = "default_max_backoff")]
        max_backoff: String,
        #[serde(default = "default_timeout")]
        timeout: String,
        /// PEM bundle to trust for an https URL (besides the system roots).
        #[serde(default)]
        ca: Option<PathBuf>,
    },
    /// Alerts indexed through the Elasticsearch `_bulk` API (`create`, `_id` =
    /// `kibana.alert.uuid`), from the same kind of on-disk queue as the webhook.
    Elasticsearch {
        #[serde(default)]
        name: Option<String>,
        /// Base URL of the cluster, e.g. `https://es.example:9200`.
        url: String,
        #[serde(default = "default_index")]
        index: String,
        /// Most alerts per `_bulk` request.
        #[serde(default = "default_batch")]
        batch: usize,
        #[serde(default = "default_queue_bytes")]
        queue_bytes: u64,
        /// Extra request headers, e.g. `["Authorization", "ApiKey ..."]`.
        #[serde(default)]
        headers: Vec<(String, String)>,
        #[serde(default = "default_backoff")]
        backoff: String,
        #[serde(default = "default_max_backoff")]
        max_backoff: String,
        #[serde(default = "default_timeout")]
        timeout: String,
        #[serde(default)]
        ca: Option<PathBuf>,
    },
}

/// Body of a webhook POST.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The alert document as JSON.
    #[default]
    Json,
    /// `{"text": "..."}` as Slack incoming webhooks take it.
    Slack,
}

fn default_file_max_bytes() -> u64 {
    100 << 20
}
fn default_file_max_files() -> u32 {
    5
}
fn default_index() -> String {
    "crowsnest-alerts".into()
}
fn default_batch() -> usize {
    500
}
fn default_queue_bytes() -> u64 {
    64 << 20
}
fn default_backoff() -> String {
    "500ms".into()
}
fn default_max_backoff() -> String {
    "60s".into()
}
fn default_timeout() -> String {
    "10s".into()
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "0.0.0.0:8443".into(),
            audit_path: "/audit".into(),
            process_path: "/process".into(),
            tls: TlsConfig::default(),
            bearer_tokens: Vec::new(),
            bearer_token_file: None,
            insecure: false,
            allow_unauthenticated: false,
            body_limit: 16 << 20,
            wal: WalConfig::default(),
            lateness: "5m".into(),
            sinks: vec![SinkConfig::Stdout { name: None }],
            follow: Vec::new(),
            tick: "1s".into(),
        }
    }
}

impl SinkConfig {
    /// The sink's name: its `name`, else its kind and position (`file-1`). Names key the
    /// delivery records, so they must be unique and stable.
    pub fn name(&self, index: usize) -> String {
        let (name, kind) = match self {
            SinkConfig::Stdout { name } => (name, "stdout"),
            SinkConfig::File { name, .. } => (name, "file"),
            SinkConfig::Webhook { name, .. } => (name, "webhook"),
            SinkConfig::Elasticsearch { name, .. } => (name, "elasticsearch"),
        };
        name.clone().unwrap_or_else(|| format!("{kind}-{index}"))
    }
}

fn duration(key: &str, value: &str) -> Result<i64, String> {
    match events::time::parse_duration(value) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(format!(
            "{key}: `{value}` is not a duration (write e.g. `500ms`, `30s`, `5m`)"
        )),
    }
}

fn check_remote(
    i: usize,
    url: &str,
    queue_bytes: u64,
    backoff: &str,
    max_backoff: &str,
    timeout: &str,
    ca: Option<&Path>,
) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("sinks[{i}].url: `{url}`: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("sinks[{i}].url: `{url}` must be http or https"));
    }
    if queue_bytes == 0 {
        return Err(format!("sinks[{i}].queue_bytes must be positive"));
    }
    let b = duration(&format!("sinks[{i}].backoff"), backoff)?;
    let m = duration(&format!("sinks[{i}].max_backoff"), max_backoff)?;
    duration(&format!("sinks[{i}].timeout"), timeout)?;
    if b == 0 || m < b {
        return Err(format!("sinks[{i}]: need 0 < backoff <= max_backoff"));
    }
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| format!("sinks[{i}].ca: {}: {e}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("sinks[{i}].ca: {}: {e}", ca.display()))?;
        if certs.is_empty() {
            return Err(format!("sinks[{i}].ca: {}: no PEM certificate", ca.display()));
        }
    }
    Ok(())
}

impl ServeConfig {
    /// Parses the TOML text of a `crowsnest.toml` `[serve]` section (or a whole file made of it).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Validates the configuration; the message names the key at fault.
    pub fn check(&self) -> Result<(), String> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| format!("listen: `{}` is not host:port ({e})", self.listen))?;
        for (key, path) in [
            ("audit_path", &self.audit_path),
            ("process_path", &self.process_path),
        ] {
            if !path.starts_with('/') {
                return Err(format!("{key}: `{path}` must start with `/`"));
            }
            if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
                return Err(format!("{key}: `{path}` is reserved"));
            }
        }
        if self.audit_path == self.process_path {
            return Err("audit_path and process_path must differ".into());
        }
        if self.insecure {
            if self.tls.cert.is_some() || self.tls.key.is_some() || self.tls.client_ca.is_some() {
                return Err("insecure = true serves plain HTTP: remove the [tls] settings".into());
            }
        } else {
            match (&self.tls.cert, &self.tls.key) {
                (Some(c), Some(k)) => {
                    for (key, p) in [("tls.cert", c), ("tls.key", k)] {
                        if !p.is_file() {
                            return Err(format!("{key}: {} is not a readable file", p.display()));
                        }
                    }
                }
                _ => {
                    return Err(
                        "tls.cert and tls.key are required (or set insecure = true for plain HTTP)".into(),
                    );
                }
            }
            if let Some(ca) = &self.tls.client_ca
                && !ca.is_file()
            {
                return Err(format!("tls.client_ca: {} is not a readable file", ca.display()));
            }
            // Parse the PEM files and build the rustls configuration now, not at start-up.
            crate::http::tls_acceptor(
                self.tls.cert.as_deref().expect("checked"),
                self.tls.key.as_deref().expect("checked"),
                self.tls.client_ca.as_deref(),
            )
            .map_err(|e| format!("tls: {e}"))?;
        }
        if let Some(f) = &self.bearer_token_file {
            if !f.is_file() {
                return Err(format!(
                    "bearer_token_file: {} is not a readable file",
                    f.display()
                ));
            }
            if self.tokens()?.len() == self.bearer_tokens.len() {
                return Err(format!("bearer_token_file: {} holds no token", f.display()));
            }
        }
        if self
            .bearer_tokens
            .iter()
            .any(|t| t.trim().is_empty() || t.contains(char::is_whitespace))
        {
            return Err("bearer_tokens: a token is empty or contains white space".into());
        }
        let has_auth = !self.bearer_tokens.is_empty()
            || self.bearer_token_file.is_some()
            || self.tls.client_ca.is_some();
        if !has_auth && !self.allow_unauthenticated {
            return Err(
                "no client authentication: set bearer_tokens, bearer_token_file or tls.client_ca \
                 (or allow_unauthenticated = true)"
                    .into(),
            );
        }
        if self.body_limit == 0 {
            return Err("body_limit must be positive".into());
        }
        if self.wal.dir.as_os_str().is_empty() {
            return Err("wal.dir must be set".into());
        }
        if self.wal.segment_bytes < 4096 {
            return Err("wal.segment_bytes must be at least 4096".into());
        }
        if self.wal.max_bytes < self.wal.segment_bytes.saturating_mul(2) {
            return Err("wal.max_bytes must be at least twice wal.segment_bytes".into());
        }
        if (self.body_limit as u64) > self.wal.max_bytes / 2 {
            return Err("body_limit must not exceed half of wal.max_bytes".into());
        }
        duration("lateness", &self.lateness)?;
        if duration("tick", &self.tick)? == 0 {
            return Err("tick must be positive".into());
        }
        if self.sinks.is_empty() {
            return Err("sinks: at least one sink is required".into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            let name = sink.name(i);
            if !names.insert(name.clone()) {
                return Err(format!("sinks[{i}]: duplicate sink name `{name}`"));
            }
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "sinks[{i}]: name `{name}` must be made of letters, digits, - and _"
                ));
            }
            match sink {
                SinkConfig::Stdout { .. } => {}
                SinkConfig::File {
                    path,
                    max_bytes,
                    max_files,
                    ..
                } => {
                    if path.as_os_str().is_empty() {
                        return Err(format!("sinks[{i}].path must be set"));
                    }
                    if *max_bytes == 0 || *max_files == 0 {
                        return Err(format!("sinks[{i}]: max_bytes and max_files must be positive"));
                    }
                }
                SinkConfig::Webhook {
                    url,
                    queue_bytes,
                    backoff,
                    max_backoff,
                    timeout,
                    ca,
                    ..
                } => check_remote(i, url, *queue_bytes, backoff, max_backoff, timeout, ca.as_deref())?,
                SinkConfig::Elasticsearch {
                    url,
                    index,
                    batch,
                    queue_bytes,
                    backoff,
                    max_backoff,
                    timeout,
                    ca,
                    ..
                } => {
                    check_remote(i, url, *queue_bytes, backoff, max_backoff, timeout, ca.as_deref())?;
                    if index.is_empty()
                        || index.starts_with(['-', '_', '+'])
                        || index.contains([' ', ',', '*', '/'])
                    {
                        return Err(format!("sinks[{i}].index: `{index}` is not a valid index name"));
                    }
                    if *batch == 0 {
                        return Err(format!("sinks[{i}].batch must be positive"));
                    }
                }
            }
        }
        for (i, p) in self.follow.iter().enumerate() {
            if p.as_os_str().is_empty() {
                return Err(format!("follow[{i}]: empty path"));
            }
        }
        Ok(())
    }

    pub(crate) fn lateness_nanos(&self) -> i64 {
        events::time::parse_duration(&self.lateness).unwrap_or(0)
    }

    pub(crate) fn tick_nanos(&self) -> i64 {
        events::time::parse_duration(&self.tick).unwrap_or(1_000_000_000)
    }

    /// All accepted bearer tokens: the inline ones and those of the token file.
    pub(crate) fn tokens(&self) -> Result<Vec<String>, String> {
        let mut out = self.bearer_tokens.clone();
        if let Some(f) = &self.bearer_token_file {
            let text =
                std::fs::read_to_string(f).map_err(|e| format!("bearer_token_file {}: {e}", f.display()))?;
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_section() {
        let c = ServeConfig::from_toml(
            r#"
listen = "127.0.0.1:9443"
insecure = true
bearer_tokens = ["abc"]
lateness = "2m"
[wal]
dir = "/tmp/x"
segment_bytes = 16777216
max_bytes = 67108864
[[sinks]]
type = "file"
path = "/tmp/alerts.ndjson"
[[sinks]]
type = "webhook"
url = "https://hooks.example.invalid/x"
format = "slack"
[[sinks]]
type = "elasticsearch"
name = "es"
url = "https://es.example.invalid:9200"
headers = [["Authorization", "ApiKey abc"]]
"#,
        )
        .unwrap();
        assert_eq!(c.sinks.len(), 3);
        match &c.sinks[2] {
            SinkConfig::Elasticsearch {
                index,
                batch,
                headers,
                ..
            } => {
                assert_eq!((index.as_str(), *batch), ("crowsnest-alerts", 500));
                assert_eq!(headers[0].0, "Authorization");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.sinks[1].name(1), "webhook-1");
        c.check().unwrap();
    }

    #[test]
    fn check_names_the_key_at_fault() {
        let base = ServeConfig {
            insecure: true,
            allow_unauthenticated: true,
            ..Default::default()
        };
        base.check().unwrap();
        let e = ServeConfig {
            listen: "nope".into(),
            ..base.clone()
        };
        assert!(e.check().unwrap_err().starts_with("listen:"));
        let e = ServeConfig {
            insecure: false,
            ..base.clone()
        };
        assert!(e.check().unwrap_err().contains("tls.cert"));
        let e = ServeConfig {
            allow_unauthenticated: false,
            ..base.clone()
        };
        assert!(e.check().unwrap_err().contains("authentication"));
        let e = ServeConfig {
            lateness: "5 minutes".into(),
            ..base.clone()
        };
        assert!(e.check().unwrap_err().starts_with("lateness:"));
        let e = ServeConfig {
            sinks: vec![
                SinkConfig::Stdout { name: None },
                SinkConfig::Stdout {
                    name: Some("stdout-0".into()),
                },
            ],
            ..base.clone()
        };
        assert!(e.check().unwrap_err().contains("duplicate sink name"));
        assert!(ServeConfig::from_toml("bogus = 1").unwrap_err().contains("bogus"));
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = ServeConfig {
            insecure: false,
            tls: TlsConfig {
                cert: Some(junk.clone()),
                key: Some(junk.clone()),
                client_ca: None,
            },
            ..base.clone()
        };
        assert!(
            e.check().unwrap_err().contains("no PEM certificate"),
            "{:?}",
            e.check()
        );
        let tokens = dir.path().join("tokens");
        std::fs::write(&tokens, "# none yet\n\n").unwrap();
        let e = ServeConfig {
            bearer_token_file: Some(tokens.clone()),
            ..base.clone()
        };
        assert!(e.check().unwrap_err().contains("holds no token"));
        std::fs::write(&tokens, "# one\nabc\n").unwrap();
        let ok = ServeConfig {
            bearer_token_file: Some(tokens),
            bearer_tokens: vec!["inline".into()],
            ..base.clone()
        };
        assert_eq!(ok.tokens().unwrap(), vec!["inline", "abc"]);
    }
}
