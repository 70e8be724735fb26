//! Typed outcomes: what a reconcile step achieved, and how a failure is classified.
use crate::{
    api::conditions::reasons,
    cloud::{self, ErrorKind},
};
use kube::runtime::finalizer;
use std::time::Duration;

/// How a successful step left the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The cloud matches the spec: long jittered requeue.
    Ready { message: String },
    /// A transitional state (cloud or a dependency): short requeue, not an error.
    Waiting { reason: &'static str, message: String },
    /// The cloud resource sits in a failed state it reports itself: slow requeue.
    CloudFailed { reason: String, message: String },
    /// The object is only observed: status written, nothing mutated.
    Observed { message: String },
}

/// Everything that can go wrong in a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op}: {source}")]
    Cloud { op: &'static str, source: cloud::Error },
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("{0}")]
    ManagementConflict(String),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    CloudResourceMissing(String),
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// The cloud refused a change in its current state, or the kind refuses to manage the
    /// resource (e.g. yearly/monthly billing). Terminal: retried when the spec or the cloud
    /// resource's state changes.
    #[error("{message}")]
    Refused { reason: &'static str, message: String },
    /// The object's credentials now reach another region or project than its resource's;
    /// retried with backoff, since the fix (a Secret, a flag) is usually outside the spec.
    #[error("{0}")]
    ScopeChanged(String),
    /// The cloud resource sits in a failed state (e.g. a delete the cloud failed): retried with
    /// per-object backoff, never every few seconds.
    #[error("{state}: {message}")]
    CloudFailed { state: String, message: String },
    /// The reconcile worked on an outdated copy of the object (a guarded write met a newer
    /// resourceVersion): nothing was decided; the newer copy is reconciled instead.
    #[error("the object changed while it was reconciled: {0}")]
    Stale(String),
    /// Not a failure: the object waits for the poller's next listing to read its cloud
    /// resource (`engine::demand`); nothing was decided or written.
    #[error("waiting for the next listing")]
    Deferred,
    /// Not a failure: cleanup must wait (the finalizer stays until the resource is gone).
    #[error("{message}")]
    Waiting { reason: &'static str, message: String },
}

/// What the engine does about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Retrying cannot help until the spec changes: condition set, slow safety requeue only.
    Terminal,
    /// Per-object exponential backoff.
    Retryable,
    /// The cloud asked us to slow down; wait at least this long.
    Throttled(Option<Duration>),
}

impl Error {
    pub fn cloud(op: &'static str) -> impl FnOnce(cloud::Error) -> Error {
        move |source| Error::Cloud { op, source }
    }

    /// Unwraps kube's finalizer wrapper so the real cause is classified (style rule 3).
    pub fn from_finalizer(err: finalizer::Error<Error>) -> Error {
        match err {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            finalizer::Error::AddFinalizer(e) | finalizer::Error::RemoveFinalizer(e) => Error::Kube(e),
            other => Error::Finalizer(other.to_string()),
        }
    }

    pub fn class(&self) -> Class {
        match self {
            // A create that names something missing (an image, a pool) cannot succeed as is.
            Error::Cloud { op, source }
                if source.kind() == ErrorKind::NotFound && op.ends_with(".create") =>
            {
                Class::Terminal
            }
            Error::Cloud { source, .. } => match source.kind() {
                ErrorKind::Invalid | ErrorKind::QuotaExceeded => Class::Terminal,
                ErrorKind::Throttled => Class::Throttled(source.retry_after()),
                // Permission errors stay retryable (slowly): they are often fixed outside the
                // spec, by an IAM change or a rotated Secret (ASO #5074).
                ErrorKind::Unauthorized
                | ErrorKind::Forbidden
                | ErrorKind::Transient
                | ErrorKind::NotFound
                | ErrorKind::WrongState
                | ErrorKind::Conflict => Class::Retryable,
            },
            Error::InvalidSpec(_)
            | Error::ManagementConflict(_)
            | Error::CloudResourceMissing(_)
            | Error::Refused { .. } => Class::Terminal,
            Error::Kube(_)
            | Error::Credentials(_)
            | Error::Finalizer(_)
            | Error::Waiting { .. }
            | Error::Stale(_)
            | Error::Deferred
            | Error::CloudFailed { .. }
            | Error::ScopeChanged(_) => Class::Retryable,
        }
    }

    /// PascalCase category: the Warning Event reason and the condition reason.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Cloud { source, .. } => source.category(),
            Error::Kube(_) => "KubernetesApiError",
            Error::InvalidSpec(_) => reasons::INVALID_SPEC,
            Error::ManagementConflict(_) => reasons::MANAGEMENT_CONFLICT,
            Error::Credentials(_) => reasons::CREDENTIALS,
            Error::CloudResourceMissing(_) => reasons::NOT_FOUND,
            Error::Finalizer(_) => "FinalizerError",
            Error::Stale(_) => "Stale",
            Error::Deferred => "Deferred",
            Error::CloudFailed { .. } => reasons::CLOUD_FAILED,
            Error::ScopeChanged(_) => reasons::SCOPE_CHANGED,
            Error::Waiting { reason, .. } | Error::Refused { reason, .. } => reason,
        }
    }

    /// True when the cloud said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Cloud { source, .. } if source.kind() == ErrorKind::NotFound)
    }

    /// True when a mutating call surely did not happen (the cloud refused it), as opposed to
    /// an uncertain outcome (timeout, dropped connection, 5xx) where it may have.
    pub fn surely_not_applied(&self) -> bool {
        match self {
            Error::Cloud { source, .. } => !matches!(source.kind(), ErrorKind::Transient),
            _ => true,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
