//! PodDisruptionBudgets, NetworkPolicies and EndpointSlices: their defaults and the validation
//! rules charts trip over.

use serde_json::{Value, json};

use super::{default, forbidden, invalid, required, unsupported};
use crate::error::Cause;

pub fn pdb(object: &mut Value, causes: &mut Vec<Cause>) {
    let spec = &object["spec"];
    let set = |k: &str| spec.get(k).is_some_and(|v| !v.is_null());
    if set("minAvailable") && set("maxUnavailable") {
        causes.push(invalid(
            "spec",
            "policy.PodDisruptionBudgetSpec{...}",
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for key in ["minAvailable", "maxUnavailable"] {
        let v = &spec[key];
        let bad = match v {
            Value::Number(n) => n.as_i64().is_none_or(|n| n < 0),
            Value::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .is_none_or(|p| !(0..=100).contains(&p)),
            _ => false,
        };
        if bad {
            causes.push(invalid(
                &format!("spec.{key}"),
                &super::go_value(v),
                "must be a non-negative integer or a percentage between 0% and 100%",
            ));
        }
    }
    let policy = &spec["unhealthyPodEvictionPolicy"];
    let policies = ["AlwaysAllow", "IfHealthyBudget"];
    if policy.as_str().is_some_and(|p| !policies.contains(&p)) {
        causes.push(unsupported("spec.unhealthyPodEvictionPolicy", policy, &policies));
    }
}

pub fn network_policy(object: &mut Value, causes: &mut Vec<Cause>) {
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    default(spec, "podSelector", json!({}));
    if spec
        .get("policyTypes")
        .is_none_or(|p| p.as_array().is_none_or(|a| a.is_empty()))
    {
        let mut types = vec![json!("Ingress")];
        if spec["egress"].as_array().is_some_and(|e| !e.is_empty()) {
            types.push(json!("Egress"));
        }
        spec["policyTypes"] = Value::Array(types);
    }
    for direction in ["ingress", "egress"] {
        for rule in spec[direction].as_array_mut().into_iter().flatten() {
            for p in rule["ports"].as_array_mut().into_iter().flatten() {
                default(p, "protocol", json!("TCP"));
            }
        }
    }
    let types = ["Ingress", "Egress"];
    for (i, t) in spec["policyTypes"].as_array().into_iter().flatten().enumerate() {
        if t.as_str().is_none_or(|t| !types.contains(&t)) {
            causes.push(unsupported(&format!("spec.policyTypes[{i}]"), t, &types));
        }
    }
    for (i, rule) in spec["ingress"].as_array().into_iter().flatten().enumerate() {
        for (j, peer) in rule["from"].as_array().into_iter().flatten().enumerate() {
            if peer.get("ipBlock").is_some()
                && (peer.get("podSelector").is_some() || peer.get("namespaceSelector").is_some())
            {
                causes.push(forbidden(
                    &format!("spec.ingress[{i}].from[{j}]"),
                    "may not specify both ipBlock and another peer",
                ));
            }
        }
    }
}

pub fn endpoint_slice(object: &mut Value, causes: &mut Vec<Cause>) {
    let types = ["IPv4", "IPv6", "FQDN"];
    match object["addressType"].as_str() {
        None => causes.push(required("addressType", "")),
        Some(t) if !types.contains(&t) => {
            causes.push(unsupported("addressType", &object["addressType"], &types))
        }
        _ => {}
    }
    for (i, e) in object["endpoints"].as_array().into_iter().flatten().enumerate() {
        if e["addresses"].as_array().is_none_or(|a| a.is_empty()) {
            causes.push(required(
                &format!("endpoints[{i}].addresses"),
                "must contain at least 1 address",
            ));
        }
    }
    for p in object["ports"].as_array_mut().into_iter().flatten() {
        default(p, "protocol", json!("TCP"));
    }
}
