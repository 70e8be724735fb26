//! Object metadata rules: names, uids, timestamps, generation and the no-op test.

use rand::Rng;
use serde_json::{Map, Value};

pub fn now_rfc3339() -> String {
    // The apiserver writes second precision in UTC (`metav1.Time`).
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `generateName` + five characters from the apiserver's alphabet (no vowels, no look-alikes).
pub fn generated_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{suffix}")
}

pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = Value::Object(Map::new());
    }
    match object.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

pub fn str_field<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object["metadata"][field].as_str().filter(|s| !s.is_empty())
}

pub fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

pub fn is_deleting(object: &Value) -> bool {
    object["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// Everything that is not metadata (and not status when status is a subresource): a change here
/// is a spec change and moves `metadata.generation`.
pub fn spec_view(object: &Value, status_subresource: bool) -> Map<String, Value> {
    let mut view = object.as_object().cloned().unwrap_or_default();
    view.remove("metadata");
    view.remove("apiVersion");
    view.remove("kind");
    if status_subresource {
        view.remove("status");
    }
    view
}

/// Fields clients may not change through an update: identity, timestamps, and the server's counters.
pub fn preserve_server_fields(new: &mut Value, old: &Value) {
    let old_meta = old["metadata"].as_object().cloned().unwrap_or_default();
    let meta = metadata_mut(new);
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "name",
        "namespace",
    ] {
        match old_meta.get(key) {
            Some(v) => {
                meta.insert(key.to_string(), v.clone());
            }
            None => {
                meta.remove(key);
            }
        }
    }
    meta.insert(
        "resourceVersion".into(),
        old_meta.get("resourceVersion").cloned().unwrap_or(Value::Null),
    );
    if !meta.contains_key("managedFields")
        && let Some(mf) = old_meta.get("managedFields")
    {
        meta.insert("managedFields".into(), mf.clone());
    }
}

/// Drops empty optional metadata so `{"labels": {}}` and no labels compare equal, as they do
/// once the apiserver has round-tripped them through its Go types.
pub fn normalize(object: &mut Value) {
    let meta = metadata_mut(object);
    for key in [
        "labels",
        "annotations",
        "finalizers",
        "ownerReferences",
        "managedFields",
    ] {
        let empty = match meta.get(key) {
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Null) => true,
            _ => false,
        };
        if empty {
            meta.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_keep_the_prefix_and_add_five_characters() {
        let name = generated_name("nb-");
        assert!(name.starts_with("nb-"));
        assert_eq!(name.len(), 8);
    }

    #[test]
    fn spec_view_ignores_status_only_when_status_is_a_subresource() {
        let o = json!({"metadata": {"name": "a"}, "spec": {"x": 1}, "status": {"y": 2}});
        assert!(!spec_view(&o, true).contains_key("status"));
        assert!(spec_view(&o, false).contains_key("status"));
        assert!(!spec_view(&o, false).contains_key("metadata"));
    }

    #[test]
    fn empty_labels_and_finalizers_are_normalized_away() {
        let mut o = json!({"metadata": {"name": "a", "labels": {}, "finalizers": []}});
        normalize(&mut o);
        assert_eq!(o, json!({"metadata": {"name": "a"}}));
    }
}
