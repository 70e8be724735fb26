//! Deployments and ReplicaSets: `SetDefaults_Deployment`, the apps/v1 validation (selector
//! required, matching the template's labels, immutable), and the `/scale` subresource.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{default, forbidden, go_string_map, go_value, invalid, podspec, required, selector, unsupported};
use crate::error::{ApiError, Cause};
use crate::http::{Query, Target, content_type, json_response};
use crate::objects::{self, Part, WriteOpts};
use crate::registry::ResourceDef;
use crate::server::App;

pub fn deployment(object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = &mut object["spec"];
    if !spec.is_object() {
        *spec = json!({});
    }
    default(spec, "replicas", json!(1));
    if !spec["strategy"].is_object() {
        spec["strategy"] = json!({});
    }
    default(&mut spec["strategy"], "type", json!("RollingUpdate"));
    if spec["strategy"]["type"] == "RollingUpdate" {
        if !spec["strategy"]["rollingUpdate"].is_object() {
            spec["strategy"]["rollingUpdate"] = json!({});
        }
        default(
            &mut spec["strategy"]["rollingUpdate"],
            "maxUnavailable",
            json!("25%"),
        );
        default(&mut spec["strategy"]["rollingUpdate"], "maxSurge", json!("25%"));
    }
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
    template_defaults(spec);
    validate_common(object, old, causes);
    let spec = &object["spec"];
    let strategy = &spec["strategy"];
    match strategy["type"].as_str() {
        Some("RollingUpdate") => {
            let ru = &strategy["rollingUpdate"];
            if is_zero(&ru["maxSurge"]) && is_zero(&ru["maxUnavailable"]) {
                causes.push(invalid(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    &go_value(&ru["maxUnavailable"]),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
        }
        Some("Recreate") => {
            if strategy.get("rollingUpdate").is_some_and(|r| !r.is_null()) {
                causes.push(forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        _ => causes.push(unsupported(
            "spec.strategy.type",
            &strategy["type"],
            &["Recreate", "RollingUpdate"],
        )),
    }
    non_negative(&spec["revisionHistoryLimit"], "spec.revisionHistoryLimit", causes);
    let deadline = spec["progressDeadlineSeconds"].as_i64().unwrap_or(600);
    if deadline <= spec["minReadySeconds"].as_i64().unwrap_or(0) {
        causes.push(invalid(
            "spec.progressDeadlineSeconds",
            &deadline.to_string(),
            "must be greater than minReadySeconds",
        ));
    }
}

pub fn replica_set(object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    default(&mut object["spec"], "replicas", json!(1));
    template_defaults(&mut object["spec"]);
    validate_common(object, old, causes);
}

fn template_defaults(spec: &mut Value) {
    if !spec["template"].is_object() {
        return;
    }
    let template = &mut spec["template"];
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    // The Go type has a non-pointer `creationTimestamp`, so a template always shows it as null.
    template["metadata"]["creationTimestamp"] = Value::Null;
    podspec::set_defaults(&mut template["spec"]);
}

fn is_zero(v: &Value) -> bool {
    v.as_i64() == Some(0) || v.as_str().is_some_and(|s| s == "0" || s == "0%")
}

fn non_negative(v: &Value, field: &str, causes: &mut Vec<Cause>) {
    if let Some(n) = v.as_i64()
        && n < 0
    {
        causes.push(invalid(
            field,
            &n.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

/// Rules Deployments and ReplicaSets share: replicas, selector, template.
fn validate_common(object: &Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let spec = &object["spec"];
    non_negative(&spec["replicas"], "spec.replicas", causes);
    let sel = &spec["selector"];
    if !sel.is_object() {
        causes.push(required("spec.selector", ""));
    } else if selector::is_empty(sel) {
        causes.push(invalid(
            "spec.selector",
            &selector::go_repr(sel),
            &format!(
                "empty selector is invalid for {}",
                object["kind"].as_str().unwrap_or("deployment").to_lowercase()
            ),
        ));
    } else {
        let labels = &spec["template"]["metadata"]["labels"];
        if !selector::matches(sel, labels) {
            causes.push(invalid(
                "spec.template.metadata.labels",
                &go_string_map(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    if !spec["template"].is_object() {
        causes.push(required("spec.template", ""));
    } else {
        podspec::validate(
            &spec["template"]["spec"],
            "spec.template.spec",
            &["Always"],
            causes,
        );
    }
    if let Some(old) = old
        && old["spec"]["selector"] != *sel
    {
        causes.push(invalid(
            "spec.selector",
            &selector::go_repr(sel),
            "field is immutable",
        ));
    }
}

/// `autoscaling/v1` Scale of a Deployment or ReplicaSet.
fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": object["spec"]["replicas"]},
        "status": {
            "replicas": object["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector::to_string(&object["spec"]["selector"]),
        },
    })
}

/// GET, PUT and PATCH of `/scale`: reads and writes the parent's `spec.replicas`.
pub fn scale(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    verb: &str,
    query: &Query,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    let ns = target.namespace.as_deref();
    let mut state = app.lock();
    let old = objects::current(&state, def, ns, name)?;
    let current = scale_of(&old);
    let mut wanted = current.clone();
    match verb {
        "get" => return Ok(json_response(StatusCode::OK, &current)),
        "update" => wanted = crate::handlers::decode_body(body, false)?,
        "patch" => {
            let patch = crate::handlers::decode_body(body, false)?;
            match content_type(headers).as_str() {
                "application/json-patch+json" => crate::patch::json_patch(&mut wanted, &patch)
                    .map_err(|e| ApiError::new(422, "Invalid", e))?,
                // Scale has no keyed lists, so a strategic merge patch is a merge patch here.
                "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                    crate::patch::merge_patch(&mut wanted, &patch)
                }
                other => return Err(ApiError::unsupported_media_type(other)),
            }
        }
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "{verb} is not supported on scale"
            )));
        }
    }
    if let Some(rv) = wanted["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(def, name));
    }
    let replicas = &wanted["spec"]["replicas"];
    if replicas.as_i64().is_none_or(|n| n < 0) {
        let scale_def = ResourceDef::builtin("autoscaling", "v1", "scale", "Scale", true, &[]);
        return Err(ApiError::invalid(
            &scale_def,
            name,
            vec![invalid(
                "spec.replicas",
                &go_value(replicas),
                "must be greater than or equal to 0",
            )],
        ));
    }
    let mut candidate = old.clone();
    candidate["spec"]["replicas"] = replicas.clone();
    let opts = WriteOpts {
        dry_run: query.dry_run(),
        ..WriteOpts::default()
    };
    let updated = objects::finish_update(&mut state, def, old, candidate, Part::Main, &opts)?;
    // The controller has run inside the commit, so the reply carries the new status.
    let latest = if opts.dry_run {
        updated
    } else {
        objects::current(&state, def, ns, name).unwrap_or(updated)
    };
    Ok(json_response(StatusCode::OK, &scale_of(&latest)))
}
