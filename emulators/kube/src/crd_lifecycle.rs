//! Deleting a CustomResourceDefinition as the apiextensions-apiserver does: the CRD gets the
//! `customresourcecleanup.apiextensions.k8s.io` finalizer and a `Terminating` condition, its
//! custom resources are deleted through their own finalizers (so an operator can still clean up,
//! and the resource stays served meanwhile), creates are refused, and the CRD goes once no custom
//! resource is left. Runs synchronously inside the write that gives it work.

use std::cell::Cell;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::meta::{self, metadata_mut};
use crate::objects::{self, Part, WriteOpts};
use crate::registry::ResourceDef;
use crate::store::{EventType, State};

const KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";
const FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

pub fn is_crds(def: &ResourceDef) -> bool {
    !def.custom && def.group == "apiextensions.k8s.io" && def.plural == "customresourcedefinitions"
}

fn crd_for(state: &State, def: &ResourceDef) -> Option<std::sync::Arc<Value>> {
    state.get(KEY, "", &format!("{}.{}", def.plural, def.group))
}

/// Creates of custom resources are refused while their CRD terminates.
pub fn admit_create(state: &State, def: &ResourceDef) -> Result<(), ApiError> {
    if def.custom && crd_for(state, def).is_some_and(|crd| meta::is_deleting(&crd)) {
        return Err(ApiError::method_not_allowed(
            "create not allowed while custom resource definition is terminating",
        ));
    }
    Ok(())
}

fn set_terminating(crd: &mut Value, reason: &str, message: &str) {
    let mut conditions: Vec<Value> = crd["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    conditions.retain(|c| c["type"] != "Terminating");
    conditions.push(json!({
        "type": "Terminating", "status": "True", "reason": reason, "message": message,
        "lastTransitionTime": meta::now_rfc3339(),
    }));
    crd["status"]["conditions"] = Value::Array(conditions);
}

pub fn delete(
    state: &mut State,
    _def: &ResourceDef,
    old: Value,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    if meta::is_deleting(&old) {
        return Ok(old);
    }
    let mut new = old.clone();
    let mut finalizers = meta::finalizers(&old);
    if !finalizers.iter().any(|f| f == FINALIZER) {
        finalizers.push(FINALIZER.into());
    }
    let meta = metadata_mut(&mut new);
    meta.insert("finalizers".into(), json!(finalizers));
    meta.insert("deletionTimestamp".into(), Value::String(meta::now_rfc3339()));
    meta.insert("deletionGracePeriodSeconds".into(), json!(0));
    set_terminating(
        &mut new,
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
    );
    if opts.dry_run {
        return Ok(new);
    }
    let stored = (*state.commit(KEY, EventType::Modified, new)).clone();
    let name = stored["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    reconcile(state, &name);
    Ok(stored)
}

thread_local! {
    /// Set while the finalizer deletes custom resources, whose own hooks would re-enter it (the
    /// store lock is held on this thread for the whole request).
    static RECONCILING: Cell<bool> = const { Cell::new(false) };
}

pub fn after_commit(state: &mut State, def: &ResourceDef, _object: &Value, kind: EventType) {
    if !def.custom || kind != EventType::Deleted || RECONCILING.with(Cell::get) {
        return;
    }
    if let Some(crd) = crd_for(state, def).filter(|crd| meta::is_deleting(crd)) {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
        reconcile(state, &name);
    }
}

/// The finalizer controller for one CRD: delete its custom resources, then release the CRD.
fn reconcile(state: &mut State, crd_name: &str) {
    let Some(crd) = state.get(KEY, "", crd_name) else {
        return;
    };
    let group = crd["spec"]["group"].as_str().unwrap_or_default().to_string();
    let plural = crd["spec"]["names"]["plural"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let Some(def) = state
        .registry
        .all()
        .find(|d| d.custom && d.group == group && d.plural == plural)
        .cloned()
    else {
        return;
    };
    let key = def.storage_key();
    let doomed: Vec<(String, String)> = state
        .objects
        .get(&key)
        .map(|m| {
            m.iter()
                .filter(|(_, o)| !meta::is_deleting(o))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    RECONCILING.with(|r| r.set(true));
    for (ns, name) in doomed {
        let ns = def.namespaced.then_some(ns);
        // A failure leaves the object; it keeps the CRD terminating, as on a cluster.
        let _ = objects::delete(
            state,
            &def,
            ns.as_deref(),
            &name,
            &Value::Null,
            &WriteOpts::default(),
        );
    }
    RECONCILING.with(|r| r.set(false));
    let remaining = state.objects.get(&key).map_or(0, |m| m.len());
    let Some(crd) = state.get(KEY, "", crd_name) else {
        return;
    };
    let mut new = (*crd).clone();
    if remaining > 0 {
        set_terminating(
            &mut new,
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress",
        );
        if crd["status"]["conditions"] != new["status"]["conditions"] {
            state.commit(KEY, EventType::Modified, new);
        }
        return;
    }
    let kept: Vec<String> = meta::finalizers(&new)
        .into_iter()
        .filter(|f| f != FINALIZER)
        .collect();
    new["metadata"]["finalizers"] = json!(kept);
    let Some(crds) = state
        .registry
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    else {
        return;
    };
    let _ = objects::finish_update(
        state,
        &crds,
        (*crd).clone(),
        new,
        Part::Main,
        &WriteOpts::default(),
    );
}
