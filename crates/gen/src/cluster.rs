//! The simulated mid-size cluster: nodes, workloads and pods, and the background traffic streams
//! of its clients (kubelets, control plane, operators, CI, humans, health checks, scanners), each
//! a weighted list of pre-rendered requests.
//!
//! Background traffic is shaped so that it never triggers a seed rule (the scenarios module
//! injects those): every identity outside the seed-002 exclusions touches at most two of seed
//! 002's resource kinds with get/list and at most two distinct Secret names with get (seed 004);
//! no identity mixes allowed and forbidden decisions except one service account that is denied on
//! a single URI (seed 000 needs >5 URIs); unauthenticated clients stay at ≤3 URIs per source IP and
//! user agent (seed 001 needs >5); no forbidden request comes from a pod that runs interactive
//! network tools (seed 003).

use std::rc::Rc;

use rand::Rng;

use crate::audit::Level;
use crate::bodies::{self, PodSpec};
use crate::ident::{Ident, PodBinding, rbac_reason};
use crate::prereq::{Obj, PreReq};
use crate::rnd::{self, Rand};
use crate::timefmt::rfc3339_secs;

/// kubelet/control-plane version strings.
pub const K8S_VERSION: &str = "v1.31.2";
const GIT: &str = "5864a46";

/// A node.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub ip: String,
    pub uid: String,
    pub kubelet: Ident,
    pub control_plane: bool,
}

/// A running pod.
#[derive(Clone, Debug)]
pub struct Pod {
    pub ns: String,
    pub name: String,
    pub app: String,
    pub uid: String,
    pub image: String,
    pub sa: String,
    pub node: usize,
    pub ip: String,
    pub rs_hash: String,
    pub container_id: String,
}

/// A weighted list of requests.
#[derive(Debug)]
pub struct Stream {
    pub name: &'static str,
    pub weight: u32,
    pub reqs: Vec<PreReq>,
}

/// The cluster and its background streams.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub pods: Vec<Pod>,
    pub streams: Vec<Stream>,
    cumulative: Vec<u32>,
}

/// Workloads: (namespace, app, replicas, image).
const WORKLOADS: &[(&str, &str, usize, &str)] = &[
    (
        "shop",
        "checkout",
        3,
        "registry.corp.example/shop/checkout:2.14.1",
    ),
    ("shop", "cart", 2, "registry.corp.example/shop/cart:1.9.0"),
    ("shop", "catalog", 3, "registry.corp.example/shop/catalog:3.2.7"),
    (
        "payments",
        "payments-api",
        3,
        "registry.corp.example/payments/api:5.0.3",
    ),
    (
        "payments",
        "ledger",
        2,
        "registry.corp.example/payments/ledger:1.4.2",
    ),
    (
        "web",
        "web-frontend",
        4,
        "registry.corp.example/web/frontend:2025.11.3",
    ),
    ("data", "etl-worker", 2, "registry.corp.example/data/etl:0.33.1"),
    ("data", "redis", 1, "docker.io/library/redis:7.4.1-alpine"),
    (
        "monitoring",
        "prometheus-operator",
        1,
        "quay.io/prometheus-operator/prometheus-operator:v0.78.1",
    ),
    ("monitoring", "grafana", 1, "docker.io/grafana/grafana:11.3.0"),
    (
        "monitoring",
        "prometheus-k8s",
        2,
        "quay.io/prometheus/prometheus:v2.55.1",
    ),
    (
        "cert-manager",
        "cert-manager",
        1,
        "quay.io/jetstack/cert-manager-controller:v1.16.1",
    ),
    (
        "ingress-nginx",
        "ingress-nginx-controller",
        2,
        "registry.k8s.io/ingress-nginx/controller:v1.11.3",
    ),
    (
        "flux-system",
        "kustomize-controller",
        1,
        "ghcr.io/fluxcd/kustomize-controller:v1.4.0",
    ),
    (
        "flux-system",
        "helm-controller",
        1,
        "ghcr.io/fluxcd/helm-controller:v1.1.0",
    ),
    (
        "flux-system",
        "source-controller",
        1,
        "ghcr.io/fluxcd/source-controller:v1.4.1",
    ),
    (
        "security",
        "trivy-operator",
        1,
        "ghcr.io/aquasecurity/trivy-operator:0.23.0",
    ),
    (
        "argocd",
        "argocd-application-controller",
        1,
        "quay.io/argoproj/argocd:v2.13.1",
    ),
    (
        "external-dns",
        "external-dns",
        1,
        "registry.k8s.io/external-dns/external-dns:v0.15.0",
    ),
    (
        "kube-system",
        "coredns",
        2,
        "registry.k8s.io/coredns/coredns:v1.11.3",
    ),
    (
        "kube-system",
        "metrics-server",
        1,
        "registry.k8s.io/metrics-server/metrics-server:v0.7.2",
    ),
    (
        "ci",
        "gitlab-runner",
        1,
        "registry.gitlab.com/gitlab-org/gitlab-runner:v17.5.3",
    ),
    (
        "default",
        "legacy-reporter",
        1,
        "registry.corp.example/tools/reporter:0.9.0",
    ),
];

fn client_ua(component: &str, version: &str, suffix: &str) -> String {
    format!("{component}/{version} (linux/amd64) {suffix}")
}

impl Cluster {
    /// Builds the cluster deterministically from `rng`; `start` (epoch ns) dates the bodies.
    pub fn new(r: &mut Rand, start: i64) -> Cluster {
        let ts = rfc3339_secs(start);
        let ts_micro = crate::timefmt::rfc3339_micros(start);
        let kubelet_ua = client_ua("kubelet", K8S_VERSION, &format!("kubernetes/{GIT}"));
        let mut nodes = Vec::new();
        for i in 0..15 {
            let cp = i < 3;
            let name = if cp {
                format!("prod-cp-{}", i + 1)
            } else {
                format!("prod-worker-{:02}", i - 2)
            };
            let ip = if cp {
                format!("10.0.0.{}", 10 + i)
            } else {
                format!("10.0.1.{}", 7 + i * 3)
            };
            let kubelet = Ident::user(
                &format!("system:node:{name}"),
                "",
                &["system:nodes", "system:authenticated"],
                &[&ip],
                &kubelet_ua,
            );
            nodes.push(Node {
                name,
                ip,
                uid: rnd::uuid(r),
                kubelet,
                control_plane: cp,
            });
        }
        let workers: Vec<usize> = (3..nodes.len()).collect();
        let mut pods = Vec::new();
        for (wi, (ns, app, replicas, image)) in WORKLOADS.iter().enumerate() {
            let hash = rnd::rs_hash(r);
            for k in 0..*replicas {
                let node = if *ns == "kube-system" && *app == "coredns" {
                    k % 3
                } else {
                    workers[(wi * 3 + k * 5) % workers.len()]
                };
                let uid = rnd::uuid(r);
                let name = format!("{app}-{hash}-{}", rnd::suffix(r, 5));
                let sa = if *ns == "default" {
                    "default".to_string()
                } else {
                    app.to_string()
                };
                pods.push(Pod {
                    ns: ns.to_string(),
                    app: app.to_string(),
                    name,
                    container_id: bodies::container_id(&uid),
                    uid,
                    image: image.to_string(),
                    sa,
                    node,
                    ip: format!("10.244.{}.{}", node, 10 + pods.len()),
                    rs_hash: hash.clone(),
                });
            }
        }
        let mut c = Cluster {
            nodes,
            pods,
            streams: Vec::new(),
            cumulative: Vec::new(),
        };
        c.build_streams(r, &ts, &ts_micro);
        let mut acc = 0;
        for s in &c.streams {
            acc += s.weight;
            c.cumulative.push(acc);
        }
        c
    }

    /// The service-account identity of a pod's projected token.
    pub fn pod_ident(&self, r: &mut Rand, pod: &Pod, ua: &str) -> Ident {
        let node = &self.nodes[pod.node];
        Ident::service_account(
            &pod.ns,
            &pod.sa,
            &rnd::uuid(r),
            Some(PodBinding {
                pod: &pod.name,
                pod_uid: &pod.uid,
                node: &node.name,
                node_uid: &node.uid,
                jti: &rnd::uuid(r),
            }),
            &[&pod.ip],
            ua,
        )
    }

    /// The first pod of an app.
    pub fn pod_of(&self, app: &str) -> &Pod {
        self.pods.iter().find(|p| p.app == app).unwrap_or(&self.pods[0])
    }

    fn pod_spec(&self, p: &Pod) -> String {
        let node = &self.nodes[p.node];
        bodies::pod(
            &PodSpec {
                ns: &p.ns,
                name: &p.name,
                app: &p.app,
                uid: &p.uid,
                image: &p.image,
                sa: &p.sa,
                node: &node.name,
                ip: &p.ip,
                host_ip: &node.ip,
                rs_hash: &p.rs_hash,
            },
            true,
        )
    }

    /// Picks a stream by weight.
    pub fn pick(&self, r: &mut Rand) -> &Stream {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = r.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.streams[i.min(self.streams.len() - 1)]
    }

    fn push(&mut self, name: &'static str, weight: u32, reqs: Vec<PreReq>) {
        if !reqs.is_empty() {
            self.streams.push(Stream { name, weight, reqs });
        }
    }

    fn build_streams(&mut self, r: &mut Rand, ts: &str, ts_micro: &str) {
        let nodes = self.nodes.clone();
        let pods = self.pods.clone();
        let cp_ip = nodes[0].ip.clone();
        let coord = "coordination.k8s.io";

        // --- kubelets -------------------------------------------------------------------------
        let mut lease = Vec::new();
        let mut node_get = Vec::new();
        let mut node_status = Vec::new();
        let mut events = Vec::new();
        let mut kubelet_watch = Vec::new();
        for n in &nodes {
            let body: Rc<str> = bodies::lease(
                "kube-node-lease",
                &n.name,
                &n.name,
                &n.uid,
                48_000_000,
                ts_micro,
                40,
            )
            .into();
            lease.push(
                PreReq::new(
                    &n.kubelet,
                    "update",
                    Obj::new(coord, "v1", "leases", "kube-node-lease", &n.name, ""),
                    "?timeout=10s",
                )
                .latency(1_200, 6_000),
            );
            lease.push(
                PreReq::new(
                    &n.kubelet,
                    "update",
                    Obj::new(coord, "v1", "leases", "kube-node-lease", &n.name, ""),
                    "?timeout=10s",
                )
                .level(Level::RequestResponse)
                .req_obj_rc(body.clone())
                .resp_obj_rc(body)
                .latency(1_200, 6_000),
            );
            node_get.push(PreReq::new(
                &n.kubelet,
                "get",
                Obj::new("", "v1", "nodes", "", &n.name, ""),
                "?resourceVersion=0&timeout=10s",
            ));
            let node_obj: Rc<str> = bodies::node(&n.name, &n.ip, &n.uid, 48_000_123, ts, "eu-west-1a").into();
            node_status.push(
                PreReq::new(
                    &n.kubelet,
                    "patch",
                    Obj::new("", "v1", "nodes", "", &n.name, "status"),
                    "?timeout=10s",
                )
                .level(Level::Request)
                .req_obj(&bodies::node_status_patch(&n.name, ts, false))
                .latency(2_000, 9_000),
            );
            node_status.push(
                PreReq::new(
                    &n.kubelet,
                    "patch",
                    Obj::new("", "v1", "nodes", "", &n.name, "status"),
                    "?timeout=10s",
                )
                .level(Level::RequestResponse)
                .req_obj(&bodies::node_status_patch(&n.name, ts, true))
                .resp_obj_rc(node_obj)
                .latency(2_000, 9_000),
            );
            kubelet_watch.push(
                PreReq::new(
                    &n.kubelet,
                    "watch",
                    Obj::new("", "v1", "pods", "", "", ""),
                    &format!(
                        "?allowWatchBookmarks=true&fieldSelector=spec.nodeName%3D{}&resourceVersion=48213377&timeoutSeconds={}&watch=true",
                        n.name,
                        300 + r.random_range(0..300)
                    ),
                )
                .watch(),
            );
        }
        let mut pod_get = Vec::new();
        let mut pod_status = Vec::new();
        let mut tokens = Vec::new();
        for p in &pods {
            let n = &nodes[p.node];
            let spec = PodSpec {
                ns: &p.ns,
                name: &p.name,
                app: &p.app,
                uid: &p.uid,
                image: &p.image,
                sa: &p.sa,
                node: &n.name,
                ip: &p.ip,
                host_ip: &n.ip,
                rs_hash: &p.rs_hash,
            };
            pod_get.push(PreReq::new(
                &n.kubelet,
                "get",
                Obj::new("", "v1", "pods", &p.ns, &p.name, ""),
                "",
            ));
            pod_status.push(
                PreReq::new(
                    &n.kubelet,
                    "patch",
                    Obj::new("", "v1", "pods", &p.ns, &p.name, "status"),
                    "",
                )
                .level(Level::Request)
                .req_obj(&bodies::pod_status_patch(&spec, ts))
                .latency(1_500, 8_000),
            );
            tokens.push(PreReq::new(
                &n.kubelet,
                "create",
                Obj::new("", "v1", "serviceaccounts", &p.ns, &p.sa, "token"),
                "",
            ));
            events.push(
                PreReq::new(
                    &n.kubelet,
                    "create",
                    Obj::new("", "v1", "events", &p.ns, "", ""),
                    "",
                )
                .level(Level::Request)
                .req_obj(&bodies::event(
                    &p.ns,
                    "Pod",
                    &p.name,
                    "Pulled",
                    &format!("Container image \\\"{}\\\" already present on machine", p.image),
                    "kubelet",
                    ts,
                )),
            );
            kubelet_watch.push(
                PreReq::new(
                    &n.kubelet,
                    "watch",
                    Obj::new("", "v1", "configmaps", &p.ns, "", ""),
                    &format!(
                        "?allowWatchBookmarks=true&fieldSelector=metadata.name%3D{}-config&resourceVersion=48211920&timeout=6m12s&timeoutSeconds={}&watch=true",
                        p.app,
                        300 + r.random_range(0..300)
                    ),
                )
                .watch(),
            );
        }
        self.push("kubelet-lease", 2000, lease);
        self.push("kubelet-node-get", 350, node_get);
        self.push("kubelet-node-status", 380, node_status);
        self.push("kubelet-pod-get", 300, pod_get);
        self.push("kubelet-pod-status", 420, pod_status);
        self.push("kubelet-token", 150, tokens);
        self.push("kubelet-events", 350, events);

        // --- control plane ------------------------------------------------------------------
        let kcm_ua =
            format!("kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{GIT}/leader-election");
        let kcm = Ident::user(
            "system:kube-controller-manager",
            "",
            &["system:authenticated"],
            &[&cp_ip],
            &kcm_ua,
        );
        let sched_ua = format!("kube-scheduler/{K8S_VERSION} (linux/amd64) kubernetes/{GIT}/leader-election");
        let sched = Ident::user(
            "system:kube-scheduler",
            "",
            &["system:authenticated"],
            &[&nodes[1].ip],
            &sched_ua,
        );
        let mut cp_lease = Vec::new();
        for (id, lname, reason_role) in [
            (
                &kcm,
                "kube-controller-manager",
                "system::leader-locking-kube-controller-manager",
            ),
            (&sched, "kube-scheduler", "system::leader-locking-kube-scheduler"),
        ] {
            let reason = rbac_reason(
                "RoleBinding",
                &format!("kube-system/{reason_role}"),
                "Role",
                reason_role,
                &format!("User \"{}\"", id.username),
            );
            for verb in ["get", "update"] {
                let mut q = PreReq::new(
                    id,
                    verb,
                    Obj::new(coord, "v1", "leases", "kube-system", lname, ""),
                    "?timeout=5s",
                )
                .reason(&reason)
                .latency(900, 4_000);
                if verb == "update" {
                    let body = bodies::lease(
                        "kube-system",
                        lname,
                        &format!("{}_{}", nodes[0].name, lname),
                        "x",
                        48_100_000,
                        ts_micro,
                        15,
                    );
                    q = q.level(Level::RequestResponse).req_obj(&body).resp_obj(&body);
                }
                cp_lease.push(q);
            }
        }
        self.push("control-plane-lease", 1100, cp_lease);

        let ctrl = |name: &str| -> Ident {
            Ident::service_account(
                "kube-system",
                name,
                &format!(
                    "c0ffee00-{:04x}-4000-8000-00000000{:04x}",
                    name.len(),
                    name.len() * 7
                ),
                None,
                &[&nodes[0].ip],
                &format!(
                    "kube-controller-manager/{K8S_VERSION} (linux/amd64) kubernetes/{GIT}/system:serviceaccount:kube-system:{name}"
                ),
            )
        };
        let eps = ctrl("endpointslice-controller");
        let mut slices = Vec::new();
        for (ns, svc) in [
            ("shop", "checkout"),
            ("shop", "cart"),
            ("shop", "catalog"),
            ("payments", "payments-api"),
            ("web", "web-frontend"),
            ("monitoring", "prometheus-k8s"),
            ("kube-system", "kube-dns"),
        ] {
            let ips: Vec<String> = pods
                .iter()
                .filter(|p| p.app == svc)
                .map(|p| p.ip.clone())
                .collect();
            let ips = if ips.is_empty() {
                vec!["10.244.0.10".to_string(), "10.244.1.11".to_string()]
            } else {
                ips
            };
            let nn: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
            let suffix = rnd::suffix(r, 5);
            let body = bodies::endpoint_slice(ns, svc, &suffix, &ips, &nn, 48_000_000);
            slices.push(
                PreReq::new(
                    &eps,
                    "update",
                    Obj::new(
                        "discovery.k8s.io",
                        "v1",
                        "endpointslices",
                        ns,
                        &format!("{svc}-{suffix}"),
                        "",
                    ),
                    "",
                )
                .level(Level::RequestResponse)
                .req_obj(&body)
                .resp_obj(&body)
                .reason(&rbac_reason(
                    "ClusterRoleBinding",
                    "system:controller:endpointslice-controller",
                    "ClusterRole",
                    "system:controller:endpointslice-controller",
                    "ServiceAccount \"endpointslice-controller/kube-system\"",
                )),
            );
        }
        self.push("endpointslices", 260, slices);

        let dc = ctrl("deployment-controller");
        let rsc = ctrl("replicaset-controller");
        let gc = ctrl("generic-garbage-collector");
        let mut deploy = Vec::new();
        let mut pod_create = Vec::new();
        let mut bind = Vec::new();
        for (ns, app, replicas, image) in WORKLOADS.iter().take(8) {
            let d = bodies::deployment(ns, app, image, *replicas as u32, 48_000_777);
            deploy.push(
                PreReq::new(
                    &dc,
                    "update",
                    Obj::new("apps", "v1", "deployments", ns, app, "status"),
                    "",
                )
                .level(Level::RequestResponse)
                .req_obj(&d)
                .resp_obj(&d),
            );
        }
        for p in pods.iter().take(24) {
            let body = self.pod_spec(p);
            pod_create.push(
                PreReq::new(&rsc, "create", Obj::new("", "v1", "pods", &p.ns, "", ""), "")
                    .level(Level::RequestResponse)
                    .req_obj(&body)
                    .resp_obj(&body)
                    .annotations(r#","pod-security.kubernetes.io/enforce-policy":"baseline:latest""#)
                    .latency(6_000, 30_000),
            );
            bind.push(
                PreReq::new(&sched, "create", Obj::new("", "v1", "pods", &p.ns, &p.name, "binding"), "")
                    .level(Level::Request)
                    .req_obj(&format!(
                        r#"{{"kind":"Binding","apiVersion":"v1","metadata":{{"name":"{}","namespace":"{}","uid":"{}","creationTimestamp":null}},"target":{{"kind":"Node","name":"{}"}}}}"#,
                        p.name, p.ns, p.uid, nodes[p.node].name
                    )),
            );
        }
        self.push("deployment-status", 90, deploy);
        self.push("pod-create", 45, pod_create);
        self.push("scheduler-bind", 45, bind);

        let mut ctl_list = Vec::new();
        for (g, v, res) in [
            ("apps", "v1", "replicasets"),
            ("apps", "v1", "deployments"),
            ("batch", "v1", "jobs"),
            ("", "v1", "pods"),
            ("", "v1", "namespaces"),
            ("", "v1", "serviceaccounts"),
            ("rbac.authorization.k8s.io", "v1", "rolebindings"),
        ] {
            ctl_list.push(PreReq::new(
                &gc,
                "list",
                Obj::new(g, v, res, "", "", ""),
                "?limit=500&resourceVersion=0",
            ));
        }
        let mut ctl_watch = Vec::new();
        for (id, g, v, res) in [
            (&gc, "apps", "v1", "replicasets"),
            (&rsc, "", "v1", "pods"),
            (&dc, "apps", "v1", "deployments"),
            (&eps, "discovery.k8s.io", "v1", "endpointslices"),
            (&sched, "", "v1", "nodes"),
            (&sched, "", "v1", "pods"),
            (&kcm, "coordination.k8s.io", "v1", "leases"),
        ] {
            ctl_watch.push(
                PreReq::new(
                    id,
                    "watch",
                    Obj::new(g, v, res, "", "", ""),
                    &format!(
                        "?allowWatchBookmarks=true&resourceVersion=48213377&timeout={}s&timeoutSeconds={}&watch=true",
                        360, 300 + r.random_range(0..300)
                    ),
                )
                .watch(),
            );
        }
        self.push("controller-list", 110, ctl_list);

        // --- in-cluster operators --------------------------------------------------------------
        let op =
            |c: &Cluster, r: &mut Rand, app: &str, ua: &str| -> Ident { c.pod_ident(r, c.pod_of(app), ua) };
        let certm = op(
            self,
            r,
            "cert-manager",
            "cert-manager-controller/v1.16.1 (linux/amd64) cert-manager/6b5a3c4b1c1d",
        );
        let promop = op(self, r, "prometheus-operator", "PrometheusOperator/0.78.1");
        let ingress = op(
            self,
            r,
            "ingress-nginx-controller",
            "nginx-ingress-controller/v1.11.3 (linux/amd64) ingress-nginx/fb1b3a8d",
        );
        let argo = op(
            self,
            r,
            "argocd-application-controller",
            "argocd-application-controller/v2.13.1 (linux/amd64)",
        );
        let kust = op(self, r, "kustomize-controller", "kustomize-controller/v1.4.0");
        let helmc = op(self, r, "helm-controller", "helm-controller/v1.1.0");
        let srcc = op(self, r, "source-controller", "source-controller/v1.4.1");
        let trivy = op(
            self,
            r,
            "trivy-operator",
            "trivy-operator/0.23.0 (linux/amd64) kubernetes/$Format",
        );
        let edns = op(self, r, "external-dns", "external-dns/v0.15.0");
        let coredns = op(
            self,
            r,
            "coredns",
            "coredns/v1.11.3 (linux/amd64) kubernetes/$Format",
        );
        let msrv = op(
            self,
            r,
            "metrics-server",
            "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format",
        );
        let prom = op(self, r, "prometheus-k8s", "Prometheus/2.55.1");
        let mut op_lease = Vec::new();
        for (id, ns, lname) in [
            (&certm, "kube-system", "cert-manager-controller"),
            (&ingress, "ingress-nginx", "ingress-nginx-leader"),
            (&kust, "flux-system", "kustomize-controller-leader-election"),
            (&helmc, "flux-system", "helm-controller-leader-election"),
            (&srcc, "flux-system", "source-controller-leader-election"),
            (&trivy, "security", "trivyoperator-lock"),
            (&edns, "external-dns", "external-dns-leader"),
        ] {
            let reason = rbac_reason(
                "RoleBinding",
                &format!("{ns}/{lname}"),
                "Role",
                "leader-election",
                &format!(
                    "ServiceAccount \"{}\"",
                    id.username.rsplit(':').next().unwrap_or("")
                ),
            );
            for verb in ["get", "update"] {
                op_lease.push(
                    PreReq::new(id, verb, Obj::new(coord, "v1", "leases", ns, lname, ""), "")
                        .reason(&reason)
                        .latency(1_000, 5_000),
                );
            }
        }
        self.push("operator-lease", 1150, op_lease);

        let mut cr = Vec::new();
        for (id, group, ver, res, kind, ns, name, pad) in [
            (
                &certm,
                "cert-manager.io",
                "v1",
                "certificates",
                "Certificate",
                "shop",
                "shop-tls",
                2,
            ),
            (
                &certm,
                "cert-manager.io",
                "v1",
                "certificates",
                "Certificate",
                "web",
                "wildcard-corp-example",
                2,
            ),
            (
                &argo,
                "argoproj.io",
                "v1alpha1",
                "applications",
                "Application",
                "argocd",
                "shop",
                20,
            ),
            (
                &argo,
                "argoproj.io",
                "v1alpha1",
                "applications",
                "Application",
                "argocd",
                "payments",
                12,
            ),
            (
                &kust,
                "kustomize.toolkit.fluxcd.io",
                "v1",
                "kustomizations",
                "Kustomization",
                "flux-system",
                "apps",
                4,
            ),
            (
                &helmc,
                "helm.toolkit.fluxcd.io",
                "v2",
                "helmreleases",
                "HelmRelease",
                "monitoring",
                "kube-prometheus-stack",
                6,
            ),
            (
                &promop,
                "monitoring.coreos.com",
                "v1",
                "prometheuses",
                "Prometheus",
                "monitoring",
                "k8s",
                1,
            ),
            (
                &trivy,
                "aquasecurity.github.io",
                "v1alpha1",
                "vulnerabilityreports",
                "VulnerabilityReport",
                "shop",
                "replicaset-checkout-7d9f8b6c5d-checkout",
                60,
            ),
        ] {
            let body = bodies::custom_status(&format!("{group}/{ver}"), kind, ns, name, 48_000_999, ts, pad);
            cr.push(
                PreReq::new(id, "patch", Obj::new(group, ver, res, ns, name, "status"), "")
                    .level(Level::RequestResponse)
                    .req_obj(&body)
                    .resp_obj(&body)
                    .latency(2_000, 15_000),
            );
        }
        self.push("operator-status", 230, cr);

        // Secret reads: at most two distinct names per identity (seed 004 needs three).
        let mut sec = Vec::new();
        for (id, ns, name) in [
            (&certm, "web", "wildcard-corp-example-tls"),
            (&certm, "cert-manager", "letsencrypt-prod-account-key"),
            (&ingress, "ingress-nginx", "ingress-nginx-admission"),
            (&argo, "argocd", "argocd-secret"),
            (&argo, "argocd", "argocd-redis"),
            (&kust, "flux-system", "flux-system"),
            (
                &helmc,
                "monitoring",
                "sh.helm.release.v1.kube-prometheus-stack.v14",
            ),
            (&helmc, "ingress-nginx", "sh.helm.release.v1.ingress-nginx.v9"),
            (&helmc, "cert-manager", "sh.helm.release.v1.cert-manager.v6"),
            (&helmc, "security", "sh.helm.release.v1.trivy-operator.v3"),
            (&kcm, "kube-system", "bootstrap-token-abcdef"),
            (&kcm, "shop", "checkout-registry"),
            (&kcm, "payments", "ledger-db"),
        ] {
            sec.push(PreReq::new(
                id,
                "get",
                Obj::new("", "v1", "secrets", ns, name, ""),
                "",
            ));
        }
        self.push("operator-secrets", 90, sec);

        let mut opget = vec![
            PreReq::new(
                &promop,
                "get",
                Obj::new(
                    "",
                    "v1",
                    "configmaps",
                    "monitoring",
                    "prometheus-k8s-rulefiles-0",
                    "",
                ),
                "",
            ),
            PreReq::new(
                &promop,
                "get",
                Obj::new("apps", "v1", "statefulsets", "monitoring", "prometheus-k8s", ""),
                "",
            ),
            PreReq::new(
                &promop,
                "update",
                Obj::new("", "v1", "services", "monitoring", "prometheus-operated", ""),
                "",
            ),
            PreReq::new(
                &edns,
                "list",
                Obj::new("", "v1", "services", "", "", ""),
                "?limit=500&resourceVersion=0",
            ),
            PreReq::new(
                &edns,
                "list",
                Obj::new("networking.k8s.io", "v1", "ingresses", "", "", ""),
                "?limit=500&resourceVersion=0",
            ),
            PreReq::new(
                &edns,
                "list",
                Obj::new("", "v1", "nodes", "", "", ""),
                "?limit=500&resourceVersion=0",
            ),
            PreReq::new(
                &ingress,
                "update",
                Obj::new(
                    "networking.k8s.io",
                    "v1",
                    "ingresses",
                    "shop",
                    "storefront",
                    "status",
                ),
                "",
            ),
            PreReq::new(
                &ingress,
                "list",
                Obj::new("networking.k8s.io", "v1", "ingressclasses", "", "", ""),
                "?limit=500&resourceVersion=0",
            ),
        ];
        // Excluded from seed 002 by name: free to enumerate.
        for res in ["namespaces", "serviceaccounts", "configmaps", "pods"] {
            opget.push(PreReq::new(
                &kust,
                "get",
                Obj::new(
                    "",
                    "v1",
                    res,
                    if res == "namespaces" { "" } else { "shop" },
                    if res == "namespaces" { "shop" } else { "checkout" },
                    "",
                ),
                "",
            ));
            opget.push(PreReq::new(
                &trivy,
                "list",
                Obj::new("", "v1", res, "", "", ""),
                "?limit=500",
            ));
        }
        opget.push(PreReq::new(
            &trivy,
            "list",
            Obj::new("", "v1", "nodes", "", "", ""),
            "?limit=500",
        ));
        self.push("operator-reads", 160, opget);

        for (id, g, v, res) in [
            (&certm, "cert-manager.io", "v1", "certificates"),
            (&certm, "", "v1", "secrets"),
            (&argo, "argoproj.io", "v1alpha1", "applications"),
            (&argo, "apps", "v1", "deployments"),
            (&coredns, "", "v1", "services"),
            (&coredns, "discovery.k8s.io", "v1", "endpointslices"),
            (&coredns, "", "v1", "namespaces"),
            (&kust, "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
            (&promop, "monitoring.coreos.com", "v1", "servicemonitors"),
            (&ingress, "", "v1", "endpoints"),
        ] {
            ctl_watch.push(
                PreReq::new(
                    id,
                    "watch",
                    Obj::new(g, v, res, "", "", ""),
                    &format!(
                        "?allowWatchBookmarks=true&resourceVersion=48213377&timeoutSeconds={}&watch=true",
                        300 + r.random_range(0..300)
                    ),
                )
                .watch(),
            );
        }
        ctl_watch.extend(kubelet_watch);
        self.push("watches", 420, ctl_watch);

        let mut reviews = Vec::new();
        let groups =
            r#"["system:serviceaccounts","system:serviceaccounts:monitoring","system:authenticated"]"#;
        reviews.push(
            PreReq::new(
                &msrv,
                "create",
                Obj::new("authentication.k8s.io", "v1", "tokenreviews", "", "", ""),
                "",
            )
            .level(Level::RequestResponse)
            .req_obj(&bodies::token_review("", "[]", false))
            .resp_obj(&bodies::token_review(&prom.username, groups, true)),
        );
        reviews.push(
            PreReq::new(
                &msrv,
                "create",
                Obj::new("authorization.k8s.io", "v1", "subjectaccessreviews", "", "", ""),
                "",
            )
            .level(Level::RequestResponse)
            .req_obj(&bodies::subject_access_review(
                &prom.username,
                "get",
                "pods",
                false,
            ))
            .resp_obj(&bodies::subject_access_review(
                &prom.username,
                "get",
                "pods",
                true,
            )),
        );
        self.push("delegated-reviews", 90, reviews);
        let scrape_reason = rbac_reason(
            "ClusterRoleBinding",
            "prometheus-k8s",
            "ClusterRole",
            "prometheus-k8s",
            "ServiceAccount \"prometheus-k8s/monitoring\"",
        );
        self.push(
            "metrics-scrape",
            110,
            vec![
                PreReq::non_resource(&prom, "get", "/metrics")
                    .reason(&scrape_reason)
                    .latency(20_000, 90_000),
            ],
        );

        // --- loopback requests of the apiserver itself --------------------------------------
        let apisrv = Ident::user(
            "system:apiserver",
            &rnd::uuid(r),
            &["system:authenticated", "system:masters"],
            &["::1"],
            &format!("kube-apiserver/{K8S_VERSION} (linux/amd64) kubernetes/{GIT}"),
        );
        let apisrv4 = Ident::user(
            "system:apiserver",
            &rnd::uuid(r),
            &["system:authenticated", "system:masters"],
            &["127.0.0.1"],
            &format!("kube-apiserver/{K8S_VERSION} (linux/amd64) kubernetes/{GIT}"),
        );
        let lname = format!("apiserver-{}", rnd::suffix(r, 26));
        let mut loopback = vec![
            PreReq::new(
                &apisrv,
                "get",
                Obj::new(coord, "v1", "leases", "kube-system", &lname, ""),
                "",
            ),
            PreReq::new(
                &apisrv,
                "update",
                Obj::new(coord, "v1", "leases", "kube-system", &lname, ""),
                "",
            ),
            PreReq::new(
                &apisrv4,
                "get",
                Obj::new("", "v1", "namespaces", "", "kube-system", ""),
                "",
            ),
            PreReq::new(
                &apisrv4,
                "list",
                Obj::new("apiregistration.k8s.io", "v1", "apiservices", "", "", ""),
                "",
            ),
            PreReq::new(
                &apisrv4,
                "get",
                Obj::new("", "v1", "secrets", "kube-system", "bootstrap-token-abcdef", ""),
                "",
            ),
            PreReq::new(
                &apisrv4,
                "get",
                Obj::new("", "v1", "secrets", "kube-system", "kube-root-ca", ""),
                "",
            ),
            PreReq::new(
                &apisrv4,
                "get",
                Obj::new(
                    "",
                    "v1",
                    "configmaps",
                    "kube-system",
                    "extension-apiserver-authentication",
                    "",
                ),
                "",
            ),
        ];
        loopback.push(PreReq::new(
            &apisrv,
            "get",
            Obj::new("", "v1", "pods", "kube-system", "kube-apiserver-prod-cp-1", ""),
            "",
        ));
        self.push("apiserver-loopback", 280, loopback);

        // --- CI --------------------------------------------------------------------------------
        let runner_pod = self.pod_of("gitlab-runner").clone();
        let runner = self.pod_ident(
            r,
            &runner_pod,
            "gitlab-runner 17.5.3 (17-5-stable; go1.22.7; linux/amd64)",
        );
        let job_pod = Pod {
            ns: "ci".into(),
            name: format!(
                "runner-{}-project-4211-concurrent-0-{}",
                rnd::suffix(r, 8),
                rnd::suffix(r, 8)
            ),
            app: "build".into(),
            uid: rnd::uuid(r),
            image: "registry.corp.example/ci/builder:2025.10".into(),
            sa: "default".into(),
            node: 5,
            ip: "10.244.5.200".into(),
            rs_hash: "0000000000".into(),
            container_id: String::new(),
        };
        let job_body = self.pod_spec(&job_pod);
        let mut ci = vec![
            PreReq::new(&runner, "create", Obj::new("", "v1", "pods", "ci", "", ""), "")
                .level(Level::RequestResponse)
                .req_obj(&job_body)
                .resp_obj(&job_body)
                .latency(8_000, 40_000),
            PreReq::new(
                &runner,
                "get",
                Obj::new("", "v1", "pods", "ci", &job_pod.name, ""),
                "",
            ),
            PreReq::new(
                &runner,
                "get",
                Obj::new("", "v1", "pods", "ci", &job_pod.name, ""),
                "",
            ),
            PreReq::new(
                &runner,
                "get",
                Obj::new("", "v1", "pods", "ci", &job_pod.name, "log"),
                "?container=build&follow=true",
            ),
            PreReq::new(
                &runner,
                "create",
                Obj::new("", "v1", "pods", "ci", &job_pod.name, "attach"),
                "?container=build&stdin=true&stdout=true",
            )
            .upgraded(),
            PreReq::new(
                &runner,
                "delete",
                Obj::new("", "v1", "pods", "ci", &job_pod.name, ""),
                "",
            ),
            PreReq::new(&runner, "create", Obj::new("", "v1", "secrets", "ci", "", ""), ""),
            PreReq::new(
                &runner,
                "get",
                Obj::new("", "v1", "secrets", "ci", "runner-registry-creds", ""),
                "",
            ),
        ];
        let helm_ci = Ident::service_account(
            "ci",
            "gitlab-deployer",
            &rnd::uuid(r),
            None,
            &["10.244.5.200"],
            "helm/v3.16.2 (linux/amd64) kubernetes/$Format",
        );
        for rel in ["shop.v41", "payments.v17", "web.v88"] {
            let ns = rel.split('.').next().unwrap_or("shop");
            ci.push(PreReq::new(
                &helm_ci,
                "get",
                Obj::new("", "v1", "secrets", ns, &format!("sh.helm.release.v1.{rel}"), ""),
                "",
            ));
        }
        ci.push(PreReq::new(
            &helm_ci,
            "list",
            Obj::new("", "v1", "secrets", "shop", "", ""),
            "?labelSelector=name%3Dshop%2Cowner%3Dhelm",
        ));
        ci.push(PreReq::new(
            &helm_ci,
            "patch",
            Obj::new("apps", "v1", "deployments", "shop", "checkout", ""),
            "?fieldManager=helm",
        ));
        self.push("ci", 120, ci);

        // --- humans with kubectl ---------------------------------------------------------------
        let kubectl_mac = "kubectl/v1.31.2 (darwin/arm64) kubernetes/5864a46";
        let alice = Ident::user(
            "alice@corp.example",
            "",
            &["platform-admins", "system:authenticated"],
            &["10.8.0.14"],
            kubectl_mac,
        );
        let bob = Ident::user(
            "bob@corp.example",
            "",
            &["developers", "system:authenticated"],
            &["192.0.2.10", "10.0.0.5"],
            "kubectl/v1.30.6 (linux/amd64) kubernetes/00f20d4",
        );
        let carol = Ident::user(
            "carol@corp.example",
            "",
            &["sre", "system:authenticated"],
            &["10.8.0.31"],
            "k9s/v0.32.5 (linux/amd64) kubernetes/$Format",
        );
        let erin = Ident::user(
            "erin@corp.example",
            "",
            &["data-eng", "system:authenticated"],
            &["10.8.0.52"],
            "kubectl/v1.31.2 (windows/amd64) kubernetes/5864a46",
        );
        let co = &pods[0];
        let web = self.pod_of("web-frontend").clone();
        let human_reason = |who: &str, role: &str| {
            rbac_reason(
                "ClusterRoleBinding",
                &format!("{role}-binding"),
                "ClusterRole",
                role,
                &format!("Group \"{who}\""),
            )
        };
        let ra = human_reason("platform-admins", "cluster-admin");
        let rb = human_reason("developers", "edit");
        let rc = human_reason("sre", "view");
        let re = human_reason("data-eng", "edit");
        let dep = bodies::deployment("shop", "checkout", &co.image, 3, 48_001_234);
        let mut hum = vec![
            PreReq::new(&alice, "list", Obj::new("", "v1", "pods", "shop", "", ""), "?limit=500").reason(&ra),
            PreReq::new(&alice, "get", Obj::new("", "v1", "pods", "shop", &co.name, ""), "").reason(&ra),
            PreReq::new(&alice, "get", Obj::new("", "v1", "pods", "shop", &co.name, "log"), "?container=checkout&tailLines=200").reason(&ra),
            PreReq::new(&alice, "create", Obj::new("", "v1", "pods", "shop", &co.name, "exec"), "?command=sh&container=checkout&stdin=true&stdout=true&tty=true").reason(&ra).upgraded(),
            PreReq::new(&alice, "list", Obj::new("apps", "v1", "deployments", "shop", "", ""), "?limit=500").reason(&ra),
            PreReq::new(&alice, "patch", Obj::new("apps", "v1", "deployments", "shop", "checkout", ""), "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict")
                .level(Level::RequestResponse)
                .req_obj(&dep)
                .resp_obj(&dep)
                .reason(&ra),
            PreReq::new(&alice, "get", Obj::new("", "v1", "configmaps", "shop", "checkout-config", ""), "").reason(&ra),
            PreReq::new(&alice, "get", Obj::new("", "v1", "secrets", "shop", "shop-db-credentials", ""), "").reason(&ra),
            PreReq::new(&alice, "list", Obj::new("", "v1", "events", "shop", "", ""), "?fieldSelector=involvedObject.name%3Dcheckout").reason(&ra),
            PreReq::new(&bob, "list", Obj::new("", "v1", "pods", "web", "", ""), "?limit=500").reason(&rb),
            PreReq::new(&bob, "get", Obj::new("", "v1", "pods", "web", &web.name, "log"), "?container=web-frontend&follow=true").reason(&rb),
            PreReq::new(&bob, "list", Obj::new("", "v1", "namespaces", "", "", ""), "?limit=500").reason(&rb),
            PreReq::new(&bob, "get", Obj::new("apps", "v1", "deployments", "web", "web-frontend", ""), "").reason(&rb),
            PreReq::new(&bob, "list", Obj::new("", "v1", "services", "web", "", ""), "?limit=500").reason(&rb),
            PreReq::new(&bob, "get", Obj::new("networking.k8s.io", "v1", "ingresses", "web", "web-frontend", ""), "").reason(&rb),
            PreReq::new(&bob, "create", Obj::new("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "", "", ""), "")
                .level(Level::RequestResponse)
                .req_obj(r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"web","verb":"delete","resource":"pods"}},"status":{"allowed":false}}"#)
                .resp_obj(r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"web","verb":"delete","resource":"pods"}},"status":{"allowed":true,"reason":"RBAC: allowed by RoleBinding \"developers/web\" of ClusterRole \"edit\" to Group \"developers\""}}"#),
            PreReq::new(&carol, "list", Obj::new("", "v1", "nodes", "", "", ""), "?limit=500").reason(&rc),
            PreReq::new(&carol, "get", Obj::new("", "v1", "nodes", "", &nodes[4].name, ""), "").reason(&rc),
            PreReq::new(&carol, "list", Obj::new("", "v1", "pods", "", "", ""), &format!("?fieldSelector=spec.nodeName%3D{}&limit=500", nodes[4].name)).reason(&rc),
            PreReq::new(&carol, "list", Obj::new("metrics.k8s.io", "v1beta1", "nodes", "", "", ""), "").reason(&rc),
            PreReq::new(&erin, "list", Obj::new("", "v1", "configmaps", "data", "", ""), "?limit=500").reason(&re),
            PreReq::new(&erin, "get", Obj::new("", "v1", "configmaps", "data", "etl-worker-config", ""), "").reason(&re),
            PreReq::new(&erin, "list", Obj::new("", "v1", "serviceaccounts", "data", "", ""), "?limit=500").reason(&re),
            PreReq::new(&erin, "get", Obj::new("batch", "v1", "jobs", "data", "nightly-export-29114460", ""), "").reason(&re),
            PreReq::new(&erin, "list", Obj::new("batch", "v1", "cronjobs", "data", "", ""), "?limit=500").reason(&re),
            PreReq::new(&erin, "get", Obj::new("", "v1", "secrets", "data", "etl-warehouse-credentials", ""), "").reason(&re),
            PreReq::new(&erin, "get", Obj::new("", "v1", "secrets", "data", "etl-s3-credentials", ""), "").reason(&re),
        ];
        // alice debugging RBAC as the checkout service account (impersonation).
        let as_sa = "system:serviceaccount:shop:checkout";
        let as_groups = [
            "system:serviceaccounts",
            "system:serviceaccounts:shop",
            "system:authenticated",
        ];
        let sa_reason = rbac_reason(
            "RoleBinding",
            "shop/checkout",
            "Role",
            "checkout",
            "ServiceAccount \"checkout/shop\"",
        );
        hum.push(
            PreReq::new(
                &alice,
                "list",
                Obj::new("", "v1", "pods", "shop", "", ""),
                "?limit=500",
            )
            .impersonating(as_sa, &as_groups)
            .reason(&sa_reason),
        );
        hum.push(
            PreReq::new(
                &alice,
                "get",
                Obj::new("", "v1", "configmaps", "shop", "checkout-config", ""),
                "",
            )
            .impersonating(as_sa, &as_groups)
            .reason(&sa_reason),
        );
        for p in [&alice, &bob, &carol, &erin] {
            hum.push(PreReq::non_resource(p, "get", "/api?timeout=32s"));
            hum.push(PreReq::non_resource(p, "get", "/apis?timeout=32s"));
        }
        self.push("humans", 230, hum);
        // The long tail: `kubectl get pods -A -o yaml` logged at RequestResponse.
        let mut items: Vec<String> = pods.iter().map(|p| self.pod_spec(p)).collect();
        let mut big = Vec::new();
        for n in [12usize, 40, 90] {
            while items.len() < n {
                let more = items.clone();
                items.extend(more);
            }
            let list = bodies::pod_list(&items[..n], 48_222_000);
            big.push(
                PreReq::new(
                    &alice,
                    "list",
                    Obj::new("", "v1", "pods", "", "", ""),
                    "?limit=500",
                )
                .level(Level::RequestResponse)
                .resp_obj(&list)
                .reason(&ra)
                .latency(40_000, 250_000),
            );
        }
        self.push("big-lists", 3, big);

        // --- unauthenticated -----------------------------------------------------------------
        let public = rbac_reason(
            "ClusterRoleBinding",
            "system:public-info-viewer",
            "ClusterRole",
            "system:public-info-viewer",
            "Group \"system:unauthenticated\"",
        );
        let mut health = Vec::new();
        for (ip, ua) in [
            ("10.0.0.200", "ELB-HealthChecker/2.0"),
            ("10.0.0.201", "ELB-HealthChecker/2.0"),
            ("10.0.1.7", "kube-probe/1.31"),
        ] {
            let anon = Ident::anonymous(&[ip], ua);
            for path in ["/readyz", "/livez", "/healthz"] {
                health.push(
                    PreReq::non_resource(&anon, "get", path)
                        .reason(&public)
                        .latency(200, 2_000),
                );
            }
        }
        self.push("health-checks", 240, health);

        // Internet scanners: each (IP, user agent) probes at most three URIs and fails authentication.
        let scan_uas = [
            "Mozilla/5.0 zgrab/0.x",
            "Go-http-client/1.1",
            "python-requests/2.31.0",
            "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
            "curl/7.81.0",
        ];
        let scan_paths: [(&str, Option<(&str, &str)>); 6] = [
            ("/", None),
            ("/version", None),
            ("/api/v1/pods", Some(("pods", "list"))),
            ("/api/v1/namespaces", Some(("namespaces", "list"))),
            ("/apis", None),
            ("/.env", None),
        ];
        let mut scan = Vec::new();
        for k in 0..40u32 {
            let ip = format!(
                "{}.{}.{}.{}",
                [45, 92, 185, 193, 162][k as usize % 5],
                33 + k * 7 % 200,
                (k * 37) % 250 + 1,
                (k * 53) % 250 + 2
            );
            let ua = scan_uas[(k as usize) % scan_uas.len()];
            let who = Ident::failed_authn(&[&ip], ua);
            let n = 1 + (k % 3) as usize;
            for j in 0..n {
                let (path, res) = scan_paths[(k as usize + j * 2) % scan_paths.len()];
                let q = match res {
                    Some((res, verb)) => {
                        let mut q = PreReq::new(&who, verb, Obj::new("", "v1", res, "", "", ""), "");
                        q.uri = path.into();
                        q
                    }
                    None => PreReq::non_resource(&who, "get", path),
                };
                scan.push(q.level(Level::Request).unauthorized_no_credentials());
            }
        }
        self.push("scanners-401", 35, scan);

        // One misconfigured service account denied on a single URI.
        let legacy_pod = self.pod_of("legacy-reporter").clone();
        let legacy = self.pod_ident(r, &legacy_pod, "reporter/0.9.0 (linux/amd64) kubernetes/$Format");
        self.push(
            "forbidden-single-uri",
            12,
            vec![
                PreReq::new(
                    &legacy,
                    "get",
                    Obj::new("", "v1", "configmaps", "default", "reporter-config", ""),
                    "",
                )
                .forbidden(&legacy.username),
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn builds_deterministically() {
        let a = Cluster::new(&mut Rand::seed_from_u64(3), 1_767_225_600_000_000_000);
        let b = Cluster::new(&mut Rand::seed_from_u64(3), 1_767_225_600_000_000_000);
        assert_eq!(a.streams.len(), b.streams.len());
        assert_eq!(a.pods[5].name, b.pods[5].name);
        assert!(a.streams.iter().all(|s| !s.reqs.is_empty()));
    }
}
