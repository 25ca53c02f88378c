//! Request and response object bodies (as kube-apiserver logs them at `Request` and
//! `RequestResponse` level): leases, nodes, pods, endpoint slices, events, deployments, custom
//! resources, reviews and lists. Rendered once per cluster object and copied per event.

use std::fmt::Write;

/// Lease (`coordination.k8s.io/v1`).
pub fn lease(ns: &str, name: &str, holder: &str, uid: &str, rv: u64, renew: &str, duration: u32) -> String {
    format!(
        concat!(
            r#"{{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""uid":"{uid}","resourceVersion":"{rv}","creationTimestamp":"2025-11-02T08:14:51Z","managedFields":[{{"manager":"{holder_mgr}","#,
            r#""operation":"Update","apiVersion":"coordination.k8s.io/v1","time":"{renew_s}","fieldsType":"FieldsV1","fieldsV1":{{"f:spec":{{"#,
            r#""f:acquireTime":{{}},"f:holderIdentity":{{}},"f:leaseDurationSeconds":{{}},"f:leaseTransitions":{{}},"f:renewTime":{{}}}}}}}}]}},"#,
            r#""spec":{{"holderIdentity":"{holder}","leaseDurationSeconds":{duration},"acquireTime":"2025-11-02T08:14:51.000000Z","#,
            r#""renewTime":"{renew}","leaseTransitions":3}}}}"#
        ),
        name = name,
        ns = ns,
        uid = uid,
        rv = rv,
        holder = holder,
        holder_mgr = holder.split('_').next().unwrap_or(holder),
        renew = renew,
        renew_s = format!("{}Z", &renew[..19]),
        duration = duration,
    )
}

fn conditions(out: &mut String, ts: &str) {
    let conds = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        (
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure",
        ),
        (
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available",
        ),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ];
    out.push('[');
    for (i, (t, s, r, m)) in conds.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"lastHeartbeatTime":"{ts}","lastTransitionTime":"2025-11-02T08:15:20Z","message":"{m}","reason":"{r}","status":"{s}","type":"{t}"}}"#
        );
    }
    out.push(']');
}

const IMAGES: &[(&str, u64)] = &[
    (
        "registry.k8s.io/kube-proxy@sha256:5c8a7f3b2e91d64a0f7b1c3e9d2a4b6c8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b",
        30_153_011,
    ),
    (
        "quay.io/prometheus/node-exporter@sha256:4cb2b9019ae4c7a1d0e2f3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
        11_753_001,
    ),
    (
        "registry.corp.example/shop/checkout@sha256:9a8b7c6d5e4f30211f2e3d4c5b6a798897a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2",
        88_230_114,
    ),
    (
        "registry.corp.example/shop/catalog@sha256:1f2e3d4c5b6a79880a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f",
        91_002_871,
    ),
    (
        "docker.io/fluent/fluent-bit@sha256:6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e",
        32_414_993,
    ),
    (
        "registry.k8s.io/ingress-nginx/controller@sha256:2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c",
        105_421_339,
    ),
    (
        "quay.io/jetstack/cert-manager-controller@sha256:7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f",
        20_111_452,
    ),
    (
        "registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097",
        320_368,
    ),
];

/// Strategic-merge patch a kubelet sends to `nodes/status`.
pub fn node_status_patch(node: &str, ts: &str, with_images: bool) -> String {
    let mut s = String::with_capacity(4096);
    s.push_str(r#"{"status":{"$setElementOrder/conditions":[{"type":"MemoryPressure"},{"type":"DiskPressure"},{"type":"PIDPressure"},{"type":"Ready"}],"conditions":"#);
    conditions(&mut s, ts);
    if with_images {
        s.push_str(r#","images":["#);
        for (i, (img, size)) in IMAGES.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, r#"{{"names":["{img}"],"sizeBytes":{size}}}"#);
        }
        s.push(']');
    }
    let _ = write!(s, r#","nodeInfo":{{"bootID":"{node}-boot"}}}}}}"#);
    s
}

/// A full Node object (response of a status patch).
pub fn node(name: &str, ip: &str, uid: &str, rv: u64, ts: &str, zone: &str) -> String {
    let mut s = String::with_capacity(8192);
    let _ = write!(
        s,
        concat!(
            r#"{{"kind":"Node","apiVersion":"v1","metadata":{{"name":"{name}","uid":"{uid}","resourceVersion":"{rv}","#,
            r#""creationTimestamp":"2025-11-02T08:15:02Z","labels":{{"beta.kubernetes.io/arch":"amd64","beta.kubernetes.io/os":"linux","#,
            r#""kubernetes.io/arch":"amd64","kubernetes.io/hostname":"{name}","kubernetes.io/os":"linux","#,
            r#""node.kubernetes.io/instance-type":"m6i.2xlarge","topology.kubernetes.io/region":"eu-west-1","#,
            r#""topology.kubernetes.io/zone":"{zone}"}},"annotations":{{"node.alpha.kubernetes.io/ttl":"0","#,
            r#""volumes.kubernetes.io/controller-managed-attach-detach":"true"}}}},"spec":{{"podCIDR":"10.244.3.0/24","#,
            r#""podCIDRs":["10.244.3.0/24"],"providerID":"aws:///{zone}/i-0{uid8}"}},"status":{{"capacity":{{"cpu":"8","#,
            r#""ephemeral-storage":"104845292Ki","hugepages-1Gi":"0","hugepages-2Mi":"0","memory":"32386228Ki","pods":"110"}},"#,
            r#""allocatable":{{"cpu":"7910m","ephemeral-storage":"95551679124","hugepages-1Gi":"0","hugepages-2Mi":"0","#,
            r#""memory":"31369396Ki","pods":"110"}},"conditions":"#
        ),
        name = name,
        uid = uid,
        rv = rv,
        zone = zone,
        uid8 = &uid[..8],
    );
    conditions(&mut s, ts);
    let _ = write!(
        s,
        concat!(
            r#","addresses":[{{"type":"InternalIP","address":"{ip}"}},{{"type":"Hostname","address":"{name}"}}],"#,
            r#""daemonEndpoints":{{"kubeletEndpoint":{{"Port":10250}}}},"nodeInfo":{{"machineID":"ec2{uid32}","#,
            r#""systemUUID":"ec2{uid32}","bootID":"{uid}","kernelVersion":"6.1.112-124.190.amzn2023.x86_64","#,
            r#""osImage":"Amazon Linux 2023.6.20241031","containerRuntimeVersion":"containerd://1.7.23","#,
            r#""kubeletVersion":"v1.31.2","kubeProxyVersion":"v1.31.2","operatingSystem":"linux","architecture":"amd64"}},"images":["#
        ),
        ip = ip,
        name = name,
        uid = uid,
        uid32 = uid.replace('-', "").get(3..).unwrap_or(""),
    );
    for (i, (img, size)) in IMAGES.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let tag = img.split('@').next().unwrap_or(img);
        let _ = write!(s, r#"{{"names":["{img}","{tag}:latest"],"sizeBytes":{size}}}"#);
    }
    s.push_str("]}}");
    s
}

/// The facts of one pod needed to render it.
pub struct PodSpec<'a> {
    pub ns: &'a str,
    pub name: &'a str,
    pub app: &'a str,
    pub uid: &'a str,
    pub image: &'a str,
    pub sa: &'a str,
    pub node: &'a str,
    pub ip: &'a str,
    pub host_ip: &'a str,
    pub rs_hash: &'a str,
}

/// A Pod object (create request / response).
pub fn pod(p: &PodSpec<'_>, with_status: bool) -> String {
    let mut s = String::with_capacity(6144);
    let _ = write!(
        s,
        concat!(
            r#"{{"kind":"Pod","apiVersion":"v1","metadata":{{"name":"{name}","generateName":"{app}-{rs}-","namespace":"{ns}","#,
            r#""uid":"{uid}","resourceVersion":"48213377","creationTimestamp":"2025-11-20T13:02:41Z","#,
            r#""labels":{{"app.kubernetes.io/name":"{app}","app.kubernetes.io/part-of":"{ns}","pod-template-hash":"{rs}"}},"#,
            r#""annotations":{{"kubectl.kubernetes.io/restartedAt":"2025-11-20T13:02:35Z","#,
            r#""prometheus.io/port":"9090","prometheus.io/scrape":"true"}},"ownerReferences":[{{"apiVersion":"apps/v1","#,
            r#""kind":"ReplicaSet","name":"{app}-{rs}","uid":"{uid}","controller":true,"blockOwnerDeletion":true}}]}},"#,
            r#""spec":{{"volumes":[{{"name":"config","configMap":{{"name":"{app}-config","defaultMode":420}}}},"#,
            r#"{{"name":"kube-api-access-x8k2p","projected":{{"sources":[{{"serviceAccountToken":{{"expirationSeconds":3607,"path":"token"}}}},"#,
            r#"{{"configMap":{{"name":"kube-root-ca.crt","items":[{{"key":"ca.crt","path":"ca.crt"}}]}}}},"#,
            r#"{{"downwardAPI":{{"items":[{{"path":"namespace","fieldRef":{{"apiVersion":"v1","fieldPath":"metadata.namespace"}}}}]}}}}],"#,
            r#""defaultMode":420}}}}],"containers":[{{"name":"{app}","image":"{image}","ports":[{{"name":"http","containerPort":8080,"#,
            r#""protocol":"TCP"}},{{"name":"metrics","containerPort":9090,"protocol":"TCP"}}],"env":[{{"name":"APP_ENV","value":"production"}},"#,
            r#"{{"name":"LOG_LEVEL","value":"info"}},{{"name":"POD_NAME","valueFrom":{{"fieldRef":{{"apiVersion":"v1","fieldPath":"metadata.name"}}}}}},"#,
            r#"{{"name":"POD_NAMESPACE","valueFrom":{{"fieldRef":{{"apiVersion":"v1","fieldPath":"metadata.namespace"}}}}}},"#,
            r#"{{"name":"OTEL_EXPORTER_OTLP_ENDPOINT","value":"http://otel-collector.monitoring.svc:4317"}}],"#,
            r#""resources":{{"limits":{{"cpu":"1","memory":"512Mi"}},"requests":{{"cpu":"250m","memory":"256Mi"}}}},"#,
            r#""volumeMounts":[{{"name":"config","readOnly":true,"mountPath":"/etc/{app}"}},{{"name":"kube-api-access-x8k2p","#,
            r#""readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}}],"#,
            r#""livenessProbe":{{"httpGet":{{"path":"/healthz","port":"http","scheme":"HTTP"}},"initialDelaySeconds":10,"#,
            r#""timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3}},"#,
            r#""readinessProbe":{{"httpGet":{{"path":"/ready","port":"http","scheme":"HTTP"}},"timeoutSeconds":1,"periodSeconds":5,"#,
            r#""successThreshold":1,"failureThreshold":3}},"terminationMessagePath":"/dev/termination-log","#,
            r#""terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{{"capabilities":{{"drop":["ALL"]}},"#,
            r#""runAsNonRoot":true,"readOnlyRootFilesystem":true,"allowPrivilegeEscalation":false}}}}],"restartPolicy":"Always","#,
            r#""terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"{sa}","serviceAccount":"{sa}","#,
            r#""nodeName":"{node}","securityContext":{{"seccompProfile":{{"type":"RuntimeDefault"}}}},"schedulerName":"default-scheduler","#,
            r#""tolerations":[{{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}},"#,
            r#"{{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}}],"#,
            r#""priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}}"#
        ),
        name = p.name,
        app = p.app,
        rs = p.rs_hash,
        ns = p.ns,
        uid = p.uid,
        image = p.image,
        sa = p.sa,
        node = p.node,
    );
    if with_status {
        let _ = write!(
            s,
            concat!(
                r#","status":{{"phase":"Running","conditions":[{{"type":"PodReadyToStartContainers","status":"True","#,
                r#""lastProbeTime":null,"lastTransitionTime":"2025-11-20T13:02:44Z"}},{{"type":"Initialized","status":"True","#,
                r#""lastProbeTime":null,"lastTransitionTime":"2025-11-20T13:02:41Z"}},{{"type":"Ready","status":"True","#,
                r#""lastProbeTime":null,"lastTransitionTime":"2025-11-20T13:02:57Z"}},{{"type":"ContainersReady","status":"True","#,
                r#""lastProbeTime":null,"lastTransitionTime":"2025-11-20T13:02:57Z"}},{{"type":"PodScheduled","status":"True","#,
                r#""lastProbeTime":null,"lastTransitionTime":"2025-11-20T13:02:41Z"}}],"hostIP":"{host_ip}","hostIPs":[{{"ip":"{host_ip}"}}],"#,
                r#""podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],"startTime":"2025-11-20T13:02:41Z","containerStatuses":[{{"name":"{app}","#,
                r#""state":{{"running":{{"startedAt":"2025-11-20T13:02:43Z"}}}},"lastState":{{}},"ready":true,"restartCount":0,"#,
                r#""image":"{image}","imageID":"{image}@sha256:0d4c5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d","#,
                r#""containerID":"containerd://{cid}","started":true}}],"qosClass":"Burstable"}}"#
            ),
            host_ip = p.host_ip,
            ip = p.ip,
            app = p.app,
            image = p.image,
            cid = container_id(p.uid),
        );
    }
    s.push('}');
    s
}

/// Deterministic 64-hex container id from a pod uid.
pub fn container_id(uid: &str) -> String {
    let hex: String = uid.chars().filter(|c| *c != '-').collect();
    let mut s = String::with_capacity(64);
    while s.len() < 64 {
        s.push_str(&hex);
    }
    s.truncate(64);
    s
}

/// Status patch a kubelet sends to `pods/status`.
pub fn pod_status_patch(p: &PodSpec<'_>, ts: &str) -> String {
    format!(
        concat!(
            r#"{{"metadata":{{"uid":"{uid}"}},"status":{{"$setElementOrder/conditions":[{{"type":"PodReadyToStartContainers"}},"#,
            r#"{{"type":"Initialized"}},{{"type":"Ready"}},{{"type":"ContainersReady"}},{{"type":"PodScheduled"}}],"#,
            r#""conditions":[{{"lastTransitionTime":"{ts}","status":"True","type":"Ready"}},{{"lastTransitionTime":"{ts}","#,
            r#""status":"True","type":"ContainersReady"}}],"containerStatuses":[{{"containerID":"containerd://{cid}","#,
            r#""image":"{image}","imageID":"{image}@sha256:0d4c5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d","#,
            r#""lastState":{{"terminated":{{"containerID":"containerd://{cid}","exitCode":137,"finishedAt":"{ts}","#,
            r#""reason":"OOMKilled","startedAt":"2025-11-20T13:02:43Z"}}}},"name":"{app}","ready":true,"restartCount":1,"#,
            r#""started":true,"state":{{"running":{{"startedAt":"{ts}"}}}}}}]}}}}"#
        ),
        uid = p.uid,
        ts = ts,
        cid = container_id(p.uid),
        image = p.image,
        app = p.app,
    )
}

/// An EndpointSlice with `n` endpoints.
pub fn endpoint_slice(
    ns: &str,
    svc: &str,
    suffix: &str,
    ips: &[String],
    nodes: &[String],
    rv: u64,
) -> String {
    let mut s = String::with_capacity(2048);
    let _ = write!(
        s,
        concat!(
            r#"{{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{{"name":"{svc}-{suffix}","#,
            r#""generateName":"{svc}-","namespace":"{ns}","resourceVersion":"{rv}","creationTimestamp":"2025-11-02T09:01:12Z","#,
            r#""labels":{{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io","#,
            r#""kubernetes.io/service-name":"{svc}"}},"ownerReferences":[{{"apiVersion":"v1","kind":"Service","name":"{svc}","#,
            r#""uid":"2f1c9a4e-3b7d-4e8f-9a1c-5d6e7f8a9b0c","controller":true,"blockOwnerDeletion":true}}]}},"#,
            r#""addressType":"IPv4","endpoints":["#
        ),
        svc = svc,
        suffix = suffix,
        ns = ns,
        rv = rv,
    );
    for (i, ip) in ips.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let node = &nodes[i % nodes.len().max(1)];
        let _ = write!(
            s,
            concat!(
                r#"{{"addresses":["{ip}"],"conditions":{{"ready":true,"serving":true,"terminating":false}},"#,
                r#""targetRef":{{"kind":"Pod","namespace":"{ns}","name":"{svc}-pod-{i}"}},"nodeName":"{node}","zone":"eu-west-1a"}}"#
            ),
            ip = ip,
            ns = ns,
            svc = svc,
            i = i,
            node = node,
        );
    }
    s.push_str(r#"],"ports":[{"name":"http","protocol":"TCP","port":8080}]}"#);
    s
}

/// A core/v1 Event.
pub fn event(
    ns: &str,
    obj_kind: &str,
    obj_name: &str,
    reason: &str,
    message: &str,
    source: &str,
    ts: &str,
) -> String {
    format!(
        concat!(
            r#"{{"kind":"Event","apiVersion":"v1","metadata":{{"name":"{obj}.18a7c2f9e4b3d1a0","namespace":"{ns}","#,
            r#""creationTimestamp":null}},"involvedObject":{{"kind":"{kind}","namespace":"{ns}","name":"{obj}","#,
            r#""apiVersion":"v1"}},"reason":"{reason}","message":"{message}","source":{{"component":"{source}"}},"#,
            r#""firstTimestamp":"{ts}","lastTimestamp":"{ts}","count":1,"type":"Normal","eventTime":null,"#,
            r#""reportingComponent":"{source}","reportingInstance":""}}"#
        ),
        obj = obj_name,
        ns = ns,
        kind = obj_kind,
        reason = reason,
        message = message,
        source = source,
        ts = ts,
    )
}

/// Deployment with status (response of a status update or an apply).
pub fn deployment(ns: &str, name: &str, image: &str, replicas: u32, rv: u64) -> String {
    format!(
        concat!(
            r#"{{"kind":"Deployment","apiVersion":"apps/v1","metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""uid":"6b1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f","resourceVersion":"{rv}","generation":42,"#,
            r#""creationTimestamp":"2025-06-11T10:21:37Z","labels":{{"app.kubernetes.io/name":"{name}"}},"#,
            r#""annotations":{{"deployment.kubernetes.io/revision":"42"}}}},"spec":{{"replicas":{replicas},"#,
            r#""selector":{{"matchLabels":{{"app.kubernetes.io/name":"{name}"}}}},"template":{{"metadata":{{"creationTimestamp":null,"#,
            r#""labels":{{"app.kubernetes.io/name":"{name}"}}}},"spec":{{"containers":[{{"name":"{name}","image":"{image}","#,
            r#""ports":[{{"name":"http","containerPort":8080,"protocol":"TCP"}}],"resources":{{"limits":{{"cpu":"1","memory":"512Mi"}},"#,
            r#""requests":{{"cpu":"250m","memory":"256Mi"}}}},"terminationMessagePath":"/dev/termination-log","#,
            r#""terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}}],"restartPolicy":"Always","#,
            r#""terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"{name}","#,
            r#""securityContext":{{}},"schedulerName":"default-scheduler"}}}},"strategy":{{"type":"RollingUpdate","#,
            r#""rollingUpdate":{{"maxUnavailable":"25%","maxSurge":"25%"}}}},"revisionHistoryLimit":10,"progressDeadlineSeconds":600}},"#,
            r#""status":{{"observedGeneration":42,"replicas":{replicas},"updatedReplicas":{replicas},"readyReplicas":{replicas},"#,
            r#""availableReplicas":{replicas},"conditions":[{{"type":"Available","status":"True","#,
            r#""lastUpdateTime":"2025-11-20T13:03:01Z","lastTransitionTime":"2025-11-20T13:03:01Z","reason":"MinimumReplicasAvailable","#,
            r#""message":"Deployment has minimum availability."}},{{"type":"Progressing","status":"True","#,
            r#""lastUpdateTime":"2025-11-20T13:03:01Z","lastTransitionTime":"2025-06-11T10:21:37Z","reason":"NewReplicaSetAvailable","#,
            r#""message":"ReplicaSet \"{name}-7d9f8b6c5d\" has successfully progressed."}}]}}}}"#
        ),
        ns = ns,
        name = name,
        image = image,
        replicas = replicas,
        rv = rv,
    )
}

/// A custom resource status update (cert-manager Certificate, Argo CD Application, ...).
pub fn custom_status(
    api_version: &str,
    kind: &str,
    ns: &str,
    name: &str,
    rv: u64,
    ts: &str,
    pad: usize,
) -> String {
    let mut s = format!(
        concat!(
            r#"{{"apiVersion":"{av}","kind":"{kind}","metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""uid":"9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","resourceVersion":"{rv}","generation":7,"#,
            r#""creationTimestamp":"2025-09-03T16:44:09Z"}},"status":{{"conditions":[{{"type":"Ready","status":"True","#,
            r#""lastTransitionTime":"{ts}","reason":"Reconciled","message":"Reconciliation succeeded","observedGeneration":7}}],"#,
            r#""observedGeneration":7,"lastHandledReconcileAt":"{ts}","history":["#
        ),
        av = api_version,
        kind = kind,
        name = name,
        ns = ns,
        rv = rv,
        ts = ts,
    );
    for i in 0..pad {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"revision":"main@sha1:{i:04x}e3b0c44298fc1c149afbf4c8996fb92427ae41","deployedAt":"{ts}","status":"Succeeded"}}"#
        );
    }
    s.push_str("]}}");
    s
}

/// TokenReview request or response.
pub fn token_review(user: &str, groups: &str, with_status: bool) -> String {
    if with_status {
        format!(
            concat!(
                r#"{{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{{"creationTimestamp":null}},"#,
                r#""spec":{{"token":"eyJhbGciOiJSUzI1NiIsImtpZCI6IjN3NlZ4ZkJ...","audiences":["https://kubernetes.default.svc"]}},"#,
                r#""status":{{"authenticated":true,"user":{{"username":"{user}","groups":{groups}}},"#,
                r#""audiences":["https://kubernetes.default.svc"]}}}}"#
            ),
            user = user,
            groups = groups,
        )
    } else {
        concat!(
            r#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"#,
            r#""spec":{"token":"eyJhbGciOiJSUzI1NiIsImtpZCI6IjN3NlZ4ZkJ...","audiences":["https://kubernetes.default.svc"]},"status":{}}"#
        )
        .to_string()
    }
}

/// SubjectAccessReview (delegated authorization of an aggregated API server).
pub fn subject_access_review(user: &str, verb: &str, resource: &str, allowed: bool) -> String {
    format!(
        concat!(
            r#"{{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{{"creationTimestamp":null}},"#,
            r#""spec":{{"resourceAttributes":{{"verb":"{verb}","group":"metrics.k8s.io","version":"v1beta1","#,
            r#""resource":"{resource}"}},"user":"{user}","groups":["system:authenticated"]}},"status":{{"allowed":{allowed},"#,
            r#""reason":"RBAC: allowed by ClusterRoleBinding \"system:aggregated-metrics-reader\""}}}}"#
        ),
        verb = verb,
        resource = resource,
        user = user,
        allowed = allowed,
    )
}

/// A PodList with the given pods rendered in full (the long tail of audit line sizes).
pub fn pod_list(items: &[String], rv: u64) -> String {
    let mut s = String::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 128);
    let _ = write!(
        s,
        r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"{rv}"}},"items":["#
    );
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(it);
    }
    s.push_str("]}");
    s
}

/// A ConfigMap.
pub fn config_map(ns: &str, name: &str, lines: usize) -> String {
    let mut data = String::new();
    for i in 0..lines {
        let _ = write!(data, "feature_{i}: enabled\\nthreshold_{i}: {}\\n", 100 + i * 7);
    }
    format!(
        concat!(
            r#"{{"kind":"ConfigMap","apiVersion":"v1","metadata":{{"name":"{name}","namespace":"{ns}","#,
            r#""uid":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","resourceVersion":"39120443","creationTimestamp":"2025-08-19T07:12:55Z"}},"#,
            r#""data":{{"config.yaml":"{data}"}}}}"#
        ),
        name = name,
        ns = ns,
        data = data,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_valid_json() {
        let p = PodSpec {
            ns: "shop",
            name: "checkout-7d9f8b6c5d-x2k4q",
            app: "checkout",
            uid: "11111111-2222-4333-8444-555555555555",
            image: "registry.corp.example/shop/checkout:2.14.1",
            sa: "checkout",
            node: "prod-worker-01",
            ip: "10.244.1.7",
            host_ip: "10.0.1.10",
            rs_hash: "7d9f8b6c5d",
        };
        let ts = "2026-01-01T00:00:00Z";
        let all = [
            lease(
                "kube-node-lease",
                "n1",
                "n1",
                "u",
                5,
                "2026-01-01T00:00:00.000000Z",
                40,
            ),
            node_status_patch("n1", ts, true),
            node(
                "n1",
                "10.0.1.1",
                "11111111-2222-4333-8444-555555555555",
                9,
                ts,
                "eu-west-1a",
            ),
            pod(&p, true),
            pod(&p, false),
            pod_status_patch(&p, ts),
            endpoint_slice(
                "shop",
                "checkout",
                "abcde",
                &["10.244.1.7".into()],
                &["n1".into()],
                3,
            ),
            event(
                "shop",
                "Pod",
                "p",
                "Pulled",
                "Container image already present",
                "kubelet",
                ts,
            ),
            deployment("shop", "checkout", "img:1", 3, 7),
            custom_status("cert-manager.io/v1", "Certificate", "shop", "tls", 3, ts, 3),
            token_review("u", r#"["a"]"#, true),
            token_review("u", "[]", false),
            subject_access_review("u", "get", "pods", true),
            pod_list(&[pod(&p, true), pod(&p, true)], 5),
            config_map("shop", "cm", 3),
        ];
        for b in all {
            let v: serde_json::Value = serde_json::from_str(&b).unwrap_or_else(|e| panic!("{e}: {b}"));
            assert!(v.is_object());
        }
    }
}
