//! Strategic merge patch for built-in kinds, as `kubectl apply`, `kubectl set image` and
//! `kubectl edit` send it: maps merge recursively, `null` deletes, keyed lists (containers by
//! name, ports by containerPort, ...) merge item by item, sets (finalizers) take the union, other
//! lists are replaced. The directives `$patch` (replace/delete/merge), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured.

use serde_json::{Map, Value};

use crate::list_types::{ListType, list_type};
use crate::registry::ResourceDef;

const SET_ORDER: &str = "$setElementOrder/";
const DELETE_PRIMITIVE: &str = "$deleteFromPrimitiveList/";

/// Applies `patch` to `target`; the error text is what a 400 should carry.
pub fn apply(def: &ResourceDef, target: &mut Value, patch: &Value) -> Result<(), String> {
    let mut path = Vec::new();
    merge_map(def, target, patch, &mut path)
}

fn merge_map(
    def: &ResourceDef,
    target: &mut Value,
    patch: &Value,
    path: &mut Vec<String>,
) -> Result<(), String> {
    let Some(patch_map) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    match patch_map.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *target = Value::Null;
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(format!("unknown patch type: {other} in map: {patch}")),
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let mut orders = Vec::new();
    let mut primitive_deletes = Vec::new();
    for (key, value) in patch_map {
        if key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if let Some(field) = key.strip_prefix(SET_ORDER) {
            orders.push((field.to_string(), value.clone()));
            continue;
        }
        if let Some(field) = key.strip_prefix(DELETE_PRIMITIVE) {
            primitive_deletes.push((field.to_string(), value.clone()));
            continue;
        }
        let Some(target_map) = target.as_object_mut() else {
            break;
        };
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        path.push(key.clone());
        let slot = target_map.entry(key.clone()).or_insert(Value::Null);
        match value {
            Value::Object(_) => {
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                merge_map(def, slot, value, path)?;
                if slot.is_null() {
                    target_map.remove(key);
                }
            }
            Value::Array(items) => merge_list(def, slot, items, path)?,
            scalar => *slot = scalar.clone(),
        }
        path.pop();
    }
    let target_map = target.as_object_mut().ok_or("patch target is not an object")?;
    for (field, values) in primitive_deletes {
        if let (Some(Value::Array(list)), Some(doomed)) = (target_map.get_mut(&field), values.as_array()) {
            list.retain(|v| !doomed.contains(v));
        }
    }
    if let Some(retain) = patch_map.get("$retainKeys") {
        let keep: Vec<&str> = retain
            .as_array()
            .ok_or("$retainKeys must be a list of field names")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        target_map.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (field, order) in orders {
        path.push(field.clone());
        let lt = list_type(def, &path_refs(path));
        path.pop();
        if let (Some(Value::Array(list)), Some(order)) = (target_map.get_mut(&field), order.as_array()) {
            reorder(list, order, &lt);
        }
    }
    Ok(())
}

fn path_refs(path: &[String]) -> Vec<&str> {
    path.iter().map(String::as_str).collect()
}

fn merge_list(
    def: &ResourceDef,
    slot: &mut Value,
    items: &[Value],
    path: &mut Vec<String>,
) -> Result<(), String> {
    match list_type(def, &path_refs(path)) {
        ListType::Atomic => {
            *slot = Value::Array(items.iter().map(strip_directives).collect());
        }
        ListType::Set => {
            let mut list = slot.as_array().cloned().unwrap_or_default();
            for item in items {
                if !list.contains(item) {
                    list.push(item.clone());
                }
            }
            *slot = Value::Array(list);
        }
        ListType::Map(keys) => {
            let key = keys.first().map(String::as_str).unwrap_or("name");
            if items
                .iter()
                .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                *slot = Value::Array(
                    items
                        .iter()
                        .filter(|i| i.get("$patch").is_none())
                        .map(strip_directives)
                        .collect(),
                );
                return Ok(());
            }
            let mut list = slot.as_array().cloned().unwrap_or_default();
            for item in items {
                let Some(id) = item.get(key) else {
                    return Err(format!("map: {item} does not contain declared merge key: {key}"));
                };
                let found = list.iter().position(|l| l.get(key) == Some(id));
                match (item.get("$patch").and_then(Value::as_str), found) {
                    (Some("delete"), Some(i)) => {
                        list.remove(i);
                    }
                    (Some("delete"), None) => {}
                    (_, Some(i)) => merge_map(def, &mut list[i], item, path)?,
                    (_, None) => {
                        let mut fresh = Value::Object(Map::new());
                        merge_map(def, &mut fresh, item, path)?;
                        list.push(fresh);
                    }
                }
            }
            *slot = Value::Array(list);
        }
    }
    Ok(())
}

/// Orders a list as `$setElementOrder` says; items it does not mention (added by someone else)
/// keep their place after the item that preceded them.
fn reorder(list: &mut Vec<Value>, order: &[Value], lt: &ListType) {
    let position = |item: &Value| -> Option<usize> {
        order.iter().position(|o| match lt {
            ListType::Map(keys) => keys
                .iter()
                .filter(|k| o.get(k.as_str()).is_some())
                .all(|k| o.get(k.as_str()) == item.get(k.as_str())),
            _ => o == item,
        })
    };
    let mut ranked: Vec<(usize, usize, Value)> = Vec::new();
    let mut last = 0;
    for (i, item) in list.drain(..).enumerate() {
        let rank = match position(&item) {
            Some(p) => {
                last = p;
                p
            }
            None => last,
        };
        ranked.push((rank, i, item));
    }
    ranked.sort_by_key(|(rank, i, _)| (*rank, *i));
    list.extend(ranked.into_iter().map(|(_, _, item)| item));
}

/// A patch fragment as stored: without `$`-directives.
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> ResourceDef {
        ResourceDef::builtin("apps", "v1", "deployments", "Deployment", true, &[])
    }

    fn with_containers(containers: Value) -> Value {
        json!({"metadata": {"name": "d"}, "spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn containers_merge_by_name_and_new_ones_are_appended() {
        let mut live = with_containers(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
        let patch = with_containers(json!([{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]));
        apply(&deployment(), &mut live, &patch).unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}])
        );
    }

    #[test]
    fn patch_delete_removes_one_keyed_item_and_replace_swaps_the_list() {
        let mut live = with_containers(json!([{"name": "a"}, {"name": "b"}]));
        apply(
            &deployment(),
            &mut live,
            &with_containers(json!([{"name": "a", "$patch": "delete"}])),
        )
        .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}])
        );
        apply(
            &deployment(),
            &mut live,
            &with_containers(json!([{"$patch": "replace"}, {"name": "z"}])),
        )
        .unwrap();
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "z"}])
        );
    }

    #[test]
    fn set_element_order_reorders_and_finalizers_merge_as_a_set() {
        let mut live = json!({"metadata": {"finalizers": ["x"]},
            "spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}});
        let patch = json!({"metadata": {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"]},
            "spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                                            "containers": [{"name": "a", "image": "i"}]}}}});
        apply(&deployment(), &mut live, &patch).unwrap();
        assert_eq!(live["metadata"]["finalizers"], json!(["y"]));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}, {"name": "a", "image": "i"}])
        );
    }

    #[test]
    fn retain_keys_clears_fields_not_listed_and_a_keyless_item_is_an_error() {
        let mut live =
            json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        apply(&deployment(), &mut live, &patch).unwrap();
        assert_eq!(live["spec"]["strategy"], json!({"type": "Recreate"}));
        let err = apply(
            &deployment(),
            &mut live,
            &with_containers(json!([{"image": "x"}])),
        )
        .unwrap_err();
        assert!(err.contains("does not contain declared merge key: name"), "{err}");
    }
}
