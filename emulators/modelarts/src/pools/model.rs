//! Pool and node state machines (reference 2.11). Nodes carry their own pending steps, and the
//! pool's `status.resources` is computed from them, so node lists and counts always agree.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::errors::{ApiError, ApiResult, codes};
use crate::progression::{Pending, Progression, take_due};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Creating,
    Running,
    Abnormal,
    Deleting,
    Error,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Creating => "Creating",
            Phase::Running => "Running",
            Phase::Abnormal => "Abnormal",
            Phase::Deleting => "Deleting",
            Phase::Error => "Error",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        [
            Phase::Creating,
            Phase::Running,
            Phase::Abnormal,
            Phase::Deleting,
            Phase::Error,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePhase {
    Creating,
    Available,
    Abnormal,
    Deleting,
    /// Internal: deletion finished, the node leaves the list.
    Gone,
}

impl NodePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            NodePhase::Creating => "Creating",
            NodePhase::Available => "Available",
            NodePhase::Abnormal => "Abnormal",
            NodePhase::Deleting | NodePhase::Gone => "Deleting",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub flavor: String,
    pub phase: NodePhase,
    pub pending: Option<Pending<NodePhase>>,
    pub created_at: i64,
    pub private_ip: String,
    pub az: String,
}

/// One entry of `spec.resources`; `extra` keeps the caller's other fields to echo them back.
#[derive(Debug, Clone)]
pub struct ResourceSpec {
    pub flavor: String,
    pub count: i64,
    pub max_count: i64,
    pub azs: Option<Value>,
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub seq: u64,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub pool_type: String,
    pub scope: Vec<String>,
    pub resources: Vec<ResourceSpec>,
    pub network: Option<String>,
    pub job_flavors: Vec<String>,
    pub driver: Option<Value>,
    pub phase: Phase,
    pub pending: Option<Pending<Phase>>,
    pub message: String,
    pub nodes: Vec<Node>,
    pub node_seq: u64,
    pub tags: BTreeMap<String, String>,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub hidden_reads: u32,
    /// A scope or driver change in flight: scopes before the change (to show Enabling and
    /// Disabling) and whether the driver is upgrading.
    pub change: Option<SpecChange>,
}

#[derive(Debug, Clone)]
pub struct SpecChange {
    pub previous_scope: Vec<String>,
    pub driver_upgrading: bool,
    pub pending: Pending<()>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Tick {
    Alive,
    Gone,
}

impl Pool {
    pub fn display_name(&self) -> &str {
        self.labels
            .get("os.modelarts/name")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn is_prepaid(&self) -> bool {
        self.annotations
            .get("os.modelarts/billing.mode")
            .map(String::as_str)
            == Some("1")
    }

    pub fn tick(&mut self, now: i64, read: bool) -> Tick {
        if let Some(to) = take_due(&mut self.pending, now, read) {
            if to == Phase::Deleting {
                return Tick::Gone;
            }
            self.phase = to;
        }
        if let Some(c) = &mut self.change {
            let mut p = Some(c.pending.clone());
            if take_due(&mut p, now, read).is_some() {
                self.change = None;
            } else if let Some(p) = p {
                c.pending = p;
            }
        }
        for n in &mut self.nodes {
            if let Some(to) = take_due(&mut n.pending, now, read) {
                n.phase = to;
            }
        }
        self.nodes.retain(|n| n.phase != NodePhase::Gone);
        Tick::Alive
    }

    fn new_node(&mut self, flavor: &str, p: Progression, now: i64, region: &str) -> Node {
        self.node_seq += 1;
        let prefix = self
            .labels
            .get("os.modelarts/node.prefix")
            .cloned()
            .unwrap_or_else(|| "os-node-created".into());
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_string();
        Node {
            name: format!("{prefix}-{suffix}"),
            flavor: flavor.to_string(),
            phase: NodePhase::Creating,
            pending: Some(Pending::new(NodePhase::Available, p, now)),
            created_at: now,
            private_ip: format!("172.16.{}.{}", (self.seq % 250) + 1, (self.node_seq % 250) + 2),
            az: format!(
                "{region}{}",
                if self.node_seq.is_multiple_of(2) { "b" } else { "a" }
            ),
        }
    }

    /// Bring the nodes to `spec.resources`: add Creating nodes, or move the newest live nodes
    /// of a flavor to Deleting (the server picks which nodes go on scale-in, reference 2.5).
    pub fn reconcile_nodes(&mut self, p: Progression, now: i64, region: &str) {
        let desired: BTreeMap<String, i64> = self
            .resources
            .iter()
            .map(|r| (r.flavor.clone(), r.count))
            .collect();
        let mut flavors: Vec<String> = desired.keys().cloned().collect();
        for n in &self.nodes {
            if !flavors.contains(&n.flavor) {
                flavors.push(n.flavor.clone());
            }
        }
        for flavor in flavors {
            let want = desired.get(&flavor).copied().unwrap_or(0);
            let live: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].flavor == flavor && self.nodes[i].phase != NodePhase::Deleting)
                .collect();
            let have = live.len() as i64;
            if want > have {
                for _ in 0..(want - have) {
                    let node = self.new_node(&flavor, p, now, region);
                    self.nodes.push(node);
                }
            } else {
                for &i in live.iter().rev().take((have - want) as usize) {
                    self.nodes[i].phase = NodePhase::Deleting;
                    self.nodes[i].pending = Some(Pending::new(NodePhase::Gone, p, now));
                }
            }
        }
    }

    fn state_error(&self, op: &str) -> ApiError {
        ApiError::bad_state(
            codes::POOL_BAD_STATE,
            format!("Cannot {op} pool {} in phase {}.", self.name, self.phase.as_str()),
        )
    }

    /// Scaling and other spec changes need a Running pool.
    pub fn require_running(&self, op: &str) -> ApiResult<()> {
        if self.phase == Phase::Running {
            Ok(())
        } else {
            Err(self.state_error(op))
        }
    }

    /// Running|Abnormal|Error → Deleting → gone. Yearly/monthly pools are unsubscribed, not deleted.
    pub fn delete(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        if self.is_prepaid() {
            return Err(ApiError::bad_state(
                codes::POOL_BAD_STATE,
                format!(
                    "Pool {} is billed yearly/monthly; unsubscribe it instead of deleting it.",
                    self.name
                ),
            ));
        }
        match self.phase {
            Phase::Deleting => Ok(()),
            Phase::Running | Phase::Abnormal | Phase::Error => {
                self.phase = Phase::Deleting;
                self.pending = Some(Pending::new(Phase::Deleting, p, now));
                self.deleted_at = Some(now);
                for n in &mut self.nodes {
                    n.phase = NodePhase::Deleting;
                    n.pending = None;
                }
                Ok(())
            }
            Phase::Creating => Err(self.state_error("delete")),
        }
    }

    /// `nodes/batch-delete`: the named nodes go, the spec count follows, one node must stay.
    pub fn delete_nodes(&mut self, names: &[String], p: Progression, now: i64) -> ApiResult<()> {
        self.require_running("delete nodes of")?;
        for (i, name) in names.iter().enumerate() {
            match self.nodes.iter().find(|n| &n.name == name) {
                None => {
                    return Err(ApiError::invalid(
                        &format!("deleteNodeNames[{i}]"),
                        format!("node {name} is not in the pool"),
                    ));
                }
                Some(n) if n.phase == NodePhase::Deleting => {
                    return Err(ApiError::invalid(
                        &format!("deleteNodeNames[{i}]"),
                        format!("node {name} is already deleting"),
                    ));
                }
                Some(_) => {}
            }
        }
        let live = self
            .nodes
            .iter()
            .filter(|n| n.phase != NodePhase::Deleting)
            .count();
        if names.len() >= live {
            return Err(ApiError::invalid(
                "deleteNodeNames",
                "at least one node must stay in the pool",
            ));
        }
        for n in self.nodes.iter_mut().filter(|n| names.contains(&n.name)) {
            n.phase = NodePhase::Deleting;
            n.pending = Some(Pending::new(NodePhase::Gone, p, now));
            if let Some(r) = self.resources.iter_mut().find(|r| r.flavor == n.flavor) {
                r.count -= 1;
                // Physical pools keep maxCount == count.
                if self.pool_type == "Dedicate" {
                    r.max_count = r.count;
                }
            }
        }
        self.resources.retain(|r| r.count > 0);
        Ok(())
    }

    /// `status.scope` entries: new scopes are Enabling and dropped ones Disabling until the
    /// change completes.
    pub fn scope_states(&self) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        for s in &self.scope {
            let state = match (&self.change, self.phase) {
                (_, Phase::Creating) => "Enabling",
                (Some(c), _) if !c.previous_scope.contains(s) => "Enabling",
                _ => "Enabled",
            };
            out.push((s.clone(), state));
        }
        if let Some(c) = &self.change {
            for s in c.previous_scope.iter().filter(|s| !self.scope.contains(s)) {
                out.push((s.clone(), "Disabling"));
            }
        }
        out
    }

    /// Counts per flavor of nodes in a phase, as `status.resources.<phase>` arrays.
    pub fn counts(&self, phase: NodePhase) -> Vec<(String, i64)> {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for n in self.nodes.iter().filter(|n| n.phase == phase) {
            *out.entry(n.flavor.clone()).or_default() += 1;
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
