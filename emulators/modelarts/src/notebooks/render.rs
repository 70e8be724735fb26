//! `NotebookResp` and friends as JSON (reference 1.1). Field names are the SDK's.
//!
//! Rendering goes through borrowed, typed views serialised straight to bytes, with the image
//! object pre-serialised once per region: a list page of 1,000 notebooks must stay cheap
//! (issue 3, speed).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::model::{Lease, Notebook, Status, Storage};
use crate::catalog;
use crate::state::{Ctx, lock};

pub fn lease(l: &Lease) -> Value {
    json!({"create_at": l.create_at, "duration": l.duration, "enable": l.enable, "type": l.kind, "update_at": l.update_at})
}

#[derive(Serialize)]
struct LeaseView<'a> {
    create_at: i64,
    duration: i64,
    enable: bool,
    #[serde(rename = "type")]
    kind: &'a str,
    update_at: i64,
}

#[derive(Serialize)]
pub struct StorageView<'a> {
    id: &'a str,
    category: &'a str,
    mount_path: &'a str,
    uri: &'a str,
    status: &'static str,
    mount_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    efs_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure_reason: Option<&'static str>,
}

fn storage_view(s: &Storage) -> StorageView<'_> {
    StorageView {
        id: &s.id,
        category: &s.category,
        mount_path: &s.mount_path,
        uri: &s.uri,
        status: s.status.as_str(),
        mount_type: "DYNAMIC",
        efs_id: s.efs_id.as_deref(),
        failure_reason: s
            .status
            .as_str()
            .ends_with("FAILED")
            .then_some("Set by the emulator control API"),
    }
}

pub fn storage(s: &Storage) -> Value {
    serde_json::to_value(storage_view(s)).unwrap_or(Value::Null)
}

/// The four `action_progress` steps: storage, compute, network, instance initialisation.
fn action_progress(status: Status) -> &'static RawValue {
    static CACHE: LazyLock<Mutex<HashMap<&'static str, &'static RawValue>>> = LazyLock::new(Default::default);
    let mut cache = lock(&CACHE);
    cache.entry(status.as_str()).or_insert_with(|| {
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
        let v: Vec<Value> = states
            .iter()
            .zip(descriptions)
            .enumerate()
            .map(|(i, (st, d))| json!({"step": i + 1, "status": st, "description": d}))
            .collect();
        leak_raw(&Value::Array(v))
    })
}

fn leak_raw(v: &Value) -> &'static RawValue {
    let raw = RawValue::from_string(v.to_string())
        .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null"));
    Box::leak(raw)
}

/// The `Image` object of a seeded image, serialised once per region.
fn image_raw(region: &str, id: &str) -> Option<&'static RawValue> {
    type PerRegion = HashMap<String, HashMap<&'static str, &'static RawValue>>;
    static CACHE: LazyLock<Mutex<PerRegion>> = LazyLock::new(Default::default);
    let mut cache = lock(&CACHE);
    let images = cache.entry(region.to_string()).or_insert_with(|| {
        catalog::NOTEBOOK_IMAGES
            .iter()
            .map(|i| (i.id, leak_raw(&i.to_json(region))))
            .collect()
    });
    images.get(id).copied()
}

#[derive(Serialize)]
struct TagView<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct VolumeView<'a> {
    category: &'a str,
    ownership: &'a str,
    mount_path: &'static str,
    read_only: bool,
    mount_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dew_secret_name: Option<&'a str>,
}

#[derive(Serialize)]
struct PoolView<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum DataVolume<'a> {
    Given(&'a Value),
    Dynamic(StorageView<'a>),
}

#[derive(Serialize)]
#[serde(untagged)]
enum ImageField<'a> {
    Seeded(&'static RawValue),
    Unknown { id: &'a str },
}

#[derive(Serialize)]
pub struct NotebookView<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    status: &'static str,
    action_progress: &'static RawValue,
    flavor: &'a str,
    image: ImageField<'a>,
    lease: LeaseView<'a>,
    token: &'a str,
    url: String,
    ip: &'a str,
    volume: VolumeView<'a>,
    data_volumes: Vec<DataVolume<'a>>,
    workspace_id: &'a str,
    feature: &'a str,
    billing_items: [&'static str; 2],
    endpoints: Vec<Value>,
    user: &'static RawValue,
    user_id: &'static str,
    is_need_credentials: bool,
    jupyter_version: &'static str,
    tags: Vec<TagView<'a>>,
    create_at: i64,
    update_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fail_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    custom_spec: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<PoolView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    affinity: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_vpc: Option<Value>,
}

/// `image` and `user` are the same for every notebook of a region: serialised once.
fn shared_user(ctx: &Ctx<'_>) -> &'static RawValue {
    static USER: LazyLock<&'static RawValue> = LazyLock::new(|| {
        let ctx_user = "6c1e3a5f0b7d4e2a9f8c7b6a5d4e3f21";
        leak_raw(
            &json!({"id": ctx_user, "name": "emulator-user", "domain": {"id": "0a9b8c7d6e5f40312a3b4c5d6e7f8091", "name": "emulator-domain"}}),
        )
    });
    debug_assert_eq!(ctx.user_id(), "6c1e3a5f0b7d4e2a9f8c7b6a5d4e3f21");
    *USER
}

pub fn view<'a>(nb: &'a Notebook, ctx: &Ctx<'_>) -> NotebookView<'a> {
    let image = match image_raw(ctx.region, &nb.image_id) {
        Some(raw) => ImageField::Seeded(raw),
        None => ImageField::Unknown { id: &nb.image_id },
    };
    let endpoints = nb
        .endpoints
        .iter()
        .map(|e| {
            let svc = e.get("service").cloned().unwrap_or(json!("NOTEBOOK"));
            json!({"service": svc, "dev_service": svc, "uri": format!("{}:22", nb.ip),
                   "key_pair_names": e.get("key_pair_names").cloned().unwrap_or(json!([]))})
        })
        .collect();
    let user_vpc = nb.user_vpc.as_ref().map(|u| {
        let mut u = u.clone();
        // connect_cidrs is a list in the request but a string in the response.
        if let Some(Value::Array(c)) = u.get("connect_cidrs") {
            let joined = c.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",");
            u["connect_cidrs"] = json!(joined);
        }
        u
    });
    NotebookView {
        id: &nb.id,
        name: &nb.name,
        description: &nb.description,
        status: nb.status.as_str(),
        action_progress: action_progress(nb.status),
        flavor: &nb.flavor,
        image,
        lease: LeaseView {
            create_at: nb.lease.create_at,
            duration: nb.lease.duration,
            enable: nb.lease.enable,
            kind: &nb.lease.kind,
            update_at: nb.lease.update_at,
        },
        token: &nb.token,
        url: format!(
            "https://authoring-modelarts-{}.huaweicloud.com/{}/lab",
            ctx.region, nb.id
        ),
        ip: &nb.ip,
        volume: VolumeView {
            category: &nb.volume.category,
            ownership: &nb.volume.ownership,
            mount_path: "/home/ma-user/work/",
            read_only: nb.volume.read_only,
            mount_type: "STATIC",
            capacity: nb.volume.capacity,
            uri: nb.volume.uri.as_deref(),
            id: nb.volume.id.as_deref(),
            dew_secret_name: nb.volume.dew_secret_name.as_deref(),
        },
        data_volumes: nb
            .data_volumes
            .iter()
            .map(DataVolume::Given)
            .chain(nb.storages.iter().map(|s| DataVolume::Dynamic(storage_view(s))))
            .collect(),
        workspace_id: &nb.workspace_id,
        feature: &nb.feature,
        billing_items: ["STORAGE", "COMPUTE"],
        endpoints,
        user: shared_user(ctx),
        user_id: ctx.user_id(),
        is_need_credentials: true,
        jupyter_version: "3.6.5",
        tags: nb
            .tags
            .iter()
            .map(|(k, v)| TagView { key: k, value: v })
            .collect(),
        create_at: nb.created_at,
        update_at: nb.updated_at,
        fail_reason: nb.fail_reason.as_deref(),
        custom_spec: nb.custom_spec.as_ref(),
        pool: nb.pool_id.as_deref().map(|p| PoolView { id: p, name: p }),
        affinity: nb.affinity.as_ref(),
        user_vpc,
    }
}

pub fn notebook(nb: &Notebook, ctx: &Ctx<'_>) -> Value {
    serde_json::to_value(view(nb, ctx)).unwrap_or(Value::Null)
}
