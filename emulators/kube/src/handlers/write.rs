//! POST, PUT, PATCH (merge, JSON, apply; strategic-merge only for built-ins) and DELETE.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::decode_body;
use crate::error::{ApiError, Cause};
use crate::http::{Query, Target, content_type, json_response};
use crate::meta::str_field;
use crate::objects::{self, Part, WriteOpts};
use crate::patch;
use crate::registry::ResourceDef;
use crate::selectors::Selectors;
use crate::server::App;

fn opts(query: &Query, headers: &HeaderMap) -> WriteOpts {
    // The apiserver names an Update's manager after `fieldManager`, else the User-Agent's prefix.
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let manager = query
        .get("fieldManager")
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| agent.split('/').next().unwrap_or_default());
    WriteOpts {
        dry_run: query.dry_run(),
        strict_fields: query.get("fieldValidation") == Some("Strict"),
        manager: Some(manager.chars().take(128).collect()),
        propagation_finalizer: None,
    }
}

fn part(target: &Target) -> Part {
    if target.subresource.as_deref() == Some("status") {
        Part::Status
    } else {
        Part::Main
    }
}

fn respond(def: &ResourceDef, code: StatusCode, object: &Value) -> Response {
    let mut object = object.clone();
    object["apiVersion"] = Value::String(def.api_version());
    crate::events::to_view(def, &mut object);
    json_response(code, &object)
}

pub fn create(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    if target.name.is_some() {
        return Err(ApiError::method_not_allowed(
            "POST is not allowed on a named resource",
        ));
    }
    let mut body = decode_body(body, false)?;
    crate::events::to_storage(def, &mut body);
    let created = objects::create(
        &mut app.lock(),
        def,
        target.namespace.as_deref(),
        body,
        &opts(query, headers),
    )?;
    Ok(respond(def, StatusCode::CREATED, &created))
}

pub fn update(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    let mut body = decode_body(body, false)?;
    crate::events::to_storage(def, &mut body);
    let updated = objects::update(
        &mut app.lock(),
        def,
        target.namespace.as_deref(),
        name,
        body,
        part(target),
        &opts(query, headers),
    )?;
    Ok(respond(def, StatusCode::OK, &updated))
}

pub fn patch(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    let ns = target.namespace.as_deref();
    let ctype = content_type(headers);
    let opts = opts(query, headers);
    let part = part(target);
    let body = decode_body(body, ctype == "application/apply-patch+yaml")?;
    let mut state = app.lock();
    let existing = objects::current(&state, def, ns, name);
    if ctype == "application/apply-patch+yaml" {
        let manager = query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    def,
                    name,
                    vec![Cause {
                        reason: "FieldValueRequired",
                        message: "fieldManager: Required value: is required for apply patch".into(),
                        field: "fieldManager".into(),
                    }],
                )
            })?;
        if !body.is_object() || !(body["metadata"].is_object() || body["metadata"].is_null()) {
            return Err(ApiError::bad_request(
                "an apply patch must be an object with object metadata",
            ));
        }
        if let Some(body_name) = str_field(&body, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let force = query.flag("force");
        // The apply records its own managedFields entry; no Update entry on top.
        let opts = WriteOpts {
            manager: None,
            ..opts
        };
        let Ok(old) = existing else {
            // Server-side apply creates the object when it does not exist yet.
            if part == Part::Status {
                return Err(ApiError::not_found(def, name));
            }
            let mut applied = body;
            applied["metadata"]["name"] = json!(name);
            let mut applied = crate::apply::apply(def, &json!({}), &applied, manager, "", force)?;
            crate::events::to_storage(def, &mut applied);
            let created = objects::create(&mut state, def, ns, applied, &opts)?;
            return Ok(respond(def, StatusCode::CREATED, &created));
        };
        let sub = if part == Part::Status { "status" } else { "" };
        let mut view = old.clone();
        crate::events::to_view(def, &mut view);
        check_precondition(def, name, &old, &body)?;
        let mut candidate = crate::apply::apply(def, &view, &body, manager, sub, force)?;
        crate::events::to_storage(def, &mut candidate);
        let updated = objects::finish_update(&mut state, def, old, candidate, part, &opts)?;
        return Ok(respond(def, StatusCode::OK, &updated));
    }
    let old = existing?;
    // Patches apply to the object as the requested version shows it.
    let mut candidate = old.clone();
    crate::events::to_view(def, &mut candidate);
    match ctype.as_str() {
        "application/merge-patch+json" => patch::merge_patch(&mut candidate, &body),
        "application/json-patch+json" => patch::json_patch(&mut candidate, &body).map_err(|e| {
            ApiError::new(
                422,
                "Invalid",
                format!("the server rejected our request due to an error in our request: {e}"),
            )
        })?,
        // Custom resources have no patch strategies, so the apiserver refuses these; built-ins
        // merge keyed lists by their merge keys.
        "application/strategic-merge-patch+json" if !def.custom => {
            crate::smp::apply(def, &mut candidate, &body).map_err(ApiError::bad_request)?
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    crate::events::to_storage(def, &mut candidate);
    check_precondition(def, name, &old, &candidate)?;
    let updated = objects::finish_update(&mut state, def, old, candidate, part, &opts)?;
    Ok(respond(def, StatusCode::OK, &updated))
}

/// A resourceVersion in a patch body is a precondition, exactly as in a PUT.
fn check_precondition(def: &ResourceDef, name: &str, old: &Value, candidate: &Value) -> Result<(), ApiError> {
    match str_field(candidate, "resourceVersion") {
        Some(rv) if Some(rv) != str_field(old, "resourceVersion") => Err(ApiError::conflict(def, name)),
        _ => Ok(()),
    }
}

fn delete_options(query: &Query, body: &Bytes) -> Result<(WriteOpts, Value), ApiError> {
    let options = if body.is_empty() {
        json!({})
    } else {
        decode_body(body, false)?
    };
    let mut opts = WriteOpts {
        manager: None,
        ..opts(query, &HeaderMap::new())
    };
    opts.propagation_finalizer = crate::gc::deletion_finalizer(&options, query.get("propagationPolicy"))?;
    if options["dryRun"]
        .as_array()
        .is_some_and(|d| d.iter().any(|v| v == "All"))
    {
        opts.dry_run = true;
    }
    Ok((opts, options["preconditions"].clone()))
}

pub fn delete(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    let (opts, preconditions) = delete_options(query, body)?;
    let deleted = objects::delete(
        &mut app.lock(),
        def,
        target.namespace.as_deref(),
        name,
        &preconditions,
        &opts,
    )?;
    Ok(respond(def, StatusCode::OK, &deleted))
}

pub fn delete_collection(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let selectors = Selectors::from_query(query, def)?;
    let (opts, _) = delete_options(query, body)?;
    let mut state = app.lock();
    let doomed: Vec<(String, String)> = state
        .objects
        .get(&def.storage_key())
        .map(|m| {
            m.iter()
                .filter(|((ns, _), o)| {
                    target.namespace.as_deref().is_none_or(|want| want == ns) && selectors.matches(o)
                })
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let mut items = Vec::new();
    for (ns, name) in doomed {
        let ns = if def.namespaced { Some(ns.as_str()) } else { None };
        let mut item = objects::delete(&mut state, def, ns, &name, &Value::Null, &opts)?;
        crate::events::to_view(def, &mut item);
        items.push(item);
    }
    let list = json!({"kind": def.list_kind, "apiVersion": def.api_version(), "metadata": {"resourceVersion": state.rv.to_string()}, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}
