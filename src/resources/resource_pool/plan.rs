//! Pure ResourcePool logic: spec checks the schema cannot express, the create body, the diff
//! between spec and cloud (scale, scope, description), readiness and status. No IO here.
use crate::{
    api::{
        common::Tags,
        conditions::reasons,
        resource_pool::{PoolFlavorStatus, PoolScopeStatus, PoolType, ResourcePool, ResourcePoolStatus},
    },
    cloud::pools::{
        ANNOTATION_DESCRIPTION, AzCount, CreatePoolRequest, FlavorCount, LABEL_NAME, LABEL_WORKSPACE,
        NetworkRef, Pool, PoolMetadataPatch, PoolMetadataRequest, PoolPatch, PoolResourcePatch,
        PoolResourceRequest, PoolSpecPatch, PoolSpecRequest,
    },
    engine::resource::Readiness,
};
use kube::ResourceExt;
use std::collections::BTreeMap;

/// Billing mode annotation: `"0"` pay-per-use, `"1"` yearly/monthly (reference 2.1).
pub const BILLING_MODE: &str = "os.modelarts/billing.mode";
pub const PREPAID: &str = "1";

/// The cloud view of a pool: the v2 object plus its v1 tags (a separate API).
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub pool: Pool,
    pub tags: Tags,
}

/// Pools are few (hundreds, not thousands): the snapshot keeps them as structs.
impl crate::engine::pack::Pack for Remote {}

/// One difference between spec and cloud. All of them go out in one merge patch.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The full desired resources list; a flavor left out is scaled to zero (merge-patch
    /// replaces arrays, reference 2.5).
    Scale(Vec<PoolResourcePatch>),
    Scope(Vec<String>),
    Description(String),
}

pub fn cloud_name(pool: &ResourcePool) -> String {
    pool.spec.display_name.clone().unwrap_or_else(|| pool.name_any())
}

/// Checks the CRD schema also makes, repeated here because an apiserver without CEL (or an
/// object stored before a rule existed) lets them through, and ModelArts' answer would be vaguer.
pub fn validate(pool: &ResourcePool) -> Result<(), String> {
    let spec = &pool.spec;
    if pool.annotations().get(BILLING_MODE).map(String::as_str) == Some(PREPAID) {
        return Err(format!(
            "metadata.annotations[{BILLING_MODE}] is \"1\" (yearly/monthly): such pools need an order and \
             payment outside the API and cannot be scaled or deleted through it; the operator manages \
             pay-per-use pools only: remove the annotation"
        ));
    }
    let mut seen = Vec::new();
    for (i, r) in spec.resources.iter().enumerate() {
        if seen.contains(&r.flavor.as_str()) {
            return Err(format!(
                "spec.resources[{i}].flavor: {} is listed twice",
                r.flavor
            ));
        }
        seen.push(&r.flavor);
        if let Some(max) = r.max_count {
            if spec.pool_type == PoolType::Dedicate {
                return Err(format!(
                    "spec.resources[{i}].maxCount applies to Logical pools only: remove it"
                ));
            }
            if r.count > max {
                return Err(format!(
                    "spec.resources[{i}].count {} exceeds maxCount {max}: lower count (maxCount is fixed at creation)",
                    r.count
                ));
            }
        }
        if !r.azs.is_empty() {
            let total: i32 = r.azs.iter().map(|z| z.count).sum();
            if total != r.count {
                return Err(format!(
                    "spec.resources[{i}].azs: per-zone counts add up to {total}, not count {}",
                    r.count
                ));
            }
        }
    }
    if spec.resources.iter().all(|r| r.count == 0) {
        return Err(
            "spec.resources: at least one flavor needs a count above 0 (a pool keeps one node at least)"
                .into(),
        );
    }
    Ok(())
}

fn azs(zones: &[crate::api::resource_pool::PoolAzCount]) -> Vec<AzCount> {
    zones
        .iter()
        .map(|z| AzCount {
            az: z.az.clone(),
            count: i64::from(z.count),
        })
        .collect()
}

/// A unit enum's wire string (`"Train"`, `"Dedicate"`), as serde writes it.
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn scope_names(pool: &ResourcePool) -> Vec<String> {
    let mut names: Vec<String> = pool.spec.scope.iter().map(wire).collect();
    names.sort();
    names.dedup();
    names
}

/// Flavors with a count above zero, as ModelArts wants them (a count of 0 means "not there").
fn desired_counts(pool: &ResourcePool) -> BTreeMap<String, i64> {
    pool.spec
        .resources
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| (r.flavor.clone(), i64::from(r.count)))
        .collect()
}

pub fn create_request(pool: &ResourcePool) -> CreatePoolRequest {
    let spec = &pool.spec;
    let mut labels = BTreeMap::from([(LABEL_NAME.to_string(), cloud_name(pool))]);
    if let Some(ws) = &spec.workspace_id {
        labels.insert(LABEL_WORKSPACE.to_string(), ws.clone());
    }
    // Pay-per-use, stated explicitly: the operator never creates yearly/monthly pools.
    let mut annotations = BTreeMap::from([(BILLING_MODE.to_string(), "0".to_string())]);
    if let Some(d) = &spec.description {
        annotations.insert(ANNOTATION_DESCRIPTION.to_string(), d.clone());
    }
    let resources = spec
        .resources
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| PoolResourceRequest {
            flavor: r.flavor.clone(),
            count: i64::from(r.count),
            max_count: r.max_count.map(i64::from),
            azs: azs(&r.azs),
            ..Default::default()
        })
        .collect();
    CreatePoolRequest::new(
        PoolMetadataRequest { labels, annotations },
        PoolSpecRequest {
            pool_type: wire(&spec.pool_type),
            scope: scope_names(pool),
            resources,
            network: spec.network.as_ref().map(|n| NetworkRef { name: n.name.clone() }),
            ..Default::default()
        },
    )
}

/// Differences the API can apply in place. Only a Running or Abnormal pool is patched: while
/// it is Creating or Deleting the engine just reports progress, and an Error pool is reported.
pub fn diff(pool: &ResourcePool, remote: &Remote) -> Vec<Change> {
    let phase = remote.pool.status.phase.as_deref().unwrap_or("");
    if !matches!(phase, "Running" | "Abnormal") || remote.pool.metadata.deletion_timestamp.is_some() {
        return Vec::new();
    }
    let mut changes = Vec::new();
    let have: BTreeMap<String, i64> = remote
        .pool
        .spec
        .resources
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| (r.flavor.clone(), r.count))
        .collect();
    if desired_counts(pool) != have {
        changes.push(Change::Scale(
            pool.spec
                .resources
                .iter()
                .filter(|r| r.count > 0)
                .map(|r| PoolResourcePatch {
                    flavor: r.flavor.clone(),
                    count: i64::from(r.count),
                    azs: azs(&r.azs),
                })
                .collect(),
        ));
    }
    let mut remote_scope = remote.pool.spec.scope.clone();
    remote_scope.sort();
    remote_scope.dedup();
    if scope_names(pool) != remote_scope {
        changes.push(Change::Scope(scope_names(pool)));
    }
    if let Some(d) = &pool.spec.description
        && remote.pool.metadata.annotations.get(ANNOTATION_DESCRIPTION) != Some(d)
    {
        changes.push(Change::Description(d.clone()));
    }
    changes
}

/// One merge patch carrying every change.
pub fn patch(changes: &[Change]) -> PoolPatch {
    let mut patch = PoolPatch::default();
    let mut spec = PoolSpecPatch::default();
    for change in changes {
        match change {
            Change::Scale(resources) => spec.resources = Some(resources.clone()),
            Change::Scope(scope) => spec.scope = Some(scope.clone()),
            Change::Description(d) => {
                patch.metadata = Some(PoolMetadataPatch {
                    annotations: BTreeMap::from([(ANNOTATION_DESCRIPTION.to_string(), d.clone())]),
                })
            }
        }
    }
    if spec != PoolSpecPatch::default() {
        patch.spec = Some(spec);
    }
    patch
}

/// What a patch does, for the condition message.
pub fn describe(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| match c {
            Change::Scale(r) => format!(
                "scale to {}",
                r.iter()
                    .map(|r| format!("{}={}", r.flavor, r.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::Scope(s) => format!("scope {}", s.join("+")),
            Change::Description(_) => "description".to_string(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn count_of(counts: &[FlavorCount], flavor: &str) -> i64 {
    counts
        .iter()
        .filter(|c| c.flavor == flavor)
        .map(|c| c.count)
        .sum()
}

/// Per-flavor counts for every flavor the spec names or the cloud reports.
fn flavor_counts(pool: &ResourcePool, remote: &Remote) -> Vec<PoolFlavorStatus> {
    let r = &remote.pool.status.resources;
    let mut flavors: Vec<String> = pool.spec.resources.iter().map(|r| r.flavor.clone()).collect();
    for c in r
        .available
        .iter()
        .chain(&r.creating)
        .chain(&r.deleting)
        .chain(&r.abnormal)
    {
        if !flavors.contains(&c.flavor) {
            flavors.push(c.flavor.clone());
        }
    }
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    flavors
        .into_iter()
        .map(|f| PoolFlavorStatus {
            available: clamp(count_of(&r.available, &f)),
            creating: clamp(count_of(&r.creating, &f)),
            deleting: clamp(count_of(&r.deleting, &f)),
            abnormal: clamp(count_of(&r.abnormal, &f)),
            flavor: f,
        })
        .collect()
}

pub fn readiness(pool: &ResourcePool, remote: &Remote) -> Readiness {
    let p = &remote.pool;
    let phase = p.status.phase.as_deref().unwrap_or("Unknown");
    let cloud_message = p.status.message.clone().filter(|m| !m.is_empty());
    match phase {
        "Creating" => {
            return Readiness::Progressing {
                reason: reasons::CREATING,
                message: format!(
                    "pool {} is being created; waiting until it is Running",
                    p.metadata.name
                ),
            };
        }
        "Deleting" => {
            return Readiness::Progressing {
                reason: reasons::DELETING,
                message: format!(
                    "pool {} is being deleted; waiting until it is gone",
                    p.metadata.name
                ),
            };
        }
        "Running" => {}
        other => {
            let abnormal: i64 = p.status.resources.abnormal.iter().map(|c| c.count).sum();
            return Readiness::Failed {
                reason: other.to_string(),
                message: cloud_message.unwrap_or_else(|| {
                    format!("ModelArts reports the pool {other} ({abnormal} abnormal nodes); see its nodes in the ModelArts console")
                }),
            };
        }
    }
    let desired = desired_counts(pool);
    let lagging: Vec<String> = flavor_counts(pool, remote)
        .into_iter()
        .filter_map(|c| {
            let want = desired.get(&c.flavor).copied().unwrap_or(0);
            let settled = i64::from(c.available) == want && c.creating == 0 && c.deleting == 0;
            (!settled).then(|| {
                format!(
                    "{} {}/{want} available, {} creating, {} deleting, {} abnormal",
                    c.flavor, c.available, c.creating, c.deleting, c.abnormal
                )
            })
        })
        .collect();
    if !lagging.is_empty() {
        return Readiness::Progressing {
            reason: reasons::SCALING,
            message: format!("scaling, waiting for the nodes: {}", lagging.join("; ")),
        };
    }
    if let Some(s) = p
        .status
        .scope
        .iter()
        .find(|s| s.state.as_deref().is_some_and(|st| st.ends_with("ing")))
    {
        return Readiness::Progressing {
            reason: reasons::PROGRESSING,
            message: format!(
                "job type {} is {}",
                s.scope_type,
                s.state.as_deref().unwrap_or_default()
            ),
        };
    }
    let nodes: i64 = desired.values().sum();
    Readiness::Ready(format!("pool {} is Running with {nodes} nodes", p.metadata.name))
}

/// Observations copied into status; `desiredNodes` is the spec's sum, next to `availableNodes`.
pub fn status_from(pool: &ResourcePool, remote: &Remote, status: &mut ResourcePoolStatus) {
    let counts = flavor_counts(pool, remote);
    status.available_nodes = Some(counts.iter().map(|c| c.available).sum());
    status.desired_nodes = Some(pool.spec.resources.iter().map(|r| r.count).sum());
    status.resources = counts;
    status.scope = remote
        .pool
        .status
        .scope
        .iter()
        .map(|s| PoolScopeStatus {
            scope_type: s.scope_type.clone(),
            state: s.state.clone().unwrap_or_default(),
        })
        .collect();
    status.message = remote.pool.status.message.clone().filter(|m| !m.is_empty());
}

/// A yearly/monthly pool cannot be scaled or deleted without an order: refuse to manage it.
pub fn refusal(remote: &Remote) -> Option<String> {
    let mode = remote.pool.metadata.annotations.get(BILLING_MODE)?;
    (mode == PREPAID).then(|| {
        format!(
            "pool {} is billed yearly/monthly ({BILLING_MODE}=1): changing or deleting it needs an order \
             outside the API; the operator manages pay-per-use pools only (use managementPolicy: \
             ObserveOnly to watch it)",
            remote.pool.metadata.name
        )
    })
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
