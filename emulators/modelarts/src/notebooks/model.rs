//! The notebook resource and its state machine (reference 1.10). Everything here is pure:
//! callers pass the emulated time and the progression mode.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::errors::{ApiError, ApiResult, codes};
use crate::progression::{Pending, Progression, take_due};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Init,
    Creating,
    Starting,
    Stopping,
    Deleting,
    Running,
    Stopped,
    Snapshotting,
    CreateFailed,
    StartFailed,
    DeleteFailed,
    Error,
    Deleted,
    Frozen,
}

pub const ALL_STATUSES: &[Status] = &[
    Status::Init,
    Status::Creating,
    Status::Starting,
    Status::Stopping,
    Status::Deleting,
    Status::Running,
    Status::Stopped,
    Status::Snapshotting,
    Status::CreateFailed,
    Status::StartFailed,
    Status::DeleteFailed,
    Status::Error,
    Status::Deleted,
    Status::Frozen,
];

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Init => "INIT",
            Status::Creating => "CREATING",
            Status::Starting => "STARTING",
            Status::Stopping => "STOPPING",
            Status::Deleting => "DELETING",
            Status::Running => "RUNNING",
            Status::Stopped => "STOPPED",
            Status::Snapshotting => "SNAPSHOTTING",
            Status::CreateFailed => "CREATE_FAILED",
            Status::StartFailed => "START_FAILED",
            Status::DeleteFailed => "DELETE_FAILED",
            Status::Error => "ERROR",
            Status::Deleted => "DELETED",
            Status::Frozen => "FROZEN",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        ALL_STATUSES.iter().copied().find(|st| st.as_str() == s)
    }

    fn is_transitional(self) -> bool {
        matches!(
            self,
            Status::Init
                | Status::Creating
                | Status::Starting
                | Status::Stopping
                | Status::Deleting
                | Status::Snapshotting
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub create_at: i64,
    pub duration: i64,
    pub enable: bool,
    pub kind: String,
    pub update_at: i64,
}

pub const LEASE_MIN_MS: i64 = 3_600_000;
pub const LEASE_MAX_MS: i64 = 259_200_000;

/// How a lease renewal changes the auto-stop time (reference 5.6; a config flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaseRenewal {
    /// `duration` is added to the current lease (the console's "extend by N hours").
    #[default]
    Add,
    /// The lease restarts now with `duration`.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageStatus {
    Mounting,
    Mounted,
    MountFailed,
    Unmounting,
    Unmounted,
    UnmountFailed,
}

impl StorageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageStatus::Mounting => "MOUNTING",
            StorageStatus::Mounted => "MOUNTED",
            StorageStatus::MountFailed => "MOUNT_FAILED",
            StorageStatus::Unmounting => "UNMOUNTING",
            StorageStatus::Unmounted => "UNMOUNTED",
            StorageStatus::UnmountFailed => "UNMOUNT_FAILED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub id: String,
    pub category: String,
    pub mount_path: String,
    pub uri: String,
    pub efs_id: Option<String>,
    pub status: StorageStatus,
    pub pending: Option<Pending<StorageStatus>>,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub category: String,
    pub ownership: String,
    pub capacity: Option<i64>,
    pub uri: Option<String>,
    pub id: Option<String>,
    pub read_only: bool,
    pub dew_secret_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Notebook {
    pub seq: u64,
    pub id: String,
    pub name: String,
    pub description: String,
    pub status: Status,
    pub pending: Option<Pending<Status>>,
    pub fail_reason: Option<String>,
    pub flavor: String,
    pub custom_spec: Option<Value>,
    pub image_id: String,
    pub volume: Volume,
    pub data_volumes: Vec<Value>,
    pub workspace_id: String,
    pub feature: String,
    pub pool_id: Option<String>,
    pub endpoints: Vec<Value>,
    pub affinity: Option<Value>,
    pub user_vpc: Option<Value>,
    pub lease: Lease,
    pub tags: BTreeMap<String, String>,
    pub storages: Vec<Storage>,
    pub token: String,
    pub ip: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Eventual consistency: show/list calls that still miss this notebook.
    pub hidden_reads: u32,
    /// A broken backend (console action `fail-deletes`): DELETING ends in DELETE_FAILED, as a
    /// real delete ModelArts cannot finish does, until `heal-deletes`.
    pub delete_fails: bool,
}

/// What a tick did to the notebook.
#[derive(Debug, PartialEq, Eq)]
pub enum Tick {
    Alive,
    /// Deletion finished: the caller removes the notebook (GET then answers 404).
    Gone,
}

impl Notebook {
    /// Complete due transitions and expire a TIMING lease. `read` marks show/list calls.
    pub fn tick(&mut self, now: i64, read: bool, p: Progression) -> Tick {
        if let Some(to) = take_due(&mut self.pending, now, read) {
            if to == Status::Deleted {
                return Tick::Gone;
            }
            self.status = to;
            self.updated_at = now;
        }
        if self.status == Status::Running
            && self.pending.is_none()
            && self.lease.enable
            && self.lease.kind == "TIMING"
            && now >= self.lease.create_at.saturating_add(self.lease.duration)
        {
            // Auto-stop: the lease ran out in emulated time.
            self.status = Status::Stopping;
            self.pending = Some(Pending::new(Status::Stopped, p, now));
            self.updated_at = now;
        }
        for s in &mut self.storages {
            if let Some(to) = take_due(&mut s.pending, now, read) {
                s.status = to;
            }
        }
        // An unmounted volume leaves the list.
        self.storages.retain(|s| s.status != StorageStatus::Unmounted);
        Tick::Alive
    }

    fn move_to(&mut self, transitional: Status, target: Status, p: Progression, now: i64) {
        self.status = transitional;
        self.pending = Some(Pending::new(target, p, now));
        self.updated_at = now;
    }

    /// `start`: STOPPED (or a failed start/create) → STARTING → RUNNING; the lease restarts.
    pub fn start(
        &mut self,
        duration: Option<i64>,
        kind: Option<&str>,
        p: Progression,
        now: i64,
    ) -> ApiResult<()> {
        match self.status {
            Status::Running => {
                return Err(ApiError::bad_state(
                    codes::NOTEBOOK_ALREADY_RUNNING,
                    "The instance is already running.",
                ));
            }
            Status::Starting | Status::Creating | Status::Init => {
                return Err(ApiError::bad_state(
                    codes::NOTEBOOK_STARTING,
                    "The instance is starting.",
                ));
            }
            Status::Stopped | Status::StartFailed | Status::Error => {}
            other => return Err(self.state_error("start", other)),
        }
        self.lease.create_at = now;
        self.lease.update_at = now;
        if let Some(d) = duration {
            self.lease.duration = d;
        }
        if let Some(k) = kind {
            self.lease.kind = k.to_string();
        }
        self.lease.enable = true;
        self.fail_reason = None;
        self.move_to(Status::Starting, Status::Running, p, now);
        Ok(())
    }

    /// `stop`: RUNNING → STOPPING → STOPPED.
    pub fn stop(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        match self.status {
            Status::Running | Status::Error => {
                self.move_to(Status::Stopping, Status::Stopped, p, now);
                Ok(())
            }
            other => Err(self.state_error("stop", other)),
        }
    }

    /// `delete`: only from a stopped or failed instance (ModelArts.6304 otherwise). A second
    /// delete of a DELETING instance is answered with the instance, so retries are harmless.
    pub fn delete(&mut self, p: Progression, now: i64) -> ApiResult<()> {
        match self.status {
            Status::Deleting => Ok(()),
            Status::Stopped
            | Status::CreateFailed
            | Status::StartFailed
            | Status::DeleteFailed
            | Status::Error
            | Status::Frozen => {
                let end = if self.delete_fails {
                    Status::DeleteFailed
                } else {
                    Status::Deleted
                };
                self.move_to(Status::Deleting, end, p, now);
                Ok(())
            }
            _ => Err(ApiError::bad_state(
                codes::NOTEBOOK_STOP_BEFORE_DELETE,
                "Please stop the instance before deleting.",
            )),
        }
    }

    /// Changing flavor, custom spec or image needs a stopped instance.
    pub fn check_spec_change_allowed(&self) -> ApiResult<()> {
        match self.status {
            Status::Stopped | Status::StartFailed | Status::Error => Ok(()),
            other => Err(ApiError::bad_state(
                codes::NOTEBOOK_BAD_STATE,
                format!(
                    "Please stop the instance before changing flavor or image (status {}).",
                    other.as_str()
                ),
            )),
        }
    }

    /// Any other update (name, description, tags…) is refused only while the instance is
    /// being created or deleted.
    pub fn check_update_allowed(&self) -> ApiResult<()> {
        if self.status.is_transitional() && self.status != Status::Stopping && self.status != Status::Starting
        {
            return Err(self.state_error("update", self.status));
        }
        Ok(())
    }

    pub fn require_running(&self, op: &str) -> ApiResult<()> {
        if self.status == Status::Running {
            Ok(())
        } else {
            Err(self.state_error(op, self.status))
        }
    }

    pub fn renew_lease(&mut self, duration: i64, kind: &str, mode: LeaseRenewal, now: i64) -> ApiResult<()> {
        self.require_running("renew the lease of")?;
        match mode {
            LeaseRenewal::Add => {
                self.lease.duration = self.lease.duration.saturating_add(duration);
            }
            LeaseRenewal::Reset => {
                self.lease.create_at = now;
                self.lease.duration = duration;
            }
        }
        self.lease.kind = kind.to_string();
        self.lease.enable = true;
        self.lease.update_at = now;
        self.updated_at = now;
        Ok(())
    }

    /// Out-of-band status change (the console or a fault): no preconditions, no pending step.
    pub fn force_status(&mut self, status: Status, now: i64) {
        self.status = status;
        self.pending = None;
        if status == Status::Running {
            self.lease.create_at = now;
        }
        if matches!(status, Status::CreateFailed | Status::StartFailed | Status::Error) {
            self.fail_reason = Some("Set by the emulator control API".into());
        }
        self.updated_at = now;
    }

    fn state_error(&self, op: &str, status: Status) -> ApiError {
        ApiError::bad_state(
            codes::NOTEBOOK_BAD_STATE,
            format!(
                "Cannot {op} the instance {} in status {}.",
                self.id,
                status.as_str()
            ),
        )
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
