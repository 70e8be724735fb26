//! The write path shared by POST, PUT, PATCH and DELETE: metadata rules, the status subresource,
//! optimistic concurrency, finalizers, dry run, and the no-op rule (a write that changes nothing
//! keeps its resourceVersion and emits no event, so controllers that re-write status settle).

use serde_json::{Value, json};

use crate::error::{ApiError, Cause};
use crate::kinds;
use crate::meta::{self, metadata_mut, str_field};
use crate::registry::ResourceDef;
use crate::store::{EventType, State};

#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    pub dry_run: bool,
    /// `fieldValidation=Strict` turns pruned unknown fields into a 400, as on a real server.
    pub strict_fields: bool,
    /// The field manager an Update is recorded for in `managedFields` (none for the server's own
    /// writes and for apply patches, which record themselves).
    pub manager: Option<String>,
    /// `foregroundDeletion` or `orphan`: the finalizer a DELETE's propagation policy adds.
    pub propagation_finalizer: Option<&'static str>,
}

fn ns_key(def: &ResourceDef, ns: Option<&str>) -> String {
    if def.namespaced {
        ns.unwrap_or("default").to_string()
    } else {
        String::new()
    }
}

fn check_kind(def: &ResourceDef, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request("the request body must be a JSON object"));
    }
    if let Some(kind) = body["kind"].as_str().filter(|k| !k.is_empty())
        && kind != def.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match the kind of the resource ({})",
            def.kind
        )));
    }
    check_metadata(&body["metadata"])
}

/// The apiserver decodes metadata into Go types, so a wrongly typed field is a decoding error
/// (400), never something stored.
fn check_metadata(meta: &Value) -> Result<(), ApiError> {
    let bad = |field: &str, want: &str| {
        Err(ApiError::bad_request(format!(
            "json: cannot unmarshal metadata.{field}: expected {want}"
        )))
    };
    let Some(meta) = meta.as_object() else {
        return if meta.is_null() {
            Ok(())
        } else {
            bad("", "an object")
        };
    };
    let strings = ["name", "generateName", "namespace", "resourceVersion", "uid"];
    for field in strings {
        if meta.get(field).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return bad(field, "a string");
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(v) = meta.get(field).filter(|v| !v.is_null()) {
            match v.as_object() {
                Some(m) if m.values().all(Value::is_string) => {}
                _ => return bad(field, "a map of strings"),
            }
        }
    }
    if let Some(v) = meta.get("finalizers").filter(|v| !v.is_null()) {
        match v.as_array() {
            Some(a) if a.iter().all(Value::is_string) => {}
            _ => return bad("finalizers", "a list of strings"),
        }
    }
    Ok(())
}

/// Makes the object carry the apiVersion/kind of the version it was written through.
fn stamp_type(def: &ResourceDef, object: &mut Value) {
    object["apiVersion"] = Value::String(def.api_version());
    object["kind"] = Value::String(def.kind.clone());
}

pub fn create(
    state: &mut State,
    def: &ResourceDef,
    ns: Option<&str>,
    mut body: Value,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    check_kind(def, &body)?;
    stamp_type(def, &mut body);
    let ns = ns_key(def, ns);
    let meta = metadata_mut(&mut body);
    if def.namespaced {
        if let Some(body_ns) = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta.insert("namespace".into(), Value::String(ns.clone()));
    } else {
        meta.remove("namespace");
    }
    let name = match (str_field(&body, "name"), str_field(&body, "generateName")) {
        (Some(n), _) => n.to_string(),
        (None, Some(prefix)) => meta::generated_name(prefix),
        (None, None) => {
            return Err(ApiError::invalid(
                def,
                "",
                vec![Cause {
                    reason: "FieldValueRequired",
                    message: "metadata.name: Required value: name or generateName is required".into(),
                    field: "metadata.name".into(),
                }],
            ));
        }
    };
    if def.namespaced {
        crate::namespaces::admit_create(state, def, &ns, &name)?;
    }
    crate::crd_lifecycle::admit_create(state, def)?;
    crate::builtin_rules::check_name(def, &name)?;
    if state.get(&def.storage_key(), &ns, &name).is_some() {
        return Err(ApiError::already_exists(def, &name));
    }
    let meta = metadata_mut(&mut body);
    meta.insert("name".into(), Value::String(name.clone()));
    meta.insert("uid".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), Value::String(meta::now_rfc3339()));
    if crate::builtin_rules::has_generation(def) {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    for key in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(key);
    }
    if def.status_subresource
        && let Some(map) = body.as_object_mut()
    {
        map.remove("status");
    }
    kinds::prepare(state, def, &mut body, None)?;
    if def.custom {
        crate::schema::admit(def, &name, &mut body, None, opts.strict_fields)?;
    }
    meta::normalize(&mut body);
    if let Some(manager) = &opts.manager {
        crate::apply::record_update(def, None, &mut body, manager, "");
    }
    if opts.dry_run {
        return Ok(body);
    }
    let stored = state.commit(&def.storage_key(), EventType::Added, body);
    kinds::after_commit(state, def, &stored, EventType::Added)?;
    Ok((*stored).clone())
}

/// Which part of the object a write may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// Loads the current object or 404s.
pub fn current(state: &State, def: &ResourceDef, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
    state
        .get(&def.storage_key(), &ns_key(def, ns), name)
        .map(|o| (*o).clone())
        .ok_or_else(|| ApiError::not_found(def, name))
}

/// PUT: the body must carry a resourceVersion for custom resources and it must be current.
pub fn update(
    state: &mut State,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    mut body: Value,
    part: Part,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    check_kind(def, &body)?;
    let old = current(state, def, ns, name)?;
    if let Some(body_name) = str_field(&body, "name")
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    match str_field(&body, "resourceVersion") {
        None if def.custom => {
            return Err(ApiError::invalid(
                def,
                name,
                vec![Cause {
                    reason: "FieldValueInvalid",
                    message: "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
                        .into(),
                    field: "metadata.resourceVersion".into(),
                }],
            ));
        }
        Some(rv) if Some(rv) != str_field(&old, "resourceVersion") => {
            return Err(ApiError::conflict(def, name));
        }
        _ => {}
    }
    stamp_type(def, &mut body);
    finish_update(state, def, old, body, part, opts)
}

/// Shared tail of PUT and PATCH: merges the candidate into the old object according to the part
/// being written, enforces the metadata rules, validates, and commits unless it is a no-op.
pub fn finish_update(
    state: &mut State,
    def: &ResourceDef,
    old: Value,
    candidate: Value,
    part: Part,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    let name = str_field(&old, "name").unwrap_or_default().to_string();
    // A patch may have turned the object into anything; refuse rather than store or panic.
    check_kind(def, &candidate)?;
    let mut new = match part {
        // A status write changes only status: everything else comes from the stored object.
        Part::Status => {
            let mut new = old.clone();
            match candidate.get("status") {
                Some(status) => new["status"] = status.clone(),
                None => {
                    if let Some(map) = new.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            if let Some(mf) = candidate["metadata"].get("managedFields") {
                new["metadata"]["managedFields"] = mf.clone();
            }
            new
        }
        Part::Main => {
            let mut new = candidate;
            if def.status_subresource {
                match old.get("status") {
                    Some(status) => new["status"] = status.clone(),
                    None => {
                        if let Some(map) = new.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
            }
            new
        }
    };
    stamp_type(def, &mut new);
    meta::preserve_server_fields(&mut new, &old);
    if meta::is_deleting(&old) {
        let before = meta::finalizers(&old);
        let added: Vec<String> = meta::finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list = added
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ApiError::invalid(
                def,
                &name,
                vec![Cause {
                    reason: "FieldValueForbidden",
                    message: format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                    ),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    kinds::prepare(state, def, &mut new, Some(&old))?;
    if def.custom {
        crate::schema::admit(def, &name, &mut new, Some(&old), opts.strict_fields)?;
    }
    meta::normalize(&mut new);
    if crate::builtin_rules::has_generation(def)
        && meta::spec_view(&new, def.status_subresource) != meta::spec_view(&old, def.status_subresource)
    {
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        new["metadata"]["generation"] = json!(generation + 1);
    }
    if let Some(manager) = &opts.manager {
        let sub = if part == Part::Status { "status" } else { "" };
        crate::apply::record_update(def, Some(&old), &mut new, manager, sub);
    }
    if new == old {
        return Ok(old);
    }
    if opts.dry_run {
        return Ok(new);
    }
    let kind = if meta::is_deleting(&new)
        && meta::finalizers(&new).is_empty()
        && !crate::namespaces::blocks_removal(def, &new)
    {
        EventType::Deleted
    } else {
        EventType::Modified
    };
    let stored = state.commit(&def.storage_key(), kind, new);
    kinds::after_commit(state, def, &stored, kind)?;
    Ok((*stored).clone())
}

/// DELETE: with finalizers the object only gets a deletionTimestamp (and a generation bump);
/// without, it is removed and watchers see DELETED.
pub fn delete(
    state: &mut State,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    preconditions: &Value,
    opts: &WriteOpts,
) -> Result<Value, ApiError> {
    let old = current(state, def, ns, name)?;
    if let Some(uid) = preconditions["uid"].as_str()
        && Some(uid) != str_field(&old, "uid")
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                str_field(&old, "uid").unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = preconditions["resourceVersion"].as_str()
        && Some(rv) != str_field(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(def, name));
    }
    if crate::namespaces::is_namespaces(def) {
        return crate::namespaces::delete(state, def, old, opts);
    }
    if crate::crd_lifecycle::is_crds(def) {
        return crate::crd_lifecycle::delete(state, def, old, opts);
    }
    let mut base = old.clone();
    if let Some(f) = opts.propagation_finalizer
        && !meta::is_deleting(&old)
        && !meta::finalizers(&old).iter().any(|x| x == f)
    {
        let mut list = meta::finalizers(&old);
        list.push(f.to_string());
        metadata_mut(&mut base).insert("finalizers".into(), json!(list));
    }
    if !meta::finalizers(&base).is_empty() {
        if meta::is_deleting(&old) {
            return Ok(old);
        }
        let mut new = base;
        let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
        let meta = metadata_mut(&mut new);
        meta.insert("deletionTimestamp".into(), Value::String(meta::now_rfc3339()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if crate::builtin_rules::has_generation(def) {
            meta.insert("generation".into(), json!(generation + 1));
        }
        if opts.dry_run {
            return Ok(new);
        }
        let stored = state.commit(&def.storage_key(), EventType::Modified, new);
        // The garbage collector acts on the propagation finalizers right away.
        kinds::after_commit(state, def, &stored, EventType::Modified)?;
        return Ok((*stored).clone());
    }
    if opts.dry_run {
        return Ok(old);
    }
    let stored = state.commit(&def.storage_key(), EventType::Deleted, old);
    kinds::after_commit(state, def, &stored, EventType::Deleted)?;
    Ok((*stored).clone())
}
