//! Pure Notebook logic: the create request, the diff between spec and cloud with the update
//! choreography ModelArts needs, readiness and status. No IO here.
use crate::{
    api::{
        common::{AccessEndpoints, DesiredState},
        conditions::reasons,
        notebook::{AutoStopType, Notebook, NotebookSpec, NotebookStatus, StorageMount, StorageMountStatus},
    },
    cloud::notebooks::{
        CreateNotebookRequest, Endpoint, LeaseRequest, Notebook as Remote, StorageMountRequest,
        UpdateNotebookRequest, VolumeMount,
    },
    engine::resource::Readiness,
};
use kube::ResourceExt;

/// ModelArts' longest lease: used, and renewed in time, when auto-stop is disabled.
pub const MAX_LEASE_MS: i64 = 72 * 3600 * 1000;
/// ModelArts' default lease (1 hour).
pub const DEFAULT_LEASE_MS: i64 = 3600 * 1000;

/// One difference between spec and cloud, in the order it must be acted on.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Flavor, image or SSH access differ and ModelArts only changes them while stopped.
    StopForUpdate(String),
    /// Fields to PUT (only those that differ).
    Update(Box<UpdateNotebookRequest>),
    Start,
    Stop,
    /// Set the auto-stop lease (duration in ms, TIMING or IDLE).
    RenewLease {
        duration_ms: i64,
        kind: String,
    },
    Mount(StorageMount),
    Unmount {
        mount_path: String,
    },
}

const TRANSITIONAL: &[&str] = &[
    "INIT",
    "CREATING",
    "STARTING",
    "STOPPING",
    "DELETING",
    "SNAPSHOTTING",
];
const FAILED: &[&str] = &[
    "CREATE_FAILED",
    "START_FAILED",
    "DELETE_FAILED",
    "ERROR",
    "FROZEN",
];

pub fn cloud_name(nb: &Notebook) -> String {
    nb.spec
        .display_name
        .clone()
        .unwrap_or_else(|| nb.name_any().replace('.', "-"))
}

/// Parses a Go-style duration (`4h`, `90m`, `2h30m`, `1.5h`) into milliseconds.
pub fn duration_ms(text: &str) -> Option<i64> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let (unit, len) = if rest.starts_with("ms") {
            (1.0, 2)
        } else if rest.starts_with('s') {
            (1000.0, 1)
        } else if rest.starts_with('m') {
            (60_000.0, 1)
        } else if rest.starts_with('h') {
            (3_600_000.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    Some(total.round() as i64)
}

/// The lease the spec asks for: (duration ms, type). Disabled auto-stop uses the longest lease,
/// renewed before it runs out, so the notebook never stops by itself.
pub fn desired_lease(spec: &NotebookSpec) -> (i64, String, bool) {
    match &spec.auto_stop {
        Some(a) if !a.enabled => (MAX_LEASE_MS, "TIMING".into(), false),
        Some(a) => {
            let ms = a
                .duration
                .as_deref()
                .and_then(duration_ms)
                .unwrap_or(DEFAULT_LEASE_MS);
            let kind = match a.kind {
                AutoStopType::Timing => "TIMING",
                AutoStopType::Idle => "IDLE",
            };
            (ms, kind.into(), true)
        }
        None => (DEFAULT_LEASE_MS, "TIMING".into(), true),
    }
}

fn ssh_endpoints(spec: &NotebookSpec) -> Vec<Endpoint> {
    spec.ssh
        .iter()
        .map(|ssh| Endpoint {
            service: Some("SSH".into()),
            key_pair_names: ssh.key_pair_names.clone(),
            ..Default::default()
        })
        .collect()
}

pub fn create_request(nb: &Notebook, pool_id: Option<String>) -> CreateNotebookRequest {
    let spec = &nb.spec;
    let (duration, kind, _) = desired_lease(spec);
    let v = &spec.volume;
    CreateNotebookRequest {
        name: cloud_name(nb),
        image_id: spec.image.id.clone(),
        volume: VolumeMount {
            category: enum_str(&v.category),
            ownership: enum_str(&v.ownership),
            capacity: v.capacity.map(i64::from),
            uri: v.uri.clone(),
            dew_secret_name: v.dew_secret_name.clone(),
            ..Default::default()
        },
        flavor: Some(spec.flavor.clone()),
        description: spec.description.clone(),
        feature: Some("NOTEBOOK".into()),
        pool_id,
        workspace_id: spec.workspace_id.clone(),
        endpoints: ssh_endpoints(spec),
        lease: Some(LeaseRequest {
            duration: Some(duration),
            lease_type: Some(kind),
        }),
        ..Default::default()
    }
}

/// Serialises a unit enum to its wire string (`"EVS"`, `"MANAGED"`).
fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn remote_key_pairs(remote: &Remote) -> Vec<String> {
    let mut names: Vec<String> = remote
        .endpoints
        .iter()
        .filter(|e| e.service.as_deref().or(e.dev_service.as_deref()) == Some("SSH"))
        .flat_map(|e| e.key_pair_names.clone())
        .collect();
    names.sort();
    names
}

/// Differences between spec and cloud, most urgent first. Empty in transitional and failed
/// states: the engine then only reports readiness.
pub fn diff(nb: &Notebook, remote: &Remote, now_ms: i64) -> Vec<Change> {
    let spec = &nb.spec;
    let state = remote.status.as_str();
    if TRANSITIONAL.contains(&state) || FAILED.contains(&state) {
        return Vec::new();
    }
    let running = state == "RUNNING";
    let mut changes = Vec::new();

    // Fields ModelArts changes only while the notebook is stopped.
    let mut stopped_only = UpdateNotebookRequest::default();
    if remote.flavor.as_deref() != Some(spec.flavor.as_str()) {
        stopped_only.flavor = Some(spec.flavor.clone());
    }
    if remote.image.as_ref().map(|i| i.id.as_str()) != Some(spec.image.id.as_str()) {
        stopped_only.image_id = Some(spec.image.id.clone());
    }
    let mut want_keys: Vec<String> = spec.ssh.iter().flat_map(|s| s.key_pair_names.clone()).collect();
    want_keys.sort();
    if want_keys != remote_key_pairs(remote) {
        stopped_only.endpoints = Some(ssh_endpoints(spec));
    }
    if stopped_only != UpdateNotebookRequest::default() {
        if running {
            let what = [
                stopped_only.flavor.as_ref().map(|_| "flavor"),
                stopped_only.image_id.as_ref().map(|_| "image"),
                stopped_only.endpoints.as_ref().map(|_| "ssh"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            return vec![Change::StopForUpdate(what)];
        }
        changes.push(Change::Update(Box::new(stopped_only)));
    }

    // Fields ModelArts accepts in any steady state.
    let mut anytime = UpdateNotebookRequest::default();
    if remote.name != cloud_name(nb) {
        anytime.name = Some(cloud_name(nb));
    }
    if spec.description.is_some() && remote.description != spec.description {
        anytime.description = spec.description.clone();
    }
    if let Some(cap) = spec.volume.capacity.map(i64::from)
        && remote
            .volume
            .as_ref()
            .and_then(|v| v.capacity)
            .is_some_and(|have| have < cap)
    {
        anytime.storage_new_size = Some(cap);
    }
    if anytime != UpdateNotebookRequest::default() {
        changes.push(Change::Update(Box::new(anytime)));
    }

    match (spec.desired_state, running) {
        (DesiredState::Running, false) => changes.push(Change::Start),
        (DesiredState::Stopped, true) => changes.push(Change::Stop),
        _ => {}
    }
    if running && spec.desired_state == DesiredState::Running {
        changes.extend(lease_change(spec, remote, now_ms));
        changes.extend(mount_changes(spec, remote));
    }
    changes
}

fn lease_change(spec: &NotebookSpec, remote: &Remote, now_ms: i64) -> Option<Change> {
    let (duration, kind, enabled) = desired_lease(spec);
    let lease = remote.lease.as_ref()?;
    if lease.enable == Some(false) {
        return None;
    }
    let have_kind = lease.lease_type.clone().unwrap_or_else(|| "TIMING".into());
    let expires = lease.create_at.zip(lease.duration).map(|(c, d)| c + d);
    let renew = if enabled {
        // A new duration takes effect at the next start: renewing would extend the running
        // lease (ModelArts may add to it), never set it, and would never converge.
        have_kind != kind
    } else {
        // Renew once less than half the longest lease is left, long before it can run out.
        expires.is_none_or(|e| e - now_ms < MAX_LEASE_MS / 2) || have_kind != kind
    };
    renew.then_some(Change::RenewLease {
        duration_ms: duration,
        kind,
    })
}

fn mount_changes(spec: &NotebookSpec, remote: &Remote) -> Vec<Change> {
    let mounted: Vec<&str> = remote
        .data_volumes
        .iter()
        .filter(|d| d.status.as_deref() != Some("UNMOUNTED"))
        .filter_map(|d| d.mount_path.as_deref())
        .collect();
    let trim = |p: &str| p.trim_end_matches('/').to_string();
    let mut changes: Vec<Change> = spec
        .storage_mounts
        .iter()
        .filter(|m| !mounted.iter().any(|p| trim(p) == trim(&m.mount_path)))
        .map(|m| Change::Mount(m.clone()))
        .collect();
    changes.extend(
        remote
            .data_volumes
            .iter()
            .filter(|d| d.mount_type.as_deref() != Some("STATIC"))
            .filter(|d| {
                matches!(
                    d.status.as_deref(),
                    Some("MOUNTED") | Some("MOUNT_FAILED") | Some("UNMOUNT_FAILED")
                )
            })
            .filter_map(|d| d.mount_path.as_deref())
            .filter(|p| !spec.storage_mounts.iter().any(|m| trim(&m.mount_path) == trim(p)))
            .map(|p| Change::Unmount {
                mount_path: p.to_string(),
            }),
    );
    changes
}

pub fn mount_request(m: &StorageMount) -> StorageMountRequest {
    StorageMountRequest {
        category: enum_str(&m.category),
        mount_path: m.mount_path.clone(),
        uri: m.uri.clone(),
        efs_id: m.efs_id.clone(),
    }
}

pub fn readiness(nb: &Notebook, remote: &Remote) -> Readiness {
    let state = remote.status.as_str();
    if FAILED.contains(&state) {
        return Readiness::Failed {
            reason: state.to_string(),
            message: remote.fail_reason.clone().unwrap_or_else(|| {
                format!(
                    "ModelArts reports {state} without a reason; see the notebook in the ModelArts console"
                )
            }),
        };
    }
    if TRANSITIONAL.contains(&state) {
        let reason = if matches!(state, "INIT" | "CREATING") {
            reasons::CREATING
        } else {
            reasons::PROGRESSING
        };
        return Readiness::Progressing {
            reason,
            message: format!("ModelArts reports {state}; waiting for it to finish"),
        };
    }
    if let Some(mounting) = remote
        .data_volumes
        .iter()
        .find(|d| matches!(d.status.as_deref(), Some("MOUNTING") | Some("UNMOUNTING")))
    {
        return Readiness::Progressing {
            reason: reasons::PROGRESSING,
            message: format!(
                "storage mount {} is {}; waiting for it to finish",
                mounting.mount_path.as_deref().unwrap_or("?"),
                mounting.status.as_deref().unwrap_or("?")
            ),
        };
    }
    match nb.spec.desired_state {
        DesiredState::Running => Readiness::Ready(format!("notebook {} is running", remote.id)),
        DesiredState::Stopped => Readiness::Ready(format!("notebook {} is stopped as desired", remote.id)),
    }
}

pub fn status_from(remote: &Remote, status: &mut NotebookStatus) {
    status.fail_reason = remote.fail_reason.clone().filter(|r| !r.is_empty());
    status.pool_id = remote.pool.as_ref().and_then(|p| p.id.clone());
    status.lease_expires_at = remote
        .lease
        .as_ref()
        .filter(|l| l.enable != Some(false) && remote.status == "RUNNING")
        .and_then(|l| l.create_at.zip(l.duration))
        // Whole seconds: the value is printed as is in `kubectl get -o wide`.
        .and_then(|(c, d)| jiff::Timestamp::from_second((c + d) / 1000).ok())
        .map(|t| t.to_string());
    let ssh: Vec<String> = remote
        .endpoints
        .iter()
        .filter(|e| e.service.as_deref().or(e.dev_service.as_deref()) == Some("SSH"))
        .filter_map(|e| e.uri.clone())
        .collect();
    let endpoints = AccessEndpoints {
        url: remote.url.clone(),
        ips: remote.ip.iter().cloned().collect(),
        ssh,
    };
    status.cloud.endpoints = (endpoints != AccessEndpoints::default()).then_some(endpoints);
    status.storage_mounts = remote
        .data_volumes
        .iter()
        .filter(|d| d.mount_type.as_deref() != Some("STATIC"))
        .map(|d| StorageMountStatus {
            id: d.id.clone().unwrap_or_default(),
            mount_path: d.mount_path.clone().unwrap_or_default(),
            uri: d.uri.clone().or(d.url.clone()),
            status: d.status.clone(),
        })
        .collect();
}
