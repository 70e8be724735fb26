//! `NotebookResp` and friends as JSON (reference 1.1). Field names are the SDK's.

use serde_json::{Value, json};

use super::model::{Lease, Notebook, Status, Storage};
use crate::catalog;
use crate::state::Ctx;

pub fn lease(l: &Lease) -> Value {
    json!({"create_at": l.create_at, "duration": l.duration, "enable": l.enable, "type": l.kind, "update_at": l.update_at})
}

pub fn storage(s: &Storage) -> Value {
    let mut v = json!({
        "id": s.id, "category": s.category, "mount_path": s.mount_path, "uri": s.uri,
        "status": s.status.as_str(), "mount_type": "DYNAMIC",
    });
    if let Some(e) = &s.efs_id {
        v["efs_id"] = json!(e);
    }
    if s.status.as_str().ends_with("FAILED") {
        v["failure_reason"] = json!("Set by the emulator control API");
    }
    v
}

/// The four `action_progress` steps: storage, compute, network, instance initialisation.
fn action_progress(status: Status) -> Value {
    let done = |n: usize| -> Vec<&str> {
        (0..4)
            .map(|i| {
                if i < n {
                    "COMPLETED"
                } else if i == n {
                    "PROCESSING"
                } else {
                    "WAITING"
                }
            })
            .collect()
    };
    let states: Vec<&str> = match status {
        Status::Init => done(0),
        Status::Creating | Status::Starting => done(2),
        Status::CreateFailed | Status::StartFailed => vec!["COMPLETED", "FAILED", "WAITING", "WAITING"],
        _ => vec!["COMPLETED"; 4],
    };
    let descriptions = [
        "Prepare storage",
        "Prepare compute",
        "Configure network",
        "Initialize instance",
    ];
    Value::Array(
        states
            .iter()
            .zip(descriptions)
            .enumerate()
            .map(|(i, (st, d))| json!({"step": i + 1, "status": st, "description": d}))
            .collect(),
    )
}

pub fn notebook(nb: &Notebook, ctx: &Ctx<'_>) -> Value {
    let image = catalog::notebook_image(&nb.image_id)
        .map(|i| i.to_json(ctx.region))
        .unwrap_or_else(|| json!({"id": nb.image_id}));
    let mut volume = json!({
        "category": nb.volume.category, "ownership": nb.volume.ownership,
        "mount_path": "/home/ma-user/work/", "read_only": nb.volume.read_only,
        "mount_type": "STATIC",
    });
    for (k, v) in [
        ("capacity", nb.volume.capacity.map(Value::from)),
        ("uri", nb.volume.uri.clone().map(Value::from)),
        ("id", nb.volume.id.clone().map(Value::from)),
        (
            "dew_secret_name",
            nb.volume.dew_secret_name.clone().map(Value::from),
        ),
    ] {
        if let Some(v) = v {
            volume[k] = v;
        }
    }
    let tags: Vec<Value> = nb
        .tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let endpoints: Vec<Value> = nb
        .endpoints
        .iter()
        .map(|e| {
            let svc = e.get("service").cloned().unwrap_or(json!("NOTEBOOK"));
            json!({"service": svc, "dev_service": svc, "uri": format!("{}:22", nb.ip),
                   "key_pair_names": e.get("key_pair_names").cloned().unwrap_or(json!([]))})
        })
        .collect();
    let mut data_volumes: Vec<Value> = nb.data_volumes.clone();
    data_volumes.extend(nb.storages.iter().map(storage));
    let mut v = json!({
        "id": nb.id, "name": nb.name, "description": nb.description, "status": nb.status.as_str(),
        "action_progress": action_progress(nb.status), "flavor": nb.flavor, "image": image,
        "lease": lease(&nb.lease), "token": nb.token,
        "url": format!("https://authoring-modelarts-{}.huaweicloud.com/{}/lab", ctx.region, nb.id),
        "ip": nb.ip, "volume": volume, "data_volumes": data_volumes, "workspace_id": nb.workspace_id,
        "feature": nb.feature, "billing_items": ["STORAGE", "COMPUTE"], "endpoints": endpoints,
        "user": {"id": ctx.user_id(), "name": "emulator-user", "domain": {"id": ctx.domain_id(), "name": "emulator-domain"}},
        "user_id": ctx.user_id(), "is_need_credentials": true, "jupyter_version": "3.6.5",
        "tags": tags, "create_at": nb.created_at, "update_at": nb.updated_at,
    });
    if let Some(r) = &nb.fail_reason {
        v["fail_reason"] = json!(r);
    }
    if let Some(s) = &nb.custom_spec {
        v["custom_spec"] = s.clone();
    }
    if let Some(p) = &nb.pool_id {
        v["pool"] = json!({"id": p, "name": p});
    }
    if let Some(a) = &nb.affinity {
        v["affinity"] = a.clone();
    }
    if let Some(u) = &nb.user_vpc {
        let mut u = u.clone();
        // connect_cidrs is a list in the request but a string in the response.
        if let Some(Value::Array(c)) = u.get("connect_cidrs") {
            let joined = c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",");
            u["connect_cidrs"] = json!(joined);
        }
        v["user_vpc"] = u;
    }
    v
}
