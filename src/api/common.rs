//! Spec and status pieces shared by Notebook, ResourcePool and LiteServer.
//!
//! The shared fields live in [`CloudSpec`] and [`CloudStatus`], flattened into each kind's spec and
//! status so the YAML stays flat (`spec.region`, not `spec.cloud.region`). The traits
//! [`CommonSpec`] and [`CommonStatus`] give the generic engine access to them.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::core::Rule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
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

/// Whether the operator keeps the cloud resource running or stopped.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DesiredState {
    /// Start the resource if it is stopped (also after an auto-stop).
    #[default]
    Running,
    /// Stop the resource if it is running; it keeps its storage and keeps being billed for it.
    Stopped,
}

/// A Secret in the same namespace as the referring object (never another namespace).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// One key of a Secret in the same namespace as the referring object.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data whose value is used.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Another object of this API in the same namespace, by name.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectRef {
    /// Name of the object (same namespace as the referrer).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// An image known to ModelArts, by ID.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageRef {
    /// Image ID (a UUID from the ModelArts image list for this kind).
    #[schemars(length(min = 1, max = 64))]
    pub id: String,
}

/// Tags as the user writes them: key to value.
pub type Tags = BTreeMap<String, String>;

/// Most tags one resource may carry in the spec; bounds the CEL cost of the tag rules and leaves
/// room under the cloud's per-resource limit for the operator's own ownership tags.
pub const MAX_TAGS: usize = 20;

/// Fields every kind's spec has. Flattened into each spec.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudSpec {
    /// Huawei Cloud region, e.g. `cn-north-4`. Defaults to the credentials Secret's or the operator's
    /// region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"))]
    pub region: Option<String>,
    /// IAM project ID of the region (32 hex characters). Defaults to the credentials Secret's or the
    /// operator's project. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{32}$"))]
    pub project_id: Option<String>,
    /// Secret in this namespace holding `accessKey`, `secretKey` and optionally `securityToken`,
    /// `region` and `projectId`. Defaults to the operator-wide credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<SecretRef>,
    /// Tags on the cloud resource. Only these keys (and the operator's ownership tags) are managed;
    /// tags added by others are left alone. Keys: 1 to 128 characters, not starting with `_sys_`, no
    /// leading or trailing space. Values: up to 255 letters, digits, spaces and `_ . : = + - @ /`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    pub tags: Tags,
    /// `Delete` (default) deletes the cloud resource with the object; `Retain` keeps it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// ID of an existing cloud resource to adopt instead of creating one. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[-a-zA-Z0-9]+$"))]
    pub resource_id: Option<String>,
    /// `Manage` (default) makes the cloud match the spec; `ObserveOnly` only reports it in status.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// The schema of `spec.tags`: a bounded map with the ModelArts tag rules (reference 1.11) as CEL.
/// Keys cannot carry `maxLength` in a structural schema, so only O(1) checks run on them (a
/// regular expression over an unbounded key would blow the apiserver's CEL cost budget); values
/// are bounded, so their character set is checked with a regex.
fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let rules = [
        Rule::new("self.all(k, size(k) >= 1 && size(k) <= 128)")
            .message("spec.tags: every key must be 1 to 128 characters long; shorten the key"),
        Rule::new("self.all(k, !k.startsWith('_sys_'))")
            .message("spec.tags: keys must not start with the reserved prefix _sys_; rename the key"),
        Rule::new("self.all(k, !k.startsWith(' ') && !k.endsWith(' '))")
            .message("spec.tags: keys must not start or end with a space; trim the key"),
        Rule::new(r"self.all(k, self[k].matches('^[\\p{L}\\p{N} _.:=+@/-]*$'))").message(
            "spec.tags: values may contain only letters, digits, spaces and _ . : = + - @ /; \
             remove other characters",
        ),
    ];
    serde_json::from_value(json!({
        "type": "object",
        "maxProperties": MAX_TAGS,
        "additionalProperties": {"type": "string", "maxLength": 255},
        "x-kubernetes-validations": rules,
    }))
    .expect("the tags schema is a valid JSON object")
}

/// The CEL rule making an optional spec field immutable, placed on the struct that holds it: a
/// rule on the field itself would not run when the field is removed, so removal would slip by.
/// `field` is the JSON name; `message` names the full path and says what to do instead.
pub fn immutable_optional(field: &str, message: &str) -> Rule {
    Rule::new(format!(
        "has(self.{field}) == has(oldSelf.{field}) && (!has(self.{field}) || self.{field} == oldSelf.{field})"
    ))
    .message(message)
}

/// The CEL rule making a required spec field immutable, placed on the struct that holds it.
pub fn immutable_required(field: &str, message: &str) -> Rule {
    Rule::new(format!("self.{field} == oldSelf.{field}")).message(message)
}

/// A create call that was sent but whose result is not yet recorded as `cloudId`. Written before the
/// call, so an operator that crashes mid-create finds the resource by this token instead of creating
/// a second one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingCreate {
    /// Idempotency token stamped on the cloud resource (as a tag or in its name).
    pub token: String,
    /// When the create was requested (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    /// The cloud-side name the create used, for lookup by name.
    pub name: String,
    /// When the create was sent by the cloud's clock (epoch milliseconds, from its `Date`
    /// headers): a resource the cloud made before this is never taken for this create's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_sent_ms: Option<i64>,
}

impl PendingCreate {
    /// True while a create sent at `requested_at` may still surface (younger than `grace`).
    /// A malformed timestamp counts as expired: waiting on it would wedge the object forever.
    pub fn is_recent(&self, grace: std::time::Duration) -> bool {
        self.requested_at
            .parse::<jiff::Timestamp>()
            .map(|t| jiff::Timestamp::now().duration_since(t).unsigned_abs() < grace)
            .unwrap_or(false)
    }
}

/// Where a cloud resource lives.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudScope {
    pub region: String,
    pub project_id: String,
}

/// How to reach the cloud resource.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessEndpoints {
    /// Web URL (JupyterLab for notebooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// IP addresses of the resource (private first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
    /// SSH addresses, as `host:port`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh: Vec<String>,
}

/// Fields every kind's status has. Flattened into each status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudStatus {
    /// ID of the cloud resource this object manages or observes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<String>,
    /// Status string ModelArts last reported, verbatim (e.g. `RUNNING`, `Creating`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    /// How to reach the resource, when it is reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<AccessEndpoints>,
    /// Tag keys the operator manages on the cloud resource; a key dropped from the spec is deleted
    /// from the cloud only if it is listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub managed_tag_keys: Vec<String>,
    /// A create that was sent but not yet confirmed (crash-safe create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_create: Option<PendingCreate>,
    /// When this object's create of the cloud resource was confirmed (RFC 3339). Reads are
    /// eventually consistent: until the grace period after it has passed, a read that does not
    /// show the resource is waited for, never taken as "deleted" (also after a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub created_at: Option<String>,
    /// When this object first asked ModelArts to delete its cloud resource (RFC 3339): from then
    /// on a read that misses the resource means it is gone, not that it is not visible yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub delete_requested_at: Option<String>,
    /// The region and project the cloud resource lives in, recorded at create or adoption. If
    /// the object's credentials later point elsewhere, nothing is created, changed or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_scope: Option<CloudScope>,
    /// `Ready` and `Synced` conditions (kstatus-compatible).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the operator last recorded a change in this status (RFC 3339). A resync that finds
    /// nothing new leaves it alone, so a resource at rest costs no write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub last_sync_time: Option<String>,
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
    fn cloud(&self) -> &CloudStatus;
    fn cloud_mut(&mut self) -> &mut CloudStatus;
}

impl CommonSpec for CloudSpec {
    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
    fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }
    fn credentials_secret_ref(&self) -> Option<&SecretRef> {
        self.credentials_secret_ref.as_ref()
    }
    fn tags(&self) -> &Tags {
        &self.tags
    }
    fn deletion_policy(&self) -> DeletionPolicy {
        self.deletion_policy
    }
    fn resource_id(&self) -> Option<&str> {
        self.resource_id.as_deref()
    }
    fn management_policy(&self) -> ManagementPolicy {
        self.management_policy
    }
}

impl CommonStatus for CloudStatus {
    fn cloud_id(&self) -> Option<&str> {
        self.cloud_id.as_deref()
    }
    fn set_cloud_id(&mut self, id: Option<String>) {
        self.cloud_id = id;
    }
    fn cloud_state(&self) -> Option<&str> {
        self.cloud_state.as_deref()
    }
    fn set_cloud_state(&mut self, state: Option<String>) {
        self.cloud_state = state;
    }
    fn managed_tag_keys(&self) -> &[String] {
        &self.managed_tag_keys
    }
    fn set_managed_tag_keys(&mut self, keys: Vec<String>) {
        self.managed_tag_keys = keys;
    }
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
    fn conditions_mut(&mut self) -> &mut Vec<Condition> {
        &mut self.conditions
    }
    fn observed_generation(&self) -> Option<i64> {
        self.observed_generation
    }
    fn set_observed_generation(&mut self, generation: Option<i64>) {
        self.observed_generation = generation;
    }
    fn last_sync_time(&self) -> Option<&str> {
        self.last_sync_time.as_deref()
    }
    fn set_last_sync_time(&mut self, time: Option<String>) {
        self.last_sync_time = time;
    }
    fn pending_create(&self) -> Option<&PendingCreate> {
        self.pending_create.as_ref()
    }
    fn set_pending_create(&mut self, pending: Option<PendingCreate>) {
        self.pending_create = pending;
    }
    fn cloud(&self) -> &CloudStatus {
        self
    }
    fn cloud_mut(&mut self) -> &mut CloudStatus {
        self
    }
}

/// Implements [`CommonSpec`] and [`CommonStatus`] for a kind's spec and status by delegating to
/// their flattened `cloud` fields, so the three kinds cannot drift apart.
macro_rules! delegate_common {
    ($spec:ty, $status:ty) => {
        impl $crate::api::common::CommonSpec for $spec {
            fn region(&self) -> Option<&str> {
                self.cloud.region()
            }
            fn project_id(&self) -> Option<&str> {
                self.cloud.project_id()
            }
            fn credentials_secret_ref(&self) -> Option<&$crate::api::common::SecretRef> {
                self.cloud.credentials_secret_ref()
            }
            fn tags(&self) -> &$crate::api::common::Tags {
                self.cloud.tags()
            }
            fn deletion_policy(&self) -> $crate::api::common::DeletionPolicy {
                self.cloud.deletion_policy()
            }
            fn resource_id(&self) -> Option<&str> {
                self.cloud.resource_id()
            }
            fn management_policy(&self) -> $crate::api::common::ManagementPolicy {
                self.cloud.management_policy()
            }
        }

        impl $crate::api::common::CommonStatus for $status {
            fn cloud_id(&self) -> Option<&str> {
                self.cloud.cloud_id()
            }
            fn set_cloud_id(&mut self, id: Option<String>) {
                self.cloud.set_cloud_id(id)
            }
            fn cloud_state(&self) -> Option<&str> {
                self.cloud.cloud_state()
            }
            fn set_cloud_state(&mut self, state: Option<String>) {
                self.cloud.set_cloud_state(state)
            }
            fn managed_tag_keys(&self) -> &[String] {
                self.cloud.managed_tag_keys()
            }
            fn set_managed_tag_keys(&mut self, keys: Vec<String>) {
                self.cloud.set_managed_tag_keys(keys)
            }
            fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                self.cloud.conditions()
            }
            fn conditions_mut(
                &mut self,
            ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
                self.cloud.conditions_mut()
            }
            fn observed_generation(&self) -> Option<i64> {
                self.cloud.observed_generation()
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.cloud.set_observed_generation(generation)
            }
            fn last_sync_time(&self) -> Option<&str> {
                self.cloud.last_sync_time()
            }
            fn set_last_sync_time(&mut self, time: Option<String>) {
                self.cloud.set_last_sync_time(time)
            }
            fn pending_create(&self) -> Option<&$crate::api::common::PendingCreate> {
                self.cloud.pending_create()
            }
            fn set_pending_create(&mut self, pending: Option<$crate::api::common::PendingCreate>) {
                self.cloud.set_pending_create(pending)
            }
            fn cloud(&self) -> &$crate::api::common::CloudStatus {
                &self.cloud
            }
            fn cloud_mut(&mut self) -> &mut $crate::api::common::CloudStatus {
                &mut self.cloud
            }
        }
    };
}
pub(crate) use delegate_common;

#[cfg(test)]
mod pending_tests {
    use super::PendingCreate;
    use std::time::Duration;

    fn pending(at: &str) -> PendingCreate {
        PendingCreate {
            token: "t".into(),
            requested_at: at.into(),
            name: "n".into(),
            cloud_sent_ms: None,
        }
    }

    #[test]
    fn a_pending_create_is_recent_only_within_the_grace_and_a_malformed_time_is_expired() {
        let grace = Duration::from_secs(120);
        assert!(pending(&jiff::Timestamp::now().to_string()).is_recent(grace));
        let old = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600);
        assert!(!pending(&old.to_string()).is_recent(grace));
        assert!(!pending("not a time").is_recent(grace));
    }
}
