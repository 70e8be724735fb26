//! Behaviour specific to built-in kinds: Secret `stringData`, the Namespace lifecycle, and
//! CustomResourceDefinition registration.

use base64::Engine;
use serde_json::{Value, json};

use crate::crd;
use crate::error::ApiError;
use crate::registry::ResourceDef;
use crate::store::{EventType, State};

fn is(def: &ResourceDef, group: &str, plural: &str) -> bool {
    !def.custom && def.group == group && def.plural == plural
}

/// Runs before validation and the no-op test on every create and update.
pub fn prepare(
    state: &State,
    def: &ResourceDef,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    crate::builtin_rules::prepare(def, object, old)?;
    if is(def, "", "secrets") {
        fold_string_data(object);
    } else if is(def, "", "namespaces") {
        crate::namespaces::prepare(object, old);
    } else if is(def, "apiextensions.k8s.io", "customresourcedefinitions") {
        crd::prepare(state, def, object, old)?;
    } else if crate::events::is_events(def) {
        crate::events::validate(def, object, old)?;
    }
    crate::builtins::prepare(state, def, object, old)
}

/// `stringData` is write-only: it is base64-encoded into `data` (winning over `data` keys).
fn fold_string_data(object: &mut Value) {
    let Some(string_data) = object.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    let Value::Object(entries) = string_data else {
        return;
    };
    if !object["data"].is_object() {
        object["data"] = json!({});
    }
    for (key, value) in entries {
        let text = value
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| value.to_string());
        object["data"][key] = Value::String(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

/// Runs after a commit: keeps the registry in step with CRDs and drives namespace termination.
pub fn after_commit(
    state: &mut State,
    def: &ResourceDef,
    object: &Value,
    kind: EventType,
) -> Result<(), ApiError> {
    crate::builtins::after_commit(state, def, object, kind);
    if is(def, "apiextensions.k8s.io", "customresourcedefinitions") {
        crd::after_commit(state, object, kind);
    }
    // The controllers: garbage collector, CRD finalizer, namespace controller.
    crate::gc::after_commit(state, def, object, kind);
    crate::crd_lifecycle::after_commit(state, def, object, kind);
    crate::namespaces::after_commit(state, def, object);
    Ok(())
}

/// Objects that exist before any client connects, as on a fresh cluster.
pub fn seed(state: &mut State) {
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let ns = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": crate::meta::now_rfc3339(),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        state.commit("/namespaces", EventType::Added, ns);
    }
    crate::builtins::seed(state);
}
