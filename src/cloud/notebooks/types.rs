//! Wire types of the v1 notebook API (snake_case; reference section 1). Reading is tolerant
//! (every field defaulted, unknown fields ignored); writing omits unset fields, as the SDK does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tag as notebooks, images and dev-servers carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: Some(value.into()),
        }
    }

    /// `key → value` pairs as the tag create/delete bodies carry them.
    pub fn list<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
        tags.into_iter().map(|(k, v)| Tag::new(k, v)).collect()
    }
}

/// `{tags: [...]}`, the body of tag create/delete calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagsBody {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub tags: Vec<Tag>,
}

/// `NotebookResp`: returned by create, show, update, delete, start, stop and list.
///
/// Only the fields the operator reads are kept; every other field of the answer (the image's
/// catalogue entry, the auth token, user, affinity, billing, action progress, ...) is skipped
/// while reading. The drift snapshot holds one of these per notebook the operator owns, so at
/// 10,000 notebooks each unread field cost megabytes (benches/README.md, Memory).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Notebook {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub name: String,
    pub description: Option<String>,
    /// INIT, CREATING, STARTING, STOPPING, DELETING, RUNNING, STOPPED, SNAPSHOTTING,
    /// CREATE_FAILED, START_FAILED, DELETE_FAILED, ERROR, DELETED, FROZEN.
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: String,
    pub fail_reason: Option<String>,
    pub flavor: Option<String>,
    pub image: Option<NotebookImage>,
    pub lease: Option<Lease>,
    pub pool: Option<PoolRef>,
    pub url: Option<String>,
    pub ip: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub endpoints: Vec<Endpoint>,
    pub volume: Option<VolumeInfo>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub data_volumes: Vec<DataVolume>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub tags: Vec<Tag>,
}

/// A notebook's `image`: only its ID is compared with the spec (the full catalogue entry is
/// `Image`, from the images API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotebookImage {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomSpec {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub cpu: f64,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub memory: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_flavor: Option<String>,
}

/// An image (notebook `image`, and items of `GET /v1/{project_id}/images`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Image {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub tag: Option<String>,
    pub swr_path: Option<String>,
    pub arch: Option<String>,
    pub description: Option<String>,
    pub size: Option<i64>,
    pub create_at: Option<i64>,
    pub update_at: Option<i64>,
    #[serde(rename = "type")]
    pub image_type: Option<String>,
    pub origin: Option<String>,
    pub service_type: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub dev_services: Vec<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resource_categories: Vec<String>,
    pub status: Option<String>,
    pub status_message: Option<String>,
    pub visibility: Option<String>,
    pub flavor_type: Option<String>,
    pub workspace_id: Option<String>,
    pub swr_instance_id: Option<String>,
    pub show_name: Option<String>,
    pub show_tag: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub tags: Vec<Tag>,
}

/// Auto-stop timer. Times and durations are epoch/interval milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lease {
    pub create_at: Option<i64>,
    pub duration: Option<i64>,
    pub enable: Option<bool>,
    /// TIMING or IDLE.
    #[serde(rename = "type")]
    pub lease_type: Option<String>,
    pub update_at: Option<i64>,
}

/// `LeaseReq`: auto-stop settings in create and lease renew.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LeaseRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub lease_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub key_pair_names: Vec<String>,
}

/// `VolumeRes`: the notebook's main storage as reported; only what the operator reads (its
/// size, for a volume grown in the spec), as for `Notebook`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeInfo {
    pub capacity: Option<i64>,
}

/// `VolumeMountRequest`: storage in create/update requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VolumeMount {
    /// EVS, OBS, OBSFS or EFS.
    pub category: String,
    /// MANAGED or DEDICATED.
    pub ownership: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dew_secret_name: Option<String>,
}

/// `DataVolumesRes`: an extra (e.g. dynamically mounted) storage of a notebook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataVolume {
    pub id: Option<String>,
    pub category: Option<String>,
    pub mount_path: Option<String>,
    pub uri: Option<String>,
    pub url: Option<String>,
    /// MOUNTING, MOUNTED, UNMOUNTING, UNMOUNTED, MOUNT_FAILED, UNMOUNT_FAILED.
    pub status: Option<String>,
    pub failure_reason: Option<String>,
    pub efs_id: Option<String>,
    pub mount_type: Option<String>,
}

/// `DataVolumesReq`: a dynamic storage mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StorageMountRequest {
    /// OBS, OBSFS or EFS.
    pub category: String,
    /// A sub-directory of `/data/`.
    pub mount_path: String,
    pub uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efs_id: Option<String>,
}

/// `NotebookCreateRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CreateNotebookRequest {
    pub name: String,
    pub image_id: String,
    pub volume: VolumeMount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_spec: Option<CustomSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_user: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_volumes: Vec<VolumeMount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_vpc: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_network_config: Option<Value>,
}

/// `NotebookUpdateRequest`: every field optional; only set fields are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateNotebookRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_spec: Option<CustomSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_new_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<Endpoint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hooks: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dew_secret_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volumes: Option<Vec<VolumeMount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_network_config: Option<Value>,
}

/// Filters of `GET /v1/{project_id}/notebooks` (paging is passed separately).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotebookFilter {
    pub feature: Option<String>,
    /// Fuzzy match.
    pub name: Option<String>,
    pub pool_id: Option<String>,
    pub pool_name: Option<String>,
    pub owner: Option<String>,
    pub status: Option<String>,
    pub workspace_id: Option<String>,
    pub flavor: Option<String>,
    pub image_id: Option<String>,
    pub id: Option<String>,
    pub billing: Option<String>,
    /// Sent as `tags=k1|v1,k2|v2`.
    pub tags: Vec<(String, String)>,
    pub swr_path: Option<String>,
    pub description: Option<String>,
    pub ip: Option<String>,
    pub username: Option<String>,
    pub sort_key: Option<String>,
    pub sort_dir: Option<String>,
}

/// Auto-stop options of start: `?duration=<ms>&type=TIMING|IDLE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartOptions {
    pub duration_ms: Option<i64>,
    pub auto_stop_type: Option<String>,
}

/// `NotebookFlavor`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NotebookFlavor {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub arch: Option<String>,
    pub category: Option<String>,
    pub vcpus: Option<i64>,
    pub memory: Option<i64>,
    pub gpu: Option<Value>,
    pub ascend: Option<Value>,
    pub billing: Option<Value>,
    pub feature: Option<String>,
    pub free: Option<bool>,
    pub sold_out: Option<bool>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub storages: Vec<String>,
    pub evs_max_size: Option<Value>,
    pub evs_sku_code: Option<String>,
    pub grow_support_type: Option<String>,
}

/// A flavor page: the SDK models both `data` and `flavors`; see [`FlavorPage::items`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FlavorPage {
    pub current: Option<i64>,
    pub pages: Option<i64>,
    pub size: Option<i64>,
    pub total: Option<i64>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub data: Vec<NotebookFlavor>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub flavors: Vec<NotebookFlavor>,
}

impl FlavorPage {
    /// The flavors, from whichever of `data`/`flavors` the server filled.
    pub fn items(&self) -> &[NotebookFlavor] {
        if self.data.is_empty() {
            &self.flavors
        } else {
            &self.data
        }
    }
}

/// Filters of the flavor list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlavorFilter {
    pub category: Option<String>,
    /// MANAGED (public) or DEDICATED.
    pub flavor_class: Option<String>,
    pub flavor_type: Option<String>,
    pub feature: Option<String>,
}

/// Filters of `GET /v1/{project_id}/images`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFilter {
    pub name: Option<String>,
    pub name_fuzzy_match: Option<bool>,
    pub namespace: Option<String>,
    pub service_type: Option<String>,
    pub image_type: Option<String>,
    pub workspace_id: Option<String>,
    pub sort_key: Option<String>,
    pub sort_dir: Option<String>,
}
