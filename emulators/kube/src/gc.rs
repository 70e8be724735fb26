//! Garbage collection by `ownerReferences`, as kube-controller-manager's garbage collector does
//! it: background (dependents go after their owner), foreground (the owner waits, with the
//! `foregroundDeletion` finalizer, for its `blockOwnerDeletion` dependents) and orphan (the
//! `orphan` finalizer: dependents lose the owner reference and stay). Like the namespace
//! controller, it runs synchronously inside the write that gives it work.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::meta;
use crate::objects::{self, Part, WriteOpts};
use crate::registry::ResourceDef;
use crate::store::{EventType, State};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// The finalizer a DELETE's propagation policy adds (`propagationPolicy`, or the deprecated
/// `orphanDependents`), or an error naming the field for an unknown policy.
pub fn deletion_finalizer(
    options: &Value,
    query_policy: Option<&str>,
) -> Result<Option<&'static str>, ApiError> {
    let policy = options["propagationPolicy"].as_str().or(query_policy);
    match (policy, options["orphanDependents"].as_bool()) {
        (Some(_), Some(_)) => Err(ApiError::new(
            422,
            "Invalid",
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"\": orphanDependents and deletionPropagation cannot be both set",
        )),
        (Some("Foreground"), _) => Ok(Some(FOREGROUND)),
        (Some("Orphan"), _) | (None, Some(true)) => Ok(Some(ORPHAN)),
        (Some("Background") | None, _) => Ok(None),
        (Some(other), _) => Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            ),
        )),
    }
}

fn uid(object: &Value) -> &str {
    object["metadata"]["uid"].as_str().unwrap_or_default()
}

fn owner_refs(object: &Value) -> &[Value] {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Objects (with a definition to write them through) that name `owner` in their ownerReferences.
/// A namespaced owner only owns objects of its own namespace, as the apiserver's GC requires.
fn dependents(state: &State, owner: &Value, owner_def: &ResourceDef) -> Vec<(Arc<ResourceDef>, Value)> {
    let owner_uid = uid(owner);
    let owner_ns = owner["metadata"]["namespace"].as_str().unwrap_or_default();
    let mut out = Vec::new();
    for (key, map) in &state.objects {
        let Some(def) = state.registry.all().find(|d| d.storage_key() == *key).cloned() else {
            continue;
        };
        for ((ns, _), object) in map {
            if owner_def.namespaced && ns != owner_ns {
                continue;
            }
            if owner_refs(object).iter().any(|r| r["uid"] == owner_uid) {
                out.push((def.clone(), (**object).clone()));
            }
        }
    }
    out
}

/// Whether the owner a reference names still exists (same uid).
fn owner_exists(state: &State, reference: &Value, dependent_ns: &str) -> bool {
    let api_version = reference["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let Some(def) = state
        .registry
        .all()
        .find(|d| d.group == group && d.version == version && d.kind == reference["kind"])
        .cloned()
    else {
        return false;
    };
    let ns = if def.namespaced { dependent_ns } else { "" };
    let name = reference["name"].as_str().unwrap_or_default();
    state
        .get(&def.storage_key(), ns, name)
        .is_some_and(|o| o["metadata"]["uid"] == reference["uid"])
}

fn ns_of(object: &Value) -> Option<String> {
    object["metadata"]["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Writes `object` (a modified copy of the stored one) through the normal update path, so
/// removing the last finalizer deletes it and every hook runs.
fn write(state: &mut State, def: &ResourceDef, object: Value) {
    let Ok(old) = objects::current(state, def, ns_of(&object).as_deref(), &name_of(&object)) else {
        return;
    };
    // A failure leaves things as they are; the next event retries, as the real GC would.
    let _ = objects::finish_update(state, def, old, object, Part::Main, &WriteOpts::default());
}

fn without_owner(mut dependent: Value, owner_uid: &str) -> Value {
    let refs: Vec<Value> = owner_refs(&dependent)
        .iter()
        .filter(|r| r["uid"] != owner_uid)
        .cloned()
        .collect();
    dependent["metadata"]["ownerReferences"] = json!(refs);
    dependent
}

fn without_finalizer(mut object: Value, finalizer: &str) -> Value {
    let kept: Vec<String> = meta::finalizers(&object)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    object["metadata"]["finalizers"] = json!(kept);
    object
}

/// Runs after every commit of `object`.
pub fn after_commit(state: &mut State, def: &ResourceDef, object: &Value, kind: EventType) {
    match kind {
        EventType::Deleted => {
            collect_dependents_of_deleted(state, def, object);
            // A dependent that went may have been the last one a foreground owner waited for.
            let ns = object["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for reference in owner_refs(object).to_vec() {
                release_foreground_owner(state, &reference, &ns);
            }
        }
        _ if meta::is_deleting(object) => {
            let finalizers = meta::finalizers(object);
            if finalizers.iter().any(|f| f == ORPHAN) {
                orphan(state, def, object);
            } else if finalizers.iter().any(|f| f == FOREGROUND) {
                foreground(state, def, object);
            }
        }
        _ => {}
    }
}

/// Background propagation: a dependent whose owners are all gone is deleted; one that still has
/// a live owner only loses the dangling reference.
fn collect_dependents_of_deleted(state: &mut State, def: &ResourceDef, owner: &Value) {
    let owner_uid = uid(owner).to_string();
    for (dep_def, dependent) in dependents(state, owner, def) {
        let ns = dependent["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let others_alive = owner_refs(&dependent)
            .iter()
            .any(|r| r["uid"] != owner_uid.as_str() && owner_exists(state, r, &ns));
        if others_alive {
            write(state, &dep_def, without_owner(dependent, &owner_uid));
        } else if !meta::is_deleting(&dependent) {
            let _ = objects::delete(
                state,
                &dep_def,
                ns_of(&dependent).as_deref(),
                &name_of(&dependent),
                &Value::Null,
                &WriteOpts::default(),
            );
        }
    }
}

fn orphan(state: &mut State, def: &ResourceDef, owner: &Value) {
    let owner_uid = uid(owner).to_string();
    for (dep_def, dependent) in dependents(state, owner, def) {
        write(state, &dep_def, without_owner(dependent, &owner_uid));
    }
    write(state, def, without_finalizer(owner.clone(), ORPHAN));
}

/// Foreground propagation: dependents are deleted (in the foreground too, so deep chains wait);
/// the owner keeps its finalizer while a `blockOwnerDeletion` dependent exists.
fn foreground(state: &mut State, def: &ResourceDef, owner: &Value) {
    let opts = WriteOpts {
        propagation_finalizer: Some(FOREGROUND),
        ..WriteOpts::default()
    };
    for (dep_def, dependent) in dependents(state, owner, def) {
        if !meta::is_deleting(&dependent) {
            let _ = objects::delete(
                state,
                &dep_def,
                ns_of(&dependent).as_deref(),
                &name_of(&dependent),
                &Value::Null,
                &opts,
            );
        }
    }
    finish_foreground(state, def, owner);
}

fn finish_foreground(state: &mut State, def: &ResourceDef, owner: &Value) {
    let Some(current) = state.get(
        &def.storage_key(),
        ns_of(owner).as_deref().unwrap_or_default(),
        &name_of(owner),
    ) else {
        return;
    };
    if current["metadata"]["uid"] != owner["metadata"]["uid"]
        || !meta::finalizers(&current).iter().any(|f| f == FOREGROUND)
    {
        return;
    }
    let owner_uid = uid(&current).to_string();
    let blocked = dependents(state, &current, def).iter().any(|(_, d)| {
        owner_refs(d)
            .iter()
            .any(|r| r["uid"] == owner_uid.as_str() && r["blockOwnerDeletion"] == true)
    });
    if !blocked {
        write(state, def, without_finalizer((*current).clone(), FOREGROUND));
    }
}

fn release_foreground_owner(state: &mut State, reference: &Value, dependent_ns: &str) {
    let api_version = reference["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let Some(def) = state
        .registry
        .all()
        .find(|d| d.group == group && d.version == version && d.kind == reference["kind"])
        .cloned()
    else {
        return;
    };
    let ns = if def.namespaced { dependent_ns } else { "" };
    let name = reference["name"].as_str().unwrap_or_default();
    if let Some(owner) = state.get(&def.storage_key(), ns, name)
        && owner["metadata"]["uid"] == reference["uid"]
        && meta::is_deleting(&owner)
    {
        finish_foreground(state, &def, &owner);
    }
}
