//! Background container process activity for Defend for Containers: exec probes, application
//! subprocesses and a few interactive `kubectl exec` sessions (including interactive `curl` to
//! local endpoints in pods whose service accounts are never denied, so seed 003 stays silent).

use std::rc::Rc;

use rand::Rng;

use crate::cluster::Cluster;
use crate::plan::{OwnedProc, Pending};
use crate::process::{self, PodCtx, Proc};
use crate::rnd::{self, Rand};
use crate::timefmt::TimeFmt;

const MS: i64 = 1_000_000;

struct PodProc {
    ctx: Rc<PodCtx>,
    init: Rc<Proc>,
    shell: Option<Rc<Proc>>,
    app_cmds: &'static [&'static [&'static str]],
    next_pid: u32,
}

/// Background process generator.
pub struct ProcBg {
    pods: Vec<PodProc>,
    interactive: Vec<usize>,
}

fn app_cmds(app: &str) -> &'static [&'static [&'static str]] {
    match app {
        "etl-worker" => &[&[
            "/usr/local/bin/python3",
            "python3",
            "/app/export.py",
            "--batch",
            "nightly",
        ]],
        "redis" => &[&["/usr/local/bin/redis-cli", "redis-cli", "ping"]],
        "prometheus-k8s" => &[&["/bin/promtool", "promtool", "check", "healthy"]],
        "grafana" => &[&[
            "/usr/share/grafana/bin/grafana",
            "grafana",
            "cli",
            "plugins",
            "ls",
        ]],
        "gitlab-runner" => &[&["/usr/bin/gitlab-runner", "gitlab-runner", "health-check"]],
        "ingress-nginx-controller" => &[&["/usr/bin/nginx", "nginx", "-s", "reload"]],
        _ => &[&["/bin/sh", "sh", "-c", "test -f /tmp/healthy"]],
    }
}

impl ProcBg {
    pub fn new(r: &mut Rand, c: &Cluster, start: i64) -> ProcBg {
        let mut pods = Vec::new();
        let mut interactive = Vec::new();
        for p in &c.pods {
            // The one service account that is denied in the background never runs processes here.
            if p.app == "legacy-reporter" {
                continue;
            }
            let node = &c.nodes[p.node];
            let ctx = Rc::new(PodCtx::new(
                &p.ns,
                &p.name,
                &p.app,
                &p.ip,
                &p.container_id,
                &p.image,
                &node.name,
                &node.ip,
            ));
            let init = Rc::new(Proc::new(
                1,
                "/usr/local/bin/entrypoint",
                &["entrypoint"],
                false,
                start - 86_400_000_000_000,
            ));
            let shell = matches!(p.app.as_str(), "checkout" | "web-frontend" | "etl-worker").then(|| {
                Rc::new(Proc::new(
                    300 + r.random_range(0..2000),
                    "/bin/bash",
                    &["bash"],
                    true,
                    start - 600_000_000_000,
                ))
            });
            if shell.is_some() {
                interactive.push(pods.len());
            }
            pods.push(PodProc {
                ctx,
                init,
                shell,
                app_cmds: app_cmds(&p.app),
                next_pid: 100,
            });
        }
        ProcBg { pods, interactive }
    }

    /// Writes one exec (after its fork, for interactive commands) at `t` into `out` and queues its
    /// end; returns lines written.
    pub fn emit(
        &mut self,
        r: &mut Rand,
        t: i64,
        out: &mut Vec<u8>,
        tf: &mut TimeFmt,
        ends: &mut Pending<OwnedProc>,
    ) -> u64 {
        let roll = r.random_range(0..100);
        let (i, interactive) = if roll < 12 && !self.interactive.is_empty() {
            (self.interactive[r.random_range(0..self.interactive.len())], true)
        } else {
            (r.random_range(0..self.pods.len()), false)
        };
        let pp = &mut self.pods[i];
        pp.next_pid = if pp.next_pid > 32_000 {
            100
        } else {
            pp.next_pid + 1 + r.random_range(0..7)
        };
        let pid = pp.next_pid;
        let (proc_, parent, leader) = if interactive {
            let sh = pp.shell.clone().unwrap_or_else(|| pp.init.clone());
            let cmds: [&[&str]; 6] = [
                &["/bin/ls", "ls", "-la", "/app"],
                &["/bin/cat", "cat", "/etc/os-release"],
                &["/bin/ps", "ps", "aux"],
                &["/usr/bin/env", "env"],
                &["/usr/bin/curl", "curl", "-s", "http://localhost:8080/metrics"],
                &["/usr/bin/tail", "tail", "-n", "100", "/var/log/app.log"],
            ];
            let c = cmds[r.random_range(0..cmds.len())];
            (Proc::new(pid, c[0], &c[1..], true, t), sh.clone(), sh)
        } else if roll < 70 {
            let p = Proc::new(
                pid,
                "/bin/sh",
                &[
                    "sh",
                    "-c",
                    "wget -q -T 2 -O /dev/null http://127.0.0.1:8080/healthz",
                ],
                false,
                t,
            );
            (p, pp.init.clone(), pp.init.clone())
        } else {
            let c = pp.app_cmds[r.random_range(0..pp.app_cmds.len())];
            (
                Proc::new(pid, c[0], &c[1..], false, t),
                pp.init.clone(),
                pp.init.clone(),
            )
        };
        let mut lines = 1;
        if interactive {
            // The shell forks, then the child execs the command (same pid).
            let mut child = (*parent).clone();
            child.pid = pid;
            child.start = t;
            let fork = OwnedProc {
                ts: t,
                action: "fork",
                ctx: pp.ctx.clone(),
                proc_: Rc::new(child),
                parent: parent.clone(),
                leader: leader.clone(),
                event_id: rnd::id16(r),
                exit_code: None,
            };
            process::write_line(out, tf, &fork.event());
            lines += 1;
        }
        let ev = OwnedProc {
            ts: t,
            action: "exec",
            ctx: pp.ctx.clone(),
            proc_: Rc::new(proc_),
            parent,
            leader,
            event_id: rnd::id16(r),
            exit_code: None,
        };
        process::write_line(out, tf, &ev.event());
        let end_t = t + (5 + r.random_range(0..400)) * MS;
        let end = OwnedProc {
            ts: end_t,
            action: "end",
            event_id: rnd::id16(r),
            exit_code: Some(0),
            ..ev
        };
        ends.push(end_t, end);
        lines
    }
}
