//! `ServerResponse` and `ServerHyperinstanceResponse` as JSON (reference 3.1, 3.11).

use serde_json::{Value, json};

use super::catalog;
use super::model::{Hyper, Server};

pub fn server(s: &Server) -> Value {
    let image = catalog::image(&s.image_id)
        .map(catalog::ServerImage::to_json)
        .unwrap_or_else(|| json!({"image_id": s.image_id, "status": "INACTIVE"}));
    let mut volumes = vec![
        json!({"type": "ROOT", "size": s.root_volume.0, "evs_type": s.root_volume.1, "evs_id": format!("{}-root", &s.id[..8])}),
    ];
    volumes.extend(s.data_volumes.iter().enumerate().map(|(i, (size, ty))| {
        json!({"type": "DATA", "size": size, "evs_type": ty, "evs_id": format!("{}-data{i}", &s.id[..8])})
    }));
    let mut cloud = json!({"id": s.cloud_server_id, "type": s.server_type});
    let mut v = json!({
        "id": s.id, "name": s.name, "status": s.status.as_str(), "flavor": s.flavor,
        "charging_mode": s.charging_mode, "create_at": s.created_at, "update_at": s.updated_at,
        "category": if s.hps.is_some() { "HPS" } else { "SERVER" },
        "vpc_id": s.vpc_id, "subnet_id": s.subnet_id, "volumes": volumes, "image": image,
        "endpoints": [{"service": "SSH", "dev_service": "SSH", "uri": format!("{}:22", s.ip), "key_pair_names": s.key_pair_name.iter().collect::<Vec<_>>()}],
        "endpoints_response": [{"dev_service": "SSH", "extensions": {"ip": s.ip, "port": "22"}, "ssh_keys": s.key_pair_name.iter().collect::<Vec<_>>()}],
    });
    if let Some(k) = &s.key_pair_name {
        v["key_pair_name"] = json!(k);
    }
    if let Some(o) = &s.order_id {
        v["order_id"] = json!(o);
    }
    if let Some((id, name)) = &s.hps {
        v["server_hps"] = json!({"id": id, "name": name});
        cloud["hps_id"] = json!(id);
        cloud["hps_ecs_id"] = json!(s.cloud_server_id);
    }
    v["cloud_server"] = cloud;
    v
}

pub fn hyper(h: &Hyper, children: Vec<Value>) -> Value {
    let mut v = json!({
        "id": h.id, "name": h.name, "hps_id": h.hps_id, "hps_cluster_id": h.hps_cluster_id,
        "status": h.status.as_str(), "servers": children, "create_at": h.created_at, "update_at": h.updated_at,
    });
    if let Some(o) = &h.order_id {
        v["order_id"] = json!(o);
    }
    v
}
