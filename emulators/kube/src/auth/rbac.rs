//! The RBAC authorizer as the apiserver applies it: ClusterRoleBindings (cluster-wide) and the
//! RoleBindings of the request's namespace whose subjects match the user (User, Group, or
//! ServiceAccount by namespace and name), their Role/ClusterRole rules matched by verb, API group,
//! resource (`res`, `res/sub`, `*/sub`, `*`), resourceNames and nonResourceURLs. ClusterRole
//! aggregation is not implemented. The default roles for discovery and self-reviews are seeded.

use serde_json::{Value, json};

use super::{Attributes, User};
use crate::objects::{self, WriteOpts};
use crate::store::State;

const GROUP: &str = "rbac.authorization.k8s.io";

fn list<'a>(state: &'a State, key: &str, ns: Option<&'a str>) -> impl Iterator<Item = &'a Value> + 'a {
    state
        .objects
        .get(&format!("{GROUP}/{key}"))
        .into_iter()
        .flat_map(|m| m.iter())
        .filter(move |((o_ns, _), _)| ns.is_none_or(|n| n == o_ns))
        .map(|(_, o)| o.as_ref())
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn has(list: &[&str], want: &str) -> bool {
    list.iter().any(|i| *i == "*" || *i == want)
}

pub fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !has(&strs(&rule["verbs"]), &a.verb) {
        return false;
    }
    if !a.resource_request {
        return strs(&rule["nonResourceURLs"]).iter().any(|u| {
            *u == "*"
                || *u == a.path
                || u.strip_suffix('*')
                    .is_some_and(|prefix| a.path.starts_with(prefix))
        });
    }
    if !has(&strs(&rule["apiGroups"]), &a.group) {
        return false;
    }
    let combined = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resource_ok = strs(&rule["resources"]).iter().any(|r| {
        *r == "*" || *r == combined || (!a.subresource.is_empty() && *r == format!("*/{}", a.subresource))
    });
    let names = strs(&rule["resourceNames"]);
    resource_ok && (names.is_empty() || (!a.name.is_empty() && names.contains(&a.name.as_str())))
}

fn subject_matches(s: &Value, user: &User, binding_ns: &str) -> Option<String> {
    let name = s["name"].as_str().unwrap_or_default();
    match s["kind"].as_str() {
        Some("User") if name == user.name => Some(format!("User {name:?}")),
        Some("Group") if user.groups.iter().any(|g| g == name) => Some(format!("Group {name:?}")),
        Some("ServiceAccount") => {
            let ns = s["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            (user.name == format!("system:serviceaccount:{ns}:{name}"))
                .then(|| format!("ServiceAccount {:?}", format!("{name}/{ns}")))
        }
        _ => None,
    }
}

/// The rules every binding of `user` grants in `namespace` (cluster-wide ones too), each with
/// the binding that grants it; missing roles are reported as the apiserver words them.
pub fn rules_for(state: &State, user: &User, namespace: &str) -> (Vec<(String, Value)>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut collect = |binding: &Value, described: String, binding_ns: &str| {
        let role_ref = &binding["roleRef"];
        let role_name = role_ref["name"].as_str().unwrap_or_default();
        let role = match role_ref["kind"].as_str() {
            Some("ClusterRole") => state.get(&format!("{GROUP}/clusterroles"), "", role_name),
            _ => state.get(&format!("{GROUP}/roles"), binding_ns, role_name),
        };
        match role {
            Some(role) => {
                for rule in role["rules"].as_array().into_iter().flatten() {
                    rules.push((described.clone(), rule.clone()));
                }
            }
            None => errors.push(match role_ref["kind"].as_str() {
                Some("ClusterRole") => format!("clusterrole.{GROUP} {role_name:?} not found"),
                _ => format!("role.{GROUP} {role_name:?} not found"),
            }),
        }
    };
    for b in list(state, "clusterrolebindings", None) {
        for s in b["subjects"].as_array().into_iter().flatten() {
            if let Some(subject) = subject_matches(s, user, "") {
                let described = format!(
                    "ClusterRoleBinding {:?} of ClusterRole {:?} to {subject}",
                    b["metadata"]["name"].as_str().unwrap_or_default(),
                    b["roleRef"]["name"].as_str().unwrap_or_default()
                );
                collect(b, described, "");
                break;
            }
        }
    }
    if !namespace.is_empty() {
        for b in list(state, "rolebindings", Some(namespace)) {
            for s in b["subjects"].as_array().into_iter().flatten() {
                if let Some(subject) = subject_matches(s, user, namespace) {
                    let described = format!(
                        "RoleBinding {:?} of {} {:?} to {subject}",
                        format!(
                            "{}/{namespace}",
                            b["metadata"]["name"].as_str().unwrap_or_default()
                        ),
                        b["roleRef"]["kind"].as_str().unwrap_or_default(),
                        b["roleRef"]["name"].as_str().unwrap_or_default()
                    );
                    collect(b, described, namespace);
                    break;
                }
            }
        }
    }
    (rules, errors)
}

/// `(allowed, reason)` as the RBAC authorizer reports them.
pub fn authorize(state: &State, user: &User, attrs: &Attributes) -> (bool, String) {
    let (rules, errors) = rules_for(state, user, &attrs.namespace);
    if let Some((by, _)) = rules.iter().find(|(_, r)| rule_allows(r, attrs)) {
        return (true, format!("RBAC: allowed by {by}"));
    }
    // `utilerrors.NewAggregate(...).Error()`: one error bare, several in brackets.
    let reason = match errors.as_slice() {
        [] => String::new(),
        [one] => format!("RBAC: {one}"),
        many => format!("RBAC: [{}]", many.join(", ")),
    };
    (false, reason)
}

/// The bootstrap roles a fresh cluster has that matter here: cluster-admin for system:masters,
/// and discovery, health and self-review access for every authenticated user.
pub fn seed(state: &mut State) {
    let urls = json!([
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/"
    ]);
    let roles = [
        (
            "cluster-admin",
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            "system:masters",
        ),
        (
            "system:discovery",
            json!([{"nonResourceURLs": urls, "verbs": ["get"]}]),
            "system:authenticated",
        ),
        (
            "system:basic-user",
            json!([
                {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
                {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}
            ]),
            "system:authenticated",
        ),
        (
            "system:public-info-viewer",
            json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
            "system:authenticated",
        ),
    ];
    let meta = |name: &str| {
        json!({"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
               "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}})
    };
    for (name, rules, group) in roles {
        let (Some(role_def), Some(binding_def)) = (
            state.registry.get(GROUP, "v1", "clusterroles"),
            state.registry.get(GROUP, "v1", "clusterrolebindings"),
        ) else {
            return;
        };
        let role = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRole", "metadata": meta(name), "rules": rules});
        let binding = json!({"apiVersion": format!("{GROUP}/v1"), "kind": "ClusterRoleBinding", "metadata": meta(name),
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": group}]});
        let opts = WriteOpts::default();
        if let Err(e) = objects::create(state, &role_def, None, role, &opts)
            .and_then(|_| objects::create(state, &binding_def, None, binding, &opts))
        {
            tracing::warn!(error = %e, role = name, "could not seed a bootstrap role");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource_request: true,
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            name: name.into(),
            ..Attributes::default()
        }
    }

    #[test]
    fn rules_match_subresources_only_when_named_and_resource_names_only_by_name() {
        let rule = json!({"apiGroups": ["x.dev"], "resources": ["things"], "verbs": ["get", "patch"]});
        assert!(rule_allows(&rule, &attrs("get", "x.dev", "things", "", "a")));
        assert!(!rule_allows(
            &rule,
            &attrs("patch", "x.dev", "things", "status", "a")
        ));
        assert!(!rule_allows(&rule, &attrs("get", "", "things", "", "a")));
        let status = json!({"apiGroups": ["x.dev"], "resources": ["things/status", "*/finalizers"], "verbs": ["update"]});
        assert!(rule_allows(
            &status,
            &attrs("update", "x.dev", "things", "status", "a")
        ));
        assert!(rule_allows(
            &status,
            &attrs("update", "x.dev", "others", "finalizers", "a")
        ));
        let named = json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["creds"], "verbs": ["get", "create"]});
        assert!(rule_allows(&named, &attrs("get", "", "secrets", "", "creds")));
        assert!(!rule_allows(&named, &attrs("get", "", "secrets", "", "other")));
        assert!(
            !rule_allows(&named, &attrs("create", "", "secrets", "", "")),
            "create has no name to match"
        );
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_a_trailing_star() {
        let rule = json!({"nonResourceURLs": ["/healthz", "/apis/*"], "verbs": ["get"]});
        let get = |path: &str| Attributes {
            verb: "get".into(),
            path: path.into(),
            ..Attributes::default()
        };
        assert!(rule_allows(&rule, &get("/healthz")));
        assert!(rule_allows(&rule, &get("/apis/apps/v1")));
        assert!(!rule_allows(&rule, &get("/metrics")));
    }
}
