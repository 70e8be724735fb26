//! Server-side apply and field ownership, as the apiserver's fieldmanager does it: every write
//! records its manager in `managedFields` (`Apply` for apply patches, `Update` for create, PUT
//! and merge/JSON/strategic patches) with the fields it set, in the `fieldsV1` format (`f:`
//! fields, `k:` keyed list items, `v:` set members, `.` for an item itself). Lists merge by their
//! list type (`list_types`). An apply that would change a field another manager owns is a 409
//! Conflict with one `FieldManagerConflict` cause per field unless `force=true`, which moves
//! the ownership; a field a manager stops applying is removed unless someone else owns it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::list_types::{ListType, list_type};
use crate::registry::ResourceDef;

/// One owned leaf: the fieldsV1 tokens from the root.
type Leaf = Vec<String>;
type Set = BTreeSet<Leaf>;

/// Which part of the object a write may touch: the main resource ignores status when status is
/// a subresource; `/status` tracks status only.
fn tracked(def: &ResourceDef, subresource: &str, key: &str) -> bool {
    match (subresource, key) {
        (_, "apiVersion" | "kind") => false,
        ("status", k) => k == "status",
        (_, "status") => !def.status_subresource,
        _ => true,
    }
}

fn field_leaves(def: &ResourceDef, subresource: &str, object: &Value) -> Set {
    let mut out = Set::new();
    for (key, value) in object.as_object().into_iter().flatten() {
        if !tracked(def, subresource, key) {
            continue;
        }
        if key == "metadata" {
            for k in ["labels", "annotations", "finalizers", "ownerReferences"] {
                if let Some(v) = value.get(k).filter(|v| !v.is_null()) {
                    leaves(
                        def,
                        v,
                        &mut vec!["metadata", k],
                        &mut vec!["f:metadata".into(), format!("f:{k}")],
                        &mut out,
                    );
                }
            }
            continue;
        }
        leaves(
            def,
            value,
            &mut vec![key.as_str()],
            &mut vec![format!("f:{key}")],
            &mut out,
        );
    }
    out
}

fn key_token(item: &Value, keys: &[String]) -> String {
    let id: Map<String, Value> = keys
        .iter()
        .filter_map(|k| item.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    format!("k:{}", Value::Object(id))
}

fn leaves<'a>(def: &ResourceDef, v: &'a Value, path: &mut Vec<&'a str>, prefix: &mut Leaf, out: &mut Set) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                path.push(k);
                prefix.push(format!("f:{k}"));
                leaves(def, c, path, prefix, out);
                prefix.pop();
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => match list_type(def, path) {
            ListType::Atomic => {
                out.insert(prefix.clone());
            }
            ListType::Set => {
                for item in items {
                    let mut leaf = prefix.clone();
                    leaf.push(format!("v:{item}"));
                    out.insert(leaf);
                }
            }
            ListType::Map(keys) => {
                for item in items {
                    prefix.push(key_token(item, &keys));
                    let mut dot = prefix.clone();
                    dot.push(".".into());
                    out.insert(dot);
                    if let Some(fields) = item.as_object() {
                        for (k, c) in fields {
                            path.push(k);
                            prefix.push(format!("f:{k}"));
                            leaves(def, c, path, prefix, out);
                            prefix.pop();
                            path.pop();
                        }
                    }
                    prefix.pop();
                }
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

fn matches_key(item: &Value, token: &str) -> bool {
    let Ok(Value::Object(id)) = serde_json::from_str::<Value>(token) else {
        return false;
    };
    id.iter().all(|(k, v)| item.get(k) == Some(v))
}

/// The value a leaf points at (`.` is the list item itself).
fn resolve<'a>(object: &'a Value, leaf: &[String]) -> Option<&'a Value> {
    let mut cur = object;
    for token in leaf {
        cur = if let Some(f) = token.strip_prefix("f:") {
            cur.get(f)?
        } else if let Some(k) = token.strip_prefix("k:") {
            cur.as_array()?.iter().find(|i| matches_key(i, k))?
        } else if let Some(v) = token.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur.as_array()?.iter().find(|i| **i == want)?
        } else {
            cur
        };
    }
    Some(cur)
}

fn same_at(a: &Value, b: &Value, leaf: &[String]) -> bool {
    match (resolve(a, leaf), resolve(b, leaf)) {
        // An item's own entry only says that it exists; its fields are leaves of their own.
        (Some(_), Some(_)) if leaf.last().is_some_and(|t| t == ".") => true,
        (x, y) => x == y,
    }
}

/// Leaves of `new` that differ from `old` (modified or added) and leaves of `old` gone in `new`.
fn compare(def: &ResourceDef, sub: &str, old: &Value, new: &Value) -> (Set, Set) {
    let old_leaves = field_leaves(def, sub, old);
    let new_leaves = field_leaves(def, sub, new);
    let changed = new_leaves
        .iter()
        .filter(|l| !same_at(old, new, l))
        .cloned()
        .collect();
    let removed = old_leaves.difference(&new_leaves).cloned().collect();
    (changed, removed)
}

fn to_fields_v1(set: &Set) -> Value {
    let mut root = Map::new();
    for leaf in set {
        let mut node = &mut root;
        for token in leaf {
            let entry = node.entry(token.clone()).or_insert_with(|| json!({}));
            node = match entry {
                Value::Object(m) => m,
                _ => unreachable!("every node is an object"),
            };
        }
    }
    Value::Object(root)
}

fn from_fields_v1(value: &Value) -> Set {
    fn walk(v: &Value, prefix: &mut Leaf, out: &mut Set) {
        match v.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, c) in m {
                    prefix.push(k.clone());
                    walk(c, prefix, out);
                    prefix.pop();
                }
            }
            _ => {
                if !prefix.is_empty() {
                    out.insert(prefix.clone());
                }
            }
        }
    }
    let mut out = Set::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// Identity of a managedFields entry: manager, operation, subresource (and apiVersion for Update).
fn entry_key(e: &Value) -> (String, String, String, String) {
    let op = e["operation"].as_str().unwrap_or_default().to_string();
    let version = if op == "Update" {
        e["apiVersion"].as_str().unwrap_or_default().to_string()
    } else {
        String::new()
    };
    (
        e["manager"].as_str().unwrap_or_default().to_string(),
        op,
        e["subresource"].as_str().unwrap_or_default().to_string(),
        version,
    )
}

struct Managers {
    entries: Vec<(Value, Set)>,
}

impl Managers {
    fn of(object: &Value) -> Self {
        let entries = object["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e.clone(), from_fields_v1(&e["fieldsV1"])))
            .collect();
        Self { entries }
    }

    fn store(self, object: &mut Value) {
        let list: Vec<Value> = self
            .entries
            .into_iter()
            .filter(|(_, set)| !set.is_empty())
            .map(|(mut e, set)| {
                e["fieldsV1"] = to_fields_v1(&set);
                e
            })
            .collect();
        object["metadata"]["managedFields"] = Value::Array(list);
    }

    /// Sets `set` for the entry `me`, stamping the time only when its fields changed.
    fn put(&mut self, me: Value, set: Set) {
        let key = entry_key(&me);
        match self.entries.iter_mut().find(|(e, _)| entry_key(e) == key) {
            Some((e, old)) => {
                if *old != set {
                    e["time"] = json!(crate::meta::now_rfc3339());
                    *old = set;
                }
            }
            None => {
                let mut e = me;
                e["time"] = json!(crate::meta::now_rfc3339());
                self.entries.push((e, set));
            }
        }
    }
}

fn entry(manager: &str, operation: &str, api_version: &str, sub: &str) -> Value {
    let mut e = json!({"manager": manager, "operation": operation, "apiVersion": api_version, "fieldsType": "FieldsV1"});
    if !sub.is_empty() {
        e["subresource"] = json!(sub);
    }
    e
}

/// Records an Update by `manager` (create, PUT, merge/JSON/strategic patch) in `new`.
pub fn record_update(def: &ResourceDef, old: Option<&Value>, new: &mut Value, manager: &str, sub: &str) {
    let empty = json!({});
    let old = old.unwrap_or(&empty);
    let (changed, removed) = compare(def, sub, old, new);
    let mut managers = Managers::of(old);
    let me = entry(manager, "Update", &def.api_version(), sub);
    let my_key = entry_key(&me);
    for (e, set) in &mut managers.entries {
        if entry_key(e) != my_key {
            set.retain(|l| !changed.contains(l) && !removed.contains(l));
        }
    }
    if changed.is_empty() && removed.is_empty() {
        managers.store(new);
        crate::meta::normalize(new);
        return;
    }
    let mine = managers
        .entries
        .iter()
        .find(|(e, _)| entry_key(e) == my_key)
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let set: Set = mine.difference(&removed).cloned().chain(changed).collect();
    managers.put(me, set);
    managers.store(new);
}

fn describe(e: &Value) -> String {
    let name = format!("{:?}", e["manager"].as_str().unwrap_or_default());
    let name = match e["subresource"].as_str() {
        Some(s) if !s.is_empty() => format!("{name} with subresource {s:?}"),
        _ => name,
    };
    if e["operation"] == "Update" {
        format!("{name} using {}", e["apiVersion"].as_str().unwrap_or_default())
    } else {
        name
    }
}

/// `fieldpath.Path.String()`: `.spec.replicas`, `.status.conditions[type="Ready"]`.
fn path_string(leaf: &[String]) -> String {
    let mut out = String::new();
    for token in leaf {
        if let Some(f) = token.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = token.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = token.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

fn conflict_error(conflicts: &[(Value, Leaf)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(e, l)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", describe(e)), "field": path_string(l)}))
        .collect();
    let message = match conflicts {
        [(e, l)] => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            describe(e),
            path_string(l)
        ),
        many => {
            let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (e, l) in many {
                by.entry(describe(e)).or_default().push(path_string(l));
            }
            let lines: Vec<String> = by
                .iter()
                .flat_map(|(m, paths)| {
                    std::iter::once(format!("conflicts with {m}:"))
                        .chain(paths.iter().map(|p| format!("- {p}")))
                })
                .collect();
            format!("Apply failed with {} conflicts: {}", many.len(), lines.join("\n"))
        }
    };
    let mut err = ApiError::new(409, "Conflict", message);
    err.details = Some(json!({"causes": causes}));
    err
}

/// Merges an applied configuration into the live object by list type.
fn merge(def: &ResourceDef, live: &mut Value, config: &Value, path: &mut Vec<String>) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            for (k, v) in c {
                path.push(k.clone());
                match l.get_mut(k) {
                    Some(existing) if !v.is_null() => merge(def, existing, v, path),
                    _ => {
                        l.insert(k.clone(), v.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(l), Value::Array(c)) => {
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            match list_type(def, &refs) {
                ListType::Atomic => *l = c.clone(),
                ListType::Set => {
                    for item in c {
                        if !l.contains(item) {
                            l.push(item.clone());
                        }
                    }
                }
                ListType::Map(keys) => {
                    for item in c {
                        let token = key_token(item, &keys);
                        let id = token.trim_start_matches("k:");
                        match l.iter_mut().find(|i| matches_key(i, id)) {
                            Some(existing) => merge(def, existing, item, path),
                            None => l.push(item.clone()),
                        }
                    }
                }
            }
        }
        (l, c) => *l = c.clone(),
    }
}

fn remove_leaf(object: &mut Value, leaf: &[String]) {
    let Some((last, parents)) = leaf.split_last() else {
        return;
    };
    let (target, last) = if last == "." {
        match parents.split_last() {
            Some((item, grand)) => (grand, item),
            None => return,
        }
    } else {
        (parents, last)
    };
    let mut cur = object;
    for token in target {
        let next = if let Some(f) = token.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = token.strip_prefix("k:") {
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| matches_key(i, k)))
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| !matches_key(i, k));
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let (Some(a), Ok(want)) = (cur.as_array_mut(), serde_json::from_str::<Value>(v))
    {
        a.retain(|i| *i != want);
    }
}

/// Applies `config` to `live` for `manager`; a conflict with another manager is a 409 unless
/// `force`. `sub` is `"status"` for an apply to `/status`, else empty.
pub fn apply(
    def: &ResourceDef,
    live: &Value,
    config: &Value,
    manager: &str,
    sub: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let config_set = field_leaves(def, sub, config);
    let me = entry(manager, "Apply", &def.api_version(), sub);
    let my_key = entry_key(&me);
    let mut managers = Managers::of(live);
    let previous = managers
        .entries
        .iter()
        .find(|(e, _)| entry_key(e) == my_key)
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let mut merged = live.clone();
    let mut body = config.clone();
    if let Some(m) = body.as_object_mut() {
        m.retain(|k, _| tracked(def, sub, k) || k == "metadata");
    }
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        // Server-set metadata is not the applier's to write (managedFields is recomputed below).
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
        ] {
            meta.remove(k);
        }
    }
    merge(def, &mut merged, &body, &mut Vec::new());
    // Prune what this manager stopped applying, unless another manager still owns it.
    let mut dropped: Vec<&Leaf> = previous
        .difference(&config_set)
        .filter(|l| {
            !managers
                .entries
                .iter()
                .any(|(e, s)| entry_key(e) != my_key && s.contains(*l))
        })
        .collect();
    dropped.sort_by_key(|l| std::cmp::Reverse(l.len()));
    for leaf in dropped {
        remove_leaf(&mut merged, leaf);
        // A map left empty by the removal goes too, as structured-merge-diff drops it.
        for end in (1..leaf.len()).rev() {
            let parent = &leaf[..end];
            if parent.last().is_some_and(|t| t.starts_with("f:"))
                && resolve(&merged, parent).is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
            {
                remove_leaf(&mut merged, parent);
            } else {
                break;
            }
        }
    }
    let (changed, removed) = compare(def, sub, live, &merged);
    let mut conflicts = Vec::new();
    for (e, set) in &managers.entries {
        if entry_key(e) == my_key {
            continue;
        }
        conflicts.extend(
            set.iter()
                .filter(|l| changed.contains(*l))
                .map(|l| (e.clone(), l.clone())),
        );
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&conflicts));
    }
    for (e, set) in &mut managers.entries {
        if entry_key(e) != my_key {
            set.retain(|l| !(removed.contains(l) || (changed.contains(l) && config_set.contains(l))));
        }
    }
    managers.put(me, config_set);
    managers.store(&mut merged);
    crate::meta::normalize(&mut merged);
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> ResourceDef {
        let mut d = ResourceDef::builtin("apps", "v1", "deployments", "Deployment", true, &[]);
        d.status_subresource = true;
        d
    }

    #[test]
    fn keyed_list_items_are_owned_by_key_and_printed_as_the_apiserver_does() {
        let obj = json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "a"}]}}}});
        let set = field_leaves(&deployment(), "", &obj);
        let fields = to_fields_v1(&set);
        assert_eq!(
            fields,
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}})
        );
        assert_eq!(from_fields_v1(&fields), set);
        let leaf: Leaf = vec![
            "f:status".into(),
            "f:conditions".into(),
            "k:{\"type\":\"Ready\"}".into(),
            "f:status".into(),
        ];
        assert_eq!(path_string(&leaf), ".status.conditions[type=\"Ready\"].status");
    }

    #[test]
    fn applying_a_field_another_manager_owns_conflicts_unless_forced() {
        let def = ResourceDef::builtin("", "v1", "configmaps", "ConfigMap", true, &[]);
        let live = apply(
            &def,
            &json!({"metadata": {"name": "a"}}),
            &json!({"data": {"k": "1"}}),
            "one",
            "",
            false,
        )
        .unwrap();
        let err = apply(&def, &live, &json!({"data": {"k": "2"}}), "two", "", false).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"one\": .data.k"
        );
        // The same value is shared ownership, not a conflict.
        let shared = apply(&def, &live, &json!({"data": {"k": "1"}}), "two", "", false).unwrap();
        assert_eq!(shared["metadata"]["managedFields"].as_array().unwrap().len(), 2);
        let forced = apply(&def, &live, &json!({"data": {"k": "2"}}), "two", "", true).unwrap();
        assert_eq!(forced["data"]["k"], "2");
        let owners: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(
            owners,
            vec!["two"],
            "force moved the only field, so 'one' owns nothing"
        );
    }

    #[test]
    fn an_update_takes_ownership_of_what_it_changed() {
        let def = ResourceDef::builtin("", "v1", "configmaps", "ConfigMap", true, &[]);
        let live = apply(
            &def,
            &json!({"metadata": {"name": "a"}}),
            &json!({"data": {"k": "1", "j": "1"}}),
            "one",
            "",
            false,
        )
        .unwrap();
        let mut new = live.clone();
        new["data"]["k"] = json!("9");
        record_update(&def, Some(&live), &mut new, "kubectl-edit", "");
        let entries = new["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries[0]["fieldsV1"], json!({"f:data": {"f:j": {}}}));
        assert_eq!(entries[1]["manager"], "kubectl-edit");
        assert_eq!(entries[1]["operation"], "Update");
        assert_eq!(entries[1]["fieldsV1"], json!({"f:data": {"f:k": {}}}));
        let err = apply(
            &def,
            &new,
            &json!({"data": {"k": "1", "j": "1"}}),
            "one",
            "",
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.k"
        );
    }
}
