//! `LiteServer`: a ModelArts Lite Server (dev-server: ECS, BMS or an HPS supernode), reference §3.
use super::common::{
    CloudSpec, CloudStatus, DesiredState, ImageRef, SecretKeyRef, delegate_common, immutable_optional,
    immutable_required,
};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Desired state of a ModelArts Lite Server.
// Repeated `type_ = ...` across `printcolumn(...)` lists trips clippy's duplicated_attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "modelarts.operator.dev",
    version = "v1alpha1",
    kind = "LiteServer",
    doc = "A ModelArts Lite Server: an ECS or BMS server, or an HPS supernode of several servers.",
    namespaced,
    derive = "PartialEq",
    status = "LiteServerStatus",
    shortname = "mals",
    category = "modelarts",
    // spec.name defaults to metadata.name, which may be longer than ModelArts allows.
    validation = kube::core::Rule::new("has(self.spec.name) || size(self.metadata.name) <= 64")
        .message("metadata.name is longer than the 64 characters ModelArts allows for a server name: set spec.name"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".status.cloudState"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.serverType"),
    printcolumn(name = "Flavor", type_ = "string", json_path = ".spec.flavor"),
    printcolumn(
        name = "Nodes",
        type_ = "integer",
        json_path = ".status.nodeCount",
        description = "Child servers of a supernode"
    ),
    printcolumn(name = "Cloud-ID", type_ = "string", json_path = ".status.cloudId"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_optional("region", "spec.region is immutable: create a new LiteServer to move regions"),
    validation = immutable_optional("projectId", "spec.projectId is immutable: create a new LiteServer in the other project"),
    validation = immutable_optional("resourceId", "spec.resourceId is immutable: create a new LiteServer to adopt another server"),
    validation = immutable_required("serverType", "spec.serverType is immutable: create a new LiteServer of the other type"),
    validation = immutable_required("flavor", "spec.flavor is immutable: create a new LiteServer (or scale supernodes with spec.nodes)"),
    validation = immutable_required("arch", "spec.arch is immutable: create a new LiteServer for the other architecture"),
    validation = immutable_required("network", "spec.network is immutable: create a new LiteServer in the other network"),
    validation = immutable_optional("availabilityZone", "spec.availabilityZone is immutable: create a new LiteServer in the other zone"),
    validation = immutable_optional("rootVolume", "spec.rootVolume is immutable: create a new LiteServer with the other disk"),
    validation = immutable_optional("dataVolume", "spec.dataVolume is immutable: create a new LiteServer with the other disks"),
    validation = immutable_optional("hpsClusterId", "spec.hpsClusterId is immutable: create a new LiteServer in the other cluster"),
    validation = immutable_required("chargingMode", "spec.chargingMode is immutable: change billing in the Huawei Cloud console"),
    validation = kube::core::Rule::new("(self.serverType == 'HPS') == has(self.hpsClusterId)")
        .message("spec.hpsClusterId is required for serverType HPS and not allowed otherwise: set or remove it"),
    validation = kube::core::Rule::new("self.serverType != 'HPS' || has(self.login.keyPairName)")
        .message("spec.login.keyPairName is required for serverType HPS: supernodes accept only key pairs, not passwords"),
    validation = kube::core::Rule::new("self.serverType == 'HPS' || !has(self.nodes) || size(self.nodes) == 0")
        .message("spec.nodes applies to serverType HPS only: remove it, or create an HPS supernode"),
    validation = kube::core::Rule::new("self.serverType == 'HPS' || !has(self.tags) || size(self.tags) == 0")
        .message("spec.tags is only supported for serverType HPS: only HPS supernodes have a tag API in ModelArts, so remove tags from ECS/BMS servers"),
    validation = kube::core::Rule::new("self.serverType != 'HPS' || (has(self.name) == has(oldSelf.name) && (!has(self.name) || self.name == oldSelf.name))")
        .message("spec.name of an HPS supernode is immutable: ModelArts has no rename API for supernodes"),
    validation = kube::core::Rule::new("self.chargingMode != 'PRE_PAID' || has(self.resourceId)")
        .message("spec.chargingMode PRE_PAID is only allowed with spec.resourceId (adopting an existing yearly/monthly server): use POST_PAID to create"),
)]
pub struct LiteServerSpec {
    /// Region, project, credentials, tags (HPS only), deletion and management policy, adoption ID.
    #[serde(flatten)]
    pub cloud: CloudSpec,
    /// Server name in ModelArts (1 to 64 of `A-Z a-z 0-9 - _ .`). Defaults to `metadata.name`.
    /// Changing it renames the server in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[-_.a-zA-Z0-9]{1,64}$"))]
    pub name: Option<String>,
    /// `ECS`, `BMS` or `HPS` (a supernode). Immutable.
    pub server_type: ServerType,
    /// Flavor, e.g. from `/v1/{project_id}/dev-servers/flavors`. For HPS, the first node's flavor;
    /// scale with `nodes`. Immutable.
    #[schemars(length(min = 1, max = 128))]
    pub flavor: String,
    /// OS image. Changing it reinstalls the server with the new image (change OS): the root disk is
    /// wiped; the server is stopped first and `desiredState` restored afterwards.
    pub image: ImageRef,
    /// `X86` (default) or `ARM`; must match the flavor and image. Immutable.
    #[serde(default)]
    pub arch: Arch,
    /// Availability zone, e.g. `cn-north-4a`. Absent lets ModelArts choose. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub availability_zone: Option<String>,
    /// VPC, subnet and security group. Immutable.
    pub network: ServerNetwork,
    /// System disk. Absent uses the flavor's default. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
    /// Identical data disks created with the server. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<DataVolume>,
    /// How to log in: a key pair name, or a password read from a Secret. Changes take effect at
    /// the next reinstall (`reinstallRequestedAt`).
    pub login: ServerLogin,
    /// Cloud-init user data, base64-encoded (decoded content up to 32 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 43692), regex(pattern = r"^[A-Za-z0-9+/]*={0,2}$"))]
    pub user_data: Option<String>,
    /// HPS cluster to place the supernode in (UUID); required for HPS, not allowed otherwise.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub hps_cluster_id: Option<String>,
    /// `POST_PAID` (default, pay-per-use). `PRE_PAID` (yearly/monthly) is accepted only when
    /// adopting an existing server through `resourceId`; the operator never buys one, and never
    /// deletes one: with `deletionPolicy: Delete` the deletion waits with a condition until the
    /// server is unsubscribed in the console (or the policy is set to `Retain`). Immutable.
    #[serde(default)]
    pub charging_mode: ChargingMode,
    /// `Running` (default) or `Stopped`.
    #[serde(default)]
    pub desired_state: DesiredState,
    /// Reboot trigger: set to a new RFC 3339 timestamp (e.g. `date -u +%FT%TZ`) to reboot once,
    /// like `kubectl rollout restart`. The handled value is recorded in `status.lastRebootRequestedAt`.
    /// A timestamp before the server's creation needs no reboot. A stopped server is not rebooted
    /// (starting it boots it anyway); the value is recorded as handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub reboot_requested_at: Option<String>,
    /// Reinstall trigger: set to a new RFC 3339 timestamp to reinstall the OS once (same image,
    /// current `login` and `userData`; the root disk is wiped). Recorded in
    /// `status.lastReinstallRequestedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub reinstall_requested_at: Option<String>,
    /// HPS only: desired node count per flavor; the operator scales the supernode up and down live,
    /// only while it runs. Flavors not listed are left alone. Scale-down removes the newest nodes
    /// first, then by ID, and reports them in an Event and `status.lastScaleDown`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["flavor".into()]))]
    pub nodes: Vec<NodeCount>,
}

/// Kind of Lite Server.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum ServerType {
    /// Elastic Cloud Server (virtual machine).
    #[serde(rename = "ECS")]
    Ecs,
    /// Bare Metal Server.
    #[serde(rename = "BMS")]
    Bms,
    /// HPS supernode: a group of servers managed as one hyperinstance.
    #[serde(rename = "HPS")]
    Hps,
}

/// CPU architecture.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub enum Arch {
    /// x86-64.
    #[default]
    #[serde(rename = "X86")]
    X86,
    /// ARM (aarch64).
    #[serde(rename = "ARM")]
    Arm,
}

/// How the server is billed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub enum ChargingMode {
    /// Pay-per-use.
    #[default]
    #[serde(rename = "POST_PAID")]
    PostPaid,
    /// Yearly/monthly (adoption only).
    #[serde(rename = "PRE_PAID")]
    PrePaid,
}

/// The server's network placement.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerNetwork {
    /// VPC ID (UUID).
    #[schemars(length(min = 1, max = 64))]
    pub vpc_id: String,
    /// Subnet ID (UUID) in that VPC.
    #[schemars(length(min = 1, max = 64))]
    pub subnet_id: String,
    /// Security group ID (UUID).
    #[schemars(length(min = 1, max = 64))]
    pub security_group_id: String,
}

/// EVS disk type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum VolumeType {
    /// Extreme SSD.
    #[serde(rename = "ESSD")]
    Essd,
    /// General purpose SSD.
    #[serde(rename = "GPSSD")]
    Gpssd,
    /// High I/O.
    #[serde(rename = "SAS")]
    Sas,
    /// Common I/O.
    #[serde(rename = "SATA")]
    Sata,
    /// Ultra-high I/O.
    #[serde(rename = "SSD")]
    Ssd,
}

/// System disk.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RootVolume {
    /// Size in GB, 100 to 1024.
    #[schemars(range(min = 100, max = 1024))]
    pub size: i32,
    /// Disk type; absent uses the flavor's default.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<VolumeType>,
}

/// A group of identical data disks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataVolume {
    /// Size of each disk in GB, 100 to 32768.
    #[schemars(range(min = 100, max = 32768))]
    pub size: i32,
    /// Disk type.
    #[serde(rename = "type")]
    pub volume_type: VolumeType,
    /// Number of disks, 1 to 8.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 8))]
    pub count: i32,
}

fn one() -> i32 {
    1
}

/// Login method: exactly one of a key pair or a password Secret. Never a password in the spec.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("has(self.keyPairName) != has(self.passwordSecretRef)")
    .message("spec.login needs exactly one of keyPairName or passwordSecretRef: set one and remove the other"))]
pub struct ServerLogin {
    /// Name of a key pair in this region's key pair service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub key_pair_name: Option<String>,
    /// Secret key (same namespace) holding the root password: 8 to 26 characters with at least three
    /// of upper case, lower case, digits and `!@%-_=+[{}]:,./?`. Not for HPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
}

/// Desired node count of one flavor in a supernode.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeCount {
    /// Node flavor. Unique within `nodes`.
    #[schemars(length(min = 1, max = 128))]
    pub flavor: String,
    /// Number of nodes of that flavor (0 to 128).
    #[schemars(range(min = 0, max = 128))]
    pub count: i32,
}

/// Observed state of a Lite Server.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiteServerStatus {
    /// Cloud ID and state, endpoints, managed tags, pending create, conditions, sync bookkeeping.
    #[serde(flatten)]
    pub cloud: CloudStatus,
    /// ID of the underlying ECS/BMS server (`cloud_server.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlying_server_id: Option<String>,
    /// Child servers of an HPS supernode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub child_servers: Vec<ChildServer>,
    /// Number of child servers of an HPS supernode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_count: Option<i32>,
    /// The `spec.rebootRequestedAt` value last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reboot_requested_at: Option<String>,
    /// The `spec.reinstallRequestedAt` value last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reinstall_requested_at: Option<String>,
    /// True while the operator has stopped the server to reinstall or change its OS; it starts it
    /// again afterwards only when this is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_for_update: bool,
    /// Image the server (every node of a supernode) runs, as ModelArts reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The last live scale-down: which nodes the operator chose to remove, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_down: Option<ScaleDownRecord>,
    /// A live scale-up sent and not yet visible: recorded before the call, so a read that lags
    /// behind it (or a lost answer) never sends a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_scale_up: Option<PendingScaleUp>,
}

/// One live scale-up of a supernode, from just before the call until its node shows up.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingScaleUp {
    /// Flavor scaled up.
    pub flavor: String,
    /// Nodes of that flavor before the call; the scale-up is visible once there are more.
    pub nodes_before: i32,
    /// When the scale-up was sent (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
}

/// Nodes removed from a supernode by one live scale-down (newest first, then by ID).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScaleDownRecord {
    /// Flavor scaled down.
    pub flavor: String,
    /// IDs of the child servers removed.
    pub server_ids: Vec<String>,
    /// When the scale-down was sent (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
}

/// One child server of a supernode.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChildServer {
    /// Server ID.
    pub id: String,
    /// Server name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Flavor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// Status string ModelArts reports (e.g. `RUNNING`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

delegate_common!(LiteServerSpec, LiteServerStatus);
