//! Admission as an apiserver would do it, minus the apiserver: the generated `openAPIV3Schema`
//! checked structurally (types, enums, patterns, lengths, ranges, required fields, formats) with
//! the `jsonschema` crate, and its CEL `x-kubernetes-validations` (including transition rules)
//! evaluated with kube's CEL evaluator. Replaced by kube-emulator once it enforces both.
#![allow(dead_code)] // each test binary uses a different subset

use modelarts_operator::api::crds;
use serde_json::Value;

/// The `openAPIV3Schema` of the CRD serving `kind`, as JSON.
pub fn schema_of(kind: &str) -> Value {
    let crd = crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .expect("a CRD for the kind");
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref());
    serde_json::to_value(schema.expect("the CRD has a schema")).expect("schema to JSON")
}

/// Structural violations as `field.path: message`. OpenAPI v3.0 schemas are a Draft 4 dialect.
pub fn structural_errors(kind: &str, manifest: &Value) -> Vec<String> {
    let schema = schema_of(kind);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the generated schema compiles");
    validator
        .iter_errors(manifest)
        .map(|err| {
            let path = err
                .instance_path()
                .as_str()
                .trim_start_matches('/')
                .replace('/', ".");
            format!("{path}: {err}")
        })
        .collect()
}

/// CEL rule violations as `field.path: message`; `old` makes transition rules (`oldSelf`) run.
pub fn cel_errors(kind: &str, manifest: &Value, old: Option<&Value>) -> Vec<String> {
    let schema = schema_of(kind);
    match kube::core::cel::Validator::new().validate(&schema, manifest, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
    }
}

/// Everything the apiserver would refuse, structural first.
pub fn admission_errors(kind: &str, manifest: &Value, old: Option<&Value>) -> Vec<String> {
    let mut errors = structural_errors(kind, manifest);
    errors.extend(cel_errors(kind, manifest, old));
    errors
}

/// A committed example manifest from `deploy/examples/`, as JSON.
pub fn example(file: &str) -> Value {
    let path = format!("{}/deploy/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

/// `base` with the JSON merge patch `patch` applied (`null` removes a field).
pub fn patched(base: &Value, patch: Value) -> Value {
    let mut out = base.clone();
    merge(&mut out, patch);
    out
}

fn merge(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let object = target.as_object_mut().expect("just made an object");
            for (key, value) in fields {
                if value.is_null() {
                    object.remove(&key);
                } else {
                    merge(object.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other,
    }
}

/// The schema node at a dotted property path (`spec.volume`); `[]` steps into list items.
pub fn node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .filter(|s| !s.is_empty())
        .fold(schema, |node, step| {
            let next = if step == "[]" {
                &node["items"]
            } else {
                &node["properties"][step]
            };
            assert!(!next.is_null(), "no schema node {step} on the way to {path}");
            next
        })
}

/// The `(rule, message)` pairs at a schema node.
pub fn rules_at(schema: &Value, path: &str) -> Vec<(String, String)> {
    node(schema, path)["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (text("rule"), text("message"))
        })
        .collect()
}

/// Every schema node carrying CEL rules, with its dotted path.
pub fn nodes_with_rules(schema: &Value) -> Vec<(String, Value)> {
    fn walk(path: String, node: &Value, out: &mut Vec<(String, Value)>) {
        if node.get("x-kubernetes-validations").is_some() {
            out.push((path.clone(), node.clone()));
        }
        for (name, child) in node["properties"].as_object().into_iter().flatten() {
            walk(
                if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                },
                child,
                out,
            );
        }
        if node.get("items").is_some() {
            walk(format!("{path}.[]"), &node["items"], out);
        }
    }
    let mut out = Vec::new();
    walk(String::new(), schema, &mut out);
    out
}
