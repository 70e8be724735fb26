//! Core kinds: Pods (defaults, Pending status, the pod-update rule), Services (clusterIP and
//! nodePort allocation, defaults), Endpoints, and the `default` ServiceAccount each namespace gets.

use std::collections::HashSet;

use rand::Rng;
use serde_json::{Value, json};

use super::{default, forbidden, go_value, invalid, podspec, required, unsupported};
use crate::error::Cause;
use crate::objects::{self, WriteOpts};
use crate::store::State;

pub fn pod(object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    podspec::set_defaults(spec);
    default(spec, "enableServiceLinks", json!(true));
    // What the ServiceAccount, Priority and DefaultTolerationSeconds admission plugins add.
    default(spec, "serviceAccountName", json!("default"));
    let sa = spec["serviceAccountName"].clone();
    default(spec, "serviceAccount", sa);
    default(spec, "priority", json!(0));
    default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    if old.is_none() {
        let mut tolerations = spec["tolerations"].as_array().cloned().unwrap_or_default();
        for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"] {
            if !tolerations.iter().any(|t| t["key"] == key) {
                tolerations.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
            }
        }
        spec["tolerations"] = Value::Array(tolerations);
        // Nothing schedules or runs pods here: they stay Pending, as with no scheduler.
        object["status"] = json!({"phase": "Pending", "qosClass": podspec::qos_class(&object["spec"])});
    }
    podspec::validate(&object["spec"], "spec", &["Always", "OnFailure", "Never"], causes);
    if let Some(old) = old
        && mutable_view(&object["spec"]) != mutable_view(&old["spec"])
    {
        causes.push(forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
}

/// A pod spec without the fields an update may change.
fn mutable_view(spec: &Value) -> Value {
    let mut view = spec.clone();
    for list in ["containers", "initContainers"] {
        for c in view[list].as_array_mut().into_iter().flatten() {
            c["image"] = Value::Null;
        }
    }
    if let Some(map) = view.as_object_mut() {
        map.remove("activeDeadlineSeconds");
        map.remove("tolerations");
    }
    view
}

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

pub fn service(state: &State, object: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    if !object["spec"].is_object() {
        object["spec"] = json!({});
    }
    let spec = &mut object["spec"];
    default(spec, "type", json!("ClusterIP"));
    let ty = spec["type"].as_str().unwrap_or_default().to_string();
    if !SERVICE_TYPES.contains(&ty.as_str()) {
        causes.push(unsupported("spec.type", &spec["type"], &SERVICE_TYPES));
        return;
    }
    let external_name = ty == "ExternalName";
    if !external_name {
        default(spec, "sessionAffinity", json!("None"));
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    for p in spec["ports"].as_array_mut().into_iter().flatten() {
        default(p, "protocol", json!("TCP"));
        let port = p["port"].clone();
        default(p, "targetPort", port);
    }
    // An update that leaves out the allocated values keeps them (`patchAllocatedValues`).
    if let Some(old) = old {
        for key in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec.get(key).is_none_or(Value::is_null) && !old["spec"][key].is_null() {
                spec[key] = old["spec"][key].clone();
            }
        }
        let old_ports = old["spec"]["ports"].as_array().cloned().unwrap_or_default();
        for p in spec["ports"].as_array_mut().into_iter().flatten() {
            if p.get("nodePort").is_none_or(Value::is_null)
                && let Some(o) = old_ports
                    .iter()
                    .find(|o| o["port"] == p["port"] && o["protocol"] == p["protocol"])
                && !o["nodePort"].is_null()
            {
                p["nodePort"] = o["nodePort"].clone();
            }
        }
    }
    validate_ports(spec, &ty, causes);
    if !external_name {
        allocate_cluster_ip(state, spec, old, causes);
        default(spec, "ipFamilies", json!(["IPv4"]));
        default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        let used = used_node_ports(state);
        let mut rng = rand::rng();
        for p in spec["ports"].as_array_mut().into_iter().flatten() {
            if p.get("nodePort").is_none_or(Value::is_null) {
                let port = loop {
                    let n: u16 = rng.random_range(30000..=32767);
                    if !used.contains(&n) {
                        break n;
                    }
                };
                p["nodePort"] = json!(port);
            }
        }
    }
    if old.is_none() {
        object["status"] = json!({"loadBalancer": {}});
    }
}

fn validate_ports(spec: &Value, ty: &str, causes: &mut Vec<Cause>) {
    let ports = spec["ports"].as_array().cloned().unwrap_or_default();
    let headless = spec["clusterIP"] == "None";
    if ports.is_empty() && ty != "ExternalName" && !headless {
        causes.push(required("spec.ports", ""));
    }
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        match p["name"].as_str().filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => causes.push(required(&format!("{at}.name"), "")),
            Some(n) if !names.insert(n.to_string()) => causes.push(Cause {
                reason: "FieldValueDuplicate",
                message: format!("{at}.name: Duplicate value: {n:?}"),
                field: format!("{at}.name"),
            }),
            _ => {}
        }
        match p["port"].as_i64() {
            Some(1..=65535) => {}
            Some(_) => causes.push(invalid(
                &format!("{at}.port"),
                &go_value(&p["port"]),
                "must be between 1 and 65535, inclusive",
            )),
            None => causes.push(required(&format!("{at}.port"), "")),
        }
        let protos = ["SCTP", "TCP", "UDP"];
        if p["protocol"].as_str().is_some_and(|x| !protos.contains(&x)) {
            causes.push(unsupported(&format!("{at}.protocol"), &p["protocol"], &protos));
        }
    }
    if ty == "ExternalName" && spec["externalName"].as_str().is_none_or(str::is_empty) {
        causes.push(required("spec.externalName", ""));
    }
}

fn used_cluster_ips(state: &State) -> HashSet<String> {
    services(state)
        .filter_map(|s| s["spec"]["clusterIP"].as_str().map(String::from))
        .collect()
}

fn used_node_ports(state: &State) -> HashSet<u16> {
    services(state)
        .flat_map(|s| s["spec"]["ports"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["nodePort"].as_u64().and_then(|n| u16::try_from(n).ok()))
        .collect()
}

fn services(state: &State) -> impl Iterator<Item = &Value> {
    state
        .objects
        .get("/services")
        .into_iter()
        .flat_map(|m| m.values().map(|o| o.as_ref()))
}

/// The service CIDR is 10.96.0.0/12 (the kubeadm default); 10.96.0.1 is the `kubernetes` Service.
fn allocate_cluster_ip(state: &State, spec: &mut Value, old: Option<&Value>, causes: &mut Vec<Cause>) {
    let requested = spec["clusterIP"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(String::from);
    if let Some(old) = old {
        let before = &old["spec"]["clusterIP"];
        if !before.is_null() && spec["clusterIP"] != *before {
            causes.push(invalid(
                "spec.clusterIPs[0]",
                &format!("[]string{{{}}}", go_value(&spec["clusterIP"])),
                "may not change once set",
            ));
        }
        return;
    }
    let ip = match requested {
        Some(ip) if ip == "None" => ip,
        Some(ip) => {
            let in_range = ip
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|a| a.octets()[0] == 10 && (96..112).contains(&a.octets()[1]));
            if !in_range {
                causes.push(invalid(
                    "spec.clusterIPs",
                    &format!("[]string{{{ip:?}}}"),
                    &format!("failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
                ));
                return;
            }
            if used_cluster_ips(state).contains(&ip) {
                causes.push(invalid(
                    "spec.clusterIPs",
                    &format!("[]string{{{ip:?}}}"),
                    &format!("failed to allocate IP {ip}: provided IP is already allocated"),
                ));
                return;
            }
            ip
        }
        None => {
            let used = used_cluster_ips(state);
            let mut rng = rand::rng();
            loop {
                let n: u32 = rng.random_range(2..(1 << 20) - 1);
                let ip = std::net::Ipv4Addr::from((10u32 << 24) | (96u32 << 16) | n).to_string();
                if !used.contains(&ip) {
                    break ip;
                }
            }
        }
    };
    spec["clusterIP"] = json!(ip);
    spec["clusterIPs"] = json!([ip]);
}

pub fn endpoints(object: &mut Value, causes: &mut Vec<Cause>) {
    for (i, subset) in object["subsets"].as_array_mut().into_iter().flatten().enumerate() {
        for p in subset["ports"].as_array_mut().into_iter().flatten() {
            default(p, "protocol", json!("TCP"));
        }
        for (j, a) in subset["addresses"].as_array().into_iter().flatten().enumerate() {
            if a["ip"].as_str().is_none_or(str::is_empty) {
                causes.push(required(&format!("subsets[{i}].addresses[{j}].ip"), ""));
            }
        }
    }
}

/// The serviceaccount controller's `default` ServiceAccount in every namespace.
pub fn default_service_account(state: &mut State, namespace: &Value) {
    let Some(ns) = namespace["metadata"]["name"].as_str().map(String::from) else {
        return;
    };
    let Some(def) = state.registry.get("", "v1", "serviceaccounts") else {
        return;
    };
    if state.get(&def.storage_key(), &ns, "default").is_some() {
        return;
    }
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}});
    if let Err(e) = objects::create(state, &def, Some(&ns), sa, &WriteOpts::default()) {
        tracing::warn!(error = %e, namespace = %ns, "could not create the default ServiceAccount");
    }
}

/// `default/kubernetes`, the Service every cluster has for the apiserver itself.
pub fn seed_kubernetes_service(state: &mut State) {
    let Some(def) = state.registry.get("", "v1", "services") else {
        return;
    };
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
    });
    if let Err(e) = objects::create(state, &def, Some("default"), svc, &WriteOpts::default()) {
        tracing::warn!(error = %e, "could not create the kubernetes Service");
    }
}
