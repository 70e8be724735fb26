//! `Notebook`: a ModelArts development environment (JupyterLab, optionally SSH), reference §1.
use super::common::{
    CloudSpec, CloudStatus, DesiredState, ImageRef, LocalObjectRef, delegate_common, immutable_optional,
    immutable_required,
};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Desired state of a ModelArts notebook instance.
// Repeated `type_ = ...` across `printcolumn(...)` lists trips clippy's duplicated_attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "modelarts.operator.dev",
    version = "v1alpha1",
    kind = "Notebook",
    doc = "A ModelArts notebook instance: a JupyterLab development environment, optionally with SSH.",
    namespaced,
    derive = "PartialEq",
    status = "NotebookStatus",
    shortname = "manb",
    category = "modelarts",
    // displayName defaults to metadata.name, which may hold characters ModelArts refuses ('.').
    validation = kube::core::Rule::new("has(self.spec.displayName) || self.metadata.name.matches('^[-_A-Za-z0-9]{1,128}$')")
        .message("metadata.name is not a valid ModelArts notebook name (up to 128 letters, digits, - or _): set spec.displayName"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".status.cloudState"),
    printcolumn(name = "Flavor", type_ = "string", json_path = ".spec.flavor"),
    printcolumn(
        name = "Desired",
        type_ = "string",
        json_path = ".spec.desiredState",
        priority = 1
    ),
    // A string, not a date: kubectl prints a date column as the age since then, so a lease
    // ending in four hours read "0s". The UTC time of the auto-stop reads right and never goes stale.
    printcolumn(
        name = "Lease-Expires",
        type_ = "string",
        json_path = ".status.leaseExpiresAt",
        priority = 1,
        description = "When the auto-stop lease ends (UTC); renewed by the operator while spec.autoStop.enabled is false"
    ),
    printcolumn(name = "Cloud-ID", type_ = "string", json_path = ".status.cloudId"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_optional("region", "spec.region is immutable: create a new Notebook to move regions"),
    validation = immutable_optional("projectId", "spec.projectId is immutable: create a new Notebook in the other project"),
    validation = immutable_optional("resourceId", "spec.resourceId is immutable: create a new Notebook to adopt another instance"),
    validation = immutable_optional("workspaceId", "spec.workspaceId is immutable: create a new Notebook in the other workspace"),
    validation = immutable_optional("poolRef", "spec.poolRef is immutable: create a new Notebook to run on another pool"),
    validation = immutable_optional("poolId", "spec.poolId is immutable: create a new Notebook to run on another pool"),
    validation = kube::core::Rule::new("!(has(self.poolRef) && has(self.poolId))")
        .message("spec.poolRef and spec.poolId are mutually exclusive: set poolRef to a ResourcePool in this namespace or poolId to a pool ID, not both"),
)]
pub struct NotebookSpec {
    /// Region, project, credentials, tags, deletion and management policy, adoption ID.
    #[serde(flatten)]
    pub cloud: CloudSpec,
    /// Name shown in ModelArts (up to 128 letters, digits, `-`, `_` or Chinese characters).
    /// Defaults to `metadata.name`. ModelArts does not require it to be unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[-_A-Za-z0-9\p{Han}]+$"))]
    pub display_name: Option<String>,
    /// Free text, up to 512 characters, without `<` or `>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512), regex(pattern = r"^[^<>]*$"))]
    pub description: Option<String>,
    /// Flavor code, e.g. `modelarts.vm.cpu.8u`. Changing it stops the instance, switches the flavor
    /// (must be one of its switchable flavors) and restores `desiredState`.
    #[schemars(length(min = 1, max = 128))]
    pub flavor: String,
    /// Image to run. Changing it stops the instance and switches the image.
    pub image: ImageRef,
    /// Storage mounted at `/home/ma-user/work/`.
    pub volume: NotebookVolume,
    /// Run on this ResourcePool (same namespace); the notebook waits until the pool has an ID.
    /// Mutually exclusive with `poolId`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_ref: Option<LocalObjectRef>,
    /// Run on this dedicated pool, by ModelArts pool ID. Mutually exclusive with `poolRef`.
    /// Neither means the public pool. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub pool_id: Option<String>,
    /// ModelArts workspace: `0` (default workspace) or a 32-character workspace ID. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(0|[0-9a-z]{32})$"))]
    pub workspace_id: Option<String>,
    /// Remote SSH access (remote IDE). Absent means JupyterLab only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<NotebookSsh>,
    /// `Running` (default) or `Stopped`. A notebook stopped by its auto-stop timer is started again
    /// while this is `Running`; set `Stopped` to let it rest.
    #[serde(default)]
    pub desired_state: DesiredState,
    /// Automatic stop (the ModelArts lease). Absent means ModelArts' default: stop after one hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_stop: Option<AutoStop>,
    /// Extra OBS, OBSFS or EFS storage mounted dynamically under `/data/` while the notebook runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    #[x_kube(merge_strategy = kube::core::ListMerge::Map(vec!["mountPath".into()]))]
    pub storage_mounts: Vec<StorageMount>,
}

/// Storage category of the notebook's work volume.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum VolumeCategory {
    /// Elastic Volume Service disk (the default choice; resizable upwards).
    #[serde(rename = "EVS")]
    Evs,
    /// Object Storage Service bucket path (needs `dewSecretName`).
    #[serde(rename = "OBS")]
    Obs,
    /// OBS parallel file system.
    #[serde(rename = "OBSFS")]
    Obsfs,
    /// SFS Turbo file system.
    #[serde(rename = "EFS")]
    Efs,
}

/// Who owns the storage behind the volume.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub enum VolumeOwnership {
    /// ModelArts provides and deletes the storage with the notebook.
    #[default]
    #[serde(rename = "MANAGED")]
    Managed,
    /// The user's own storage (EFS only); `uri` points at it.
    #[serde(rename = "DEDICATED")]
    Dedicated,
}

/// The notebook's work volume. Category, ownership and URI are fixed at creation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = immutable_required("category", "spec.volume.category is immutable: create a new Notebook with the other storage category"),
    validation = immutable_required("ownership", "spec.volume.ownership is immutable: create a new Notebook with the other ownership"),
    validation = immutable_optional("uri", "spec.volume.uri is immutable: create a new Notebook on the other storage"),
    validation = kube::core::Rule::new("!has(oldSelf.capacity) || has(self.capacity) && self.capacity >= oldSelf.capacity")
        .message("spec.volume.capacity can only grow: create a new Notebook for a smaller volume"),
    validation = kube::core::Rule::new("self.ownership != 'DEDICATED' || self.category == 'EFS'")
        .message("spec.volume.ownership DEDICATED is only possible with category EFS: use MANAGED or EFS"),
    validation = kube::core::Rule::new("self.ownership != 'DEDICATED' || has(self.uri)")
        .message("spec.volume.uri is required when ownership is DEDICATED: set it to the file system's address"),
    validation = kube::core::Rule::new("!has(self.capacity) || self.category == 'EVS'")
        .message("spec.volume.capacity applies to EVS volumes only: remove it or use category EVS"),
    validation = kube::core::Rule::new("self.category != 'OBS' || has(self.dewSecretName)")
        .message("spec.volume.dewSecretName is required for OBS volumes: name the DEW secret holding the OBS credentials"),
)]
pub struct NotebookVolume {
    /// `EVS`, `OBS`, `OBSFS` or `EFS`. Immutable.
    pub category: VolumeCategory,
    /// `MANAGED` (default) or `DEDICATED` (EFS only). Immutable.
    #[serde(default)]
    pub ownership: VolumeOwnership,
    /// Size in GB, EVS only: 5 (ModelArts' default) to 4096. May only grow; grows in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 4096))]
    pub capacity: Option<i32>,
    /// Address of dedicated storage, e.g. `<id>.sfsturbo.internal:/dir` or `obs://bucket/dir/`.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub uri: Option<String>,
    /// Name of the DEW (data encryption workshop) secret with OBS credentials; required for OBS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub dew_secret_name: Option<String>,
}

/// SSH access to the notebook.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotebookSsh {
    /// Names of key pairs (in this region's key pair service) allowed to log in. At least one.
    #[schemars(length(min = 1, max = 10), inner(length(min = 1, max = 64)))]
    pub key_pair_names: Vec<String>,
    /// Source IPs or CIDRs allowed to connect (`x.x.x.x` or `x.x.x.x/n`). Empty allows any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 20),
        inner(regex(pattern = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}(/[0-9]{1,2})?$"))
    )]
    pub allowed_source_ips: Vec<String>,
}

/// When the notebook stops by itself.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
pub enum AutoStopType {
    /// Stop `duration` after the last start or renewal.
    #[default]
    #[serde(rename = "TIMING")]
    Timing,
    /// Stop after `duration` without activity.
    #[serde(rename = "IDLE")]
    Idle,
}

/// Automatic stop, the ModelArts lease.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "!has(self.duration) || duration(self.duration) >= duration('1h') && duration(self.duration) <= duration('72h')"
).message("spec.autoStop.duration must be between 1h and 72h (ModelArts' lease range): e.g. 4h or 90m"))]
pub struct AutoStop {
    /// Whether the notebook stops by itself (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How long until it stops, as a Go-style duration between `1h` and `72h` (e.g. `4h`, `90m`,
    /// `2h30m`). Sent to ModelArts in milliseconds. Default `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub duration: Option<String>,
    /// `TIMING` (default): after the duration; `IDLE`: after the duration without activity.
    #[serde(default, rename = "type")]
    pub kind: AutoStopType,
}

fn default_true() -> bool {
    true
}

/// Category of a dynamically mounted storage.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, schemars::JsonSchema)]
pub enum StorageMountCategory {
    /// An OBS bucket path.
    #[serde(rename = "OBS")]
    Obs,
    /// An OBS parallel file system.
    #[serde(rename = "OBSFS")]
    Obsfs,
    /// An SFS Turbo file system (dedicated-pool notebooks only).
    #[serde(rename = "EFS")]
    Efs,
}

/// One dynamically mounted storage.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new("self.category != 'EFS' || has(self.efsId)")
    .message("spec.storageMounts[].efsId is required for EFS mounts: set the SFS Turbo file system ID"))]
pub struct StorageMount {
    /// `OBS`, `OBSFS` or `EFS`.
    pub category: StorageMountCategory,
    /// What to mount, e.g. `obs://bucket/dir/` or `<id>.sfsturbo.internal:/dir`.
    #[schemars(length(min = 1, max = 256))]
    pub uri: String,
    /// Where to mount it: a sub-directory of `/data/`, e.g. `/data/datasets`. Unique per notebook.
    #[schemars(length(min = 7, max = 256), regex(pattern = r"^/data/[^/].*$"))]
    pub mount_path: String,
    /// SFS Turbo file system ID (UUID); required for EFS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub efs_id: Option<String>,
}

/// Observed state of a notebook instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotebookStatus {
    /// Cloud ID and state, endpoints, managed tags, pending create, conditions, sync bookkeeping.
    #[serde(flatten)]
    pub cloud: CloudStatus,
    /// When the current lease ends and the notebook auto-stops (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub lease_expires_at: Option<String>,
    /// ID of the pool the notebook runs on, resolved from `poolRef` or `poolId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    /// Why ModelArts says the instance failed, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// True while the operator has stopped the notebook to apply an update that needs it stopped;
    /// the operator starts it again afterwards only when this is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_for_update: bool,
    /// Dynamically mounted storage as ModelArts reports it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_mounts: Vec<StorageMountStatus>,
}

/// One dynamic mount as ModelArts reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageMountStatus {
    /// ModelArts storage ID (used to unmount).
    pub id: String,
    /// Mount path under `/data/`.
    pub mount_path: String,
    /// Mounted URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `MOUNTING`, `MOUNTED`, `UNMOUNTING`, `UNMOUNTED`, `MOUNT_FAILED` or `UNMOUNT_FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

delegate_common!(NotebookSpec, NotebookStatus);
