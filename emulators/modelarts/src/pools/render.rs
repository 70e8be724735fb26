//! Pool, node and network objects as JSON (K8s-shaped, camelCase; reference 2.1, 2.7).

use serde_json::{Value, json};

use super::Network;
use super::flavors;
use super::model::{Node, NodePhase, Pool};
use crate::clock::rfc3339;
use crate::state::Ctx;

fn counts(pool: &Pool, phase: NodePhase) -> Value {
    Value::Array(
        pool.counts(phase)
            .into_iter()
            .map(|(flavor, count)| json!({"flavor": flavor, "count": count, "maxCount": count}))
            .collect(),
    )
}

pub fn pool(p: &Pool, ctx: &Ctx<'_>) -> Value {
    let mut labels = serde_json::Map::new();
    for (k, v) in &p.labels {
        labels.insert(k.clone(), json!(v));
    }
    labels.entry("os.modelarts/workspace.id").or_insert(json!("0"));
    labels.insert("os.modelarts/tenant.project.id".into(), json!(ctx.project_id));
    labels.insert("os.modelarts/tenant.domain.id".into(), json!(ctx.domain_id()));
    labels.insert("os.modelarts/region".into(), json!(ctx.region));
    labels.insert(
        "os.modelarts/resource.id".into(),
        json!(format!("{}-resource", p.name)),
    );
    labels.insert("os.modelarts.pool/biz".into(), json!("private"));
    let mut annotations = serde_json::Map::new();
    for (k, v) in &p.annotations {
        annotations.insert(k.clone(), json!(v));
    }
    annotations
        .entry("os.modelarts/billing.mode")
        .or_insert(json!("0"));
    let resources: Vec<Value> = p
        .resources
        .iter()
        .map(|r| {
            let mut v = Value::Object(r.extra.clone());
            v["flavor"] = json!(r.flavor);
            v["count"] = json!(r.count);
            v["maxCount"] = json!(r.max_count);
            if let Some(azs) = &r.azs {
                v["azs"] = azs.clone();
            }
            v
        })
        .collect();
    let scope: Vec<Value> = p
        .scope_states()
        .into_iter()
        .map(|(s, state)| json!({"scopeType": s, "state": state}))
        .collect();
    let upgrading = p.change.as_ref().is_some_and(|c| c.driver_upgrading);
    let mut driver = json!({});
    for (kind, key) in [("gpu", "gpuVersion"), ("npu", "npuVersion")] {
        if let Some(v) = p.driver.as_ref().and_then(|d| d.get(key)).and_then(Value::as_str) {
            let state = match (p.phase, upgrading) {
                (super::model::Phase::Creating, _) => "Creating",
                (_, true) => "Upgrading",
                _ => "Running",
            };
            driver[kind] = json!({"version": v, "state": state});
        }
    }
    let mut metadata = json!({
        "name": p.name, "creationTimestamp": rfc3339(p.created_at),
        "labels": labels, "annotations": annotations,
    });
    if let Some(d) = p.deleted_at {
        metadata["deletionTimestamp"] = json!(rfc3339(d));
    }
    let mut spec = json!({
        "type": p.pool_type, "scope": p.scope, "resources": resources, "jobFlavors": p.job_flavors,
        "containernetwork": {"mode": "overlay_l2"}, "controlMode": 0,
    });
    if let Some(n) = &p.network {
        spec["network"] = json!({"name": n});
    }
    if let Some(d) = &p.driver {
        spec["driver"] = d.clone();
    }
    json!({
        "apiVersion": "v2", "kind": "Pool", "metadata": metadata, "spec": spec,
        "status": {
            "phase": p.phase.as_str(), "message": p.message,
            "resources": {
                "creating": counts(p, NodePhase::Creating), "available": counts(p, NodePhase::Available),
                "abnormal": counts(p, NodePhase::Abnormal), "deleting": counts(p, NodePhase::Deleting),
            },
            "scope": scope,
            "driver": driver, "parent": "", "root": "",
            "clusters": {"name": format!("cluster-{}", &p.name[p.name.len().saturating_sub(8)..]), "clusterFlavor": "cce.s2.small", "type": "VirtualMachine", "version": "v1.28"},
        },
    })
}

pub fn node(n: &Node, pool: &Pool, ctx: &Ctx<'_>) -> Value {
    let resources = flavors::find(&n.flavor)
        .map(|f| f.node_resources())
        .unwrap_or_else(|| json!({}));
    json!({
        "apiVersion": "v2", "kind": "Node",
        "metadata": {
            "name": n.name, "creationTimestamp": rfc3339(n.created_at),
            "labels": {
                "os.modelarts.node/cluster": format!("cluster-{}", &pool.name[pool.name.len().saturating_sub(8)..]),
                "os.modelarts.node/nodepool": format!("{}-default", pool.name),
                "os.modelarts/resource.id": format!("{}-resource", n.name),
                "os.modelarts/tenant.project.id": ctx.project_id,
                "os.modelarts/billing.status": "0",
            },
            "annotations": {},
        },
        "spec": {
            "flavor": n.flavor,
            "hostNetwork": {"vpc": "vpc-emulator", "subnet": "subnet-emulator", "securityGroups": []},
            "rootVolume": {"volumeType": "SSD", "size": "100Gi"},
            "dataVolumes": [{"volumeType": "SSD", "size": "500Gi"}],
            "extendParams": {"runtime": "containerd"},
        },
        "status": {
            "phase": n.phase.as_str(), "az": n.az, "privateIp": n.private_ip,
            "resources": resources, "availableResources": resources,
        },
    })
}

pub fn network(n: &Network, _ctx: &Ctx<'_>) -> Value {
    let mut spec = json!({"cidr": n.cidr});
    if let Some(c) = &n.connection {
        spec["connection"] = c.clone();
    }
    json!({
        "apiVersion": "v1", "kind": "Network",
        "metadata": {
            "name": n.name, "creationTimestamp": rfc3339(n.created_at),
            "labels": {"os.modelarts/name": n.display_name, "os.modelarts/workspace.id": n.workspace_id},
            "annotations": {"os.modelarts/description": ""},
        },
        "spec": spec,
        "status": {"phase": n.phase, "connectionStatus": {"peerConnectionStatus": [], "sfsTurboStatus": []}},
    })
}
