//! Lite Server (dev-server) and supernode (hyperinstance) state machines (reference 3.13).

use std::collections::BTreeMap;

use crate::errors::{ApiError, ApiResult, codes};
use crate::progression::{Pending, Progression, take_due};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    CreateFailed,
    Running,
    Starting,
    StartFailed,
    Stopping,
    Stopped,
    StopFailed,
    Rebooting,
    RebootFailed,
    ChangingOs,
    ChangingOsFailed,
    ReinstallingOs,
    ReinstallingOsFailed,
    Deleting,
    DeleteFailed,
    Deleted,
    Error,
}

const ALL: &[(Status, &str)] = &[
    (Status::Creating, "CREATING"),
    (Status::CreateFailed, "CREATE_FAILED"),
    (Status::Running, "RUNNING"),
    (Status::Starting, "STARTING"),
    (Status::StartFailed, "START_FAILED"),
    (Status::Stopping, "STOPPING"),
    (Status::Stopped, "STOPPED"),
    (Status::StopFailed, "STOP_FAILED"),
    (Status::Rebooting, "REBOOTING"),
    (Status::RebootFailed, "REBOOT_FAILED"),
    (Status::ChangingOs, "CHANGINGOS"),
    (Status::ChangingOsFailed, "CHANGINGOS_FAILED"),
    (Status::ReinstallingOs, "REINSTALLINGOS"),
    (Status::ReinstallingOsFailed, "REINSTALLINGOS_FAILED"),
    (Status::Deleting, "DELETING"),
    (Status::DeleteFailed, "DELETE_FAILED"),
    (Status::Deleted, "DELETED"),
    (Status::Error, "ERROR"),
];

impl Status {
    pub fn as_str(self) -> &'static str {
        ALL.iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("ERROR")
    }

    pub fn parse(s: &str) -> Option<Status> {
        ALL.iter().find(|(_, n)| *n == s).map(|(st, _)| *st)
    }

    pub fn all() -> impl Iterator<Item = Status> {
        ALL.iter().map(|(s, _)| *s)
    }

    fn is_transitional(self) -> bool {
        matches!(
            self,
            Status::Creating
                | Status::Starting
                | Status::Stopping
                | Status::Rebooting
                | Status::ChangingOs
                | Status::ReinstallingOs
                | Status::Deleting
        )
    }
}

#[derive(Debug, Clone)]
pub struct Server {
    pub seq: u64,
    pub id: String,
    pub name: String,
    pub status: Status,
    pub pending: Option<Pending<Status>>,
    pub flavor: String,
    pub server_type: String,
    pub arch: String,
    pub charging_mode: String,
    pub order_id: Option<String>,
    pub image_id: String,
    pub key_pair_name: Option<String>,
    pub vpc_id: String,
    pub subnet_id: String,
    pub root_volume: (i64, String),
    pub data_volumes: Vec<(i64, String)>,
    /// The supernode this server is a child of.
    pub hps: Option<(String, String)>,
    pub cloud_server_id: String,
    pub ip: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub hidden_reads: u32,
    /// Eventual consistency of a live scale-up: reads of the supernode that still miss this
    /// node (the operator must not take a lagging read for a scale-up that never happened).
    pub hidden_from_parent: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Tick {
    Alive,
    Gone,
}

fn bad_state(id: &str, op: &str, s: Status) -> ApiError {
    ApiError::bad_state(
        codes::SERVER_BAD_STATE,
        format!("Cannot {op} server {id} in status {}.", s.as_str()),
    )
}

impl Server {
    pub fn tick(&mut self, now: i64, read: bool) -> Tick {
        if let Some(to) = take_due(&mut self.pending, now, read) {
            if to == Status::Deleted {
                return Tick::Gone;
            }
            self.status = to;
            self.updated_at = now;
        }
        Tick::Alive
    }

    fn go(&mut self, via: Status, to: Status, p: Progression, now: i64) {
        self.status = via;
        self.pending = Some(Pending::new(to, p, now));
        self.updated_at = now;
    }

    fn require(&self, op: &str, allowed: &[Status]) -> ApiResult<()> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(bad_state(&self.id, op, self.status))
        }
    }

    pub fn start(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        if self.status == Status::Running {
            return Err(ApiError::bad_state(
                codes::SERVER_BAD_STATE,
                format!("Server {} is already running.", self.id),
            ));
        }
        self.require("start", &[Status::Stopped, Status::StartFailed])?;
        self.go(Status::Starting, Status::Running, p, now);
        Ok(())
    }

    pub fn stop(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        self.require("stop", &[Status::Running, Status::StopFailed])?;
        self.go(Status::Stopping, Status::Stopped, p, now);
        Ok(())
    }

    pub fn reboot(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        self.require("reboot", &[Status::Running, Status::RebootFailed])?;
        self.go(Status::Rebooting, Status::Running, p, now);
        Ok(())
    }

    /// OS changes need a stopped server; the server comes back RUNNING on the new image.
    pub fn change_os(
        &mut self,
        image_id: Option<&str>,
        reinstall: bool,
        p: Progression,
        now: i64,
    ) -> ApiResult<()> {
        let (op, via, failed) = if reinstall {
            (
                "reinstall the OS of",
                Status::ReinstallingOs,
                Status::ReinstallingOsFailed,
            )
        } else {
            ("change the OS of", Status::ChangingOs, Status::ChangingOsFailed)
        };
        self.require(op, &[Status::Stopped, failed])?;
        if let Some(i) = image_id {
            self.image_id = i.to_string();
        }
        self.go(via, Status::Running, p, now);
        Ok(())
    }

    /// Pay-per-use servers in a steady state, failed creations and errored servers can be
    /// deleted; yearly/monthly ones are released by unsubscribing.
    pub fn delete(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        if self.status == Status::Deleting {
            return Ok(());
        }
        if self.charging_mode == "PRE_PAID" && !matches!(self.status, Status::CreateFailed | Status::Error) {
            return Err(ApiError::bad_state(
                codes::SERVER_PREPAID,
                format!(
                    "Server {} is billed yearly/monthly; unsubscribe it instead of deleting it.",
                    self.id
                ),
            ));
        }
        if self.status.is_transitional() {
            return Err(bad_state(&self.id, "delete", self.status));
        }
        self.go(Status::Deleting, Status::Deleted, p, now);
        Ok(())
    }

    pub fn force_status(&mut self, s: Status, now: i64) {
        self.status = s;
        self.pending = None;
        self.updated_at = now;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HyperStatus {
    Provisioning,
    Active,
    Error,
    Reimaging,
    Terminating,
    Terminated,
}

impl HyperStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HyperStatus::Provisioning => "PROVISIONING",
            HyperStatus::Active => "ACTIVE",
            HyperStatus::Error => "ERROR",
            HyperStatus::Reimaging => "REIMAGING",
            HyperStatus::Terminating => "TERMINATING",
            HyperStatus::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<HyperStatus> {
        [
            HyperStatus::Provisioning,
            HyperStatus::Active,
            HyperStatus::Error,
            HyperStatus::Reimaging,
            HyperStatus::Terminating,
            HyperStatus::Terminated,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// A supernode: its own status plus child servers (ids into the server collection).
#[derive(Debug, Clone)]
pub struct Hyper {
    pub seq: u64,
    pub id: String,
    pub name: String,
    pub hps_id: String,
    pub hps_cluster_id: String,
    pub charging_mode: String,
    pub order_id: Option<String>,
    pub flavor: String,
    pub status: HyperStatus,
    pub pending: Option<Pending<HyperStatus>>,
    pub children: Vec<String>,
    pub max_children: usize,
    pub tags: BTreeMap<String, String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Hyper {
    pub fn tick(&mut self, now: i64, read: bool) -> Tick {
        if let Some(to) = take_due(&mut self.pending, now, read) {
            if to == HyperStatus::Terminated {
                return Tick::Gone;
            }
            self.status = to;
            self.updated_at = now;
        }
        Tick::Alive
    }

    pub fn go(&mut self, via: HyperStatus, to: HyperStatus, p: Progression, now: i64) {
        self.status = via;
        self.pending = Some(Pending::new(to, p, now));
        self.updated_at = now;
    }

    pub fn require_active(&self, op: &str) -> ApiResult<()> {
        if self.status == HyperStatus::Active {
            Ok(())
        } else {
            Err(ApiError::bad_state(
                codes::SERVER_BAD_STATE,
                format!(
                    "Cannot {op} supernode {} in status {}.",
                    self.id,
                    self.status.as_str()
                ),
            ))
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
