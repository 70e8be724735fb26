//! The pod spec as `SetDefaults_PodSpec` and `ValidatePodSpec` treat it, shared by Pods and the
//! pod templates of Deployments and ReplicaSets (a subset: the fields charts commonly set).

use serde_json::{Value, json};

use super::{default, dns_label_error, go_value, invalid, required, unsupported};
use crate::error::Cause;

const CONTAINER_LISTS: [&str; 2] = ["containers", "initContainers"];

pub fn set_defaults(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    for list in CONTAINER_LISTS {
        for c in spec[list].as_array_mut().into_iter().flatten() {
            container_defaults(c);
        }
    }
    for v in spec["volumes"].as_array_mut().into_iter().flatten() {
        for source in ["secret", "configMap", "downwardAPI", "projected"] {
            if v.get(source).is_some_and(Value::is_object) {
                default(&mut v[source], "defaultMode", json!(420));
            }
        }
        if v.get("hostPath").is_some_and(Value::is_object) {
            default(&mut v["hostPath"], "type", json!(""));
        }
    }
}

fn container_defaults(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    default(c, "terminationMessagePath", json!("/dev/termination-log"));
    default(c, "terminationMessagePolicy", json!("File"));
    default(c, "resources", json!({}));
    // `:latest` or no tag means the image may change under the same name: always pull.
    let image = c["image"].as_str().unwrap_or_default();
    let last = image.rsplit('/').next().unwrap_or_default();
    let tag = if last.contains('@') {
        Some("digest")
    } else {
        last.split_once(':').map(|(_, t)| t)
    };
    let policy = match tag {
        None | Some("latest") => "Always",
        Some(_) => "IfNotPresent",
    };
    default(c, "imagePullPolicy", json!(policy));
    for p in c["ports"].as_array_mut().into_iter().flatten() {
        default(p, "protocol", json!("TCP"));
    }
    for e in c["env"].as_array_mut().into_iter().flatten() {
        if e["valueFrom"].get("fieldRef").is_some_and(Value::is_object) {
            default(&mut e["valueFrom"]["fieldRef"], "apiVersion", json!("v1"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if c.get(probe).is_some_and(Value::is_object) {
            let p = &mut c[probe];
            default(p, "timeoutSeconds", json!(1));
            default(p, "periodSeconds", json!(10));
            default(p, "successThreshold", json!(1));
            default(p, "failureThreshold", json!(3));
            for handler in ["httpGet", "tcpSocket"] {
                if handler == "httpGet" && p.get(handler).is_some_and(Value::is_object) {
                    default(&mut p[handler], "path", json!("/"));
                    default(&mut p[handler], "scheme", json!("HTTP"));
                }
            }
        }
    }
}

/// `restart` lists the restartPolicy values allowed here (templates of Deployments: Always only).
pub fn validate(spec: &Value, path: &str, restart: &[&str], causes: &mut Vec<Cause>) {
    let containers = spec["containers"].as_array();
    if containers.is_none_or(|c| c.is_empty()) {
        causes.push(required(&format!("{path}.containers"), ""));
    }
    let mut names = Vec::new();
    for list in CONTAINER_LISTS {
        for (i, c) in spec[list].as_array().into_iter().flatten().enumerate() {
            let at = format!("{path}.{list}[{i}]");
            validate_container(c, &at, &mut names, causes);
        }
    }
    let policy = &spec["restartPolicy"];
    if let Some(p) = policy.as_str()
        && !restart.contains(&p)
    {
        causes.push(unsupported(&format!("{path}.restartPolicy"), policy, restart));
    }
    let dns = &spec["dnsPolicy"];
    let dns_values = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    if dns.as_str().is_some_and(|d| !dns_values.contains(&d)) {
        causes.push(unsupported(&format!("{path}.dnsPolicy"), dns, &dns_values));
    }
    let mut volume_names = Vec::new();
    for (i, v) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        let at = format!("{path}.volumes[{i}].name");
        match v["name"].as_str() {
            None | Some("") => causes.push(required(&at, "")),
            Some(n) if volume_names.contains(&n) => causes.push(duplicate(&at, n)),
            Some(n) => {
                if let Some(e) = dns_label_error(n) {
                    causes.push(invalid(&at, &format!("{n:?}"), &e));
                }
                volume_names.push(n);
            }
        }
    }
}

fn duplicate(field: &str, value: &str) -> Cause {
    Cause {
        reason: "FieldValueDuplicate",
        message: format!("{field}: Duplicate value: {value:?}"),
        field: field.into(),
    }
}

fn validate_container<'a>(c: &'a Value, at: &str, names: &mut Vec<&'a str>, causes: &mut Vec<Cause>) {
    match c["name"].as_str() {
        None | Some("") => causes.push(required(&format!("{at}.name"), "")),
        Some(n) if names.contains(&n) => causes.push(duplicate(&format!("{at}.name"), n)),
        Some(n) => {
            if let Some(e) = dns_label_error(n) {
                causes.push(invalid(&format!("{at}.name"), &format!("{n:?}"), &e));
            }
            names.push(n);
        }
    }
    if c["image"].as_str().is_none_or(str::is_empty) {
        causes.push(required(&format!("{at}.image"), ""));
    }
    let pull = &c["imagePullPolicy"];
    let pulls = ["Always", "IfNotPresent", "Never"];
    if pull.as_str().is_some_and(|p| !pulls.contains(&p)) {
        causes.push(unsupported(&format!("{at}.imagePullPolicy"), pull, &pulls));
    }
    for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
        let port = &p["containerPort"];
        let field = format!("{at}.ports[{j}].containerPort");
        match port.as_i64() {
            Some(1..=65535) => {}
            Some(_) => causes.push(invalid(
                &field,
                &go_value(port),
                "must be between 1 and 65535, inclusive",
            )),
            None => causes.push(required(&field, "")),
        }
        let proto = &p["protocol"];
        let protos = ["SCTP", "TCP", "UDP"];
        if proto.as_str().is_some_and(|x| !protos.contains(&x)) {
            causes.push(unsupported(&format!("{at}.ports[{j}].protocol"), proto, &protos));
        }
    }
    for (j, e) in c["env"].as_array().into_iter().flatten().enumerate() {
        if e["name"].as_str().is_none_or(str::is_empty) {
            causes.push(required(&format!("{at}.env[{j}].name"), ""));
        }
    }
}

/// What the apiserver computes for `status.qosClass`.
pub fn qos_class(spec: &Value) -> &'static str {
    let containers: Vec<&Value> = spec["containers"].as_array().into_iter().flatten().collect();
    let has = |c: &Value, what: &str| c["resources"][what].as_object().is_some_and(|m| !m.is_empty());
    if containers
        .iter()
        .all(|c| !has(c, "requests") && !has(c, "limits"))
    {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = &c["resources"]["limits"][*r];
            let request = &c["resources"]["requests"][*r];
            !limit.is_null() && (request.is_null() || request == limit)
        })
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}
