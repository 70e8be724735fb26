//! The built-in kinds a Helm chart installs (workloads, services, RBAC, policy), each with the
//! apiserver's defaulting, validation, immutable fields and Table columns, plus the `/scale`
//! subresource and a minimal deployment controller (see `deployments`).

pub mod columns;
mod core;
pub mod deployments;
mod network;
mod podspec;
mod rbac;
mod selector;
mod workloads;

use serde_json::Value;

use crate::error::{ApiError, Cause};
use crate::registry::{Registry, ResourceDef, Subresource};
use crate::store::{EventType, State};

const SCALE: Subresource = Subresource {
    name: "scale",
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    verbs: &["get", "patch", "update"],
};

/// Adds the built-in kinds to a fresh registry.
pub fn register(reg: &mut Registry) {
    let def = ResourceDef::builtin;
    let all = || vec!["all".to_string()];
    let mut pods = def("", "v1", "pods", "Pod", true, &["po"]);
    pods.status_subresource = true;
    pods.categories = all();
    reg.insert(pods);
    let mut services = def("", "v1", "services", "Service", true, &["svc"]);
    services.status_subresource = true;
    services.categories = all();
    reg.insert(services);
    let mut sa = def("", "v1", "serviceaccounts", "ServiceAccount", true, &["sa"]);
    sa.subresources.push(Subresource {
        name: "token",
        group: "authentication.k8s.io",
        version: "v1",
        kind: "TokenRequest",
        verbs: &["create"],
    });
    reg.insert(sa);
    reg.insert(def("", "v1", "endpoints", "Endpoints", true, &["ep"]));
    for (plural, kind, short) in [
        ("deployments", "Deployment", "deploy"),
        ("replicasets", "ReplicaSet", "rs"),
    ] {
        let mut d = def("apps", "v1", plural, kind, true, &[short]);
        d.status_subresource = true;
        d.categories = all();
        d.subresources.push(SCALE);
        reg.insert(d);
    }
    let rbac = "rbac.authorization.k8s.io";
    reg.insert(def(rbac, "v1", "roles", "Role", true, &[]));
    reg.insert(def(rbac, "v1", "rolebindings", "RoleBinding", true, &[]));
    reg.insert(def(rbac, "v1", "clusterroles", "ClusterRole", false, &[]));
    reg.insert(def(
        rbac,
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
    ));
    let mut pdb = def(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
    );
    pdb.status_subresource = true;
    reg.insert(pdb);
    reg.insert(def(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        &["netpol"],
    ));
    reg.insert(def(
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        "EndpointSlice",
        true,
        &[],
    ));
    crate::auth::review::register(reg);
}

fn is(def: &ResourceDef, group: &str, plural: &str) -> bool {
    !def.custom && def.group == group && def.plural == plural
}

/// Defaulting and validation of a built-in object on create (`old` is None) and update.
pub fn prepare(
    state: &State,
    def: &ResourceDef,
    object: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    match (def.group.as_str(), def.plural.as_str()) {
        _ if def.custom => return Ok(()),
        ("", "pods") => core::pod(object, old, &mut causes),
        ("", "services") => core::service(state, object, old, &mut causes),
        ("", "endpoints") => core::endpoints(object, &mut causes),
        ("", "secrets") => crate::auth::token::fill_token_secret(state, object, &mut causes),
        ("apps", "deployments") => workloads::deployment(object, old, &mut causes),
        ("apps", "replicasets") => workloads::replica_set(object, old, &mut causes),
        ("rbac.authorization.k8s.io", _) => rbac::prepare(def, object, old, &mut causes),
        ("policy", "poddisruptionbudgets") => network::pdb(object, &mut causes),
        ("networking.k8s.io", "networkpolicies") => network::network_policy(object, &mut causes),
        ("discovery.k8s.io", "endpointslices") => network::endpoint_slice(object, &mut causes),
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Err(ApiError::invalid(def, &name, causes))
    }
}

/// Runs after a commit of a built-in object: the controllers a real cluster runs.
pub fn after_commit(state: &mut State, def: &ResourceDef, object: &Value, kind: EventType) {
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if is(def, "apps", "deployments") && kind != EventType::Deleted {
        deployments::reconcile(state, object);
    } else if is(def, "apps", "replicasets") {
        if kind != EventType::Deleted {
            deployments::reconcile_replica_set(state, object);
        }
        deployments::reconcile_pdbs(state, &ns);
    } else if is(def, "policy", "poddisruptionbudgets") && kind != EventType::Deleted {
        deployments::reconcile_pdbs(state, &ns);
    } else if is(def, "", "namespaces") && kind == EventType::Added {
        core::default_service_account(state, object);
    }
}

/// The server-side state a cluster starts with besides namespaces: the `kubernetes` Service and
/// the `default` ServiceAccount of each seeded namespace.
pub fn seed(state: &mut State) {
    let namespaces: Vec<Value> = state
        .objects
        .get("/namespaces")
        .map(|m| m.values().map(|o| (**o).clone()).collect())
        .unwrap_or_default();
    for ns in namespaces {
        core::default_service_account(state, &ns);
    }
    core::seed_kubernetes_service(state);
    crate::auth::rbac::seed(state);
}

// Field error helpers, worded as apimachinery's `field.Error` prints them.

pub fn required(field: &str, detail: &str) -> Cause {
    let message = if detail.is_empty() {
        format!("{field}: Required value")
    } else {
        format!("{field}: Required value: {detail}")
    };
    Cause {
        reason: "FieldValueRequired",
        message,
        field: field.into(),
    }
}

/// `value` is already rendered as Go prints it (`"text"`, `5`, `[]string{"a"}`).
pub fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("{field}: Invalid value: {value}: {detail}"),
        field: field.into(),
    }
}

pub fn unsupported(field: &str, value: &Value, supported: &[&str]) -> Cause {
    let listed: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
    Cause {
        reason: "FieldValueNotSupported",
        message: format!(
            "{field}: Unsupported value: {}: supported values: {}",
            go_value(value),
            listed.join(", ")
        ),
        field: field.into(),
    }
}

pub fn forbidden(field: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden",
        message: format!("{field}: Forbidden: {detail}"),
        field: field.into(),
    }
}

/// A scalar as Go's `%v`/`%q` shows it in a field error: strings quoted, numbers bare.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "\"\"".into(),
        other => other.to_string(),
    }
}

/// `map[string]string{"a":"b"}`, as `%#v` prints labels.
pub fn go_string_map(value: &Value) -> String {
    match value.as_object() {
        None => "map[string]string(nil)".into(),
        Some(m) => {
            let mut entries: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default()))
                .collect();
            entries.sort();
            format!("map[string]string{{{}}}", entries.join(", "))
        }
    }
}

/// The RFC 1123 label rule (container, port and volume names).
pub fn dns_label_error(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        None
    } else if value.len() > 63 {
        Some("must be no more than 63 characters".into())
    } else {
        Some(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".into(),
        )
    }
}

/// Sets `object[key]` to `value` when it is missing or null.
pub fn default(object: &mut Value, key: &str, value: Value) {
    if object.is_object() && object.get(key).is_none_or(Value::is_null) {
        object[key] = value;
    }
}

/// Requests to a subresource listed in the definition (other than `status`).
pub fn subresource(
    app: &crate::server::App,
    def: &ResourceDef,
    target: &crate::http::Target,
    verb: &str,
    query: &crate::http::Query,
    headers: &axum::http::HeaderMap,
    body: &axum::body::Bytes,
) -> Result<axum::response::Response, ApiError> {
    match target.subresource.as_deref() {
        Some("scale") => workloads::scale(app, def, target, verb, query, headers, body),
        Some("token") if verb == "create" => {
            crate::auth::token::token_request(&app.lock(), def, target, body)
        }
        Some("token") => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({verb})"
        ))),
        _ => Err(crate::server::not_found_path()),
    }
}
