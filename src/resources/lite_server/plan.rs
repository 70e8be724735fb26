//! Pure LiteServer logic: the create request, the diff between spec and cloud with the
//! stop → change OS → desired state choreography, one-shot triggers, supernode scaling,
//! readiness and status. No IO here.
use crate::{
    api::{
        common::{AccessEndpoints, DesiredState, Tags},
        conditions::reasons,
        lite_server::{ChargingMode, ChildServer, LiteServer, LiteServerStatus, PendingScaleUp, ServerType},
    },
    cloud::lite_servers::{
        ChargingInfo, CreateServerRequest, DataVolumeRequest, Hyperinstance, RootVolume, ScaleUpRequest,
        Server, ServerNetwork, ServerOsRequest,
    },
    engine::resource::Readiness,
};
use kube::ResourceExt;

/// What a LiteServer is in the cloud: a single dev-server (ECS/BMS), or a supernode
/// (hyperinstance) with its tags, read separately because the object does not carry them.
// Boxing the server would make every match clumsier for a few hundred bytes per snapshot entry.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    Server(Server),
    Supernode(Supernode),
}

/// Lite Servers are few (hundreds, not thousands): the snapshot keeps them as structs.
impl crate::engine::pack::Pack for Remote {}

#[derive(Debug, Clone, PartialEq)]
pub struct Supernode {
    pub hyper: Hyperinstance,
    pub tags: Tags,
}

/// One difference between spec and cloud, in the order it is acted on.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Rename(String),
    /// The image differs or a reinstall was requested, and ModelArts changes the OS only while
    /// stopped.
    StopForOs(&'static str),
    /// Change OS to `image_id`; also satisfies a pending reinstall trigger.
    ChangeOs {
        image_id: String,
        reinstall: Option<String>,
    },
    Reinstall {
        requested_at: String,
    },
    Start,
    Stop,
    Reboot {
        requested_at: String,
    },
    /// A reboot trigger that needs no reboot (the server is stopped, or about to be started):
    /// only recorded as handled.
    SkipReboot {
        requested_at: String,
    },
    ScaleUp {
        flavor: String,
    },
    ScaleDown {
        flavor: String,
        server_ids: Vec<String>,
    },
}

pub const TRANSITIONAL: &[&str] = &[
    "CREATING",
    "STARTING",
    "STOPPING",
    "REBOOTING",
    "CHANGINGOS",
    "REINSTALLINGOS",
    "DELETING",
];
pub const FAILED: &[&str] = &[
    "CREATE_FAILED",
    "START_FAILED",
    "STOP_FAILED",
    "REBOOT_FAILED",
    "CHANGINGOS_FAILED",
    "REINSTALLINGOS_FAILED",
    "DELETE_FAILED",
    "ERROR",
];
/// Hyperinstance states in which nothing can be asked of it.
const HYPER_BUSY: &[&str] = &["PROVISIONING", "REIMAGING", "TERMINATING", "TERMINATED"];

pub fn cloud_name(ls: &LiteServer) -> String {
    ls.spec.name.clone().unwrap_or_else(|| ls.name_any())
}

fn enum_str<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn root_volume(ls: &LiteServer) -> Option<RootVolume> {
    ls.spec.root_volume.as_ref().map(|r| RootVolume {
        size: Some(i64::from(r.size)),
        volume_type: r.volume_type.as_ref().map(enum_str),
    })
}

fn data_volume(ls: &LiteServer) -> Option<DataVolumeRequest> {
    ls.spec.data_volume.as_ref().map(|d| DataVolumeRequest {
        size: i64::from(d.size),
        volume_type: enum_str(&d.volume_type),
        count: i64::from(d.count),
    })
}

/// The create body. `password` is the Secret's value, only when the login uses one.
pub fn create_request(ls: &LiteServer, password: Option<&str>) -> CreateServerRequest {
    let spec = &ls.spec;
    CreateServerRequest {
        name: cloud_name(ls),
        image_id: spec.image.id.clone(),
        network: ServerNetwork {
            vpc_id: spec.network.vpc_id.clone(),
            subnet_id: spec.network.subnet_id.clone(),
            security_group_id: spec.network.security_group_id.clone(),
            ..Default::default()
        },
        flavor: Some(spec.flavor.clone()),
        server_type: Some(enum_str(&spec.server_type)),
        arch: Some(enum_str(&spec.arch)),
        availability_zone: spec.availability_zone.clone(),
        admin_pass: password.map(str::to_string),
        key_pair_name: spec.login.key_pair_name.clone(),
        // The operator only ever creates pay-per-use servers (PRE_PAID is adoption only).
        charging_info: Some(ChargingInfo {
            charging_mode: "POST_PAID".into(),
            ..Default::default()
        }),
        root_volume: root_volume(ls),
        data_volume: data_volume(ls),
        user_data: spec.user_data.clone(),
        hps_cluster_id: spec.hps_cluster_id.clone(),
        ..Default::default()
    }
}

pub fn os_request(ls: &LiteServer, image_id: Option<String>, password: Option<&str>) -> ServerOsRequest {
    ServerOsRequest {
        admin_pass: password.map(str::to_string),
        key_pair_name: ls.spec.login.key_pair_name.clone(),
        image_id,
        user_data: ls.spec.user_data.clone(),
    }
}

pub fn scale_up_request(ls: &LiteServer, flavor: &str) -> ScaleUpRequest {
    ScaleUpRequest {
        flavor: flavor.to_string(),
        image_id: ls.spec.image.id.clone(),
        key_pair_name: ls.spec.login.key_pair_name.clone(),
        root_volume: root_volume(ls),
        data_volume: data_volume(ls),
        // New nodes boot with the same user data as the rest of the supernode.
        userdata: ls.spec.user_data.clone(),
    }
}

/// A trigger value not yet acted on. Values from before the server existed need nothing: a new
/// server is freshly booted and installed.
pub fn pending_trigger(
    requested: Option<&str>,
    handled: Option<&str>,
    created_ms: Option<i64>,
) -> Option<String> {
    let requested = requested?;
    if handled == Some(requested) {
        return None;
    }
    let at = requested.parse::<jiff::Timestamp>().ok()?;
    if created_ms.is_some_and(|c| at.as_millisecond() <= c) {
        return None;
    }
    Some(requested.to_string())
}

/// True when deleting would need an unsubscription: the resource is yearly/monthly (by the spec
/// or by the cloud's word). ModelArts deletes such a server only when it failed to create or is
/// in ERROR, so those may still go through the delete API.
pub fn delete_needs_unsubscribe(ls: &LiteServer, remote: &Remote) -> bool {
    let prepaid = |s: &Server| s.charging_mode.as_deref() == Some("PRE_PAID");
    let spec_prepaid = ls.spec.charging_mode == ChargingMode::PrePaid;
    match remote {
        Remote::Server(s) => {
            (spec_prepaid || prepaid(s)) && !matches!(s.status.as_str(), "CREATE_FAILED" | "ERROR")
        }
        Remote::Supernode(sn) => spec_prepaid || sn.hyper.servers.iter().any(prepaid),
    }
}

/// Child servers that count as nodes (not on their way out).
pub fn nodes(h: &Hyperinstance) -> Vec<&Server> {
    h.servers
        .iter()
        .filter(|s| !matches!(s.status.as_str(), "DELETING" | "DELETED"))
        .collect()
}

pub fn diff(ls: &LiteServer, remote: &Remote, status: &LiteServerStatus) -> Vec<Change> {
    match remote {
        Remote::Server(s) => diff_server(ls, s, status),
        Remote::Supernode(sn) => diff_supernode(ls, &sn.hyper, status),
    }
}

fn os_what(image_differs: bool) -> &'static str {
    if image_differs { "image" } else { "reinstall" }
}

fn diff_server(ls: &LiteServer, s: &Server, status: &LiteServerStatus) -> Vec<Change> {
    let spec = &ls.spec;
    let state = s.status.as_str();
    if TRANSITIONAL.contains(&state) {
        return Vec::new();
    }
    let mut changes = Vec::new();
    let want_name = cloud_name(ls);
    if s.name != want_name {
        changes.push(Change::Rename(want_name));
    }
    let image_differs = s.image.as_ref().and_then(|i| i.image_id.as_deref()) != Some(spec.image.id.as_str());
    let reinstall = pending_trigger(
        spec.reinstall_requested_at.as_deref(),
        status.last_reinstall_requested_at.as_deref(),
        s.create_at,
    );
    if image_differs || reinstall.is_some() {
        // A failed OS change may be retried the same way; other failed states wait for a human.
        match (state, image_differs) {
            ("RUNNING", _) => changes.push(Change::StopForOs(os_what(image_differs))),
            ("STOPPED" | "CHANGINGOS_FAILED", true) => changes.push(Change::ChangeOs {
                image_id: spec.image.id.clone(),
                reinstall,
            }),
            ("STOPPED" | "REINSTALLINGOS_FAILED", false) => {
                if let Some(requested_at) = reinstall {
                    changes.push(Change::Reinstall { requested_at });
                }
            }
            _ => {}
        }
        // The OS change ends RUNNING; desired state and reboots are looked at afterwards.
        return changes;
    }
    let reboot = pending_trigger(
        spec.reboot_requested_at.as_deref(),
        status.last_reboot_requested_at.as_deref(),
        s.create_at,
    );
    if FAILED.contains(&state) {
        if let Some(requested_at) = reboot.filter(|_| state == "REBOOT_FAILED") {
            changes.push(Change::Reboot { requested_at });
        }
        return changes;
    }
    let running = state == "RUNNING";
    match (spec.desired_state, running, reboot) {
        (DesiredState::Running, true, Some(requested_at)) => changes.push(Change::Reboot { requested_at }),
        (DesiredState::Running, false, reboot) => {
            changes.extend(reboot.map(|requested_at| Change::SkipReboot { requested_at }));
            changes.push(Change::Start);
        }
        (DesiredState::Stopped, running, reboot) => {
            changes.extend(reboot.map(|requested_at| Change::SkipReboot { requested_at }));
            if running {
                changes.push(Change::Stop);
            }
        }
        (DesiredState::Running, true, None) => {}
    }
    changes
}

fn diff_supernode(ls: &LiteServer, h: &Hyperinstance, status: &LiteServerStatus) -> Vec<Change> {
    let spec = &ls.spec;
    if h.status != "ACTIVE" {
        return Vec::new();
    }
    let nodes = nodes(h);
    if nodes.iter().any(|n| TRANSITIONAL.contains(&n.status.as_str())) {
        return Vec::new();
    }
    let image_differs = nodes
        .iter()
        .any(|n| n.image.as_ref().and_then(|i| i.image_id.as_deref()) != Some(spec.image.id.as_str()));
    let reinstall = pending_trigger(
        spec.reinstall_requested_at.as_deref(),
        status.last_reinstall_requested_at.as_deref(),
        h.create_at,
    );
    let all =
        |states: &[&str]| !nodes.is_empty() && nodes.iter().all(|n| states.contains(&n.status.as_str()));
    let any = |state: &str| nodes.iter().any(|n| n.status == state);
    if image_differs || reinstall.is_some() {
        if any("RUNNING") {
            return vec![Change::StopForOs(os_what(image_differs))];
        }
        // Supernodes have no reinstall API: a change OS to the same image reinstalls them.
        if all(&["STOPPED", "CHANGINGOS_FAILED"]) {
            return vec![Change::ChangeOs {
                image_id: spec.image.id.clone(),
                reinstall,
            }];
        }
        return Vec::new();
    }
    if nodes.iter().any(|n| FAILED.contains(&n.status.as_str())) {
        return Vec::new();
    }
    let reboot = pending_trigger(
        spec.reboot_requested_at.as_deref(),
        status.last_reboot_requested_at.as_deref(),
        h.create_at,
    );
    let mut changes = Vec::new();
    match spec.desired_state {
        DesiredState::Running if any("STOPPED") => {
            changes.extend(reboot.map(|requested_at| Change::SkipReboot { requested_at }));
            changes.push(Change::Start);
        }
        DesiredState::Running => {
            changes.extend(reboot.map(|requested_at| Change::Reboot { requested_at }));
            let now = jiff::Timestamp::now();
            changes.extend(scale_changes(ls, h).into_iter().filter(|c| match c {
                Change::ScaleUp { flavor } => {
                    !scale_up_outstanding(status.pending_scale_up.as_ref(), flavor, count_of(h, flavor), now)
                }
                _ => true,
            }));
        }
        DesiredState::Stopped => {
            changes.extend(reboot.map(|requested_at| Change::SkipReboot { requested_at }));
            if any("RUNNING") {
                changes.push(Change::Stop);
            }
        }
    }
    changes
}

/// Live scaling per flavor named in `spec.nodes` (flavors not named are left alone). One step
/// per flavor; the observed counts decide the next step, so a retry never over-scales.
pub fn scale_changes(ls: &LiteServer, h: &Hyperinstance) -> Vec<Change> {
    let mut changes = Vec::new();
    for want in &ls.spec.nodes {
        let mut have = of_flavor(h, &want.flavor);
        let want_count = usize::try_from(want.count).unwrap_or(0);
        if have.len() < want_count {
            changes.push(Change::ScaleUp {
                flavor: want.flavor.clone(),
            });
        } else if have.len() > want_count {
            // Deterministic choice: newest first, then by ID.
            have.sort_by(|a, b| {
                b.create_at
                    .unwrap_or(0)
                    .cmp(&a.create_at.unwrap_or(0))
                    .then_with(|| a.id.cmp(&b.id))
            });
            changes.push(Change::ScaleDown {
                flavor: want.flavor.clone(),
                server_ids: have
                    .iter()
                    .take(have.len() - want_count)
                    .map(|n| n.id.clone())
                    .collect(),
            });
        }
    }
    changes
}

/// How long a sent scale-up may stay invisible before it counts as never made (a 5xx that did
/// not commit): within it, a read that does not show the new node yet sends no second one.
pub const SCALE_UP_GRACE: std::time::Duration = std::time::Duration::from_secs(120);

fn of_flavor<'a>(h: &'a Hyperinstance, flavor: &str) -> Vec<&'a Server> {
    nodes(h)
        .into_iter()
        .filter(|n| n.flavor.as_deref() == Some(flavor))
        .collect()
}

fn count_of(h: &Hyperinstance, flavor: &str) -> usize {
    of_flavor(h, flavor).len()
}

/// True while `pending` is a scale-up of `flavor` that reads do not show yet and may still.
pub fn scale_up_outstanding(
    pending: Option<&PendingScaleUp>,
    flavor: &str,
    observed: usize,
    now: jiff::Timestamp,
) -> bool {
    let Some(p) = pending.filter(|p| p.flavor == flavor) else {
        return false;
    };
    let before = usize::try_from(p.nodes_before).unwrap_or(0);
    let sent = p.requested_at.parse::<jiff::Timestamp>().ok();
    observed <= before && sent.is_some_and(|t| now.duration_since(t).unsigned_abs() < SCALE_UP_GRACE)
}

/// Records a scale-up among `changes` before it is sent; true when status changed (and must be
/// written before the call).
pub fn mark_scale_up(remote: &Remote, changes: &[Change], status: &mut LiteServerStatus) -> bool {
    let Remote::Supernode(sn) = remote else {
        return false;
    };
    let Some(flavor) = changes.iter().find_map(|c| match c {
        Change::ScaleUp { flavor } => Some(flavor),
        _ => None,
    }) else {
        return false;
    };
    status.pending_scale_up = Some(PendingScaleUp {
        flavor: flavor.clone(),
        nodes_before: i32::try_from(count_of(&sn.hyper, flavor)).unwrap_or(i32::MAX),
        requested_at: jiff::Timestamp::now().to_string(),
    });
    true
}

fn node_counts_match(ls: &LiteServer, h: &Hyperinstance) -> bool {
    scale_changes(ls, h).is_empty()
}

pub fn readiness(ls: &LiteServer, remote: &Remote) -> Readiness {
    match remote {
        Remote::Server(s) => server_readiness(ls, s),
        Remote::Supernode(sn) => supernode_readiness(ls, &sn.hyper),
    }
}

fn server_readiness(ls: &LiteServer, s: &Server) -> Readiness {
    let state = s.status.as_str();
    if FAILED.contains(&state) {
        return Readiness::Failed {
            reason: state.to_string(),
            message: format!(
                "ModelArts reports {state} for server {}; the operator does not retry on its own: fix it in \
                 the console, or set a new rebootRequestedAt/reinstallRequestedAt",
                s.id
            ),
        };
    }
    if TRANSITIONAL.contains(&state) {
        let reason = if state == "CREATING" {
            reasons::CREATING
        } else {
            reasons::PROGRESSING
        };
        return Readiness::Progressing {
            reason,
            message: format!(
                "ModelArts reports {state} for server {}; waiting for it to finish",
                s.id
            ),
        };
    }
    match ls.spec.desired_state {
        DesiredState::Running => Readiness::Ready(format!("server {} is running", s.id)),
        DesiredState::Stopped => Readiness::Ready(format!("server {} is stopped as desired", s.id)),
    }
}

fn supernode_readiness(ls: &LiteServer, h: &Hyperinstance) -> Readiness {
    let state = h.status.as_str();
    if state == "ERROR" {
        return Readiness::Failed {
            reason: "ERROR".into(),
            message: format!(
                "ModelArts reports ERROR for supernode {}; fix it in the ModelArts console",
                h.id
            ),
        };
    }
    if HYPER_BUSY.contains(&state) {
        let reason = if state == "PROVISIONING" {
            reasons::CREATING
        } else {
            reasons::PROGRESSING
        };
        return Readiness::Progressing {
            reason,
            message: format!(
                "ModelArts reports {state} for supernode {}; waiting for it to finish",
                h.id
            ),
        };
    }
    let nodes = nodes(h);
    if let Some(n) = nodes.iter().find(|n| FAILED.contains(&n.status.as_str())) {
        return Readiness::Failed {
            reason: n.status.clone(),
            message: format!(
                "ModelArts reports {} for node {} of supernode {}; fix it in the console",
                n.status, n.id, h.id
            ),
        };
    }
    if let Some(n) = nodes
        .iter()
        .find(|n| n.status != "RUNNING" && n.status != "STOPPED")
    {
        return Readiness::Progressing {
            reason: reasons::PROGRESSING,
            message: format!(
                "node {} of supernode {} is {}; waiting for it to finish",
                n.id, h.id, n.status
            ),
        };
    }
    if !node_counts_match(ls, h) {
        return Readiness::Progressing {
            reason: reasons::PROGRESSING,
            message: format!(
                "supernode {} has {} nodes; node counts are changed only while it runs",
                h.id,
                nodes.len()
            ),
        };
    }
    match ls.spec.desired_state {
        DesiredState::Running => Readiness::Ready(format!("supernode {} runs {} nodes", h.id, nodes.len())),
        DesiredState::Stopped => Readiness::Ready(format!(
            "supernode {} is stopped as desired ({} nodes)",
            h.id,
            nodes.len()
        )),
    }
}

pub fn cloud_state(remote: &Remote) -> String {
    match remote {
        Remote::Server(s) => s.status.clone(),
        Remote::Supernode(sn) => sn.hyper.status.clone(),
    }
}

fn ssh_endpoints(servers: &[&Server]) -> Option<AccessEndpoints> {
    let ssh: Vec<String> = servers
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter(|e| e.service.as_deref().or(e.dev_service.as_deref()) == Some("SSH"))
        .filter_map(|e| e.uri.clone())
        .collect();
    let endpoints = AccessEndpoints {
        ssh,
        ..Default::default()
    };
    (endpoints != AccessEndpoints::default()).then_some(endpoints)
}

pub fn status_from(ls: &LiteServer, remote: &Remote, status: &mut LiteServerStatus) {
    let image_of = |s: &Server| s.image.as_ref().and_then(|i| i.image_id.clone());
    match remote {
        Remote::Server(s) => {
            status.underlying_server_id = s.cloud_server.as_ref().and_then(|c| c.id.clone());
            status.image_id = image_of(s);
            status.cloud.endpoints = ssh_endpoints(&[s]);
            status.child_servers.clear();
            status.node_count = None;
            if s.status == "RUNNING" {
                status.stopped_for_update = false;
            }
        }
        Remote::Supernode(sn) => {
            let nodes = nodes(&sn.hyper);
            status.underlying_server_id = sn.hyper.hps_id.clone();
            // Nodes disagree only mid-change; the first node's image stands for the supernode.
            status.image_id = nodes.first().and_then(|n| image_of(n));
            status.cloud.endpoints = ssh_endpoints(&nodes);
            status.node_count = i32::try_from(nodes.len()).ok();
            let mut children: Vec<ChildServer> = sn
                .hyper
                .servers
                .iter()
                .map(|s| ChildServer {
                    id: s.id.clone(),
                    name: Some(s.name.clone()),
                    flavor: s.flavor.clone(),
                    status: Some(s.status.clone()),
                })
                .collect();
            children.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
            status.child_servers = children;
            if !nodes.is_empty() && nodes.iter().all(|n| n.status == "RUNNING") {
                status.stopped_for_update = false;
            }
            // Cleared once the node is visible, or once it is too late to still appear.
            let now = jiff::Timestamp::now();
            if let Some(p) = &status.pending_scale_up
                && !scale_up_outstanding(Some(p), &p.flavor, count_of(&sn.hyper, &p.flavor), now)
            {
                status.pending_scale_up = None;
            }
        }
    }
    if ls.spec.server_type != ServerType::Hps {
        status.last_scale_down = None;
        status.pending_scale_up = None;
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
