//! The server under load: a `crowsnest serve` child process with its own state directory,
//! TLS material, bearer token and file sink; its readiness, its CPU time (from
//! `/proc/<pid>/stat`) and its `/metrics`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::pki::Pki;

/// The bearer token the clients send.
pub const TOKEN: &str = "crowsnest-load";

/// Which rules the server runs.
#[derive(Clone, Debug)]
pub enum Rules {
    Bundled,
    Paths(Vec<PathBuf>),
    None,
}

/// A running `crowsnest serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub alerts_file: PathBuf,
    pub log_file: PathBuf,
    http: reqwest::Client,
}

/// A free port on 127.0.0.1 (bound then released; the server binds it right after).
fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// The HTTPS client: trusts only the run's CA.
pub fn client(pki: &Pki, http2: bool) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes())?)
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1);
    if !http2 {
        b = b.http1_only();
    }
    Ok(b.build()?)
}

impl Server {
    /// Writes the configuration into `dir` and starts `bin serve`; returns once `/readyz`
    /// answers 200.
    /// `wal_max_bytes` bounds the write-ahead log (past it the server answers 429).
    pub async fn start(
        bin: &Path,
        dir: &Path,
        pki: &Pki,
        rules: &Rules,
        wal_max_bytes: u64,
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let alerts_file = dir.join("alerts.ndjson");
        let tokens = dir.join("tokens");
        std::fs::write(&tokens, format!("{TOKEN}\n"))?;
        let config = format!(
            "listen = \"127.0.0.1:{port}\"\n\
             bearer_token_file = {tokens:?}\n\
             [tls]\ncert = {cert:?}\nkey = {key:?}\n\
             [wal]\ndir = {state:?}\nmax_bytes = {wal_max_bytes}\n\
             [[sinks]]\ntype = \"file\"\npath = {alerts:?}\nmax_bytes = 1073741824\n",
            tokens = tokens.display().to_string(),
            cert = pki.server_cert.display().to_string(),
            key = pki.server_key.display().to_string(),
            state = dir.join("state").display().to_string(),
            alerts = alerts_file.display().to_string(),
        );
        let config_path = dir.join("crowsnest.toml");
        std::fs::write(&config_path, config)?;
        let log_file = dir.join("serve.log");
        let mut cmd = Command::new(bin);
        cmd.arg("serve").arg("--config").arg(&config_path);
        match rules {
            Rules::Bundled => {}
            Rules::Paths(paths) => {
                for p in paths {
                    cmd.arg("--rules").arg(p);
                }
            }
            Rules::None => {
                cmd.arg("--no-rules");
            }
        }
        cmd.env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_file)?);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} serve", bin.display()))?;
        let http = client(pki, false)?;
        let mut server = Server {
            child,
            base: format!("https://127.0.0.1:{port}"),
            alerts_file,
            log_file,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "crowsnest serve exited ({status}) before it was ready:\n{}",
                    server.log_tail()
                );
            }
            if let Ok(r) = server.http.get(format!("{}/readyz", server.base)).send().await
                && r.status().is_success()
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                bail!("crowsnest serve not ready after 60 s:\n{}", server.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The end of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The server's CPU time so far.
    pub fn cpu(&self) -> anyhow::Result<CpuTime> {
        CpuTime::of(self.pid())
    }

    /// `/metrics`, parsed.
    pub async fn metrics(&self) -> anyhow::Result<Metrics> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(Metrics::parse(&text))
    }

    /// SIGTERM, then waits (SIGKILL after 30 s).
    pub fn stop(mut self) -> anyhow::Result<()> {
        // SAFETY: kill(2) on the child's own pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("crowsnest serve ended with {status}:\n{}", self.log_tail());
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("crowsnest serve did not stop within 30 s of SIGTERM; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// User and system CPU time of a process, seconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTime {
    pub user: f64,
    pub system: f64,
}

impl CpuTime {
    /// Reads `utime` and `stime` (fields 14 and 15) of `/proc/<pid>/stat`.
    pub fn of(pid: u32) -> anyhow::Result<CpuTime> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        CpuTime::parse_stat(&stat).with_context(|| format!("/proc/{pid}/stat: unexpected format"))
    }

    fn parse_stat(stat: &str) -> Option<CpuTime> {
        // The command name (field 2) is in parentheses and may hold spaces: split after it.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state): utime is field 14, stime field 15.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let ticks = if ticks > 0.0 { ticks } else { 100.0 };
        Some(CpuTime {
            user: utime / ticks,
            system: stime / ticks,
        })
    }

    /// This process's own CPU time (the load generator).
    pub fn own() -> CpuTime {
        // SAFETY: getrusage fills the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe {
            libc::getrusage(libc::RUSAGE_SELF, &mut u);
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        CpuTime {
            user: secs(u.ru_utime),
            system: secs(u.ru_stime),
        }
    }

    pub fn total(&self) -> f64 {
        self.user + self.system
    }

    pub fn since(&self, earlier: &CpuTime) -> CpuTime {
        CpuTime {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// The figures the run reads from `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// `crowsnest_events_received_total`, all endpoints.
    pub events_received: u64,
    /// `crowsnest_events_evaluated_total`, when the server exposes it.
    pub events_evaluated: Option<u64>,
    /// `crowsnest_alerts_delivered_total`, all sinks.
    pub alerts_delivered: u64,
    /// `crowsnest_requests_rejected_total` by reason.
    pub rejected: Vec<(String, u64)>,
    /// `crowsnest_wal_append_seconds` count and sum.
    pub wal_appends: u64,
    pub wal_append_secs: f64,
    /// `crowsnest_wal_fsyncs_total`, when exposed.
    pub wal_fsyncs: Option<u64>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut m = Metrics::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((key, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(v) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match key.split_once('{') {
                Some((n, l)) => (n, l.trim_end_matches('}')),
                None => (key, ""),
            };
            match name {
                "crowsnest_events_received_total" => m.events_received += v as u64,
                "crowsnest_events_evaluated_total" => {
                    *m.events_evaluated.get_or_insert(0) += v as u64;
                }
                "crowsnest_alerts_delivered_total" => m.alerts_delivered += v as u64,
                "crowsnest_requests_rejected_total" => {
                    let reason = labels
                        .strip_prefix("reason=\"")
                        .and_then(|r| r.strip_suffix('"'))
                        .unwrap_or(labels);
                    m.rejected.push((reason.to_string(), v as u64));
                }
                "crowsnest_wal_append_seconds_count" => m.wal_appends = v as u64,
                "crowsnest_wal_append_seconds_sum" => m.wal_append_secs = v,
                "crowsnest_wal_fsyncs_total" => m.wal_fsyncs = Some(v as u64),
                _ => {}
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_spaces_in_the_name() {
        let stat = "4242 (crowsnest serve) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 \
                    100 1000 10 18446744073709551615";
        let t = CpuTime::parse_stat(stat).unwrap();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert_eq!(t.user, 250.0 / hz);
        assert_eq!(t.system, 50.0 / hz);
    }

    #[test]
    fn parses_the_metrics_it_reports() {
        let m = Metrics::parse(
            "# HELP x\ncrowsnest_events_received_total{endpoint=\"audit\"} 1200\n\
             crowsnest_events_received_total{endpoint=\"process\"} 3\n\
             crowsnest_events_evaluated_total 1203\n\
             crowsnest_alerts_delivered_total{sink=\"file-0\"} 7\n\
             crowsnest_requests_rejected_total{reason=\"wal_full\"} 2\n\
             crowsnest_wal_append_seconds_count 12\ncrowsnest_wal_append_seconds_sum 0.5\n",
        );
        assert_eq!(m.events_received, 1203);
        assert_eq!(m.events_evaluated, Some(1203));
        assert_eq!(m.alerts_delivered, 7);
        assert_eq!(m.rejected, vec![("wal_full".to_string(), 2)]);
        assert_eq!(m.wal_appends, 12);
        assert_eq!(m.wal_fsyncs, None);
    }
}
