//! Wire types of the v2 pool API (K8s-shaped, camelCase; reference section 2) and of the v1
//! pool tag, resource flavor and network APIs.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::cloud::paging::ListMeta;

/// Accept `null`, a single object or an array of objects: the SDK models pool
/// `status.resources.*` as one object while the API very probably sends one entry per flavor.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::Many(items)) => items,
        Some(OneOrMany::One(item)) => vec![item],
    })
}

/// K8s-style object metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub name: String,
    pub creation_timestamp: Option<String>,
    pub deletion_timestamp: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub annotations: BTreeMap<String, String>,
}

/// The pool's display name label (the only required create label).
pub const LABEL_NAME: &str = "os.modelarts/name";
pub const LABEL_WORKSPACE: &str = "os.modelarts/workspace.id";
pub const ANNOTATION_DESCRIPTION: &str = "os.modelarts/description";

/// A resource pool. `metadata.name` is the generated pool ID used in every path.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Pool {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub spec: PoolSpec,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: PoolStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolSpec {
    /// Dedicate or Logical.
    #[serde(rename = "type")]
    pub pool_type: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub scope: Vec<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resources: Vec<PoolResource>,
    pub network: Option<NetworkRef>,
    pub containernetwork: Option<Value>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub job_flavors: Vec<String>,
    pub driver: Option<Value>,
    pub control_mode: Option<i64>,
}

/// One flavor of `spec.resources`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolResource {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub flavor: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub count: i64,
    pub max_count: Option<i64>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub azs: Vec<AzCount>,
    pub node_pool: Option<String>,
    pub extend_params: Option<Value>,
    pub os: Option<Value>,
    /// An object in the SDK model, an array in `PoolResource`; kept free-form.
    pub data_volumes: Option<Value>,
    pub volume_group_configs: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AzCount {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub az: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkRef {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PoolStatus {
    /// Creating, Running, Abnormal, Deleting, Error.
    pub phase: Option<String>,
    pub message: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resources: ResourceCounts,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub scope: Vec<ScopeStatus>,
    pub driver: Option<Value>,
    pub parent: Option<String>,
    pub root: Option<String>,
    pub clusters: Option<Value>,
}

/// Per-flavor node counts by node state; each entry may arrive as an object or an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ResourceCounts {
    #[serde(deserialize_with = "one_or_many")]
    pub creating: Vec<FlavorCount>,
    #[serde(deserialize_with = "one_or_many")]
    pub available: Vec<FlavorCount>,
    #[serde(deserialize_with = "one_or_many")]
    pub abnormal: Vec<FlavorCount>,
    #[serde(deserialize_with = "one_or_many")]
    pub deleting: Vec<FlavorCount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FlavorCount {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub flavor: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub count: i64,
    pub max_count: Option<i64>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub azs: Vec<AzCount>,
    pub node_pool: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ScopeStatus {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub scope_type: String,
    /// Enabling, Enabled, Disabling, Disabled.
    pub state: Option<String>,
}

/// `{apiVersion, kind: "PoolList", items}`: the unpaged pool list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct PoolList {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub items: Vec<Pool>,
}

/// `CreatePoolRequestBody`. [`CreatePoolRequest::new`] fills `apiVersion: v2`, `kind: Pool`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePoolRequest {
    pub api_version: String,
    pub kind: String,
    pub metadata: PoolMetadataRequest,
    pub spec: PoolSpecRequest,
}

impl CreatePoolRequest {
    pub fn new(metadata: PoolMetadataRequest, spec: PoolSpecRequest) -> Self {
        CreatePoolRequest {
            api_version: "v2".to_owned(),
            kind: "Pool".to_owned(),
            metadata,
            spec,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PoolMetadataRequest {
    /// Must hold [`LABEL_NAME`]; may hold [`LABEL_WORKSPACE`] and `os.modelarts/node.prefix`.
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpecRequest {
    #[serde(rename = "type")]
    pub pool_type: String,
    pub scope: Vec<String>,
    pub resources: Vec<PoolResourceRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub job_flavors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolResourceRequest {
    pub flavor: String,
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub azs: Vec<AzCount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_params: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Value>,
}

/// `PoolUpdateRequest`, sent as a JSON merge patch: only set fields are sent, and
/// `spec.resources` replaces the whole list (send every flavor with its desired count).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PoolPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<PoolMetadataPatch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<PoolSpecPatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PoolMetadataPatch {
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSpecPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<PoolResourcePatch>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_flavors: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PoolResourcePatch {
    pub flavor: String,
    pub count: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub azs: Vec<AzCount>,
}

/// Filters of the pool list (`workspaceId`, `labelSelector`, `status` created|failed|creating).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolFilter {
    pub workspace_id: Option<String>,
    pub label_selector: Option<String>,
    pub status: Option<String>,
}

/// A pool tag as `GET .../pools/{name}/tags` reports it (values merged per key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TagValues {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub key: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub values: Vec<String>,
}

/// `{tags: [{key, values}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PoolTags {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub tags: Vec<TagValues>,
}

/// Body of the tag filter API (seed 003): tags are ANDed; no tags matches every pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagFilterRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagFilter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<TagMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagFilter {
    pub key: String,
    pub values: Vec<String>,
}

/// Only `key: "resource_name"` (fuzzy, case-insensitive) is supported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TagMatch {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TagFilterResponse {
    pub total_count: Option<i64>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resources: Vec<TaggedResource>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TaggedResource {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub resource_detail: Option<Value>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub tags: Vec<crate::cloud::notebooks::Tag>,
}

/// A pool node.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Node {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub spec: NodeSpec,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: NodeStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeSpec {
    pub flavor: Option<String>,
    pub os: Option<Value>,
    pub host_network: Option<Value>,
    pub root_volume: Option<Value>,
    pub data_volumes: Option<Value>,
    pub extend_params: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NodeStatus {
    /// Available, Creating, Deleting, Abnormal, Checking.
    pub phase: Option<String>,
    pub az: Option<String>,
    pub private_ip: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub resources: BTreeMap<String, Value>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub available_resources: BTreeMap<String, Value>,
}

/// A `continue`-paged K8s-style list (`NodeList`, `ResourceFlavorList`, network list).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ContinuedList<T> {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub metadata: ListMeta,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub items: Vec<T>,
}

impl<T> Default for ContinuedList<T> {
    fn default() -> Self {
        ContinuedList {
            metadata: ListMeta::default(),
            items: Vec::new(),
        }
    }
}

/// A flavor pools can be built from (`GET /v1/{project_id}/resourceflavors`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResourceFlavor {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub spec: ResourceFlavorSpec,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: ResourceFlavorStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ResourceFlavorSpec {
    #[serde(rename = "type")]
    pub flavor_type: Option<String>,
    pub cpu_arch: Option<String>,
    pub cpu: Option<Value>,
    pub memory: Option<Value>,
    pub gpu: Option<Value>,
    pub npu: Option<Value>,
    pub data_volume: Option<Value>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub billing_modes: Vec<i64>,
    pub billing_code: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub job_flavors: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ResourceFlavorStatus {
    /// Availability zone → `normal` | `soldout` (free-form in case the shape differs).
    pub phase: Option<Value>,
}

/// A ModelArts network (`GET /v1/{project_id}/networks`); pools refer to it by `metadata.name`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Network {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub metadata: ObjectMeta,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub spec: NetworkSpec,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: NetworkStatus,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct NetworkSpec {
    pub cidr: Option<String>,
    pub connection: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NetworkStatus {
    pub phase: Option<String>,
    pub connection_status: Option<Value>,
}
