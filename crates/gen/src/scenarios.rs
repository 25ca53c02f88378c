//! Injected attacks and near misses for the five seed rules, and their truth records.
//!
//! Scheduling: rules run every 5 minutes over `[tick − lookback, tick)` with ticks at epoch
//! multiples of 5 minutes (lookback 6 minutes; 11 minutes for seed 002). Scenarios are placed in
//! *slots* 20 minutes apart, each slot starting at a tick `T`. A slot holds at most one incident
//! (starting at `T+1m05s`, at most ~75 s long, so inside the single 6-minute window ending at
//! `T+5m` and inside one one-minute bucket for seed 002) plus up to three near misses of *other*
//! rules (starting at `T+1m25s`, `T+2m05s`, `T+3m05s`). Consecutive slots never share a window,
//! even seed 002's 11-minute one. Every scenario uses its own identity, source IP and user agent
//! (or pod), so scenarios never combine into a group. Each incident's comment below says why its
//! rule fires exactly once; each near miss carries the reason it must stay silent.

use std::collections::BTreeMap;
use std::rc::Rc;

use rand::Rng;
use serde_json::{Value, json};

use crate::audit::Level;
use crate::cluster::{Cluster, Pod};
use crate::ident::{Ident, PodBinding};
use crate::plan::{OwnedProc, Planned};
use crate::prereq::{Obj, PreReq};
use crate::process::{PodCtx, Proc};
use crate::rnd::{self, Rand};
use crate::timefmt::{NS, rfc3339_micros};
use crate::{Incident, NearMiss};

/// Seed rule ids and names.
pub const R000: (&str, &str) = (
    "a337c3f8-e264-4eb4-9998-22669ca52791",
    "Kubernetes Potential Endpoint Permission Enumeration Attempt Detected",
);
pub const R001: (&str, &str) = (
    "2dd0d4fd-0cc9-4d18-8b46-1a507e28bbc0",
    "Kubernetes Potential Endpoint Permission Enumeration Attempt by Anonymous User Detected",
);
pub const R002: (&str, &str) = (
    "c2a91e88-4f4b-4e1d-9c7b-8fde112a9403",
    "Kubernetes Multi-Resource Discovery",
);
pub const R003: (&str, &str) = (
    "5d1c962d-5d2a-48d4-bdcf-e980e3914947",
    "Forbidden Direct Interactive Kubernetes API Request",
);
pub const R004: (&str, &str) = (
    "b4c8e2a1-9f3d-4e7c-a2b1-0d5e6f7a8b9c",
    "Kubernetes Rapid Secret GET Activity Against Multiple Objects",
);

const RULES: [(&str, &str); 5] = [R000, R001, R002, R003, R004];

/// Slot spacing.
pub const SLOT_NS: i64 = 20 * 60 * NS;
/// Rule interval.
pub const TICK_NS: i64 = 5 * 60 * NS;
const SEC: i64 = NS;
const MS: i64 = 1_000_000;

/// Number of distinct incidents before the plan repeats.
pub const INCIDENTS_PER_CYCLE: usize = 15;

/// Builds the events of scenarios.
pub struct Sc<'a> {
    pub r: &'a mut Rand,
    pub cluster: &'a Cluster,
    pub out: Planned,
    pub incidents: Vec<Incident>,
    pub near_misses: Vec<NearMiss>,
    /// Varies source IPs per repetition of the plan.
    pub cycle: u64,
    pub process: bool,
    first: i64,
    last: i64,
}

fn grp(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

impl<'a> Sc<'a> {
    pub fn new(r: &'a mut Rand, cluster: &'a Cluster, cycle: u64, process: bool) -> Sc<'a> {
        Sc {
            r,
            cluster,
            out: Planned::default(),
            incidents: Vec::new(),
            near_misses: Vec::new(),
            cycle,
            process,
            first: i64::MAX,
            last: i64::MIN,
        }
    }

    fn mark(&mut self, t: i64) {
        self.first = self.first.min(t);
        self.last = self.last.max(t);
    }

    fn begin(&mut self) {
        self.first = i64::MAX;
        self.last = i64::MIN;
    }

    /// Emits a request received at `t`.
    fn at(&mut self, q: &PreReq, t: i64) {
        let (lo, hi) = q.latency;
        let lat = rnd::range(self.r, lo as u64, hi as u64) as i64 * 1000;
        let id = rnd::id16(self.r);
        self.out.audit.push(q.owned(id, t, t + lat));
        if q.watch {
            // The watch ends when the client stops it, 20-40 s later.
            let mut done = q.owned(id, t, t + (20 + self.r.random_range(0..20)) * SEC);
            done.stage = crate::audit::Stage::ResponseComplete;
            self.out.audit.push(done);
        }
        self.mark(t);
    }

    /// Emits requests one after another, `gap` apart (± 30 %).
    fn seq(&mut self, qs: &[PreReq], mut t: i64, gap: i64) -> i64 {
        for q in qs {
            self.at(q, t);
            t += gap * 7 / 10 + rnd::range(self.r, 0, (gap * 6 / 10).max(1) as u64) as i64;
        }
        t
    }

    /// A public IP of the documentation ranges, varied per plan cycle.
    fn ip(&self, net: &str, host: u64) -> String {
        format!("{net}.{}", (host + self.cycle * 3) % 250 + 2)
    }

    fn incident(&mut self, rule: (&str, &str), group: &[(&str, Value)]) {
        self.incidents.push(Incident {
            rule_id: rule.0.into(),
            rule_name: rule.1.into(),
            group: grp(group),
            start: rfc3339_micros(self.first),
            end: rfc3339_micros(self.last),
        });
    }

    fn near(&mut self, rule: (&str, &str), reason: &str) {
        self.near_misses.push(NearMiss {
            rule_id: rule.0.into(),
            reason: reason.into(),
            start: rfc3339_micros(self.first),
            end: rfc3339_micros(self.last),
        });
    }

    /// A fresh pod (not part of the background workload) for an attacker or a near miss.
    fn fresh_pod(&mut self, ns: &str, app: &str, image: &str) -> Pod {
        let node = 3 + self.r.random_range(0..(self.cluster.nodes.len() - 3));
        let uid = rnd::uuid(self.r);
        Pod {
            ns: ns.into(),
            name: format!("{app}-{}-{}", rnd::rs_hash(self.r), rnd::suffix(self.r, 5)),
            app: app.into(),
            container_id: crate::bodies::container_id(&uid),
            uid,
            image: image.into(),
            sa: app.into(),
            node,
            ip: format!("10.244.{node}.{}", 150 + self.r.random_range(0..100)),
            rs_hash: String::new(),
        }
    }

    fn pod_sa(&mut self, pod: &Pod, ua: &str) -> Ident {
        let node = &self.cluster.nodes[pod.node];
        Ident::service_account(
            &pod.ns,
            &pod.sa,
            &rnd::uuid(self.r),
            Some(PodBinding {
                pod: &pod.name,
                pod_uid: &pod.uid,
                node: &node.name,
                node_uid: &node.uid,
                jti: &rnd::uuid(self.r),
            }),
            &[&pod.ip],
            ua,
        )
    }

    fn ctx(&self, pod: &Pod) -> Rc<PodCtx> {
        let node = &self.cluster.nodes[pod.node];
        Rc::new(PodCtx::new(
            &pod.ns,
            &pod.name,
            &pod.app,
            &pod.ip,
            &pod.container_id,
            &pod.image,
            &node.name,
            &node.ip,
        ))
    }

    /// An exec (and its end 40-400 ms later) of `p` under `parent`/`leader`.
    fn exec(&mut self, ctx: &Rc<PodCtx>, p: Proc, parent: &Rc<Proc>, leader: &Rc<Proc>, t: i64) {
        let p = Rc::new(p);
        let mk = |action: &'static str, ts: i64, exit: Option<i32>, id: [u8; 16]| OwnedProc {
            ts,
            action,
            ctx: ctx.clone(),
            proc_: p.clone(),
            parent: parent.clone(),
            leader: leader.clone(),
            event_id: id,
            exit_code: exit,
        };
        if parent.pid != p.pid && parent.pid != 1 {
            // fork of the parent 1-3 ms before the exec (same pid as the exec'ed child).
            let mut child = (**parent).clone();
            child.pid = p.pid;
            let ft = t - (1 + self.r.random_range(0..3)) * MS;
            child.start = ft;
            self.out.process.push(OwnedProc {
                ts: ft,
                action: "fork",
                ctx: ctx.clone(),
                proc_: Rc::new(child),
                parent: parent.clone(),
                leader: leader.clone(),
                event_id: rnd::id16(self.r),
                exit_code: None,
            });
        }
        let id1 = rnd::id16(self.r);
        let id2 = rnd::id16(self.r);
        let end = t + (40 + self.r.random_range(0..360)) * MS;
        self.out.process.push(mk("exec", t, None, id1));
        self.out.process.push(mk("end", end, Some(0), id2));
        self.mark(t);
    }

    /// An interactive shell session (`kubectl exec -it ... -- bash`) that runs a few harmless
    /// commands before `t`; returns the shell (leader).
    fn shell(&mut self, ctx: &Rc<PodCtx>, shell: &str, t: i64) -> Rc<Proc> {
        let start = t - (25 + self.r.random_range(0..20)) * SEC;
        let runc = Rc::new(Proc::new(
            1,
            "/usr/bin/runc",
            &["runc", "init"],
            false,
            start - 30 * MS,
        ));
        let sh = Rc::new(Proc::new(
            200 + self.r.random_range(0..500),
            shell,
            &[shell.rsplit('/').next().unwrap_or(shell)],
            true,
            start,
        ));
        let ctx2 = ctx.clone();
        self.exec(&ctx2, (*sh).clone(), &runc, &sh, start);
        let mut tt = start + 4 * SEC;
        for cmd in [
            &["/bin/ls", "ls", "-la"][..],
            &["/usr/bin/id", "id"][..],
            &[
                "/bin/cat",
                "cat",
                "/var/run/secrets/kubernetes.io/serviceaccount/namespace",
            ][..],
        ] {
            let pid = sh.pid + 3 + self.r.random_range(0..40);
            let p = Proc::new(pid, cmd[0], &cmd[1..], true, tt);
            self.exec(&ctx2, p, &sh, &sh, tt);
            tt += (3 + self.r.random_range(0..4)) * SEC;
        }
        sh
    }

    // ---------------------------------------------------------------------------------------
    // Helpers for common request shapes.

    fn list(id: &Ident, g: &str, v: &str, res: &str, ns: &str) -> PreReq {
        PreReq::new(id, "list", Obj::new(g, v, res, ns, "", ""), "?limit=500")
    }
    fn get(id: &Ident, g: &str, v: &str, res: &str, ns: &str, name: &str) -> PreReq {
        PreReq::new(id, "get", Obj::new(g, v, res, ns, name, ""), "")
    }
    fn secret(id: &Ident, ns: &str, name: &str) -> PreReq {
        Self::get(id, "", "v1", "secrets", ns, name)
    }

    fn human(&self, name: &str, ips: &[&str], ua: &str) -> Ident {
        Ident::user(name, "", &["developers", "system:authenticated"], ips, ua)
    }

    // =======================================================================================
    // Incidents.

    /// Runs incident `i` (0..15) at `t`.
    pub fn run_incident(&mut self, i: usize, t: i64) {
        self.begin();
        match i % INCIDENTS_PER_CYCLE {
            0 => self.i000_contractor(t),
            1 => self.i001_anonymous_forbidden(t),
            2 => self.i002_human_recon(t),
            3 => self.i003_curl(t),
            4 => self.i004_pod_sa_secrets(t),
            5 => self.i000_stolen_ci_token(t),
            6 => self.i001_unauthenticated_401(t),
            7 => self.i002_pod_kubectl(t),
            8 => self.i003_busybox_wget(t),
            9 => self.i004_human_secrets(t),
            10 => self.i000_notebook_pod(t),
            11 => self.i001_anonymous_go_client(t),
            12 => self.i002_exactly_three(t),
            13 => self.i003_kubectl(t),
            _ => self.i004_exactly_three(t),
        }
    }

    /// Seed 000 fires once: 10 requests (list/get/create, ResponseComplete) by
    /// `contractor-jlee@partner.example` from one IP within ~60 s over 10 distinct requestURIs
    /// and 10 resources, 4 allowed + 6 forbidden: decision count_distinct 2, URIs 10 > 5,
    /// resources 10 > 3, documents 10 < 75. None of seed 002's resources, no Secret get.
    fn i000_contractor(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 45);
        let id = self.human(
            "contractor-jlee@partner.example",
            &[&ip],
            "kubectl/v1.29.3 (linux/amd64) kubernetes/6813625",
        );
        let u = id.username.clone();
        let qs = vec![
            Self::list(&id, "apps", "v1", "deployments", "shop"),
            Self::list(&id, "", "v1", "services", "shop"),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", "shop").forbidden(&u),
            Self::get(&id, "apps", "v1", "statefulsets", "data", "redis"),
            Self::list(&id, "apps", "v1", "daemonsets", "kube-system").forbidden(&u),
            Self::list(&id, "batch", "v1", "cronjobs", "data").forbidden(&u),
            Self::list(&id, "", "v1", "persistentvolumeclaims", "payments"),
            Self::list(&id, "networking.k8s.io", "v1", "networkpolicies", "payments").forbidden(&u),
            PreReq::new(
                &id,
                "create",
                Obj::new("batch", "v1", "jobs", "shop", "", ""),
                "?fieldManager=kubectl-create",
            )
            .forbidden(&u),
            Self::list(&id, "coordination.k8s.io", "v1", "leases", "kube-system").forbidden(&u),
        ];
        self.seq(&qs, t, 6 * SEC);
        self.incident(
            R000,
            &[
                ("kubernetes.audit.user.username", json!(u)),
                ("kubernetes.audit.sourceIPs", json!(ip)),
            ],
        );
    }

    /// Seed 000 fires once: a CI service-account token used from an outside IP, 8 requests
    /// (list/get/create/patch) over 8 URIs and 8 resources within ~45 s, 4 allowed + 4 forbidden,
    /// 8 documents. Seed 002 sees only two of its resources (namespaces, pods).
    fn i000_stolen_ci_token(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 77);
        let pod = self.fresh_pod("ci", "build-bot", "registry.corp.example/ci/build-bot:1.2.0");
        let mut id = self.pod_sa(&pod, "Go-http-client/2.0");
        id = Ident {
            ips_json: format!("[\"{ip}\"]").into(),
            ip: ip.clone(),
            ..id
        };
        let u = id.username.clone();
        let qs = vec![
            Self::list(&id, "", "v1", "namespaces", ""),
            Self::list(&id, "", "v1", "pods", "ci"),
            Self::list(&id, "apps", "v1", "deployments", "ci"),
            Self::list(&id, "", "v1", "secrets", "ci"),
            PreReq::new(
                &id,
                "create",
                Obj::new(
                    "rbac.authorization.k8s.io",
                    "v1",
                    "clusterrolebindings",
                    "",
                    "",
                    "",
                ),
                "",
            )
            .forbidden(&u),
            PreReq::new(
                &id,
                "create",
                Obj::new("", "v1", "pods", "kube-system", "", ""),
                "",
            )
            .forbidden(&u),
            PreReq::new(
                &id,
                "patch",
                Obj::new("apps", "v1", "daemonsets", "kube-system", "kube-proxy", ""),
                "",
            )
            .forbidden(&u),
            Self::get(
                &id,
                "admissionregistration.k8s.io",
                "v1",
                "validatingwebhookconfigurations",
                "",
                "cert-manager-webhook",
            )
            .forbidden(&u),
        ];
        self.seq(&qs, t, 5 * SEC);
        self.incident(
            R000,
            &[
                ("kubernetes.audit.user.username", json!(u)),
                ("kubernetes.audit.sourceIPs", json!(ip)),
            ],
        );
    }

    /// Seed 000 fires once: a compromised notebook pod's service account, 7 requests over 7 URIs
    /// and 7 resources within ~35 s, 4 allowed + 3 forbidden, 7 documents.
    fn i000_notebook_pod(&mut self, t: i64) {
        let pod = self.fresh_pod("data", "notebook", "quay.io/jupyter/scipy-notebook:2025-11-10");
        let id = self.pod_sa(&pod, "OpenAPI-Generator/31.0.0/python");
        let u = id.username.clone();
        let qs = vec![
            Self::list(&id, "batch", "v1", "jobs", "data"),
            Self::list(&id, "batch", "v1", "cronjobs", "data"),
            Self::get(&id, "apps", "v1", "deployments", "data", "etl-worker").forbidden(&u),
            Self::list(&id, "apps", "v1", "statefulsets", "data").forbidden(&u),
            Self::list(&id, "", "v1", "persistentvolumeclaims", "data"),
            Self::list(&id, "", "v1", "services", "data"),
            Self::list(&id, "", "v1", "endpoints", "data").forbidden(&u),
        ];
        self.seq(&qs, t, 5 * SEC);
        self.incident(
            R000,
            &[
                ("kubernetes.audit.user.username", json!(u)),
                ("kubernetes.audit.sourceIPs", json!(pod.ip)),
            ],
        );
    }

    fn anon_sweep(&self, id: &Ident, items: &[(&str, &str, &str, &str)]) -> Vec<PreReq> {
        items
            .iter()
            .map(|(g, v, res, ns)| {
                Self::list(id, g, v, res, ns)
                    .level(Level::Request)
                    .forbidden("system:anonymous")
            })
            .collect()
    }

    /// Seed 001 fires once: `system:anonymous` from one IP and user agent, 14 Request-level
    /// requests within ~40 s over 12 distinct URIs and 12 resources, all forbidden
    /// (authz_forbid_count 14 ≥ 1), 14 documents < 50. Seed 000 stays silent (one decision);
    /// seed 002 sees only pods and configmaps.
    fn i001_anonymous_forbidden(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 23);
        let ua = "python-requests/2.31.0";
        let id = Ident::anonymous(&[&ip], ua);
        let mut qs = self.anon_sweep(
            &id,
            &[
                ("", "v1", "secrets", ""),
                ("", "v1", "pods", ""),
                ("", "v1", "configmaps", "kube-system"),
                ("apps", "v1", "deployments", ""),
                ("apps", "v1", "daemonsets", ""),
                ("", "v1", "services", ""),
                ("", "v1", "persistentvolumes", ""),
                ("apiextensions.k8s.io", "v1", "customresourcedefinitions", ""),
                ("networking.k8s.io", "v1", "ingresses", ""),
                ("batch", "v1", "cronjobs", ""),
                ("storage.k8s.io", "v1", "storageclasses", ""),
                ("batch", "v1", "jobs", ""),
            ],
        );
        qs.push(qs[0].clone());
        qs.push(qs[1].clone());
        self.seq(&qs, t, 3 * SEC);
        self.incident(
            R001,
            &[
                ("kubernetes.audit.sourceIPs", json!(ip)),
                ("kubernetes.audit.userAgent", json!(ua)),
            ],
        );
    }

    /// Seed 001 fires once: unauthenticated requests (`user: {}`, username null, 401) from one IP
    /// and user agent at Request level, 12 requests over 12 URIs and 10 resources within ~35 s:
    /// status_fail_count 12 ≥ 1, 12 documents < 50. Seeds 000/002/004 ignore it (stage
    /// ResponseStarted / null user.name).
    fn i001_unauthenticated_401(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 140);
        let ua = "kube-hunter/0.6.8";
        let id = Ident::failed_authn(&[&ip], ua);
        let items: [(&str, &str, &str, &str); 12] = [
            ("", "v1", "secrets", ""),
            ("", "v1", "pods", ""),
            ("", "v1", "configmaps", ""),
            ("apps", "v1", "deployments", ""),
            ("", "v1", "services", ""),
            ("", "v1", "nodes", ""),
            ("", "v1", "namespaces", ""),
            ("rbac.authorization.k8s.io", "v1", "clusterroles", ""),
            ("", "v1", "pods", "kube-system"),
            ("", "v1", "secrets", "kube-system"),
            ("", "v1", "serviceaccounts", "kube-system"),
            ("batch", "v1", "jobs", ""),
        ];
        let qs: Vec<PreReq> = items
            .iter()
            .map(|(g, v, r, ns)| Self::list(&id, g, v, r, ns).level(Level::Request).unauthorized())
            .collect();
        self.seq(&qs, t, 3 * SEC);
        self.incident(
            R001,
            &[
                ("kubernetes.audit.sourceIPs", json!(ip)),
                ("kubernetes.audit.userAgent", json!(ua)),
            ],
        );
    }

    /// Seed 001 fires once: `system:anonymous` with a Go client, 8 Request-level forbidden
    /// requests over 8 URIs and 6 resources within ~25 s, 8 documents.
    fn i001_anonymous_go_client(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 201);
        let ua = "Go-http-client/1.1";
        let id = Ident::anonymous(&[&ip], ua);
        let qs = self.anon_sweep(
            &id,
            &[
                ("", "v1", "secrets", "default"),
                ("", "v1", "secrets", "kube-system"),
                ("", "v1", "pods", "default"),
                ("", "v1", "pods", "kube-system"),
                ("apps", "v1", "deployments", "default"),
                ("", "v1", "services", "default"),
                ("networking.k8s.io", "v1", "ingresses", "default"),
                ("", "v1", "events", "default"),
            ],
        );
        self.seq(&qs, t, 3 * SEC);
        self.incident(
            R001,
            &[
                ("kubernetes.audit.sourceIPs", json!(ip)),
                ("kubernetes.audit.userAgent", json!(ua)),
            ],
        );
    }

    fn i002_group(&mut self, id: &Ident, minute: i64) {
        let u = id.username.clone();
        self.incident(
            R002,
            &[
                ("user.name", json!(u)),
                ("kubernetes.audit.user.username", json!(u)),
                ("source.ip", json!(id.ip)),
                ("user_agent.original", json!(&*id.ua)),
                (
                    "Esql.time_interval",
                    json!(rfc3339_micros(minute).replace(".000000Z", ".000Z")),
                ),
            ],
        );
    }

    /// Seed 002 fires once: `mallory@corp.example` from one IP with kubectl lists namespaces,
    /// pods, clusterroles and rolebindings (4 of the rule's resources ≥ 3) within one minute
    /// bucket (T+1m05s..T+1m45s), all allowed (seed 000: one decision).
    fn i002_human_recon(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 88);
        let id = self.human(
            "mallory@corp.example",
            &[&ip],
            "kubectl/v1.31.1 (linux/amd64) kubernetes/948afe5",
        );
        let qs = vec![
            Self::list(&id, "", "v1", "namespaces", ""),
            Self::list(&id, "", "v1", "pods", ""),
            Self::list(&id, "rbac.authorization.k8s.io", "v1", "clusterroles", ""),
            Self::list(&id, "rbac.authorization.k8s.io", "v1", "rolebindings", ""),
        ];
        self.seq(&qs, t, 8 * SEC);
        self.i002_group(&id, t - t.rem_euclid(60 * SEC));
    }

    /// Seed 002 fires once: kubectl inside a pod with its service account lists pods and
    /// serviceaccounts (allowed) and namespaces and nodes (forbidden): 4 resources in one minute.
    /// Seed 000 stays silent (4 URIs ≤ 5); no process events exist for this pod (seed 003).
    fn i002_pod_kubectl(&mut self, t: i64) {
        let pod = self.fresh_pod("web", "cms-editor", "registry.corp.example/web/cms:4.2.0");
        let id = self.pod_sa(&pod, "kubectl/v1.30.0 (linux/amd64) kubernetes/7c48c2b");
        let u = id.username.clone();
        let qs = vec![
            Self::list(&id, "", "v1", "pods", "web"),
            Self::list(&id, "", "v1", "namespaces", "").forbidden(&u),
            Self::list(&id, "", "v1", "serviceaccounts", "web"),
            Self::get(&id, "", "v1", "nodes", "", &self.cluster.nodes[4].name.clone()).forbidden(&u),
        ];
        self.seq(&qs, t, 8 * SEC);
        self.i002_group(&id, t - t.rem_euclid(60 * SEC));
    }

    /// Seed 002 fires once at its threshold: exactly 3 resources (nodes, roles, configmaps) listed
    /// by one service-account token from a VPN IP within one minute, all allowed.
    fn i002_exactly_three(&mut self, t: i64) {
        let ip = self.ip("10.8.0", 77);
        let id = Ident::service_account(
            "tools",
            "debug-toolbox",
            &rnd::uuid(self.r),
            None,
            &[&ip],
            "kubectl/v1.28.4 (linux/amd64) kubernetes/bae2c62",
        );
        let qs = vec![
            Self::list(&id, "", "v1", "nodes", ""),
            Self::list(&id, "rbac.authorization.k8s.io", "v1", "roles", ""),
            Self::list(&id, "", "v1", "configmaps", ""),
            Self::list(&id, "", "v1", "nodes", ""),
        ];
        self.seq(&qs, t, 8 * SEC);
        self.i002_group(&id, t - t.rem_euclid(60 * SEC));
    }

    /// The seed-003 pattern: an interactive exec of `tool` in `pod` at S+0.700 s, then the
    /// pod's service account is denied (403, ResponseComplete) at S+1.300 s: 0.6 s apart (also
    /// ≤ 1 s if event times are truncated to whole seconds). Returns the exec instant.
    fn forbidden_after_exec(&mut self, pod: &Pod, shell: &str, tool: Proc, req: PreReq, t: i64) -> i64 {
        let ctx = self.ctx(pod);
        let s0 = t - t.rem_euclid(SEC);
        let sh = self.shell(&ctx, shell, s0);
        let exec_t = s0 + 700 * MS;
        let mut tool = tool;
        tool.start = exec_t;
        tool.pid = sh.pid + 60;
        self.exec(&ctx, tool, &sh, &sh, exec_t);
        self.at(&req.latency(800, 3_000), s0 + SEC + 300 * MS);
        exec_t
    }

    /// Seed 003 fires once: interactive `curl` (process.name curl, interactive, exec) in pod P
    /// followed 0.6 s later by a forbidden `list secrets` from P's service-account token (pod-name
    /// extra = P). One sequence by orchestrator.resource.name = pod-name.
    fn i003_curl(&mut self, t: i64) {
        let pod = self.fresh_pod(
            "shop",
            "storefront-api",
            "registry.corp.example/shop/storefront:3.1.4",
        );
        let id = self.pod_sa(&pod, "curl/8.5.0");
        let curl = Proc::new(
            0,
            "/usr/bin/curl",
            &[
                "curl",
                "-sk",
                "-H",
                "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1yY2...",
                "https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets",
            ],
            true,
            0,
        );
        let req = Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone());
        self.forbidden_after_exec(&pod, "/bin/bash", curl, req, t);
        self.incident(R003, &[("orchestrator.resource.name", json!(pod.name))]);
    }

    /// Seed 003 fires once: interactive `busybox wget` (process.name busybox, args contain
    /// "wget", no excluded arg) in pod P, then a forbidden `list secrets` from P 0.6 s later.
    fn i003_busybox_wget(&mut self, t: i64) {
        let pod = self.fresh_pod("web", "image-resizer", "docker.io/library/alpine:3.20");
        let id = self.pod_sa(&pod, "Wget");
        let wget = Proc::new(
            0,
            "/bin/busybox",
            &[
                "busybox",
                "wget",
                "-qO-",
                "--header",
                "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6Ik1yY2...",
                "https://10.96.0.1/api/v1/namespaces/web/secrets",
            ],
            true,
            0,
        );
        let req = Self::list(&id, "", "v1", "secrets", "web").forbidden(&id.username.clone());
        self.forbidden_after_exec(&pod, "/bin/sh", wget, req, t);
        self.incident(R003, &[("orchestrator.resource.name", json!(pod.name))]);
    }

    /// Seed 003 fires once: interactive `kubectl get secrets -A` in pod P; kubectl's allowed
    /// discovery request comes first (not forbidden: not a stage-2 match), then the forbidden
    /// cluster-wide `list secrets` 0.6 s after the exec.
    fn i003_kubectl(&mut self, t: i64) {
        let pod = self.fresh_pod("tools", "ops-debug", "docker.io/bitnami/kubectl:1.31.2");
        let id = self.pod_sa(&pod, "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46");
        let kubectl = Proc::new(
            0,
            "/opt/bitnami/kubectl/bin/kubectl",
            &["kubectl", "get", "secrets", "-A"],
            true,
            0,
        );
        let s0 = t - t.rem_euclid(SEC);
        self.at(
            &PreReq::non_resource(&id, "get", "/api?timeout=32s"),
            s0 + SEC + 100 * MS,
        );
        let req = Self::list(&id, "", "v1", "secrets", "").forbidden(&id.username.clone());
        self.forbidden_after_exec(&pod, "/bin/bash", kubectl, req, t);
        self.incident(R003, &[("orchestrator.resource.name", json!(pod.name))]);
    }

    fn i004_group(&mut self, id: &Ident) {
        self.incident(
            R004,
            &[
                ("user.name", json!(id.username)),
                ("source.ip", json!(id.ip)),
                ("user_agent.original", json!(&*id.ua)),
            ],
        );
    }

    /// Seed 004 fires once: a pod's service account gets 4 distinct Secrets (2 allowed, 2
    /// forbidden) with curl within ~20 s: unique_credentials 4 ≥ 3; single IP, not loopback, no
    /// helm release names. Seed 000 silent (4 URIs ≤ 5).
    fn i004_pod_sa_secrets(&mut self, t: i64) {
        let pod = self.fresh_pod(
            "payments",
            "invoice-renderer",
            "registry.corp.example/payments/invoices:2.0.1",
        );
        let id = self.pod_sa(&pod, "curl/7.88.1");
        let u = id.username.clone();
        let qs = vec![
            Self::secret(&id, "payments", "invoice-renderer-smtp"),
            Self::secret(&id, "payments", "invoice-renderer-tls"),
            Self::secret(&id, "payments", "ledger-db").forbidden(&u),
            Self::secret(&id, "payments", "payments-api-stripe-key").forbidden(&u),
        ];
        self.seq(&qs, t, 5 * SEC);
        self.i004_group(&id);
    }

    /// Seed 004 fires once: a human gets 4 distinct Secrets across namespaces with kubectl, all
    /// allowed, within ~25 s.
    fn i004_human_secrets(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 101);
        let id = Ident::user(
            "eve@corp.example",
            "",
            &["platform-admins", "system:authenticated"],
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs = vec![
            Self::secret(&id, "shop", "shop-db-credentials"),
            Self::secret(&id, "payments", "ledger-db"),
            Self::secret(&id, "data", "etl-warehouse-credentials"),
            Self::secret(&id, "kube-system", "aws-load-balancer-tls"),
        ];
        self.seq(&qs, t, 6 * SEC);
        self.i004_group(&id);
    }

    /// Seed 004 fires once at its threshold: exactly 3 distinct Secret names (4 gets, the first
    /// repeated; the last forbidden) by one service account with the Python client.
    fn i004_exactly_three(&mut self, t: i64) {
        let pod = self.fresh_pod("data", "airflow-worker", "docker.io/apache/airflow:2.10.3");
        let id = self.pod_sa(&pod, "OpenAPI-Generator/31.0.0/python");
        let u = id.username.clone();
        let qs = vec![
            Self::secret(&id, "data", "airflow-fernet-key"),
            Self::secret(&id, "data", "airflow-postgres"),
            Self::secret(&id, "data", "airflow-fernet-key"),
            Self::secret(&id, "data", "warehouse-admin").forbidden(&u),
        ];
        self.seq(&qs, t, 5 * SEC);
        self.i004_group(&id);
    }

    // =======================================================================================
    // Near misses.

    /// Runs near miss `k` at `t`; returns false when it needs process events and they are off.
    pub fn run_near_miss(&mut self, k: NearKind, t: i64) -> bool {
        if k.rule() == 3 && !self.process {
            return false;
        }
        self.begin();
        use NearKind::*;
        match k {
            N000FiveUris => self.n000_five_uris(t),
            N000ThreeResources => self.n000_three_resources(t),
            N000OneDecision => self.n000_one_decision(t),
            N000SeventyFiveDocs => self.n000_75_docs(t),
            N000ForbiddenVerbsOutsideFilter => self.n000_delete_forbidden(t),
            N001FiveUris => self.n001_five_uris(t),
            N001ThreeResources => self.n001_three_resources(t),
            N001FiftyDocs => self.n001_fifty_docs(t),
            N001MetadataLevel => self.n001_metadata_level(t),
            N001NoFailure => self.n001_no_failure(t),
            N002TwoResources => self.n002_two_resources(t),
            N002SplitMinute => self.n002_split_minute(t),
            N002Loopback => self.n002_loopback(t),
            N002Excluded(i) => self.n002_excluded(i, t),
            N002NullUser => self.n002_null_user(t),
            N002MultiIp => self.n002_multi_ip(t),
            N002Watch => self.n002_watch(t),
            N003WrongOrder => self.n003_wrong_order(t),
            N003OverMaxspan => self.n003_over_maxspan(t),
            N003PodMismatch => self.n003_pod_mismatch(t),
            N003NotInteractive => self.n003_not_interactive(t),
            N003Allowed => self.n003_allowed(t),
            N003ExcludedArg => self.n003_excluded_arg(t),
            N003OtherTool => self.n003_other_tool(t),
            N004TwoNames => self.n004_two_names(t),
            N004Helm => self.n004_helm(t),
            N004Loopback => self.n004_loopback(t),
            N004ControllerManager => self.n004_controller_manager(t),
            N004Scheduler => self.n004_scheduler(t),
            N004MultiIp => self.n004_multi_ip(t),
            N004ListNotGet => self.n004_list(t),
            N004Spread => self.n004_spread(t),
            N004NullUser => self.n004_null_user(t),
        }
        true
    }

    fn n000_five_uris(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 60);
        let id = self.human(
            "qa-bot@corp.example",
            &[&ip],
            "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        );
        let u = id.username.clone();
        let a = Self::list(&id, "apps", "v1", "deployments", "shop");
        let b = Self::list(&id, "", "v1", "services", "shop");
        let c = Self::list(&id, "batch", "v1", "jobs", "shop").forbidden(&u);
        let d = Self::list(&id, "networking.k8s.io", "v1", "ingresses", "shop");
        let e = Self::list(&id, "policy", "v1", "poddisruptionbudgets", "shop").forbidden(&u);
        self.seq(&[a.clone(), b.clone(), c, d, e, a, b.clone(), b], t, 5 * SEC);
        self.near(
            R000,
            "5 distinct requestURIs (needs > 5) over 5 resources, allow+forbid, 8 documents",
        );
    }

    fn n000_three_resources(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 61);
        let id = self.human(
            "intern@corp.example",
            &[&ip],
            "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        );
        let u = id.username.clone();
        let qs = vec![
            Self::list(&id, "apps", "v1", "deployments", "shop"),
            Self::list(&id, "apps", "v1", "deployments", "web"),
            Self::list(&id, "apps", "v1", "deployments", "payments").forbidden(&u),
            Self::list(&id, "", "v1", "services", "shop"),
            Self::list(&id, "", "v1", "services", "web"),
            Self::list(&id, "", "v1", "services", "payments").forbidden(&u),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", "shop"),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", "web"),
        ];
        self.seq(&qs, t, 5 * SEC);
        self.near(
            R000,
            "8 distinct requestURIs but only 3 resources (needs > 3), allow+forbid",
        );
    }

    fn n000_one_decision(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 62);
        let id = self.human(
            "auditor@corp.example",
            &[&ip],
            "kubectl/v1.31.0 (darwin/arm64) kubernetes/9edcffc",
        );
        let qs = vec![
            Self::list(&id, "apps", "v1", "deployments", ""),
            Self::list(&id, "apps", "v1", "statefulsets", ""),
            Self::list(&id, "apps", "v1", "daemonsets", ""),
            Self::list(&id, "batch", "v1", "jobs", ""),
            Self::list(&id, "batch", "v1", "cronjobs", ""),
            Self::list(&id, "", "v1", "services", ""),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", ""),
            Self::list(&id, "networking.k8s.io", "v1", "networkpolicies", ""),
            Self::list(&id, "policy", "v1", "poddisruptionbudgets", ""),
            Self::list(&id, "", "v1", "persistentvolumeclaims", ""),
        ];
        self.seq(&qs, t, 4 * SEC);
        self.near(
            R000,
            "10 URIs over 10 resources but every request allowed (decision count_distinct 1, needs 2)",
        );
    }

    fn n000_75_docs(&mut self, t: i64) {
        let pod = self.fresh_pod("security", "kubescape", "quay.io/kubescape/kubescape:v3.0.21");
        let id = self.pod_sa(&pod, "kubescape/v3.0.21");
        let u = id.username.clone();
        let base = vec![
            Self::list(&id, "apps", "v1", "deployments", ""),
            Self::list(&id, "apps", "v1", "statefulsets", ""),
            Self::list(&id, "apps", "v1", "daemonsets", ""),
            Self::list(&id, "batch", "v1", "jobs", ""),
            Self::list(&id, "batch", "v1", "cronjobs", "").forbidden(&u),
            Self::list(&id, "", "v1", "services", ""),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", ""),
            Self::list(&id, "networking.k8s.io", "v1", "networkpolicies", "").forbidden(&u),
            Self::list(&id, "policy", "v1", "poddisruptionbudgets", ""),
            Self::list(&id, "", "v1", "persistentvolumeclaims", ""),
        ];
        let qs: Vec<PreReq> = (0..75).map(|i| base[i % base.len()].clone()).collect();
        self.seq(&qs, t, 1200 * MS);
        self.near(
            R000,
            "allow+forbid over 10 URIs and 10 resources but 75 documents (needs < 75) within ~90 s",
        );
    }

    fn n000_delete_forbidden(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 63);
        let id = self.human(
            "cleanup@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let u = id.username.clone();
        let mut qs = vec![
            Self::list(&id, "apps", "v1", "deployments", "shop"),
            Self::list(&id, "apps", "v1", "replicasets", "shop"),
            Self::list(&id, "batch", "v1", "jobs", "shop"),
            Self::list(&id, "", "v1", "services", "shop"),
            Self::list(&id, "", "v1", "persistentvolumeclaims", "shop"),
            Self::list(&id, "networking.k8s.io", "v1", "ingresses", "shop"),
        ];
        for (g, r, n) in [
            ("apps", "deployments", "checkout"),
            ("batch", "jobs", "migrate-29114460"),
            ("", "services", "cart"),
        ] {
            qs.push(PreReq::new(&id, "delete", Obj::new(g, "v1", r, "shop", n, ""), "").forbidden(&u));
        }
        self.seq(&qs, t, 4 * SEC);
        self.near(R000, "6 URIs over 6 resources with list allowed, but the forbidden requests are deletes (verb outside the filter): decision count_distinct 1");
    }

    fn n001_five_uris(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 30);
        let id = Ident::anonymous(&[&ip], "curl/8.4.0");
        let mut qs = self.anon_sweep(
            &id,
            &[
                ("", "v1", "secrets", ""),
                ("apps", "v1", "deployments", ""),
                ("", "v1", "services", ""),
                ("batch", "v1", "jobs", ""),
                ("networking.k8s.io", "v1", "ingresses", ""),
            ],
        );
        qs.push(qs[0].clone());
        self.seq(&qs, t, 3 * SEC);
        self.near(
            R001,
            "anonymous, forbidden, 5 resources but 5 distinct URIs (needs > 5)",
        );
    }

    fn n001_three_resources(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 31);
        let id = Ident::anonymous(&[&ip], "curl/8.4.0");
        let qs = self.anon_sweep(
            &id,
            &[
                ("", "v1", "secrets", "default"),
                ("", "v1", "secrets", "kube-system"),
                ("", "v1", "secrets", "shop"),
                ("apps", "v1", "deployments", "default"),
                ("apps", "v1", "deployments", "shop"),
                ("apps", "v1", "deployments", "web"),
                ("", "v1", "services", "default"),
                ("", "v1", "services", "shop"),
            ],
        );
        self.seq(&qs, t, 3 * SEC);
        self.near(R001, "anonymous, forbidden, 8 URIs but 3 resources (needs > 3)");
    }

    fn n001_fifty_docs(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 32);
        let id = Ident::anonymous(&[&ip], "Go-http-client/1.1");
        let base = self.anon_sweep(
            &id,
            &[
                ("", "v1", "secrets", ""),
                ("apps", "v1", "deployments", ""),
                ("", "v1", "services", ""),
                ("batch", "v1", "jobs", ""),
                ("networking.k8s.io", "v1", "ingresses", ""),
                ("apps", "v1", "daemonsets", ""),
                ("storage.k8s.io", "v1", "storageclasses", ""),
                ("", "v1", "persistentvolumes", ""),
                ("", "v1", "secrets", "kube-system"),
                ("apps", "v1", "deployments", "kube-system"),
            ],
        );
        let qs: Vec<PreReq> = (0..50).map(|i| base[i % base.len()].clone()).collect();
        self.seq(&qs, t, 1500 * MS);
        self.near(
            R001,
            "anonymous, forbidden, 10 URIs over 8 resources but 50 documents (needs < 50)",
        );
    }

    fn n001_metadata_level(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 33);
        let id = Ident::anonymous(&[&ip], "python-requests/2.32.3");
        let qs: Vec<PreReq> = self
            .anon_sweep(
                &id,
                &[
                    ("", "v1", "secrets", ""),
                    ("apps", "v1", "deployments", ""),
                    ("", "v1", "services", ""),
                    ("batch", "v1", "jobs", ""),
                    ("networking.k8s.io", "v1", "ingresses", ""),
                    ("apps", "v1", "daemonsets", ""),
                    ("storage.k8s.io", "v1", "storageclasses", ""),
                ],
            )
            .into_iter()
            .map(|q| q.level(Level::Metadata))
            .collect();
        self.seq(&qs, t, 3 * SEC);
        self.near(R001, "anonymous enumeration (7 URIs, 7 resources, forbidden) logged at level Metadata (filter wants Request/RequestResponse)");
    }

    fn n001_no_failure(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 34);
        let id = Ident::anonymous(&[&ip], "python-requests/2.32.3");
        let reason = crate::ident::rbac_reason(
            "ClusterRoleBinding",
            "public-read",
            "ClusterRole",
            "public-read",
            "Group \"system:unauthenticated\"",
        );
        let qs: Vec<PreReq> = [
            ("", "v1", "services", "web"),
            ("", "v1", "endpoints", "web"),
            ("networking.k8s.io", "v1", "ingresses", "web"),
            ("apps", "v1", "deployments", "web"),
            ("", "v1", "events", "web"),
            ("", "v1", "services", "shop"),
            ("", "v1", "endpoints", "shop"),
        ]
        .iter()
        .map(|(g, v, r, ns)| Self::list(&id, g, v, r, ns).level(Level::Request).reason(&reason))
        .collect();
        self.seq(&qs, t, 3 * SEC);
        self.near(
            R001,
            "anonymous, 7 URIs over 5 resources, all allowed: no forbid, no 401/403, no 404",
        );
    }

    /// All seed-002 near misses place their requests inside one minute bucket unless noted.
    fn recon(&mut self, id: &Ident, resources: &[&str], t: i64) {
        let qs: Vec<PreReq> = resources
            .iter()
            .map(|r| {
                let g = if r.starts_with("cluster") || *r == "roles" || *r == "rolebindings" {
                    "rbac.authorization.k8s.io"
                } else {
                    ""
                };
                Self::list(id, g, "v1", r, "")
            })
            .collect();
        self.seq(&qs, t, 7 * SEC);
    }

    fn n002_two_resources(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 70);
        let id = self.human(
            "dev-sam@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        self.recon(&id, &["pods", "namespaces", "pods", "namespaces", "pods"], t);
        self.near(
            R002,
            "only 2 of the rule's resources (pods, namespaces) in the minute (needs 3)",
        );
    }

    fn n002_split_minute(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 71);
        let id = self.human(
            "dev-kim@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let m = t - t.rem_euclid(60 * SEC);
        self.at(&Self::list(&id, "", "v1", "pods", ""), m + 40 * SEC);
        self.at(&Self::list(&id, "", "v1", "configmaps", ""), m + 48 * SEC);
        self.at(&Self::list(&id, "", "v1", "nodes", ""), m + 68 * SEC);
        self.near(
            R002,
            "3 resources but split over two one-minute buckets of @timestamp (2 + 1)",
        );
    }

    fn n002_loopback(&mut self, t: i64) {
        let id = Ident::user(
            "kubernetes-admin",
            "",
            &["kubeadm:cluster-admins", "system:authenticated"],
            &["127.0.0.1"],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        self.recon(&id, &["namespaces", "pods", "nodes", "clusterroles"], t);
        self.near(
            R002,
            "4 resources in one minute but source.ip 127.0.0.1 (loopback exclusion)",
        );
    }

    fn n002_excluded(&mut self, i: u8, t: i64) {
        let (user, ip, ua): (&str, String, &str) = match i {
            0 => (
                "system:serviceaccount:kube-system:cluster-autoscaler",
                "10.244.0.31".into(),
                "cluster-autoscaler/v1.31.0",
            ),
            1 => ("eks:node-manager", "10.0.0.250".into(), "eks-node-manager/v0.7.2"),
            2 => (
                "system:kube-proxy",
                "10.0.1.10".into(),
                "kube-proxy/v1.31.2 (linux/amd64) kubernetes/5864a46",
            ),
            3 => (
                "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAmazonEKS/1732358123456789012",
                "172.16.44.9".into(),
                "eks-control-plane/v1.31",
            ),
            4 => (
                "system:serviceaccount:kube-system:azure-policy",
                "10.244.2.44".into(),
                "azure-policy/1.9.1",
            ),
            5 => (
                "system:node:aks-default-12345678-vmss000000",
                "10.224.0.4".into(),
                "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46",
            ),
            6 => ("aksService", "172.31.1.10".into(), "aks-operator/1.0"),
            7 => (
                "system:serviceaccount:flux-system:kustomize-controller",
                self.cluster.pod_of("kustomize-controller").ip.clone(),
                "kustomize-controller/v1.4.0",
            ),
            8 => (
                "system:serviceaccount:flux-system:helm-controller",
                self.cluster.pod_of("helm-controller").ip.clone(),
                "helm-controller/v1.1.0",
            ),
            9 => (
                "system:serviceaccount:flux-system:source-controller",
                self.cluster.pod_of("source-controller").ip.clone(),
                "source-controller/v1.4.1",
            ),
            _ => (
                "system:serviceaccount:security:trivy-operator",
                self.cluster.pod_of("trivy-operator").ip.clone(),
                "trivy-operator/0.23.0 (linux/amd64) kubernetes/$Format",
            ),
        };
        let id = Ident::user(user, "", &["system:authenticated"], &[&ip], ua);
        self.recon(&id, &["namespaces", "pods", "nodes", "configmaps"], t);
        let why = if i <= 6 {
            "user.name matches the rule's rlike exclusion prefix"
        } else {
            "username in the rule's excluded controller list"
        };
        self.near(R002, &format!("4 resources in one minute by {user}: {why}"));
    }

    fn n002_null_user(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 50);
        let id = Ident::failed_authn(&[&ip], "python-requests/2.31.0");
        let qs: Vec<PreReq> = ["pods", "nodes", "namespaces"]
            .iter()
            .map(|r| {
                Self::list(&id, "", "v1", r, "")
                    .level(Level::Request)
                    .unauthorized()
            })
            .collect();
        self.seq(&qs, t, 6 * SEC);
        self.near(R002, "3 resources in one minute but user.name is null (401, empty user); seed 001 also silent with 3 URIs");
    }

    fn n002_multi_ip(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 72);
        let id = self.human(
            "dev-lee@corp.example",
            &[&ip, "10.0.0.5"],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        self.recon(&id, &["namespaces", "pods", "nodes", "serviceaccounts"], t);
        self.near(R002, "4 resources in one minute but source.ip is multi-valued: to_string(source.ip) IN (...) is null, the row is dropped");
    }

    fn n002_watch(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 73);
        let id = self.human(
            "dev-ana@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs: Vec<PreReq> = ["pods", "namespaces", "nodes", "configmaps"]
            .iter()
            .map(|r| {
                PreReq::new(
                    &id,
                    "watch",
                    Obj::new("", "v1", r, "", "", ""),
                    "?resourceVersion=48213377&watch=true",
                )
                .watch()
            })
            .collect();
        self.seq(&qs, t, 6 * SEC);
        self.near(
            R002,
            "4 resources in one minute but verb watch (filter wants get/list)",
        );
    }

    fn n003_session(&mut self, app: &str) -> (Pod, Ident, Rc<PodCtx>) {
        let pod = self.fresh_pod("web", app, "registry.corp.example/web/tools:1.0.0");
        let id = self.pod_sa(&pod, "curl/8.5.0");
        let ctx = self.ctx(&pod);
        (pod, id, ctx)
    }

    fn curl_proc() -> Proc {
        Proc::new(
            0,
            "/usr/bin/curl",
            &[
                "curl",
                "-sk",
                "https://kubernetes.default.svc/api/v1/namespaces/kube-system/secrets",
            ],
            true,
            0,
        )
    }

    fn n003_wrong_order(&mut self, t: i64) {
        let (_pod, id, ctx) = self.n003_session("debug-a");
        let s0 = t - t.rem_euclid(SEC);
        let sh = self.shell(&ctx, "/bin/bash", s0);
        self.at(
            &Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone()),
            s0 + 300 * MS,
        );
        let mut p = Self::curl_proc();
        p.start = s0 + 800 * MS;
        p.pid = sh.pid + 60;
        self.exec(&ctx, p, &sh, &sh, s0 + 800 * MS);
        self.near(
            R003,
            "forbidden request 0.5 s BEFORE the interactive curl exec in the same pod (wrong order)",
        );
    }

    fn n003_over_maxspan(&mut self, t: i64) {
        let (_pod, id, ctx) = self.n003_session("debug-b");
        let s0 = t - t.rem_euclid(SEC);
        let sh = self.shell(&ctx, "/bin/bash", s0);
        let mut p = Self::curl_proc();
        p.start = s0 + 100 * MS;
        p.pid = sh.pid + 60;
        self.exec(&ctx, p, &sh, &sh, s0 + 100 * MS);
        self.at(
            &Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone()),
            s0 + 2600 * MS,
        );
        self.near(R003, "interactive curl then forbidden request 2.5 s later (maxspan 1 s; 1.9 s even with whole-second truncation)");
    }

    fn n003_pod_mismatch(&mut self, t: i64) {
        let (_pod, _id, ctx) = self.n003_session("debug-c");
        let (_other, other_id, _) = self.n003_session("report-d");
        let s0 = t - t.rem_euclid(SEC);
        let sh = self.shell(&ctx, "/bin/bash", s0);
        let mut p = Self::curl_proc();
        p.start = s0 + 700 * MS;
        p.pid = sh.pid + 60;
        self.exec(&ctx, p, &sh, &sh, s0 + 700 * MS);
        self.at(
            &Self::list(&other_id, "", "v1", "secrets", "kube-system").forbidden(&other_id.username.clone()),
            s0 + 1300 * MS,
        );
        self.near(
            R003,
            "interactive curl in pod A, forbidden request 0.6 s later from pod B's token (join keys differ)",
        );
    }

    fn n003_not_interactive(&mut self, t: i64) {
        let (pod, id, _) = self.n003_session("hook-e");
        let ctx = self.ctx(&pod);
        let s0 = t - t.rem_euclid(SEC);
        let init = Rc::new(Proc::new(
            1,
            "/bin/sh",
            &["sh", "/hooks/post-start.sh"],
            false,
            s0 - 10 * SEC,
        ));
        let mut p = Self::curl_proc();
        p.interactive = false;
        p.start = s0 + 700 * MS;
        p.pid = 41;
        self.exec(&ctx, p, &init, &init, s0 + 700 * MS);
        self.at(
            &Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone()),
            s0 + 1300 * MS,
        );
        self.near(R003, "curl then forbidden request 0.6 s later in the same pod, but process.interactive false (lifecycle hook)");
    }

    fn n003_allowed(&mut self, t: i64) {
        let (pod, id, _) = self.n003_session("debug-f");
        let mut p = Self::curl_proc();
        p.args = vec![
            "curl".into(),
            "-sk".into(),
            "https://kubernetes.default.svc/api/v1/namespaces/web/configmaps".into(),
        ];
        self.forbidden_after_exec(
            &pod,
            "/bin/bash",
            p,
            Self::list(&id, "", "v1", "configmaps", "web"),
            t,
        );
        self.near(R003, "interactive curl then an ALLOWED request 0.6 s later from the same pod (decision allow, not forbid)");
    }

    fn n003_excluded_arg(&mut self, t: i64) {
        let (pod, id, _) = self.n003_session("debug-g");
        let p = Proc::new(0, "/bin/busybox", &["busybox", "which", "wget"], true, 0);
        let req = Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone());
        self.forbidden_after_exec(&pod, "/bin/sh", p, req, t);
        self.near(R003, "interactive `busybox which wget` (args contain the excluded \"which\") then forbidden request 0.6 s later");
    }

    fn n003_other_tool(&mut self, t: i64) {
        let (pod, id, _) = self.n003_session("debug-h");
        let p = Proc::new(
            0,
            "/usr/bin/python3",
            &[
                "python3",
                "-c",
                "import urllib.request as u; print(u.urlopen('https://kubernetes.default.svc').read())",
            ],
            true,
            0,
        );
        let req = Self::list(&id, "", "v1", "secrets", "kube-system").forbidden(&id.username.clone());
        self.forbidden_after_exec(&pod, "/bin/bash", p, req, t);
        self.near(R003, "interactive python3 (not a listed tool, no tool name in args) then forbidden request 0.6 s later");
    }

    fn n004_two_names(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 80);
        let id = self.human(
            "dev-pat@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let a = Self::secret(&id, "shop", "shop-db-credentials");
        let b = Self::secret(&id, "shop", "checkout-registry");
        self.seq(&[a.clone(), b.clone(), a.clone(), b.clone(), a, b], t, 4 * SEC);
        self.near(R004, "6 secret gets but only 2 distinct names (needs 3)");
    }

    fn n004_helm(&mut self, t: i64) {
        let ip = self.ip("10.244.5", 77);
        let id = Ident::service_account(
            "ci",
            "release-bot",
            &rnd::uuid(self.r),
            None,
            &[&ip],
            "helm/v3.16.2 (linux/amd64) kubernetes/$Format",
        );
        let qs = vec![
            Self::secret(&id, "shop", "sh.helm.release.v1.shop.v41"),
            Self::secret(&id, "shop", "sh.helm.release.v1.shop.v42"),
            Self::secret(&id, "payments", "sh.helm.release.v1.payments.v17"),
            Self::secret(&id, "web", "sh.helm.release.v1.web.v88"),
            Self::secret(&id, "shop", "shop-db-credentials"),
            Self::secret(&id, "shop", "checkout-registry"),
        ];
        self.seq(&qs, t, 4 * SEC);
        self.near(
            R004,
            "6 distinct secrets but 4 are helm release secrets (sh.helm.release.*, excluded): 2 remain",
        );
    }

    fn n004_loopback(&mut self, t: i64) {
        let id = Ident::user(
            "kubernetes-admin",
            "",
            &["kubeadm:cluster-admins", "system:authenticated"],
            &["::1"],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs = vec![
            Self::secret(&id, "kube-system", "bootstrap-token-abcdef"),
            Self::secret(&id, "shop", "shop-db-credentials"),
            Self::secret(&id, "payments", "ledger-db"),
            Self::secret(&id, "data", "etl-warehouse-credentials"),
        ];
        self.seq(&qs, t, 4 * SEC);
        self.near(R004, "4 distinct secrets but source.ip ::1 (loopback exclusion)");
    }

    fn n004_controller_manager(&mut self, t: i64) {
        let cp = self.cluster.nodes[0].ip.clone();
        let id = Ident::user(
            "system:kube-controller-manager",
            "",
            &["system:authenticated"],
            &[&cp],
            "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/tokens-controller",
        );
        let qs: Vec<PreReq> = ["shop", "payments", "web", "data", "ci"]
            .iter()
            .map(|ns| Self::secret(&id, ns, &format!("default-token-{}", &ns[..2])))
            .collect();
        self.seq(&qs, t, 3 * SEC);
        self.near(
            R004,
            "5 distinct secrets by system:kube-controller-manager (excluded user.name)",
        );
    }

    fn n004_scheduler(&mut self, t: i64) {
        let ip = self.cluster.nodes[1].ip.clone();
        let id = Ident::user(
            "system:kube-scheduler",
            "",
            &["system:authenticated"],
            &[&ip],
            "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs: Vec<PreReq> = [
            "extension-apiserver-authentication",
            "kube-scheduler-config",
            "scheduler-tls",
        ]
        .iter()
        .map(|n| Self::secret(&id, "kube-system", n))
        .collect();
        self.seq(&qs, t, 4 * SEC);
        self.near(
            R004,
            "3 distinct secrets by system:kube-scheduler (excluded user.name)",
        );
    }

    fn n004_multi_ip(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 81);
        let id = self.human(
            "dev-ray@corp.example",
            &[&ip, "10.0.0.5"],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs = vec![
            Self::secret(&id, "shop", "shop-db-credentials"),
            Self::secret(&id, "shop", "checkout-registry"),
            Self::secret(&id, "web", "wildcard-corp-example-tls"),
            Self::secret(&id, "payments", "ledger-db"),
        ];
        self.seq(&qs, t, 4 * SEC);
        self.near(R004, "4 distinct secrets but source.ip is multi-valued: to_string(source.ip) IN (...) is null, rows dropped");
    }

    fn n004_list(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 82);
        let id = self.human(
            "dev-max@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        let qs: Vec<PreReq> = ["shop", "payments", "web", "data"]
            .iter()
            .map(|ns| Self::list(&id, "", "v1", "secrets", ns))
            .collect();
        self.seq(&qs, t, 4 * SEC);
        self.near(
            R004,
            "secrets in 4 namespaces read with list (event.action list, no object name), not get",
        );
    }

    fn n004_spread(&mut self, t: i64) {
        let ip = self.ip("203.0.113", 83);
        let id = self.human(
            "dev-joe@corp.example",
            &[&ip],
            "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
        );
        self.at(&Self::secret(&id, "shop", "shop-db-credentials"), t);
        self.at(
            &Self::secret(&id, "web", "wildcard-corp-example-tls"),
            t + 210 * SEC,
        );
        self.at(&Self::secret(&id, "data", "etl-s3-credentials"), t + 420 * SEC);
        self.near(
            R004,
            "3 distinct secrets spread over 7 minutes: no 6-minute window holds more than 2",
        );
    }

    fn n004_null_user(&mut self, t: i64) {
        let ip = self.ip("198.51.100", 60);
        let id = Ident::failed_authn(&[&ip], "curl/8.4.0");
        let qs: Vec<PreReq> = ["db-credentials", "admin-token", "registry", "tls"]
            .iter()
            .map(|n| {
                Self::secret(&id, "default", n)
                    .level(Level::Request)
                    .unauthorized()
            })
            .collect();
        self.seq(&qs, t, 4 * SEC);
        self.near(
            R004,
            "4 distinct secret gets failing authentication: user.name null (seed 001 also silent: 4 URIs)",
        );
    }
}

/// The near-miss catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NearKind {
    N000FiveUris,
    N000ThreeResources,
    N000OneDecision,
    N000SeventyFiveDocs,
    N000ForbiddenVerbsOutsideFilter,
    N001FiveUris,
    N001ThreeResources,
    N001FiftyDocs,
    N001MetadataLevel,
    N001NoFailure,
    N002TwoResources,
    N002SplitMinute,
    N002Loopback,
    N002Excluded(u8),
    N002NullUser,
    N002MultiIp,
    N002Watch,
    N003WrongOrder,
    N003OverMaxspan,
    N003PodMismatch,
    N003NotInteractive,
    N003Allowed,
    N003ExcludedArg,
    N003OtherTool,
    N004TwoNames,
    N004Helm,
    N004Loopback,
    N004ControllerManager,
    N004Scheduler,
    N004MultiIp,
    N004ListNotGet,
    N004Spread,
    N004NullUser,
}

impl NearKind {
    /// The seed rule (0..5) this near miss is for.
    pub fn rule(self) -> usize {
        use NearKind::*;
        match self {
            N000FiveUris
            | N000ThreeResources
            | N000OneDecision
            | N000SeventyFiveDocs
            | N000ForbiddenVerbsOutsideFilter => 0,
            N001FiveUris | N001ThreeResources | N001FiftyDocs | N001MetadataLevel | N001NoFailure => 1,
            N002TwoResources | N002SplitMinute | N002Loopback | N002Excluded(_) | N002NullUser
            | N002MultiIp | N002Watch => 2,
            N003WrongOrder | N003OverMaxspan | N003PodMismatch | N003NotInteractive | N003Allowed
            | N003ExcludedArg | N003OtherTool => 3,
            _ => 4,
        }
    }

    /// Every near miss, interleaved by rule.
    pub fn all() -> Vec<NearKind> {
        use NearKind::*;
        let per_rule: [Vec<NearKind>; 5] = [
            vec![
                N000FiveUris,
                N000ThreeResources,
                N000OneDecision,
                N000SeventyFiveDocs,
                N000ForbiddenVerbsOutsideFilter,
            ],
            vec![
                N001FiveUris,
                N001ThreeResources,
                N001FiftyDocs,
                N001MetadataLevel,
                N001NoFailure,
            ],
            {
                let mut v = vec![N002TwoResources, N002SplitMinute, N002Loopback];
                v.extend((0..11).map(N002Excluded));
                v.extend([N002NullUser, N002MultiIp, N002Watch]);
                v
            },
            vec![
                N003WrongOrder,
                N003OverMaxspan,
                N003PodMismatch,
                N003NotInteractive,
                N003Allowed,
                N003ExcludedArg,
                N003OtherTool,
            ],
            vec![
                N004TwoNames,
                N004Helm,
                N004Loopback,
                N004ControllerManager,
                N004Scheduler,
                N004MultiIp,
                N004ListNotGet,
                N004Spread,
                N004NullUser,
            ],
        ];
        // Longest list first so that seed 002's many variants spread over all slots.
        let mut idx = [0usize; 5];
        let mut out = Vec::new();
        loop {
            let mut any = false;
            for r in [2, 4, 3, 0, 1] {
                if let Some(k) = per_rule[r].get(idx[r]) {
                    out.push(*k);
                    idx[r] += 1;
                    any = true;
                }
            }
            if !any {
                break;
            }
        }
        out
    }
}

/// Assigns near misses to the 15 incident slots: three per slot (a fourth when needed), never of
/// the rule whose incident the slot holds (near misses of one rule may share a slot: their
/// identities differ, so they never form one group).
pub fn assign_near_misses() -> Vec<Vec<NearKind>> {
    let mut slots: Vec<Vec<NearKind>> = vec![Vec::new(); INCIDENTS_PER_CYCLE];
    let mut pending = NearKind::all();
    let mut cap = 3;
    while !pending.is_empty() {
        let mut rest = Vec::new();
        let mut s = 0usize;
        for k in pending {
            let mut placed = false;
            for off in 0..INCIDENTS_PER_CYCLE {
                let i = (s + off) % INCIDENTS_PER_CYCLE;
                let incident_rule = i % 5;
                if slots[i].len() < cap && incident_rule != k.rule() {
                    slots[i].push(k);
                    s = i + 1;
                    placed = true;
                    break;
                }
            }
            if !placed {
                rest.push(k);
            }
        }
        pending = rest;
        cap += 1;
    }
    slots
}

/// Starts of the near-miss positions within a slot (from the slot's tick).
pub const NEAR_OFFSETS: [i64; 4] = [85 * SEC, 125 * SEC, 185 * SEC, 100 * SEC];
/// Start of the incident within a slot.
pub const INCIDENT_OFFSET: i64 = 65 * SEC;

/// The rule-tuple of a rule index.
pub fn rule(i: usize) -> (&'static str, &'static str) {
    RULES[i % 5]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_near_miss_is_placed_once_away_from_its_rule_incident() {
        let slots = assign_near_misses();
        assert_eq!(slots.len(), INCIDENTS_PER_CYCLE);
        let placed: usize = slots.iter().map(Vec::len).sum();
        assert_eq!(placed, NearKind::all().len());
        for (i, s) in slots.iter().enumerate() {
            assert!(s.len() <= NEAR_OFFSETS.len());
            assert!(s.iter().all(|k| k.rule() != i % 5), "slot {i}: {s:?}");
        }
        for r in 0..5 {
            assert!(NearKind::all().iter().filter(|k| k.rule() == r).count() >= 5);
        }
    }
}
