//! Server-side apply, simplified: the applied configuration is merged into the live object, and
//! each Apply manager's field set is recorded in `managedFields[].fieldsV1` (in the apiserver's
//! `f:` format). When a manager re-applies without a field it applied before, that field is
//! removed unless another manager's set still claims it. Lists are atomic (no `k:`/`v:` keys),
//! non-apply writers are not recorded, and conflicts are never reported (`force` is moot).

use serde_json::{Map, Value, json};

use crate::patch::apply_merge;

/// The `fieldsV1` set of an applied configuration: object keys recurse, anything else is a leaf.
/// At the root only spec-like fields and metadata labels/annotations/finalizers are tracked.
pub fn field_set(applied: &Value) -> Value {
    let mut set = Map::new();
    let Some(map) = applied.as_object() else {
        return Value::Object(set);
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                let mut meta = Map::new();
                for k in ["labels", "annotations", "finalizers"] {
                    if let Some(v) = value.get(k) {
                        meta.insert(format!("f:{k}"), leaf_or_tree(v));
                    }
                }
                if !meta.is_empty() {
                    set.insert("f:metadata".into(), Value::Object(meta));
                }
            }
            _ => {
                set.insert(format!("f:{key}"), leaf_or_tree(value));
            }
        }
    }
    Value::Object(set)
}

fn leaf_or_tree(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (format!("f:{k}"), leaf_or_tree(v)))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Removes from `object` the fields in `old_set` that are neither in `new_set` nor claimed by
/// any of `others`.
fn remove_dropped(object: &mut Value, old_set: &Value, new_set: &Value, others: &[&Value]) {
    let (Some(old_map), Some(obj)) = (old_set.as_object(), object.as_object_mut()) else {
        return;
    };
    for (fkey, old_sub) in old_map {
        let Some(key) = fkey.strip_prefix("f:") else {
            continue;
        };
        let others_sub: Vec<&Value> = others.iter().filter_map(|o| o.get(fkey)).collect();
        match new_set.get(fkey) {
            None if others_sub.is_empty() => {
                obj.remove(key);
            }
            None => {
                if let Some(child) = obj.get_mut(key) {
                    remove_dropped(child, old_sub, &json!({}), &others_sub);
                }
            }
            Some(new_sub) => {
                if let Some(child) = obj.get_mut(key) {
                    remove_dropped(child, old_sub, new_sub, &others_sub);
                }
            }
        }
    }
}

fn subresource(entry: &Value) -> &str {
    entry["subresource"].as_str().unwrap_or_default()
}

/// Applies `applied` to `live` for `manager`, updating `managedFields`. `subresource` is
/// `"status"` for an apply to `/status`, else empty.
pub fn apply(
    live: &Value,
    applied: &Value,
    manager: &str,
    api_version: &str,
    subresource_name: &str,
) -> Value {
    let entries = live["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_mine = |e: &Value| {
        e["manager"] == manager && e["operation"] == "Apply" && subresource(e) == subresource_name
    };
    let new_set = field_set(applied);
    let old_set = entries
        .iter()
        .find(|e| is_mine(e))
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or_else(|| json!({}));
    let others: Vec<Value> = entries
        .iter()
        .filter(|e| !is_mine(e))
        .map(|e| e["fieldsV1"].clone())
        .collect();
    let other_refs: Vec<&Value> = others.iter().collect();

    let mut result = live.clone();
    apply_merge(&mut result, applied);
    remove_dropped(&mut result, &old_set, &new_set, &other_refs);

    // A re-apply that changes nothing must stay a no-op, so the entry's time only moves on change.
    let mut unchanged_view = result.clone();
    unchanged_view["metadata"]["managedFields"] = live["metadata"]["managedFields"].clone();
    let changed = unchanged_view != *live || old_set != new_set;
    let mut entry = entries.iter().find(|e| is_mine(e)).cloned().unwrap_or_else(|| {
        json!({"manager": manager, "operation": "Apply", "apiVersion": api_version, "fieldsType": "FieldsV1"})
    });
    if changed || entry.get("time").is_none() {
        entry["time"] = json!(crate::meta::now_rfc3339());
    }
    entry["fieldsV1"] = new_set;
    if !subresource_name.is_empty() {
        entry["subresource"] = json!(subresource_name);
    }
    let mut new_entries: Vec<Value> = entries.into_iter().filter(|e| !is_mine(e)).collect();
    new_entries.push(entry);
    result["metadata"]["managedFields"] = Value::Array(new_entries);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_set_uses_the_apiservers_f_prefix_and_treats_lists_as_leaves() {
        let applied = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"l": "v"}},
                             "spec": {"size": 1, "ports": [1, 2], "nested": {"a": true}}});
        assert_eq!(
            field_set(&applied),
            json!({"f:metadata": {"f:labels": {"f:l": {}}},
                   "f:spec": {"f:size": {}, "f:ports": {}, "f:nested": {"f:a": {}}}})
        );
    }

    #[test]
    fn a_field_the_manager_stops_applying_is_removed_unless_another_manager_claims_it() {
        let live = json!({"metadata": {"name": "a"}, "spec": {}});
        let first = apply(&live, &json!({"spec": {"a": 1, "b": 2}}), "m1", "v1", "");
        let shared = apply(&first, &json!({"spec": {"b": 2}}), "m2", "v1", "");
        let second = apply(&shared, &json!({"spec": {"a": 1}}), "m1", "v1", "");
        assert_eq!(
            second["spec"],
            json!({"a": 1, "b": 2}),
            "b is still claimed by m2"
        );
        let third = apply(&second, &json!({"spec": {}}), "m1", "v1", "");
        assert_eq!(third["spec"], json!({"b": 2}), "a was only m1's");
    }

    #[test]
    fn re_applying_the_same_configuration_changes_nothing() {
        let live = json!({"metadata": {"name": "a"}, "spec": {"x": 1}});
        let once = apply(&live, &json!({"spec": {"x": 2}}), "m", "v1", "");
        let twice = apply(&once, &json!({"spec": {"x": 2}}), "m", "v1", "");
        assert_eq!(once, twice);
    }
}
