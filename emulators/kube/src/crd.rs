//! CustomResourceDefinition handling: validation of the names, the `NamesAccepted`/`Established`
//! conditions, and (un)registering the served versions.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{ApiError, Cause};
use crate::registry::{PrinterColumn, ResourceDef};
use crate::store::{EventType, State};

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        message: format!("{field}: Required value"),
        field: field.into(),
    }
}

/// Validates the CRD and sets its status as the apiextensions controllers would.
pub fn prepare(
    state: &State,
    def: &ResourceDef,
    crd: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
    crate::builtin_rules::default_crd_names(crd);
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    let mut causes = Vec::new();
    if group.is_empty() {
        causes.push(required("spec.group"));
    }
    if plural.is_empty() {
        causes.push(required("spec.names.plural"));
    }
    if spec["names"]["kind"].as_str().unwrap_or_default().is_empty() {
        causes.push(required("spec.names.kind"));
    }
    if !matches!(spec["scope"].as_str(), Some("Namespaced" | "Cluster")) {
        causes.push(Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "spec.scope: Unsupported value: {}: supported values: \"Cluster\", \"Namespaced\"",
                spec["scope"]
            ),
            field: "spec.scope".into(),
        });
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(required("spec.versions"));
    }
    if versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .count()
        != 1
        && !versions.is_empty()
    {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: "spec.versions: Invalid value: \"array\": must have exactly one version marked as storage version".into(),
            field: "spec.versions".into(),
        });
    }
    if !group.is_empty() && !plural.is_empty() && name != format!("{plural}.{group}") {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!(
                "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            ),
            field: "metadata.name".into(),
        });
    }
    for (i, version) in versions.iter().enumerate() {
        if let Some(schema) = version["schema"].get("openAPIV3Schema") {
            let mut errors = Vec::new();
            let path = format!("spec.versions[{i}].schema.openAPIV3Schema");
            crate::rules::rule_compile_errors(schema, &path, &mut errors);
            causes.extend(errors.into_iter().map(|(field, detail)| Cause {
                reason: "FieldValueInvalid",
                message: format!("{field}: Invalid value: {detail}"),
                field,
            }));
        }
    }
    if let Some(old) = old
        && (old["spec"]["group"] != crd["spec"]["group"]
            || old["spec"]["names"]["plural"] != crd["spec"]["names"]["plural"])
    {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: "spec.group: Invalid value: \"string\": field is immutable".into(),
            field: "spec.group".into(),
        });
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(def, &name, causes));
    }
    // Another CRD may already own the kind or a short name in this group.
    let kind = spec["names"]["kind"].as_str().unwrap_or_default();
    let taken = state
        .registry
        .all()
        .any(|d| d.custom && d.group == group && d.plural != plural && d.kind == kind);
    let (accepted_status, accepted_reason, accepted_msg) = if taken {
        ("False", "KindConflict", format!("\"{kind}\" is already in use"))
    } else {
        ("True", "NoConflicts", "no conflicts found".to_string())
    };
    let now = crate::meta::now_rfc3339();
    let established = if taken { "False" } else { "True" };
    let storage = versions
        .iter()
        .find(|v| v["storage"].as_bool() == Some(true))
        .map(|v| v["name"].clone());
    let transition = |ty: &str| {
        old.and_then(|o| o["status"]["conditions"].as_array())
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == ty)
                    .map(|c| c["lastTransitionTime"].clone())
            })
            .unwrap_or_else(|| Value::String(now.clone()))
    };
    crd["status"] = json!({
        "conditions": [
            {"type": "NamesAccepted", "status": accepted_status, "reason": accepted_reason,
             "message": accepted_msg, "lastTransitionTime": transition("NamesAccepted")},
            {"type": "Established", "status": established, "reason": if taken { "NotAccepted" } else { "InitialNamesAccepted" },
             "message": if taken { "not all names are accepted" } else { "the initial names have been accepted" },
             "lastTransitionTime": transition("Established")},
        ],
        "acceptedNames": spec["names"].clone(),
        "storedVersions": storage.into_iter().collect::<Vec<_>>(),
    });
    Ok(())
}

fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// The served versions of a CRD as resource definitions.
pub fn defs_from_crd(crd: &Value) -> Vec<ResourceDef> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let kind = names["kind"].as_str().unwrap_or_default().to_string();
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    versions
        .iter()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .map(|v| ResourceDef {
            group: spec["group"].as_str().unwrap_or_default().into(),
            version: v["name"].as_str().unwrap_or_default().into(),
            plural: names["plural"].as_str().unwrap_or_default().into(),
            singular: names["singular"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| kind.to_lowercase()),
            kind: kind.clone(),
            list_kind: names["listKind"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("{kind}List")),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            short_names: string_list(&names["shortNames"]),
            categories: string_list(&names["categories"]),
            status_subresource: v["subresources"].get("status").is_some(),
            schema: v["schema"].get("openAPIV3Schema").cloned().map(Arc::new),
            printer_columns: v["additionalPrinterColumns"]
                .as_array()
                .map(|cols| {
                    cols.iter()
                        .map(|c| PrinterColumn {
                            name: c["name"].as_str().unwrap_or_default().into(),
                            type_: c["type"].as_str().unwrap_or("string").into(),
                            format: c["format"].as_str().unwrap_or_default().into(),
                            description: c["description"].as_str().unwrap_or_default().into(),
                            priority: c["priority"].as_i64().unwrap_or(0),
                            json_path: c["jsonPath"].as_str().unwrap_or_default().into(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            custom: true,
            ..ResourceDef::default()
        })
        .collect()
}

pub fn after_commit(state: &mut State, crd: &Value, kind: EventType) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default().to_string();
    let plural = crd["spec"]["names"]["plural"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    state.registry.remove_resource(&group, &plural);
    if kind == EventType::Deleted {
        // Deleting a CRD deletes its objects; watchers see DELETED for each.
        let key = format!("{group}/{plural}");
        let doomed: Vec<Value> = state
            .objects
            .get(&key)
            .map(|m| m.values().map(|o| (**o).clone()).collect())
            .unwrap_or_default();
        for object in doomed {
            state.commit(&key, EventType::Deleted, object);
        }
        state.objects.remove(&key);
        return;
    }
    if crd["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    }) {
        for def in defs_from_crd(crd) {
            state.registry.insert(def);
        }
    }
}
