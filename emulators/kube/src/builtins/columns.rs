//! Table columns of the built-in kinds, as the apiserver's printers (`pkg/printers/internalversion`)
//! define them; priority 1 columns are the ones `kubectl get -o wide` adds.

use serde_json::{Value, json};

use crate::registry::ResourceDef;
use crate::table::human_age;

struct Col {
    name: &'static str,
    ty: &'static str,
    priority: i64,
}

const fn col(name: &'static str, ty: &'static str, priority: i64) -> Col {
    Col { name, ty, priority }
}

fn columns(def: &ResourceDef) -> Option<Vec<Col>> {
    let cols = match (def.group.as_str(), def.plural.as_str()) {
        _ if def.custom => return None,
        ("", "pods") => vec![
            col("Ready", "string", 0),
            col("Status", "string", 0),
            col("Restarts", "string", 0),
            col("Age", "string", 0),
            col("IP", "string", 1),
            col("Node", "string", 1),
            col("Nominated Node", "string", 1),
            col("Readiness Gates", "string", 1),
        ],
        ("", "services") => vec![
            col("Type", "string", 0),
            col("Cluster-IP", "string", 0),
            col("External-IP", "string", 0),
            col("Port(s)", "string", 0),
            col("Age", "string", 0),
            col("Selector", "string", 1),
        ],
        ("", "serviceaccounts") => vec![col("Secrets", "string", 0), col("Age", "string", 0)],
        ("", "endpoints") => vec![col("Endpoints", "string", 0), col("Age", "string", 0)],
        ("apps", "deployments") => vec![
            col("Ready", "string", 0),
            col("Up-to-date", "string", 0),
            col("Available", "string", 0),
            col("Age", "string", 0),
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        ("apps", "replicasets") => vec![
            col("Desired", "integer", 0),
            col("Current", "integer", 0),
            col("Ready", "integer", 0),
            col("Age", "string", 0),
            col("Containers", "string", 1),
            col("Images", "string", 1),
            col("Selector", "string", 1),
        ],
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => vec![col("Created At", "date", 0)],
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => vec![
            col("Role", "string", 0),
            col("Age", "string", 0),
            col("Users", "string", 1),
            col("Groups", "string", 1),
            col("ServiceAccounts", "string", 1),
        ],
        ("policy", "poddisruptionbudgets") => vec![
            col("Min Available", "string", 0),
            col("Max Unavailable", "string", 0),
            col("Allowed Disruptions", "integer", 0),
            col("Age", "string", 0),
        ],
        ("networking.k8s.io", "networkpolicies") => {
            vec![col("Pod-Selector", "string", 0), col("Age", "string", 0)]
        }
        ("discovery.k8s.io", "endpointslices") => vec![
            col("AddressType", "string", 0),
            col("Ports", "string", 0),
            col("Endpoints", "string", 0),
            col("Age", "string", 0),
        ],
        _ => return None,
    };
    Some(cols)
}

/// Column definitions after Name, or None when the kind prints with the generic columns.
pub fn definitions(def: &ResourceDef) -> Option<Vec<Value>> {
    columns(def).map(|cols| {
        cols.iter()
            .map(|c| json!({"name": c.name, "type": c.ty, "format": "", "description": "", "priority": c.priority}))
            .collect()
    })
}

fn join_or_none(items: Vec<String>) -> String {
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(",")
    }
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i[field].as_str().map(String::from))
        .collect()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn selector_text(sel: &Value) -> String {
    let text = super::selector::to_string(sel);
    if text.is_empty() { "<none>".into() } else { text }
}

fn map_selector(sel: &Value) -> String {
    let mut parts: Vec<String> = sel
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    parts.sort();
    join_or_none(parts)
}

fn int_or_string(v: &Value) -> String {
    match v {
        Value::Null => "N/A".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn subjects(o: &Value, kind: &str) -> String {
    let items: Vec<String> = o["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["kind"] == kind)
        .map(|s| match (kind, s["namespace"].as_str()) {
            ("ServiceAccount", Some(ns)) => format!("{ns}/{}", s["name"].as_str().unwrap_or_default()),
            _ => s["name"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    items.join(", ")
}

/// The cells after Name for one object.
pub fn cells(def: &ResourceDef, o: &Value) -> Option<Vec<Value>> {
    let age = json!(
        o["metadata"]["creationTimestamp"]
            .as_str()
            .map(human_age)
            .unwrap_or_else(|| "<unknown>".into())
    );
    let pod_spec = |o: &Value| o["spec"]["template"]["spec"].clone();
    let containers = |spec: &Value| json!(strings(&spec["containers"], "name").join(","));
    let images = |spec: &Value| json!(strings(&spec["containers"], "image").join(","));
    let cells = match (def.group.as_str(), def.plural.as_str()) {
        _ if def.custom => return None,
        ("", "pods") => {
            let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let statuses = o["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let ready = statuses.iter().filter(|s| s["ready"] == true).count();
            let restarts: i64 = statuses.iter().map(|s| int(&s["restartCount"])).sum();
            let status = if o["metadata"]["deletionTimestamp"].is_string() {
                "Terminating".to_string()
            } else {
                o["status"]["reason"]
                    .as_str()
                    .or(o["status"]["phase"].as_str())
                    .unwrap_or("Unknown")
                    .to_string()
            };
            let or_none = |v: &Value| json!(v.as_str().unwrap_or("<none>"));
            vec![
                json!(format!("{ready}/{total}")),
                json!(status),
                json!(restarts.to_string()),
                age,
                or_none(&o["status"]["podIP"]),
                or_none(&o["spec"]["nodeName"]),
                or_none(&o["status"]["nominatedNodeName"]),
                json!("<none>"),
            ]
        }
        ("", "services") => {
            let spec = &o["spec"];
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["nodePort"].as_i64() {
                    Some(np) => format!(
                        "{}:{np}/{}",
                        int(&p["port"]),
                        p["protocol"].as_str().unwrap_or("TCP")
                    ),
                    None => format!("{}/{}", int(&p["port"]), p["protocol"].as_str().unwrap_or("TCP")),
                })
                .collect();
            let external = match spec["type"].as_str() {
                Some("ExternalName") => spec["externalName"].as_str().unwrap_or("<none>").to_string(),
                Some("LoadBalancer") => {
                    let ips = strings(&o["status"]["loadBalancer"]["ingress"], "ip");
                    if ips.is_empty() {
                        "<pending>".into()
                    } else {
                        ips.join(",")
                    }
                }
                _ => join_or_none(
                    spec["externalIPs"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect(),
                ),
            };
            vec![
                spec["type"].clone(),
                json!(spec["clusterIP"].as_str().unwrap_or("<none>")),
                json!(external),
                json!(join_or_none(ports)),
                age,
                json!(map_selector(&spec["selector"])),
            ]
        }
        ("", "serviceaccounts") => vec![json!(o["secrets"].as_array().map_or(0, Vec::len)), age],
        ("", "endpoints") => {
            let mut eps = Vec::new();
            for s in o["subsets"].as_array().into_iter().flatten() {
                for a in s["addresses"].as_array().into_iter().flatten() {
                    for p in s["ports"].as_array().into_iter().flatten() {
                        eps.push(format!(
                            "{}:{}",
                            a["ip"].as_str().unwrap_or_default(),
                            int(&p["port"])
                        ));
                    }
                }
            }
            vec![json!(join_or_none(eps)), age]
        }
        ("apps", "deployments") => {
            let spec = pod_spec(o);
            vec![
                json!(format!(
                    "{}/{}",
                    int(&o["status"]["readyReplicas"]),
                    int(&o["spec"]["replicas"])
                )),
                json!(int(&o["status"]["updatedReplicas"])),
                json!(int(&o["status"]["availableReplicas"])),
                age,
                containers(&spec),
                images(&spec),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        ("apps", "replicasets") => {
            let spec = pod_spec(o);
            vec![
                json!(int(&o["spec"]["replicas"])),
                json!(int(&o["status"]["replicas"])),
                json!(int(&o["status"]["readyReplicas"])),
                age,
                containers(&spec),
                images(&spec),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        ("rbac.authorization.k8s.io", "roles" | "clusterroles") => {
            vec![o["metadata"]["creationTimestamp"].clone()]
        }
        ("rbac.authorization.k8s.io", "rolebindings" | "clusterrolebindings") => vec![
            json!(format!(
                "{}/{}",
                o["roleRef"]["kind"].as_str().unwrap_or_default(),
                o["roleRef"]["name"].as_str().unwrap_or_default()
            )),
            age,
            json!(subjects(o, "User")),
            json!(subjects(o, "Group")),
            json!(subjects(o, "ServiceAccount")),
        ],
        ("policy", "poddisruptionbudgets") => vec![
            json!(int_or_string(&o["spec"]["minAvailable"])),
            json!(int_or_string(&o["spec"]["maxUnavailable"])),
            json!(int(&o["status"]["disruptionsAllowed"])),
            age,
        ],
        ("networking.k8s.io", "networkpolicies") => {
            let sel = super::selector::to_string(&o["spec"]["podSelector"]);
            vec![
                json!(if sel.is_empty() { "<none>".to_string() } else { sel }),
                age,
            ]
        }
        ("discovery.k8s.io", "endpointslices") => {
            let ports: Vec<String> = o["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| int(&p["port"]).to_string())
                .collect();
            let addrs: Vec<String> = o["endpoints"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            vec![
                o["addressType"].clone(),
                json!(join_or_none(ports)),
                json!(join_or_none(addrs)),
                age,
            ]
        }
        _ => return None,
    };
    Some(cells)
}
