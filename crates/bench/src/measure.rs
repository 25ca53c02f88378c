//! One measured pass over a corpus (bytes, events, wall and CPU time, peak memory, alerts) and the
//! clocks it is taken with: wall time, this thread's CPU time, and a child process's resource usage.

use serde::Serialize;
use std::time::Instant;

/// Bytes per megabyte in every throughput figure: MB/s are decimal (10^6 bytes per second), as
/// `crowsnest hunt` prints them.
pub const MB: f64 = 1e6;
/// Bytes per gigabyte in the per-GB figures (10^9).
pub const GB: f64 = 1e9;

/// The figures of one pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measure {
    /// Input bytes read.
    pub bytes: u64,
    /// Events (lines, documents) processed.
    pub events: u64,
    /// Lines that could not be parsed or normalized.
    pub bad: u64,
    /// Wall-clock seconds.
    pub wall_secs: f64,
    /// CPU seconds (user + system) spent by the pass.
    pub cpu_secs: f64,
    /// Peak resident set size in bytes of the process that did the work (hunt only).
    pub peak_rss_bytes: Option<u64>,
    /// Alerts raised (hunt only).
    pub alerts: Option<u64>,
    /// Rules that ran (hunt only).
    pub rules_run: Option<u64>,
    /// Rules loaded but skipped because the engine cannot run them (hunt only).
    pub rules_skipped: Option<u64>,
}

impl Measure {
    /// The figures of an in-process pass: its counts, timed by `sw` (stopped here).
    pub fn counted(bytes: u64, events: u64, bad: u64, sw: Stopwatch) -> Measure {
        let (wall_secs, cpu_secs) = sw.stop();
        Measure {
            bytes,
            events,
            bad,
            wall_secs,
            cpu_secs,
            ..Measure::default()
        }
    }
}

impl Measure {
    /// Throughput in MB (10^6 bytes) per wall-clock second.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes as f64 / MB / self.wall_secs.max(1e-9)
    }

    /// Throughput in MB per CPU second: what one fully available core does.
    pub fn mb_per_cpu_sec(&self) -> f64 {
        self.bytes as f64 / MB / self.cpu_secs.max(1e-9)
    }

    /// Events per wall-clock second.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_secs.max(1e-9)
    }

    /// Events per CPU second (per core).
    pub fn events_per_cpu_sec(&self) -> f64 {
        self.events as f64 / self.cpu_secs.max(1e-9)
    }

    /// Wall-clock seconds per GB (10^9 bytes) of input.
    pub fn secs_per_gb(&self) -> f64 {
        self.wall_secs / (self.bytes as f64 / GB).max(1e-12)
    }

    /// CPU seconds per GB (10^9 bytes) of input.
    pub fn cpu_secs_per_gb(&self) -> f64 {
        self.cpu_secs / (self.bytes as f64 / GB).max(1e-12)
    }
}

/// CPU seconds (user + system) consumed so far by the calling thread.
pub fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is always valid.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Wall and thread-CPU stopwatch for an in-process pass.
pub struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

impl Stopwatch {
    /// Starts both clocks.
    pub fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: thread_cpu_secs(),
        }
    }

    /// (wall seconds, CPU seconds) since the start.
    pub fn stop(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), thread_cpu_secs() - self.cpu)
    }
}

/// How a child process ended and what it used.
#[derive(Debug, Clone, Copy)]
pub struct ChildUsage {
    /// Exit code, or `None` when killed by a signal.
    pub exit_code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// User + system CPU seconds of the child.
    pub cpu_secs: f64,
    /// The child's peak resident set size in bytes.
    pub max_rss_bytes: u64,
}

/// Waits for (reaps) `child` with `wait4`, which reports that child's own CPU time and peak RSS.
pub fn wait_child(child: std::process::Child) -> std::io::Result<ChildUsage> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own un-reaped child; status and usage point to values we own.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    let (exit_code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(ChildUsage {
        exit_code,
        signal,
        cpu_secs: tv(usage.ru_utime) + tv(usage.ru_stime),
        // Linux reports ru_maxrss in kilobytes.
        max_rss_bytes: usage.ru_maxrss.max(0) as u64 * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_from_bytes_and_time() {
        let m = Measure {
            bytes: 2_000_000_000,
            events: 1000,
            wall_secs: 2.0,
            cpu_secs: 4.0,
            ..Default::default()
        };
        assert!((m.mb_per_sec() - 1000.0).abs() < 1e-9);
        assert!((m.mb_per_cpu_sec() - 500.0).abs() < 1e-9);
        assert!((m.events_per_sec() - 500.0).abs() < 1e-9);
        assert!((m.secs_per_gb() - 1.0).abs() < 1e-9);
        assert!((m.cpu_secs_per_gb() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn thread_cpu_clock_advances() {
        let sw = Stopwatch::start();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let (wall, cpu) = sw.stop();
        assert!(wall > 0.0 && cpu > 0.0, "wall {wall} cpu {cpu}");
    }

    #[test]
    fn child_usage_reports_exit_code() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let u = wait_child(child).unwrap();
        assert_eq!(u.exit_code, Some(3));
        assert!(u.max_rss_bytes > 0);
    }
}
