//! Pre-rendered requests: everything of an audit event except its id and timestamps, built once
//! (URI, user, object reference, status, bodies, annotations) so that emitting one is a handful of
//! copies. Also the URI and status helpers shared by background traffic and scenarios.

use std::rc::Rc;

use crate::audit::{AuditRec, Decision, Level, ObjRef, OwnedAudit, Stage, esc};
use crate::ident::Ident;

/// An object reference with owned strings.
#[derive(Clone, Debug, Default)]
pub struct Obj {
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub api_group: String,
    pub api_version: String,
    pub subresource: String,
}

impl Obj {
    /// `group` is "" for the core group; `version` e.g. "v1".
    pub fn new(group: &str, version: &str, resource: &str, ns: &str, name: &str, sub: &str) -> Obj {
        Obj {
            resource: resource.into(),
            namespace: ns.into(),
            name: name.into(),
            api_group: group.into(),
            api_version: version.into(),
            subresource: sub.into(),
        }
    }

    /// The request path (without query) of this object.
    pub fn path(&self) -> String {
        let mut p = if self.api_group.is_empty() {
            format!("/api/{}", self.api_version)
        } else {
            format!("/apis/{}/{}", self.api_group, self.api_version)
        };
        if !self.namespace.is_empty() {
            p.push_str("/namespaces/");
            p.push_str(&self.namespace);
        }
        // A namespace object itself: /api/v1/namespaces/<name>
        if self.resource == "namespaces" && self.namespace.is_empty() {
            p.push_str("/namespaces");
            if !self.name.is_empty() {
                p.push('/');
                p.push_str(&self.name);
            }
        } else {
            p.push('/');
            p.push_str(&self.resource);
            if !self.name.is_empty() {
                p.push('/');
                p.push_str(&self.name);
            }
        }
        if !self.subresource.is_empty() {
            p.push('/');
            p.push_str(&self.subresource);
        }
        p
    }

    fn as_ref(&self) -> ObjRef<'_> {
        ObjRef {
            resource: &self.resource,
            namespace: &self.namespace,
            name: &self.name,
            api_group: &self.api_group,
            api_version: &self.api_version,
            subresource: &self.subresource,
        }
    }
}

/// A request ready to emit.
#[derive(Clone, Debug)]
pub struct PreReq {
    pub level: Level,
    pub stage: Stage,
    pub verb: Rc<str>,
    pub uri: Rc<str>,
    pub user: Rc<str>,
    pub impersonated: Rc<str>,
    pub ips: Rc<str>,
    pub ua: Rc<str>,
    pub obj: Option<Rc<Obj>>,
    pub code: u16,
    pub status_extra: Rc<str>,
    pub req_obj: Rc<str>,
    pub resp_obj: Rc<str>,
    pub decision: Option<Decision>,
    pub reason: Rc<str>,
    pub extra_ann: Rc<str>,
    /// Latency range in microseconds.
    pub latency: (u32, u32),
    /// A watch: logged at ResponseStarted, completed minutes later.
    pub watch: bool,
}

fn empty() -> Rc<str> {
    Rc::from("")
}

/// The default status code of a verb.
pub fn ok_code(verb: &str) -> u16 {
    if verb == "create" { 201 } else { 200 }
}

impl PreReq {
    /// A successful, allowed Metadata-level request. `query` is appended to the object path.
    pub fn new(id: &Ident, verb: &str, obj: Obj, query: &str) -> PreReq {
        let uri = format!("{}{}", obj.path(), query);
        PreReq {
            level: Level::Metadata,
            stage: Stage::ResponseComplete,
            verb: verb.into(),
            uri: uri.into(),
            user: id.user_json.clone(),
            impersonated: empty(),
            ips: id.ips_json.clone(),
            ua: id.ua.clone(),
            obj: Some(Rc::new(obj)),
            code: ok_code(verb),
            status_extra: empty(),
            req_obj: empty(),
            resp_obj: empty(),
            decision: Some(Decision::Allow),
            reason: empty(),
            extra_ann: empty(),
            latency: (800, 12_000),
            watch: false,
        }
    }

    /// A request to a non-resource URL (`/healthz`, `/version`, `/metrics`).
    pub fn non_resource(id: &Ident, verb: &str, uri: &str) -> PreReq {
        let mut r = PreReq::new(id, verb, Obj::default(), "");
        r.obj = None;
        r.uri = uri.into();
        r
    }

    pub fn level(mut self, l: Level) -> Self {
        self.level = l;
        self
    }
    pub fn reason(mut self, r: &str) -> Self {
        self.reason = r.into();
        self
    }
    pub fn req_obj(mut self, s: &str) -> Self {
        self.req_obj = s.into();
        self
    }
    pub fn req_obj_rc(mut self, s: Rc<str>) -> Self {
        self.req_obj = s;
        self
    }
    pub fn resp_obj(mut self, s: &str) -> Self {
        self.resp_obj = s.into();
        self
    }
    pub fn resp_obj_rc(mut self, s: Rc<str>) -> Self {
        self.resp_obj = s;
        self
    }
    pub fn latency(mut self, lo_us: u32, hi_us: u32) -> Self {
        self.latency = (lo_us, hi_us.max(lo_us + 1));
        self
    }
    pub fn watch(mut self) -> Self {
        self.watch = true;
        self.stage = Stage::ResponseStarted;
        self
    }
    /// `kubectl --as=<user> --as-group=<group>`: the request runs as `user`.
    pub fn impersonating(mut self, user: &str, groups: &[&str]) -> Self {
        self.impersonated = format!(
            r#"{{"username":"{}","groups":{}}}"#,
            esc(user),
            crate::audit::json_str_array(groups)
        )
        .into();
        self
    }
    pub fn annotations(mut self, extra: &str) -> Self {
        self.extra_ann = extra.into();
        self
    }
    /// Stage `ResponseStarted` with code 101 (exec, attach, port-forward upgrades).
    pub fn upgraded(mut self) -> Self {
        self.stage = Stage::ResponseStarted;
        self.code = 101;
        self
    }

    /// Denied by the authorizer: HTTP 403 with the apiserver's Status body.
    pub fn forbidden(mut self, username: &str) -> Self {
        let o = self.obj.clone().unwrap_or_default();
        let res = if o.subresource.is_empty() {
            o.resource.clone()
        } else {
            format!("{}/{}", o.resource, o.subresource)
        };
        let group = &o.api_group;
        let scope = if o.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", o.namespace)
        };
        let verb = &*self.verb;
        let subject = if o.name.is_empty() {
            format!("{res} is forbidden")
        } else {
            format!("{res} \"{}\" is forbidden", o.name)
        };
        let msg = if self.obj.is_some() {
            format!(
                "{subject}: User \"{username}\" cannot {verb} resource \"{res}\" in API group \"{group}\" {scope}"
            )
        } else {
            format!(
                "forbidden: User \"{username}\" cannot {verb} path \"{}\"",
                self.uri
            )
        };
        let details = if self.obj.is_some() {
            if o.name.is_empty() {
                format!(r#""details":{{"group":"{group}","kind":"{}"}},"#, o.resource)
            } else {
                format!(
                    r#""details":{{"name":"{}","group":"{group}","kind":"{}"}},"#,
                    o.name, o.resource
                )
            }
        } else {
            String::new()
        };
        self.status_extra = format!(
            r#""status":"Failure","message":"{}","reason":"Forbidden",{details}"#,
            esc(&msg)
        )
        .into();
        self.code = 403;
        self.decision = Some(Decision::Forbid);
        self.reason = empty();
        self.resp_obj = empty();
        self.latency = (300, 2_500);
        self
    }

    /// Authentication failed: `user` is `{}` and the event is logged at ResponseStarted with 401.
    pub fn unauthorized(mut self) -> Self {
        self.status_extra = r#""message":"Authentication failed, attempted: bearer","#.into();
        self.code = 401;
        self.stage = Stage::ResponseStarted;
        self.decision = None;
        self.reason = empty();
        self.resp_obj = empty();
        self.req_obj = empty();
        self.latency = (100, 900);
        self
    }

    /// Authentication failed without any credentials (anonymous authentication disabled).
    pub fn unauthorized_no_credentials(self) -> Self {
        let mut q = self.unauthorized();
        q.status_extra = r#""message":"Authentication failed, no credentials provided","#.into();
        q
    }

    /// Object not found (after an allowed decision).
    pub fn not_found(mut self) -> Self {
        let o = self.obj.clone().unwrap_or_default();
        let msg = format!("{} \"{}\" not found", o.resource, o.name);
        self.status_extra = format!(
            r#""status":"Failure","message":"{}","reason":"NotFound","details":{{"name":"{}","group":"{}","kind":"{}"}},"#,
            esc(&msg),
            o.name,
            o.api_group,
            o.resource
        )
        .into();
        self.code = 404;
        self.resp_obj = empty();
        self
    }

    /// The borrowed record of this request at the given times.
    pub fn rec(&self, id: [u8; 16], received: i64, stage_ts: i64) -> AuditRec<'_> {
        AuditRec {
            level: self.level,
            stage: self.stage,
            audit_id: id,
            uri: &self.uri,
            verb: &self.verb,
            user: &self.user,
            impersonated: &self.impersonated,
            source_ips: &self.ips,
            user_agent: &self.ua,
            object_ref: self.obj.as_deref().map(Obj::as_ref),
            code: self.code,
            status_extra: &self.status_extra,
            request_object: if self.level == Level::Metadata {
                ""
            } else {
                &self.req_obj
            },
            response_object: if self.level == Level::RequestResponse {
                &self.resp_obj
            } else {
                ""
            },
            received,
            stage_ts,
            decision: self.decision,
            reason: &self.reason,
            extra_annotations: &self.extra_ann,
        }
    }

    /// An owned event of this request.
    pub fn owned(&self, id: [u8; 16], received: i64, stage_ts: i64) -> OwnedAudit {
        OwnedAudit::from_rec(&self.rec(id, received, stage_ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_statuses() {
        let o = Obj::new("", "v1", "pods", "shop", "p-1", "log");
        assert_eq!(o.path(), "/api/v1/namespaces/shop/pods/p-1/log");
        let o = Obj::new("rbac.authorization.k8s.io", "v1", "clusterroles", "", "", "");
        assert_eq!(o.path(), "/apis/rbac.authorization.k8s.io/v1/clusterroles");
        let o = Obj::new("", "v1", "namespaces", "", "kube-system", "");
        assert_eq!(o.path(), "/api/v1/namespaces/kube-system");
        let id = Ident::anonymous(&["1.2.3.4"], "curl/8.5.0");
        let r = PreReq::new(
            &id,
            "list",
            Obj::new("", "v1", "secrets", "kube-system", "", ""),
            "?limit=500",
        )
        .forbidden("system:anonymous");
        assert_eq!(&*r.uri, "/api/v1/namespaces/kube-system/secrets?limit=500");
        let mut out = Vec::new();
        crate::audit::write_line(&mut out, &mut Default::default(), &r.rec([1; 16], 0, 1000));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["responseStatus"]["code"], 403);
        assert_eq!(v["annotations"]["authorization.k8s.io/decision"], "forbid");
        assert!(
            v["responseStatus"]["message"]
                .as_str()
                .unwrap()
                .contains("cannot list resource")
        );
        let r =
            PreReq::non_resource(&Ident::failed_authn(&["1.2.3.4"], "x"), "get", "/version").unauthorized();
        out.clear();
        crate::audit::write_line(&mut out, &mut Default::default(), &r.rec([1; 16], 0, 1000));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["responseStatus"]["code"], 401);
        assert!(v.get("annotations").is_none());
        assert_eq!(v["stage"], "ResponseStarted");
    }
}
