//! Validation details of kube-apiserver v1.31 that are not about one kind's spec: object names
//! (RFC 1123 subdomain, label or path segment, per kind), which kinds carry `metadata.generation`,
//! Secret `type` defaulting and immutability, and immutable ConfigMaps/Secrets.

use serde_json::{Value, json};

use crate::error::{ApiError, Cause};
use crate::registry::ResourceDef;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Subdomain,
    Label,
    PathSegment,
}

fn name_rule(def: &ResourceDef) -> NameRule {
    match (def.custom, def.group.as_str(), def.plural.as_str()) {
        (false, "", "namespaces" | "services") => NameRule::Label,
        (false, "rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The messages the apiserver's name validation gives for `name` under the kind's rule.
fn name_problems(rule: NameRule, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match rule {
        NameRule::Subdomain => {
            if name.len() > 253 {
                out.push("must be no more than 253 characters".to_string());
            }
            if !name.split('.').all(is_label) {
                out.push(SUBDOMAIN_MSG.to_string());
            }
        }
        NameRule::Label => {
            if name.len() > 63 {
                out.push("must be no more than 63 characters".to_string());
            }
            if !is_label(name) {
                out.push(LABEL_MSG.to_string());
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                out.push(format!("may not be '{name}'"));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    out.push(format!("may not contain '{bad}'"));
                }
            }
        }
    }
    out
}

/// `metadata.name` of a new object.
pub fn check_name(def: &ResourceDef, name: &str) -> Result<(), ApiError> {
    let causes: Vec<Cause> = name_problems(name_rule(def), name)
        .into_iter()
        .map(|problem| Cause {
            reason: "FieldValueInvalid",
            message: format!("metadata.name: Invalid value: {name:?}: {problem}"),
            field: "metadata.name".into(),
        })
        .collect();
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, causes))
    }
}

/// Only kinds whose strategy maintains it carry `metadata.generation` (not ConfigMaps, Secrets,
/// Namespaces, Events, Leases, ServiceAccounts or RBAC objects).
pub fn has_generation(def: &ResourceDef) -> bool {
    if def.custom {
        return true;
    }
    matches!(
        (def.group.as_str(), def.plural.as_str()),
        ("apiextensions.k8s.io", "customresourcedefinitions")
            | (
                "apps",
                "deployments" | "replicasets" | "statefulsets" | "daemonsets"
            )
            | ("batch", "jobs" | "cronjobs")
            | ("policy", "poddisruptionbudgets")
            | ("networking.k8s.io", "networkpolicies" | "ingresses")
            | ("autoscaling", "horizontalpodautoscalers")
    )
}

fn is(def: &ResourceDef, plural: &str) -> bool {
    !def.custom && def.group.is_empty() && def.plural == plural
}

fn forbidden_immutable(field: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden",
        message: format!("{field}: Forbidden: field is immutable when `immutable` is set"),
        field: field.into(),
    }
}

/// Secret `type` defaulting and immutability, and `immutable: true` ConfigMaps and Secrets.
pub fn prepare(def: &ResourceDef, object: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let secret = is(def, "secrets");
    if !secret && !is(def, "configmaps") {
        return Ok(());
    }
    if secret && object.get("type").is_none_or(|t| t.is_null() || t == "") {
        object["type"] = json!("Opaque");
    }
    let Some(old) = old else { return Ok(()) };
    let mut causes = Vec::new();
    if secret && object["type"] != old["type"] {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!("type: Invalid value: {}: field is immutable", object["type"]),
            field: "type".into(),
        });
    }
    if old["immutable"] == true {
        for field in ["data", "binaryData"] {
            if object.get(field).filter(|v| !v.is_null()) != old.get(field).filter(|v| !v.is_null()) {
                causes.push(forbidden_immutable(field));
            }
        }
        if object["immutable"] != true {
            causes.push(forbidden_immutable("immutable"));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = old["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(def, name, causes))
    }
}

/// The apiextensions defaulting of `spec.names`: `singular` is the lowercased kind, `listKind`
/// is `<kind>List`; `status.acceptedNames` copies them.
pub fn default_crd_names(crd: &mut Value) {
    let Some(kind) = crd["spec"]["names"]["kind"]
        .as_str()
        .filter(|k| !k.is_empty())
        .map(String::from)
    else {
        return;
    };
    let names = &mut crd["spec"]["names"];
    if names.get("singular").is_none_or(|s| s.is_null() || s == "") {
        names["singular"] = json!(kind.to_lowercase());
    }
    if names.get("listKind").is_none_or(|s| s.is_null() || s == "") {
        names["listKind"] = json!(format!("{kind}List"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule_of_their_kind() {
        let cases = [
            (NameRule::Subdomain, "a.b-c", true),
            (NameRule::Subdomain, "Bad_Name", false),
            (NameRule::Subdomain, "-a", false),
            (NameRule::Label, "team-1", true),
            (NameRule::Label, "a.b", false),
            (NameRule::PathSegment, "system:controller:x", true),
            (NameRule::PathSegment, "a/b", false),
            (NameRule::PathSegment, "..", false),
        ];
        for (rule, name, ok) in cases {
            assert_eq!(name_problems(rule, name).is_empty(), ok, "{rule:?} {name}");
        }
        assert!(!name_problems(NameRule::Label, &"a".repeat(64)).is_empty());
    }
}
