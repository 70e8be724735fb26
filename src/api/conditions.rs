//! Condition types and reasons, defined once for every kind (kstatus-compatible).

/// The resource matches its spec and the cloud side is usable.
pub const READY: &str = "Ready";
/// The last reconcile reached the cloud and applied the spec without error.
pub const SYNCED: &str = "Synced";

/// kstatus: True while the object is converging to its spec (Helm 4 `--wait`, Argo CD and Flux
/// read it as "in progress").
pub const RECONCILING: &str = "Reconciling";
/// kstatus: True when a terminal error stops progress until the spec (or the cloud) changes
/// (read as "failed").
pub const STALLED: &str = "Stalled";

pub mod reasons {
    /// Reconciling=False / Stalled=False: the spec has been reached.
    pub const CONVERGED: &str = "Converged";
    /// Stalled=False while converging: nothing blocks progress.
    pub const NOT_STALLED: &str = "NotStalled";
    pub const AVAILABLE: &str = "Available";
    pub const SYNCED: &str = "Synced";
    pub const CREATING: &str = "Creating";
    pub const UPDATING: &str = "Updating";
    /// A pool's node counts are converging to the spec.
    pub const SCALING: &str = "Scaling";
    pub const PROGRESSING: &str = "Progressing";
    pub const DELETING: &str = "Deleting";
    pub const STOPPED: &str = "Stopped";
    pub const CLOUD_FAILED: &str = "CloudFailed";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const MANAGEMENT_CONFLICT: &str = "ManagementConflict";
    pub const WAITING_FOR_POOL: &str = "WaitingForPool";
    pub const OBSERVE_ONLY: &str = "ObserveOnly";
    pub const PAUSED: &str = "Paused";
    pub const NOT_FOUND: &str = "NotFound";
    pub const CREDENTIALS: &str = "CredentialsError";
    pub const RETRYING: &str = "Retrying";
    /// Deletion waits: other objects in the cluster still use this one.
    pub const IN_USE: &str = "InUse";
    /// The cloud refused an update in its current state (e.g. a scale of a pool that is not Running).
    pub const UPDATE_REFUSED: &str = "UpdateRefused";
    /// The operator does not manage this kind of cloud resource (e.g. yearly/monthly billing).
    pub const UNSUPPORTED: &str = "Unsupported";
    pub const WAITING_FOR_SECRET: &str = "WaitingForSecret";
}
