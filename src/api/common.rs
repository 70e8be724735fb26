//! Spec and status pieces shared by Notebook, ResourcePool and LiteServer.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happens to the cloud resource when the Kubernetes object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the cloud resource and wait until it is gone.
    #[default]
    Delete,
    /// Keep the cloud resource; only the operator's ownership tag is removed.
    Retain,
}

/// How far the operator may act on the cloud resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update, and delete to match the spec.
    #[default]
    Manage,
    /// Only report the cloud state in status; never mutate or delete.
    ObserveOnly,
}

/// A Secret in the same namespace as the referring object (never another namespace).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    pub name: String,
}

/// Tags as the user writes them: key to value.
pub type Tags = BTreeMap<String, String>;

/// Written to status before a create is sent, cleared once the cloud ID is recorded: after a
/// crash or a lost response the engine looks the resource up instead of creating it again.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingCreate {
    /// Random token of this create attempt.
    pub token: String,
    /// When the create was sent (RFC 3339).
    pub requested_at: String,
    /// Name the cloud resource was created with.
    pub name: String,
}

/// Read access to the fields every kind's spec has, so the engine can be generic.
pub trait CommonSpec {
    fn region(&self) -> Option<&str>;
    fn project_id(&self) -> Option<&str>;
    fn credentials_secret_ref(&self) -> Option<&SecretRef>;
    fn tags(&self) -> &Tags;
    fn deletion_policy(&self) -> DeletionPolicy;
    fn resource_id(&self) -> Option<&str>;
    fn management_policy(&self) -> ManagementPolicy;
}

/// Read and write access to the status fields every kind has.
pub trait CommonStatus: Default {
    fn cloud_id(&self) -> Option<&str>;
    fn set_cloud_id(&mut self, id: Option<String>);
    fn cloud_state(&self) -> Option<&str>;
    fn set_cloud_state(&mut self, state: Option<String>);
    fn managed_tag_keys(&self) -> &[String];
    fn set_managed_tag_keys(&mut self, keys: Vec<String>);
    fn conditions(&self) -> &[Condition];
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    fn observed_generation(&self) -> Option<i64>;
    fn set_observed_generation(&mut self, generation: Option<i64>);
    fn last_sync_time(&self) -> Option<&str>;
    fn set_last_sync_time(&mut self, time: Option<String>);
    fn pending_create(&self) -> Option<&PendingCreate>;
    fn set_pending_create(&mut self, pending: Option<PendingCreate>);
}
