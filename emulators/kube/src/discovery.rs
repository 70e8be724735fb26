//! Discovery documents (legacy JSON, which every kubectl still accepts); OpenAPI is in `openapi`.

use serde_json::{Value, json};

use crate::registry::{Registry, ResourceDef};

pub const SERVER_MINOR: &str = "31";

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": SERVER_MINOR,
        "gitVersion": format!("v1.{SERVER_MINOR}.0"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.22.0",
        "compiler": "gc",
        "platform": "linux/amd64",
        "emulator": "kube-emulator"
    })
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first.
fn version_priority(v: &str) -> (u8, u32, u32) {
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let major = digits(rest);
    let after = &rest[major.to_string().len().min(rest.len())..];
    if after.is_empty() {
        (3, major, 0)
    } else if let Some(n) = after.strip_prefix("beta") {
        (2, major, digits(n))
    } else if let Some(n) = after.strip_prefix("alpha") {
        (1, major, digits(n))
    } else {
        (0, major, 0)
    }
}

pub fn api_versions() -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
}

fn group_entry(registry: &Registry, group: &str) -> Value {
    let mut versions: Vec<String> = registry
        .group_versions()
        .into_iter()
        .filter(|(g, _)| g == group)
        .map(|(_, v)| v)
        .collect();
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": entries, "preferredVersion": entries.first().cloned().unwrap_or(Value::Null)})
}

pub fn api_group_list(registry: &Registry) -> Value {
    let mut groups: Vec<String> = Vec::new();
    for (g, _) in registry.group_versions() {
        if !g.is_empty() && !groups.contains(&g) {
            groups.push(g);
        }
    }
    let groups: Vec<Value> = groups.iter().map(|g| group_entry(registry, g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(registry: &Registry, group: &str) -> Option<Value> {
    if !registry.group_versions().iter().any(|(g, _)| g == group) {
        return None;
    }
    let mut entry = group_entry(registry, group);
    entry["kind"] = json!("APIGroup");
    entry["apiVersion"] = json!("v1");
    Some(entry)
}

fn defs_of<'a>(
    registry: &'a Registry,
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceDef> {
    registry
        .all()
        .filter(move |d| d.group == group && d.version == version)
        .map(|d| d.as_ref())
}

pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for d in defs_of(registry, group, version) {
        let verbs: &[&str] = if d.verbs.is_empty() {
            &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        } else {
            d.verbs
        };
        resources.push(json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": verbs,
            "shortNames": d.short_names,
            "categories": d.categories,
        }));
        if d.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", d.plural), "singularName": "", "namespaced": d.namespaced,
                "kind": d.kind, "verbs": ["get", "patch", "update"]
            }));
        }
        for sub in &d.subresources {
            resources.push(json!({
                "name": format!("{}/{}", d.plural, sub.name), "singularName": "", "namespaced": d.namespaced,
                "group": sub.group, "version": sub.version, "kind": sub.kind, "verbs": sub.verbs
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_ordered_ga_then_beta_then_alpha() {
        let mut v = vec!["v1alpha1", "v1beta2", "v1", "v2", "v1beta1"];
        v.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        assert_eq!(v, vec!["v2", "v1", "v1beta2", "v1beta1", "v1alpha1"]);
    }
}
