//! Identities as kube-apiserver records them: the `user` object (username, uid, groups, extra with
//! the bound service-account token claims), the `sourceIPs` array and the user agent, each kept
//! as ready-to-copy JSON text.

use std::rc::Rc;

use crate::audit::{esc, json_str_array};

/// Who makes a request, from where, with which client.
#[derive(Clone, Debug)]
pub struct Ident {
    /// The username (unescaped; empty for an unauthenticated request).
    pub username: String,
    /// The `user` object as JSON text.
    pub user_json: Rc<str>,
    /// The `sourceIPs` array as JSON text.
    pub ips_json: Rc<str>,
    /// The first source IP.
    pub ip: String,
    /// Escaped user agent.
    pub ua: Rc<str>,
    /// Bound pod name of a service-account token (empty otherwise).
    pub pod: String,
}

/// Facts of the pod a projected service-account token was issued for.
pub struct PodBinding<'a> {
    pub pod: &'a str,
    pub pod_uid: &'a str,
    pub node: &'a str,
    pub node_uid: &'a str,
    pub jti: &'a str,
}

impl Ident {
    fn make(username: &str, user_json: String, ips: &[&str], ua: &str, pod: &str) -> Ident {
        Ident {
            username: username.to_string(),
            user_json: user_json.into(),
            ips_json: json_str_array(ips).into(),
            ip: ips.first().map(|s| s.to_string()).unwrap_or_default(),
            ua: esc(ua).into(),
            pod: pod.to_string(),
        }
    }

    /// A user with a username, optional uid and groups (humans, certificates, kubelets).
    pub fn user(username: &str, uid: &str, groups: &[&str], ips: &[&str], ua: &str) -> Ident {
        let mut j = format!(r#"{{"username":"{}""#, esc(username));
        if !uid.is_empty() {
            j.push_str(&format!(r#","uid":"{}""#, esc(uid)));
        }
        j.push_str(&format!(r#","groups":{}}}"#, json_str_array(groups)));
        Ident::make(username, j, ips, ua, "")
    }

    /// A service account, optionally with a projected token bound to a pod.
    pub fn service_account(
        ns: &str,
        name: &str,
        uid: &str,
        bound: Option<PodBinding<'_>>,
        ips: &[&str],
        ua: &str,
    ) -> Ident {
        let username = format!("system:serviceaccount:{ns}:{name}");
        let groups_ns = format!("system:serviceaccounts:{ns}");
        let mut j = format!(
            r#"{{"username":"{username}","uid":"{uid}","groups":{}"#,
            json_str_array(&["system:serviceaccounts", &groups_ns, "system:authenticated"])
        );
        let mut pod = String::new();
        if let Some(b) = bound {
            j.push_str(&format!(
                concat!(
                    r#","extra":{{"authentication.kubernetes.io/credential-id":["JTI={}"],"#,
                    r#""authentication.kubernetes.io/node-name":["{}"],"authentication.kubernetes.io/node-uid":["{}"],"#,
                    r#""authentication.kubernetes.io/pod-name":["{}"],"authentication.kubernetes.io/pod-uid":["{}"]}}"#
                ),
                b.jti, b.node, b.node_uid, b.pod, b.pod_uid
            ));
            pod = b.pod.to_string();
        }
        j.push('}');
        Ident::make(&username, j, ips, ua, &pod)
    }

    /// The unauthenticated `system:anonymous` user.
    pub fn anonymous(ips: &[&str], ua: &str) -> Ident {
        Ident::make(
            "system:anonymous",
            r#"{"username":"system:anonymous","groups":["system:unauthenticated"]}"#.to_string(),
            ips,
            ua,
            "",
        )
    }

    /// A request whose authentication failed: kube-apiserver logs an empty `user` object.
    pub fn failed_authn(ips: &[&str], ua: &str) -> Ident {
        Ident::make("", "{}".to_string(), ips, ua, "")
    }
}

/// Escaped RBAC allow reason.
pub fn rbac_reason(binding_kind: &str, binding: &str, role_kind: &str, role: &str, subject: &str) -> String {
    esc(&format!(
        "RBAC: allowed by {binding_kind} \"{binding}\" of {role_kind} \"{role}\" to {subject}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_objects_are_json() {
        let sa = Ident::service_account(
            "shop",
            "checkout",
            "u-1",
            Some(PodBinding {
                pod: "p",
                pod_uid: "pu",
                node: "n",
                node_uid: "nu",
                jti: "j",
            }),
            &["10.244.1.2"],
            "curl/8.5.0",
        );
        let v: serde_json::Value = serde_json::from_str(&sa.user_json).unwrap();
        assert_eq!(v["extra"]["authentication.kubernetes.io/pod-name"][0], "p");
        assert_eq!(v["username"], "system:serviceaccount:shop:checkout");
        let h = Ident::user(
            "alice@corp.example",
            "",
            &["dev", "system:authenticated"],
            &["1.2.3.4", "10.0.0.1"],
            "k",
        );
        let v: serde_json::Value = serde_json::from_str(&h.user_json).unwrap();
        assert!(v.get("uid").is_none());
        let ips: serde_json::Value = serde_json::from_str(&h.ips_json).unwrap();
        assert_eq!(ips.as_array().unwrap().len(), 2);
        assert_eq!(&*Ident::failed_authn(&["1.1.1.1"], "x").user_json, "{}");
        assert!(
            rbac_reason("ClusterRoleBinding", "b", "ClusterRole", "r", "User \"u\"").contains("\\\"b\\\"")
        );
    }
}
