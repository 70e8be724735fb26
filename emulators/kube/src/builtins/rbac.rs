//! RBAC objects: `ValidatePolicyRule`, the roleRef/subject rules and defaults, and `roleRef`
//! immutability on bindings.

use serde_json::{Value, json};

use super::{default, invalid, required, unsupported};
use crate::error::Cause;
use crate::registry::ResourceDef;

pub const GROUP: &str = "rbac.authorization.k8s.io";

fn go_strings(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{:?}", s.as_str().unwrap_or_default()))
        .collect();
    format!("[]string{{{}}}", items.join(", "))
}

fn non_empty(v: &Value) -> bool {
    v.as_array().is_some_and(|a| !a.is_empty())
}

pub fn prepare(def: &ResourceDef, object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    match def.kind.as_str() {
        "Role" | "ClusterRole" => {
            let namespaced = def.kind == "Role";
            for (i, rule) in object["rules"].as_array().into_iter().flatten().enumerate() {
                policy_rule(rule, namespaced, &format!("rules[{i}]"), causes);
            }
        }
        "RoleBinding" | "ClusterRoleBinding" => binding(def, object, old, causes),
        _ => {}
    }
}

fn policy_rule(rule: &Value, namespaced: bool, at: &str, causes: &mut Vec<Cause>) {
    if !non_empty(&rule["verbs"]) {
        causes.push(required(
            &format!("{at}.verbs"),
            "verbs must contain at least one value",
        ));
    }
    if non_empty(&rule["nonResourceURLs"]) {
        let urls = go_strings(&rule["nonResourceURLs"]);
        if namespaced {
            causes.push(invalid(
                &format!("{at}.nonResourceURLs"),
                &urls,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if non_empty(&rule["apiGroups"]) || non_empty(&rule["resources"]) || non_empty(&rule["resourceNames"])
        {
            causes.push(invalid(
                &format!("{at}.nonResourceURLs"),
                &urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if !non_empty(&rule["apiGroups"]) {
        causes.push(required(
            &format!("{at}.apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if !non_empty(&rule["resources"]) {
        causes.push(required(
            &format!("{at}.resources"),
            "resource rules must supply at least one resource",
        ));
    }
}

fn binding(def: &ResourceDef, object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    if object["roleRef"].is_object() {
        default(&mut object["roleRef"], "apiGroup", json!(GROUP));
    }
    for subject in object["subjects"].as_array_mut().into_iter().flatten() {
        let group = if subject["kind"] == "ServiceAccount" {
            ""
        } else {
            GROUP
        };
        default(subject, "apiGroup", json!(group));
    }
    let role_ref = &object["roleRef"];
    let kinds: &[&str] = if def.kind == "RoleBinding" {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if role_ref["apiGroup"] != GROUP {
        causes.push(unsupported("roleRef.apiGroup", &role_ref["apiGroup"], &[GROUP]));
    }
    if !role_ref["kind"].as_str().is_some_and(|k| kinds.contains(&k)) {
        causes.push(unsupported("roleRef.kind", &role_ref["kind"], kinds));
    }
    if role_ref["name"].as_str().is_none_or(str::is_empty) {
        causes.push(required("roleRef.name", ""));
    }
    for (i, s) in object["subjects"].as_array().into_iter().flatten().enumerate() {
        let at = format!("subjects[{i}]");
        if s["name"].as_str().is_none_or(str::is_empty) {
            causes.push(required(&format!("{at}.name"), ""));
        }
        match s["kind"].as_str() {
            Some("ServiceAccount") => {
                if s["apiGroup"] != "" {
                    causes.push(unsupported(&format!("{at}.apiGroup"), &s["apiGroup"], &[""]));
                }
                if def.kind == "ClusterRoleBinding" && s["namespace"].as_str().is_none_or(str::is_empty) {
                    causes.push(required(&format!("{at}.namespace"), ""));
                }
            }
            Some("User" | "Group") => {
                if s["apiGroup"] != GROUP {
                    causes.push(unsupported(&format!("{at}.apiGroup"), &s["apiGroup"], &[GROUP]));
                }
            }
            _ => causes.push(unsupported(
                &format!("{at}.kind"),
                &s["kind"],
                &["ServiceAccount", "User", "Group"],
            )),
        }
    }
    if let Some(old) = old
        && old["roleRef"] != object["roleRef"]
    {
        let r = &object["roleRef"];
        let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        causes.push(invalid(
            "roleRef",
            &format!(
                "rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}",
                text("apiGroup"),
                text("kind"),
                text("name")
            ),
            "cannot change roleRef",
        ));
    }
}
