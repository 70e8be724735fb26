//! Namespace lifecycle as kube-apiserver v1.31 and kube-controller-manager's namespace controller
//! implement it: a deleted namespace goes `Terminating` (deletionTimestamp, `status.phase`, the
//! `kubernetes` entry in `spec.finalizers`), its contents are deleted through their own finalizers,
//! creates inside it are refused (the NamespaceLifecycle admission plugin), and it disappears only
//! when it is empty. The controller runs synchronously inside the write that gives it work (the
//! namespace DELETE, or the removal of the last finalizer of its last object), so tests see the
//! same sequence of watch events as on a cluster without waiting for a resync.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::meta::{self, metadata_mut};
use crate::objects::{self, WriteOpts};
use crate::registry::ResourceDef;
use crate::store::{EventType, State};

const KEY: &str = "/namespaces";
/// The finalizer the namespace controller owns (`spec.finalizers`, not `metadata.finalizers`).
const KUBERNETES: &str = "kubernetes";
/// The NamespaceLifecycle plugin's immortal namespaces (kube-node-lease is not one of them).
const IMMORTAL: [&str; 3] = ["default", "kube-system", "kube-public"];
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub fn is_namespaces(def: &ResourceDef) -> bool {
    !def.custom && def.group.is_empty() && def.plural == "namespaces"
}

fn spec_finalizers(ns: &Value) -> Vec<String> {
    ns["spec"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Defaulting and the namespace strategy: the name label is forced, `kubernetes` is added to
/// `spec.finalizers` on create and `spec.finalizers` only changes through `/finalize`; the phase
/// follows the deletion state (the apiserver refuses any other combination).
pub fn prepare(object: &mut Value, old: Option<&Value>) {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let meta = metadata_mut(object);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[NAME_LABEL] = Value::String(name);
    let finalizers = match old {
        Some(old) => spec_finalizers(old),
        None => {
            let mut f = spec_finalizers(object);
            if !f.iter().any(|f| f == KUBERNETES) {
                f.push(KUBERNETES.into());
            }
            f
        }
    };
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    if finalizers.is_empty() {
        if let Some(spec) = object["spec"].as_object_mut() {
            spec.remove("finalizers");
        }
    } else {
        object["spec"]["finalizers"] = json!(finalizers);
    }
    let phase = if meta::is_deleting(object) {
        "Terminating"
    } else {
        "Active"
    };
    match old {
        None => object["status"] = json!({"phase": phase}),
        Some(_) => {
            if !object["status"].is_object() {
                object["status"] = json!({});
            }
            object["status"]["phase"] = json!(phase);
        }
    }
}

/// A namespace with a deletionTimestamp is only removed once `spec.finalizers` is empty too.
pub fn blocks_removal(def: &ResourceDef, object: &Value) -> bool {
    is_namespaces(def) && !spec_finalizers(object).is_empty()
}

fn forbidden(def: &ResourceDef, name: &str, why: &str) -> ApiError {
    let subject = if name.is_empty() {
        def.qualified_plural()
    } else {
        format!("{} \"{name}\"", def.qualified_plural())
    };
    let mut err = ApiError::new(403, "Forbidden", format!("{subject} is forbidden: {why}"));
    err.details = Some(json!({"name": name, "group": def.group, "kind": def.plural}));
    err
}

/// Admission for a create of a namespaced object: the namespace must exist (404) and must not be
/// terminating (403 with the NamespaceLifecycle plugin's message and cause).
pub fn admit_create(state: &State, def: &ResourceDef, ns: &str, name: &str) -> Result<(), ApiError> {
    let Some(namespace) = state.get(KEY, "", ns) else {
        let ns_def = state
            .registry
            .get("", "v1", "namespaces")
            .ok_or_else(|| ApiError::internal("no namespaces"))?;
        return Err(ApiError::not_found(&ns_def, ns));
    };
    if namespace["status"]["phase"] != "Terminating" {
        return Ok(());
    }
    let why = format!("unable to create new content in namespace {ns} because it is being terminated");
    let mut err = forbidden(def, name, &why);
    if let Some(details) = err.details.as_mut() {
        details["causes"] = json!([{
            "reason": "NamespaceTerminating",
            "message": format!("namespace {ns} is being terminated"),
            "field": "metadata.namespace",
        }]);
    }
    Err(err)
}

/// DELETE of a namespace: the first request marks it Terminating and starts the controller; a
/// repeated one while content remains is 409, as on a cluster.
pub fn delete(state: &mut State, def: &ResourceDef, old: Value, opts: &WriteOpts) -> Result<Value, ApiError> {
    let name = meta::str_field(&old, "name").unwrap_or_default().to_string();
    if IMMORTAL.contains(&name.as_str()) {
        return Err(forbidden(def, &name, "this namespace may not be deleted"));
    }
    if meta::is_deleting(&old) {
        if !spec_finalizers(&old).is_empty() {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on namespaces \"{name}\": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."
                ),
            ));
        }
        return Ok(old);
    }
    let mut new = old.clone();
    metadata_mut(&mut new).insert("deletionTimestamp".into(), Value::String(meta::now_rfc3339()));
    metadata_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(0));
    new["status"]["phase"] = json!("Terminating");
    if opts.dry_run {
        return Ok(new);
    }
    let stored = (*state.commit(KEY, EventType::Modified, new)).clone();
    reconcile(state, &name);
    Ok(stored)
}

/// `PUT /api/v1/namespaces/{name}/finalize`: the namespace finalize strategy changes only
/// `spec.finalizers`; a terminating namespace left without any finalizer is removed at once
/// (whatever content remains stays orphaned, as on a cluster).
pub fn finalize(
    state: &mut State,
    def: &ResourceDef,
    name: &str,
    body: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let old = objects::current(state, def, None, name)?;
    if let Some(body_name) = meta::str_field(body, "name")
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let mut new = old.clone();
    let finalizers = spec_finalizers(body);
    if finalizers.is_empty() {
        if let Some(spec) = new["spec"].as_object_mut() {
            spec.remove("finalizers");
        }
    } else {
        new["spec"]["finalizers"] = json!(finalizers);
    }
    if new == old || dry_run {
        return Ok(new);
    }
    let gone = meta::is_deleting(&new) && finalizers.is_empty() && meta::finalizers(&new).is_empty();
    let kind = if gone {
        EventType::Deleted
    } else {
        EventType::Modified
    };
    Ok((*state.commit(KEY, kind, new)).clone())
}

thread_local! {
    /// Set while the controller deletes a namespace's content: those deletes commit through the
    /// normal write path, whose hook would otherwise re-enter the controller. The store lock is
    /// held on this thread for the whole request, so a thread-local flag is exact.
    static RECONCILING: Cell<bool> = const { Cell::new(false) };
}

/// Runs after every commit: a change to an object in a terminating namespace (typically the
/// removal of its last finalizer) may let the namespace finish.
pub fn after_commit(state: &mut State, def: &ResourceDef, object: &Value) {
    if !def.namespaced || RECONCILING.with(Cell::get) {
        return;
    }
    let ns = object["metadata"]["namespace"].as_str().unwrap_or_default();
    if state.get(KEY, "", ns).is_some_and(|n| meta::is_deleting(&n)) {
        let ns = ns.to_string();
        reconcile(state, &ns);
    }
}

/// One definition per namespaced storage key, to delete and count through.
fn namespaced_defs(state: &State) -> Vec<Arc<ResourceDef>> {
    let mut by_key: BTreeMap<String, Arc<ResourceDef>> = BTreeMap::new();
    for def in state.registry.all().filter(|d| d.namespaced) {
        by_key.entry(def.storage_key()).or_insert_with(|| def.clone());
    }
    by_key.into_values().collect()
}

fn names_in(state: &State, key: &str, ns: &str, deleting: Option<bool>) -> Vec<Arc<Value>> {
    state
        .objects
        .get(key)
        .map(|m| {
            m.iter()
                .filter(|((o_ns, _), o)| o_ns == ns && deleting.is_none_or(|d| meta::is_deleting(o) == d))
                .map(|(_, o)| o.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The namespace controller for one namespace: delete what is not yet being deleted, report what
/// remains in the status conditions, and finalize once nothing is left.
fn reconcile(state: &mut State, ns: &str) {
    let Some(namespace) = state.get(KEY, "", ns) else {
        return;
    };
    if !meta::is_deleting(&namespace) {
        return;
    }
    RECONCILING.with(|r| r.set(true));
    let defs = namespaced_defs(state);
    for def in &defs {
        for object in names_in(state, &def.storage_key(), ns, Some(false)) {
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            // A failure leaves the object in place; it is then reported as remaining content.
            let _ = objects::delete(state, def, Some(ns), &name, &Value::Null, &WriteOpts::default());
        }
    }
    RECONCILING.with(|r| r.set(false));
    let mut by_resource: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_finalizer: BTreeMap<String, usize> = BTreeMap::new();
    for def in &defs {
        for object in names_in(state, &def.storage_key(), ns, None) {
            *by_resource
                .entry(format!("{}.{}", def.plural, def.group))
                .or_default() += 1;
            for f in meta::finalizers(&object) {
                *by_finalizer.entry(f).or_default() += 1;
            }
        }
    }
    let Some(namespace) = state.get(KEY, "", ns) else {
        return;
    };
    let mut new = (*namespace).clone();
    set_conditions(&mut new, &by_resource, &by_finalizer);
    if by_resource.is_empty() {
        let remaining: Vec<String> = spec_finalizers(&new)
            .into_iter()
            .filter(|f| f != KUBERNETES)
            .collect();
        if remaining.is_empty() {
            if let Some(spec) = new["spec"].as_object_mut() {
                spec.remove("finalizers");
            }
        } else {
            new["spec"]["finalizers"] = json!(remaining);
        }
    }
    if new != *namespace {
        state.commit(KEY, EventType::Modified, new.clone());
    }
    if spec_finalizers(&new).is_empty() && meta::finalizers(&new).is_empty() {
        state.commit(KEY, EventType::Deleted, new);
    }
}

/// The five conditions the namespace controller maintains, with its reasons and messages.
fn set_conditions(
    ns: &mut Value,
    by_resource: &BTreeMap<String, usize>,
    by_finalizer: &BTreeMap<String, usize>,
) {
    let content = (!by_resource.is_empty()).then(|| {
        let parts: Vec<String> = by_resource
            .iter()
            .map(|(r, n)| format!("{r} has {n} resource instances"))
            .collect();
        (
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", parts.join(", ")),
        )
    });
    let finalizers = (!by_finalizer.is_empty()).then(|| {
        let parts: Vec<String> = by_finalizer
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        (
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                parts.join(", ")
            ),
        )
    });
    let wanted = [
        (
            "NamespaceDeletionDiscoveryFailure",
            None,
            ("ResourcesDiscovered", "All resources successfully discovered"),
        ),
        (
            "NamespaceDeletionGroupVersionParsingFailure",
            None,
            ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
        ),
        (
            "NamespaceDeletionContentFailure",
            None,
            (
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization",
            ),
        ),
        (
            "NamespaceContentRemaining",
            content,
            ("ContentRemoved", "All content successfully removed"),
        ),
        (
            "NamespaceFinalizersRemaining",
            finalizers,
            (
                "ContentHasNoFinalizers",
                "All content-preserving finalizers finished",
            ),
        ),
    ];
    let mut conditions: Vec<Value> = ns["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let now = meta::now_rfc3339();
    for (ty, failing, (ok_reason, ok_message)) in wanted {
        let (status, reason, message) = match failing {
            Some((reason, message)) => ("True", reason.to_string(), message),
            None => ("False", ok_reason.to_string(), ok_message.to_string()),
        };
        match conditions.iter_mut().find(|c| c["type"] == ty) {
            Some(c) => {
                if c["status"] != status {
                    c["lastTransitionTime"] = json!(now);
                }
                c["status"] = json!(status);
                c["reason"] = json!(reason);
                c["message"] = json!(message);
            }
            None => conditions.push(json!({
                "type": ty, "status": status, "lastTransitionTime": now, "reason": reason, "message": message,
            })),
        }
    }
    ns["status"]["conditions"] = Value::Array(conditions);
}
