//! Notebook e2e helpers shared by the notebook fault, data-safety and failure tests.
#![allow(dead_code)]

use crate::support::{IMAGE, NS, condition};
use modelarts_operator::api::notebook::Notebook;
use serde_json::{Value, json};

/// A small CPU notebook; `spec` keys replace the defaults one by one.
pub fn notebook(name: &str, spec: Value) -> Notebook {
    let mut value = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "flavor": "modelarts.vm.cpu.2u",
            "image": {"id": IMAGE},
            "volume": {"category": "EVS", "ownership": "MANAGED"},
        }
    });
    if let (Some(base), Some(extra)) = (value["spec"].as_object_mut(), spec.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(value).expect("valid Notebook")
}

/// A condition as (status, reason, message).
pub fn cond(nb: &Notebook, t: &str) -> Option<(String, String, String)> {
    nb.status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, t))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn ready(nb: &Notebook) -> bool {
    cond(nb, "Ready").is_some_and(|(s, _, _)| s == "True")
}
