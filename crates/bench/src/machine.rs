//! The machine a benchmark ran on: CPU model, cores, memory, kernel — printed with every result so
//! figures are never quoted without their hardware.

use serde::Serialize;

/// What the benchmark report says about the machine.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `model name` of the first processor in `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Logical CPUs this process may run on.
    pub logical_cpus: usize,
    /// `MemTotal` in bytes.
    pub memory_bytes: Option<u64>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: Option<String>,
    /// Load average (1 minute) when the benchmark started: other work on the machine skews figures.
    pub load_1m: Option<f64>,
}

impl Machine {
    /// Reads the machine's description from `/proc` (Linux); unknown parts stay empty.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".to_string());
        let logical_cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        });
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string());
        let load_1m = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()));
        Machine {
            cpu_model,
            logical_cpus,
            memory_bytes,
            kernel,
            load_1m,
        }
    }

    /// One line for the report: `AMD EPYC, 2 logical CPUs, 23.4 GiB RAM, Linux 6.1, load 0.42`.
    pub fn describe(&self) -> String {
        let mut s = format!("{}, {} logical CPUs", self.cpu_model, self.logical_cpus);
        if let Some(m) = self.memory_bytes {
            s += &format!(", {:.1} GiB RAM", m as f64 / (1u64 << 30) as f64);
        }
        if let Some(k) = &self.kernel {
            s += &format!(", Linux {k}");
        }
        if let Some(l) = self.load_1m {
            s += &format!(", load average {l:.2} at start");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Machine;

    #[test]
    fn detects_at_least_one_cpu() {
        let m = Machine::detect();
        assert!(m.logical_cpus >= 1);
        assert!(m.describe().contains("logical CPUs"));
    }
}
