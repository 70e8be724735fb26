//! Walks a schema for `x-kubernetes-validations`: evaluating the rules against an object (with
//! `oldSelf` from the stored object on update) and compile-checking them when a CRD is created.

use serde_json::Value;

use crate::cel::{self, RuleFailure};
use crate::error::Cause;
use crate::schema::child;

/// Correlates list items with the old list only for `x-kubernetes-list-type: map` (by key), as
/// the apiserver does; other list items have no `oldSelf`.
fn old_item<'a>(schema: &Value, item: &Value, old_list: Option<&'a Value>) -> Option<&'a Value> {
    if schema.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    old_list?
        .as_array()?
        .iter()
        .find(|o| keys.iter().all(|k| o.get(k) == item.get(k)))
}

pub(crate) fn run_rules(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    causes: &mut Vec<Cause>,
    root: bool,
) {
    let shown_path = if path.is_empty() { "<root>" } else { path };
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(expr) = rule.get("rule").and_then(Value::as_str) else {
            continue;
        };
        if cel::is_transition_rule(expr) && old.is_none() {
            continue;
        }
        let failure = match cel::evaluate(expr, value, old) {
            Ok(()) => continue,
            Err(RuleFailure::False) => rule
                .get("messageExpression")
                .and_then(Value::as_str)
                .and_then(|m| cel::message(m, value, old))
                .or_else(|| rule.get("message").and_then(Value::as_str).map(String::from))
                .unwrap_or_else(|| format!("failed rule: {expr}")),
            Err(RuleFailure::Error(e)) => format!("rule evaluation error: {expr}: {e}"),
        };
        let field = match rule.get("fieldPath").and_then(Value::as_str) {
            Some(fp) => child(path, fp.trim_start_matches('.')),
            None => shown_path.to_string(),
        };
        let ty = schema.get("type").and_then(Value::as_str).unwrap_or("object");
        let (reason, message) = match rule.get("reason").and_then(Value::as_str) {
            Some("FieldValueForbidden") => ("FieldValueForbidden", format!("{field}: Forbidden: {failure}")),
            Some("FieldValueRequired") => (
                "FieldValueRequired",
                format!("{field}: Required value: {failure}"),
            ),
            Some("FieldValueDuplicate") => (
                "FieldValueDuplicate",
                format!("{field}: Duplicate value: {failure}"),
            ),
            _ => (
                "FieldValueInvalid",
                format!("{field}: Invalid value: \"{ty}\": {failure}"),
            ),
        };
        causes.push(Cause {
            reason,
            message,
            field,
        });
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, v) in map {
                if root && key == "metadata" {
                    continue;
                }
                if let Some(sub) = props.and_then(|p| p.get(key)).or(additional) {
                    run_rules(
                        sub,
                        v,
                        old.and_then(|o| o.get(key)),
                        &child(path, key),
                        causes,
                        false,
                    );
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let old = old_item(schema, item, old);
                    run_rules(item_schema, item, old, &format!("{path}[{i}]"), causes, false);
                }
            }
        }
        _ => {}
    }
}

/// Compile errors of every `x-kubernetes-validations` rule (and messageExpression) in a schema,
/// as `(field path, message)`; the CRD is refused when there are any.
pub fn rule_compile_errors(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
    for (i, rule) in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        for key in ["rule", "messageExpression"] {
            if let Some(expr) = rule.get(key).and_then(Value::as_str)
                && let Some(err) = cel::compile_error(expr)
            {
                out.push((
                    format!("{path}.x-kubernetes-validations[{i}].{key}"),
                    format!("{expr:?}: {err}"),
                ));
            }
        }
    }
    for (name, sub) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        rule_compile_errors(sub, &format!("{path}.properties[{name}]"), out);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get(key).filter(|s| s.is_object()) {
            rule_compile_errors(sub, &format!("{path}.{key}"), out);
        }
    }
}
