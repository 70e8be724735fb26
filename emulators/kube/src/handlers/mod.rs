//! Resource requests: resolve the definition, apply fault hooks, then read or write.

pub mod control;
mod read;
mod write;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::Value;

use crate::error::ApiError;
use crate::http::{Query, Target};
use crate::registry::ResourceDef;
use crate::server::{App, injected, not_found_path};

/// The Kubernetes verb of a request, as RBAC and the fault hooks name it.
pub fn verb(method: &Method, target: &Target, query: &Query) -> &'static str {
    match (method.as_str(), target.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if query.flag("watch") => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

pub fn resource(
    app: &App,
    method: &Method,
    target: Target,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let def: Arc<ResourceDef> = app
        .lock()
        .registry
        .get(&target.group, &target.version, &target.plural)
        .ok_or_else(not_found_path)?;
    // A namespaced object is only addressable inside a namespace, and vice versa.
    if (def.namespaced && target.namespace.is_none() && target.name.is_some())
        || (!def.namespaced && target.namespace.is_some())
    {
        return Err(not_found_path());
    }
    let verb = verb(method, &target, query);
    match target.subresource.as_deref() {
        None => {}
        Some("status") if def.status_subresource => {}
        Some("finalize") if crate::namespaces::is_namespaces(&def) && verb == "update" => {
            let name = target.name.as_deref().unwrap_or_default();
            let body = decode_body(body, false)?;
            let namespace = crate::namespaces::finalize(&mut app.lock(), &def, name, &body, query.dry_run())?;
            return Ok(crate::http::json_response(axum::http::StatusCode::OK, &namespace));
        }
        Some(sub) if def.subresource(sub).is_some() => {
            if let Some(code) = app.faults.take(verb, &def.plural) {
                return Err(injected(code));
            }
            return crate::builtins::subresource(app, &def, &target, verb, query, headers, body);
        }
        Some(_) => return Err(not_found_path()),
    }
    // Protobuf bodies (client-go's typed clients, Helm's release storage) become JSON here.
    let decoded;
    let body = if crate::http::content_type(headers).contains("protobuf") {
        decoded = Bytes::from(crate::protobuf::decode(&def, verb, body)?.to_string());
        &decoded
    } else {
        body
    };
    if let Some(code) = app.faults.take(verb, &def.plural) {
        return Err(injected(code));
    }
    match verb {
        "get" => read::get(app, &def, &target, query, headers),
        "list" => read::list(app, &def, &target, query, headers),
        "watch" => read::watch(app, &def, &target, query, headers),
        "create" => write::create(app, &def, &target, query, headers, body),
        "update" => write::update(app, &def, &target, query, headers, body),
        "patch" => write::patch(app, &def, &target, query, headers, body),
        "delete" => write::delete(app, &def, &target, query, body),
        "deletecollection" => write::delete_collection(app, &def, &target, query, body),
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))),
    }
}

/// Parses a request body as JSON, or as YAML for apply patches (JSON is valid YAML too).
pub fn decode_body(body: &Bytes, allow_yaml: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) if allow_yaml => serde_yaml::from_slice::<Value>(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e} (as JSON: {json_err})"))),
        Err(e) => Err(ApiError::bad_request(format!(
            "couldn't get version/kind; json parse error: {e}"
        ))),
    }
}
