//! How the apiserver treats each list of an object when merging: atomic (replaced whole), a set of
//! scalars, or a map keyed by some of its items' fields. Built-in kinds carry this in their Go
//! types (`patchMergeKey`, `listType`/`listMapKeys`); custom resources in their schema
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`). Strategic merge patch and
//! server-side apply both read it from here.

use serde_json::Value;

use crate::registry::ResourceDef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    /// Keyed items; the first key is the strategic-merge-patch merge key.
    Map(Vec<String>),
}

fn map(keys: &[&str]) -> ListType {
    ListType::Map(keys.iter().map(|k| k.to_string()).collect())
}

/// The list type of the field at `path` (field names from the object's root, no list indices).
pub fn list_type(def: &ResourceDef, path: &[&str]) -> ListType {
    if def.custom {
        return def
            .schema
            .as_deref()
            .and_then(|schema| schema_list_type(schema, path))
            .unwrap_or(ListType::Atomic);
    }
    builtin(def, path)
}

fn schema_list_type(schema: &Value, path: &[&str]) -> Option<ListType> {
    let mut node = schema;
    for field in path {
        // A list item's schema sits under `items`; lists of lists are not keyed by field names.
        if node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = node
            .get("properties")
            .and_then(|p| p.get(*field))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => Some(ListType::Set),
        Some("map") => Some(ListType::Map(
            node.get("x-kubernetes-list-map-keys")?
                .as_array()?
                .iter()
                .filter_map(|k| k.as_str().map(String::from))
                .collect(),
        )),
        _ => Some(ListType::Atomic),
    }
}

/// Where the pod spec sits in the built-in kinds that carry one.
fn pod_spec_prefix(def: &ResourceDef) -> Option<&'static [&'static str]> {
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => Some(&["spec"]),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") | ("batch", "Job") => {
            Some(&["spec", "template", "spec"])
        }
        ("", "PodTemplate") => Some(&["template", "spec"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

fn builtin(def: &ResourceDef, path: &[&str]) -> ListType {
    // Object metadata, at the root or in a pod template.
    if let [.., "metadata", last] = path {
        return match *last {
            "finalizers" => ListType::Set,
            "ownerReferences" => map(&["uid"]),
            _ => ListType::Atomic,
        };
    }
    if let Some(prefix) = pod_spec_prefix(def)
        && let Some(rest) = path.strip_prefix(prefix)
    {
        return pod_spec(rest);
    }
    match (def.kind.as_str(), path) {
        (_, ["status", "conditions"]) => map(&["type"]),
        ("Service", ["spec", "ports"]) => map(&["port", "protocol"]),
        ("ServiceAccount", ["secrets"]) => map(&["name"]),
        _ => ListType::Atomic,
    }
}

fn pod_spec(rest: &[&str]) -> ListType {
    const CONTAINERS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];
    match rest {
        [c] if CONTAINERS.contains(c) => map(&["name"]),
        [c, "ports"] if CONTAINERS.contains(c) => map(&["containerPort", "protocol"]),
        [c, "env"] if CONTAINERS.contains(c) => map(&["name"]),
        [c, "volumeMounts"] if CONTAINERS.contains(c) => map(&["mountPath"]),
        [c, "volumeDevices"] if CONTAINERS.contains(c) => map(&["devicePath"]),
        ["volumes"] | ["imagePullSecrets"] | ["schedulingGates"] | ["resourceClaims"] => map(&["name"]),
        ["hostAliases"] => map(&["ip"]),
        ["topologySpreadConstraints"] => map(&["topologyKey", "whenUnsatisfiable"]),
        _ => ListType::Atomic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_of_a_deployment_are_keyed_by_name_and_their_ports_by_port_and_protocol() {
        let def = ResourceDef::builtin("apps", "v1", "deployments", "Deployment", true, &[]);
        assert_eq!(
            list_type(&def, &["spec", "template", "spec", "containers"]),
            map(&["name"])
        );
        assert_eq!(
            list_type(&def, &["spec", "template", "spec", "containers", "ports"]),
            map(&["containerPort", "protocol"])
        );
        assert_eq!(list_type(&def, &["metadata", "finalizers"]), ListType::Set);
        assert_eq!(
            list_type(&def, &["spec", "template", "spec", "tolerations"]),
            ListType::Atomic
        );
    }

    #[test]
    fn custom_resources_read_the_list_type_from_their_schema() {
        let mut def = ResourceDef::builtin("x.dev", "v1", "things", "Thing", true, &[]);
        def.custom = true;
        def.schema = Some(std::sync::Arc::new(
            serde_json::json!({"type": "object", "properties": {
                "status": {"type": "object", "properties": {"conditions": {"type": "array",
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
                    "items": {"type": "object", "properties": {"type": {"type": "string"}}}}}},
                "spec": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set"}}}
            }}),
        ));
        assert_eq!(list_type(&def, &["status", "conditions"]), map(&["type"]));
        assert_eq!(list_type(&def, &["spec", "tags"]), ListType::Set);
        assert_eq!(list_type(&def, &["spec", "missing"]), ListType::Atomic);
    }
}
