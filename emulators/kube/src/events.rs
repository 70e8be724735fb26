//! Events: core/v1 and events.k8s.io/v1 are two views of one stored resource, as in the
//! apiserver. Objects are stored in the core/v1 shape and converted field by field when read or
//! written through events.k8s.io/v1 (`regarding`/`involvedObject`, `note`/`message`, ...), with
//! the apiserver's validation for each request version and its Table columns.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, Cause};
use crate::registry::ResourceDef;

/// (core/v1 name, events.k8s.io/v1 name) of every field whose name differs between the views.
const RENAMED: [(&str, &str); 7] = [
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

pub fn is_events(def: &ResourceDef) -> bool {
    !def.custom && def.plural == "events" && matches!(def.group.as_str(), "" | "events.k8s.io")
}

fn is_new_api(def: &ResourceDef) -> bool {
    is_events(def) && def.group == "events.k8s.io"
}

/// Both views share the core/v1 storage.
pub const STORAGE_KEY: &str = "/events";

/// Drops the fields the other version has (decoding into the Go type would) and, when converting
/// between versions, renames the differing ones.
fn convert(map: &mut Map<String, Value>, from_new: bool, to_new: bool) {
    for (core, new) in RENAMED {
        map.remove(if from_new { core } else { new });
    }
    if from_new == to_new {
        return;
    }
    for (core, new) in RENAMED {
        let (from, to) = if from_new { (new, core) } else { (core, new) };
        if let Some(v) = map.remove(from) {
            map.insert(to.to_string(), v);
        }
    }
}

/// Converts a stored (core/v1) Event into the shape of the version it is read through.
pub fn to_view(def: &ResourceDef, object: &mut Value) {
    if !is_events(def) {
        return;
    }
    let Some(map) = object.as_object_mut() else { return };
    if is_new_api(def) {
        convert(map, false, true);
        for key in ["deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
            if map.get(key).is_some_and(Value::is_null) {
                map.remove(key);
            }
        }
        if map
            .get("deprecatedSource")
            .is_some_and(|s| s.as_object().is_some_and(Map::is_empty))
        {
            map.remove("deprecatedSource");
        }
        // `eventTime` has no omitempty in events.k8s.io/v1: a legacy event shows it as null.
        map.entry("eventTime").or_insert(Value::Null);
    } else {
        // The core/v1 Go type always prints these (no omitempty, or struct/time values).
        for key in ["eventTime", "firstTimestamp", "lastTimestamp"] {
            map.entry(key).or_insert(Value::Null);
        }
        map.entry("source").or_insert_with(|| json!({}));
        for key in ["reportingComponent", "reportingInstance"] {
            map.entry(key).or_insert_with(|| json!(""));
        }
    }
    map.insert("apiVersion".into(), Value::String(def.api_version()));
}

/// Converts a request body into the stored (core/v1) shape.
pub fn to_storage(def: &ResourceDef, object: &mut Value) {
    if !is_events(def) {
        return;
    }
    let Some(map) = object.as_object_mut() else { return };
    convert(map, is_new_api(def), false);
    // Zero values carry no information; storing them absent keeps the no-op test exact.
    for key in [
        "eventTime",
        "firstTimestamp",
        "lastTimestamp",
        "series",
        "related",
    ] {
        if map.get(key).is_some_and(Value::is_null) {
            map.remove(key);
        }
    }
    for key in [
        "reportingComponent",
        "reportingInstance",
        "message",
        "action",
        "type",
        "reason",
    ] {
        if map.get(key).is_some_and(|v| v.is_null() || v == "") {
            map.remove(key);
        }
    }
    if map.get("count").is_some_and(|v| v.is_null() || v == 0) {
        map.remove("count");
    }
    if map
        .get("source")
        .is_some_and(|s| s.is_null() || s.as_object().is_some_and(Map::is_empty))
    {
        map.remove("source");
    }
}

/// events.k8s.io field selectors name core fields, as the apiserver's field label conversion does.
pub fn storage_field_label(def: &ResourceDef, field: &str) -> String {
    if !is_new_api(def) {
        return field.to_string();
    }
    if let Some(rest) = field.strip_prefix("regarding.") {
        return format!("involvedObject.{rest}");
    }
    match field {
        "reportingController" => "reportingComponent".into(),
        other => other.into(),
    }
}

fn text<'a>(object: &'a Value, key: &str) -> &'a str {
    object[key].as_str().unwrap_or_default()
}

fn invalid(field: &str, value: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("{field}: Invalid value: {value:?}: {detail}"),
        field: field.into(),
    }
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        message: format!("{field}: Required value"),
        field: field.into(),
    }
}

fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(|p| !p.is_empty() && crate::events::is_dns_subdomain(p))
}

pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && !s.is_empty()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The apiserver's checks every Event passes (`legacyValidateEvent`).
fn legacy(event: &Value, causes: &mut Vec<Cause>) {
    let ns = event["metadata"]["namespace"].as_str().unwrap_or_default();
    let involved_ns = event["involvedObject"]["namespace"].as_str().unwrap_or_default();
    let mismatch = || {
        invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    if event.get("eventTime").is_none_or(Value::is_null) {
        if (involved_ns.is_empty() && !ns.is_empty() && ns != "default")
            || (!involved_ns.is_empty() && ns != involved_ns)
        {
            causes.push(mismatch());
        }
        return;
    }
    if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
        causes.push(mismatch());
    }
    let controller = text(event, "reportingComponent");
    if controller.is_empty() {
        causes.push(required("reportingController"));
    } else if !is_qualified_name(controller) {
        causes.push(invalid(
            "reportingController",
            controller,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ));
    }
    let limits = [("reportingInstance", 128), ("action", 128), ("reason", 128)];
    for (field, limit) in limits {
        let value = text(event, field);
        if value.is_empty() {
            causes.push(required(field));
        } else if value.len() > limit {
            causes.push(invalid(
                field,
                "",
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    if text(event, "message").len() > 1024 {
        causes.push(invalid("message", "", "can have at most 1024 characters"));
    }
}

fn series(event: &Value, causes: &mut Vec<Cause>) {
    let Some(series) = event.get("series").filter(|s| !s.is_null()) else {
        return;
    };
    if series["count"].as_i64().unwrap_or(0) < 2 {
        causes.push(invalid("series.count", "", "should be at least 2"));
    }
    if series.get("lastObservedTime").is_none_or(Value::is_null) {
        causes.push(required("series.lastObservedTime"));
    }
}

/// Validation of a create or update (`old`), in the stored shape, for the request's version:
/// core/v1 keeps the legacy rules only; events.k8s.io/v1 adds the strict ones.
pub fn validate(def: &ResourceDef, event: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    legacy(event, &mut causes);
    if is_new_api(def) {
        match old {
            None => {
                series(event, &mut causes);
                if event.get("eventTime").is_none_or(Value::is_null) {
                    causes.push(required("eventTime"));
                }
                let ty = text(event, "type");
                if ty != "Normal" && ty != "Warning" {
                    causes.push(invalid("type", "", &format!("has invalid value: {ty}")));
                }
                for field in ["firstTimestamp", "lastTimestamp", "count", "source"] {
                    if event.get(field).is_some_and(|v| !v.is_null()) {
                        causes.push(invalid(field, "", "needs to be unset"));
                    }
                }
            }
            Some(old) => {
                if event.get("series") != old.get("series") {
                    series(event, &mut causes);
                }
                let immutable = [
                    "involvedObject",
                    "reason",
                    "message",
                    "source",
                    "firstTimestamp",
                    "lastTimestamp",
                    "count",
                    "type",
                    "eventTime",
                    "action",
                    "related",
                    "reportingComponent",
                    "reportingInstance",
                ];
                for field in immutable {
                    if event.get(field) != old.get(field) {
                        let shown = if field == "reportingComponent" {
                            "reportingController"
                        } else {
                            field
                        };
                        causes.push(Cause {
                            reason: "FieldValueInvalid",
                            message: format!(
                                "{shown}: Invalid value: {}: field is immutable",
                                event.get(field).unwrap_or(&Value::Null)
                            ),
                            field: shown.into(),
                        });
                    }
                }
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        let name = event["metadata"]["name"].as_str().unwrap_or_default();
        Err(ApiError::invalid(def, name, causes))
    }
}

/// The apiserver's Table columns for Events (both views): no leading Name column, and the
/// priority-1 columns kubectl shows with `-o wide`.
pub fn table_columns() -> Vec<Value> {
    let col = |name: &str, priority: i64, description: &str| {
        json!({"name": name, "type": "string", "format": if name == "Name" { "name" } else { "" },
               "priority": priority, "description": description})
    };
    vec![
        col(
            "Last Seen",
            0,
            "The time at which the most recent occurrence of this event was recorded.",
        ),
        col(
            "Type",
            0,
            "Type of this event (Normal, Warning), new types could be added in the future",
        ),
        col(
            "Reason",
            0,
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
        ),
        col("Object", 0, "The object that this event is about."),
        col(
            "Subobject",
            1,
            "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.",
        ),
        col(
            "Source",
            1,
            "The component reporting this event. Should be a short machine understandable string.",
        ),
        col(
            "Message",
            0,
            "A human-readable description of the status of this operation.",
        ),
        col(
            "First Seen",
            1,
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
        ),
        col("Count", 1, "The number of times this event has occurred."),
        col("Name", 1, "Name must be unique within a namespace."),
    ]
}

/// One row's cells, computed as the apiserver's event printer does, from either view.
pub fn table_cells(event: &Value) -> Vec<Value> {
    let pick = |core: &str| {
        let new = RENAMED
            .iter()
            .find(|(c, _)| *c == core)
            .map(|(_, n)| *n)
            .unwrap_or(core);
        event
            .get(core)
            .filter(|v| !v.is_null())
            .or_else(|| event.get(new).filter(|v| !v.is_null()))
    };
    let age = |v: Option<&Value>| v.and_then(Value::as_str).map(crate::table::human_age);
    let first = age(pick("firstTimestamp")).or_else(|| age(event.get("eventTime")));
    let mut last = age(pick("lastTimestamp")).or_else(|| first.clone());
    let mut count = pick("count").and_then(Value::as_i64).unwrap_or(0);
    if let Some(series) = event.get("series").filter(|s| !s.is_null()) {
        last = age(series.get("lastObservedTime"));
        count = series["count"].as_i64().unwrap_or(count);
    } else if count == 0 {
        count = 1;
    }
    let involved = pick("involvedObject").cloned().unwrap_or(Value::Null);
    let kind = involved["kind"].as_str().unwrap_or_default().to_lowercase();
    let target = match involved["name"].as_str().filter(|n| !n.is_empty()) {
        Some(name) => format!("{kind}/{name}"),
        None => kind,
    };
    let source = pick("source")
        .and_then(|s| s["component"].as_str())
        .filter(|c| !c.is_empty())
        .map(String::from)
        .or_else(|| {
            pick("reportingComponent")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let s = |v: Option<String>| Value::String(v.unwrap_or_else(|| "<unknown>".into()));
    vec![
        s(last),
        json!(text(event, "type")),
        json!(text(event, "reason")),
        json!(target),
        json!(involved["fieldPath"].as_str().unwrap_or_default()),
        json!(source),
        json!(pick("message").and_then(Value::as_str).unwrap_or_default()),
        s(first),
        json!(count.to_string()),
        event["metadata"]["name"].clone(),
    ]
}
