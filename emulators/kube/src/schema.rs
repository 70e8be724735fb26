//! Structural-schema admission for custom resources, in the apiserver's order: prune unknown
//! fields (unless `x-kubernetes-preserve-unknown-fields`), apply defaults, validate the OpenAPI
//! constraints, then evaluate the CEL `x-kubernetes-validations` rules. Messages follow the
//! apiserver's wording so tests written here read the same against a real cluster.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::error::{ApiError, Cause};
use crate::registry::ResourceDef;

pub fn admit(
    def: &ResourceDef,
    name: &str,
    object: &mut Value,
    old: Option<&Value>,
    strict: bool,
) -> Result<(), ApiError> {
    let Some(schema) = def.schema.clone() else {
        return Ok(());
    };
    let mut unknown = Vec::new();
    prune(&schema, object, "", &mut unknown, true);
    if strict && !unknown.is_empty() {
        let fields: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
            fields.join(", "),
            kind = def.kind,
            v = def.version
        )));
    }
    apply_defaults(&schema, object, true);
    let mut causes = Vec::new();
    validate(&schema, object, "", &mut causes, true);
    if causes.is_empty() {
        crate::rules::run_rules(&schema, object, old, "", &mut causes, true);
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, causes))
    }
}

pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn flag(schema: &Value, key: &str) -> bool {
    schema.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// Root (and embedded-resource) objects always keep their type and metadata.
fn keeps_type_meta(schema: &Value, root: bool) -> bool {
    root || flag(schema, "x-kubernetes-embedded-resource")
}

fn prune(schema: &Value, value: &mut Value, path: &str, unknown: &mut Vec<String>, root: bool) {
    let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keep_meta = keeps_type_meta(schema, root);
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if keep_meta && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let sub = props.and_then(|p| p.get(&key)).or(additional);
                match (sub, map.get_mut(&key)) {
                    // The apiserver drops nulls of non-nullable fields before defaulting.
                    (Some(sub), Some(Value::Null)) if !flag(sub, "nullable") => {
                        map.remove(&key);
                    }
                    (Some(sub), Some(v)) => prune(sub, v, &child(path, &key), unknown, false),
                    (None, _)
                        if preserve || schema.get("additionalProperties") == Some(&Value::Bool(true)) => {}
                    (None, _) => {
                        map.remove(&key);
                        unknown.push(child(path, &key));
                    }
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(item_schema, item, &format!("{path}[{i}]"), unknown, false);
                }
            }
        }
        _ => {}
    }
}

fn apply_defaults(schema: &Value, value: &mut Value, root: bool) {
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if root && key == "metadata" {
                        continue;
                    }
                    if !map.contains_key(key)
                        && let Some(default) = sub.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(v) = map.get_mut(key) {
                        apply_defaults(sub, v, false);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for v in map.values_mut() {
                    apply_defaults(additional, v, false);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item_schema, item, false);
                }
            }
        }
        _ => {}
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(want: &str, value: &Value) -> bool {
    match want {
        "number" => value.is_number(),
        other => type_name(value) == other,
    }
}

/// Printed the way the apiserver prints invalid values: strings quoted, numbers bare.
fn shown(value: &Value) -> String {
    match value {
        Value::Object(_) | Value::Array(_) | Value::Null => format!("\"{}\"", type_name(value)),
        other => other.to_string(),
    }
}

fn invalid(path: &str, value: &Value, detail: String) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("{path}: Invalid value: {}: {detail}", shown(value)),
        field: path.to_string(),
    }
}

fn regex_matches(pattern: &str, text: &str) -> Option<bool> {
    static CACHE: OnceLock<Mutex<HashMap<String, regex::Regex>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !cache.contains_key(pattern) {
        cache.insert(pattern.to_string(), regex::Regex::new(pattern).ok()?);
    }
    cache.get(pattern).map(|re| re.is_match(text))
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn validate(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>, root: bool) {
    let shown_path = if path.is_empty() { "<root>" } else { path };
    if value.is_null() && flag(schema, "nullable") {
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(type_name(value) == "integer" || value.is_string()) {
            causes.push(invalid(
                shown_path,
                value,
                format!(
                    "{shown_path} in body must be of type int-or-string: {}",
                    shown(value)
                ),
            ));
            return;
        }
    } else if let Some(want) = schema.get("type").and_then(Value::as_str)
        && !type_ok(want, value)
    {
        let got = format!("\"{}\"", type_name(value));
        causes.push(Cause {
            reason: "FieldValueTypeInvalid",
            message: format!(
                "{shown_path}: Invalid value: {got}: {shown_path} in body must be of type {want}: {got}"
            ),
            field: path.to_string(),
        });
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let supported: Vec<String> = options.iter().map(|o| o.to_string()).collect();
        causes.push(Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "{shown_path}: Unsupported value: {value}: supported values: {}",
                supported.join(", ")
            ),
            field: path.to_string(),
        });
    }
    match value {
        Value::String(s) => validate_string(schema, value, s, shown_path, causes),
        Value::Number(n) => {
            validate_number(schema, value, n.as_f64().unwrap_or_default(), shown_path, causes)
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                causes.push(Cause {
                    reason: "FieldValueTooMany",
                    message: format!(
                        "{shown_path}: Too many: {}: must have at most {max} items",
                        items.len()
                    ),
                    field: path.to_string(),
                });
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                causes.push(invalid(
                    shown_path,
                    value,
                    format!("{shown_path} in body should have at least {min} items"),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{path}[{i}]"), causes, false);
                }
            }
        }
        Value::Object(map) => validate_object(schema, value, map, path, causes, root),
        _ => {}
    }
    validate_combinators(schema, value, path, shown_path, causes);
}

fn validate_string(schema: &Value, value: &Value, s: &str, path: &str, causes: &mut Vec<Cause>) {
    let len = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        causes.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("{path}: Too long: may not be longer than {max}"),
            field: path.to_string(),
        });
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        causes.push(invalid(
            path,
            value,
            format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        match regex_matches(pattern, s) {
            Some(true) => {}
            Some(false) => causes.push(invalid(
                path,
                value,
                format!("{path} in body should match '{pattern}'"),
            )),
            None => causes.push(invalid(
                path,
                value,
                format!("the schema's pattern '{pattern}' does not compile"),
            )),
        }
    }
}

fn validate_number(schema: &Value, value: &Value, n: f64, path: &str, causes: &mut Vec<Cause>) {
    if let Some(max) = num(schema, "maximum") {
        let exclusive = flag(schema, "exclusiveMaximum");
        if n > max || (exclusive && n == max) {
            let rel = if exclusive {
                "less than"
            } else {
                "less than or equal to"
            };
            causes.push(invalid(
                path,
                value,
                format!("{path} in body should be {rel} {}", fmt_num(max)),
            ));
        }
    }
    if let Some(min) = num(schema, "minimum") {
        let exclusive = flag(schema, "exclusiveMinimum");
        if n < min || (exclusive && n == min) {
            let rel = if exclusive {
                "greater than"
            } else {
                "greater than or equal to"
            };
            causes.push(invalid(
                path,
                value,
                format!("{path} in body should be {rel} {}", fmt_num(min)),
            ));
        }
    }
    if let Some(step) = num(schema, "multipleOf").filter(|s| *s > 0.0)
        && (n / step).fract() != 0.0
    {
        causes.push(invalid(
            path,
            value,
            format!("{path} in body should be a multiple of {}", fmt_num(step)),
        ));
    }
}

fn validate_object(
    schema: &Value,
    value: &Value,
    map: &Map<String, Value>,
    path: &str,
    causes: &mut Vec<Cause>,
    root: bool,
) {
    let shown_path = if path.is_empty() { "<root>" } else { path };
    for req in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(req) {
            let field = child(path, req);
            causes.push(Cause {
                reason: "FieldValueRequired",
                message: format!("{field}: Required value"),
                field,
            });
        }
    }
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && map.len() as u64 > max
    {
        causes.push(Cause {
            reason: "FieldValueTooMany",
            message: format!(
                "{shown_path}: Too many: {}: must have at most {max} items",
                map.len()
            ),
            field: path.to_string(),
        });
    }
    if let Some(min) = schema.get("minProperties").and_then(Value::as_u64)
        && (map.len() as u64) < min
    {
        causes.push(invalid(
            shown_path,
            value,
            format!("{shown_path} in body should have at least {min} properties"),
        ));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, v) in map {
        if (root || flag(schema, "x-kubernetes-embedded-resource"))
            && matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
        {
            continue;
        }
        if let Some(sub) = props.and_then(|p| p.get(key)).or(additional) {
            validate(sub, v, &child(path, key), causes, false);
        }
    }
}

fn validate_combinators(
    schema: &Value,
    value: &Value,
    path: &str,
    shown_path: &str,
    causes: &mut Vec<Cause>,
) {
    let passes = |sub: &Value| {
        let mut errs = Vec::new();
        validate(sub, value, path, &mut errs, false);
        errs.is_empty()
    };
    for sub in schema
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        validate(sub, value, path, causes, false);
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(passes)
    {
        causes.push(invalid(
            shown_path,
            value,
            format!("{shown_path} in body must validate at least one schema (anyOf)"),
        ));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array)
        && one.iter().filter(|s| passes(s)).count() != 1
    {
        causes.push(invalid(
            shown_path,
            value,
            format!("{shown_path} in body must validate one and only one schema (oneOf)"),
        ));
    }
    if let Some(not) = schema.get("not")
        && passes(not)
    {
        causes.push(invalid(
            shown_path,
            value,
            format!("{shown_path} in body must not validate the schema (not)"),
        ));
    }
}
