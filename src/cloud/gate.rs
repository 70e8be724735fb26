//! Hooks awaited or checked before every HTTP request: the engine's client-side token bucket
//! plugs in as a [`RequestGate`], leader election as a [`Fence`], so the client itself needs no
//! rate-limiting or election policy.
use futures::future::BoxFuture;
use std::time::Duration;

pub trait RequestGate: Send + Sync {
    /// Resolves when the next request may go out.
    fn acquire(&self) -> BoxFuture<'_, ()>;

    /// A request that went through this gate was throttled (429 / APIGW.0308), with the
    /// server's `Retry-After` if it sent one: the gate may slow down and pause.
    fn throttled(&self, _retry_after: Option<Duration>) {}
}

/// Decides, at the last moment before a mutating request is sent, whether this process may
/// change the cloud at all. A leader whose lease has lapsed (it was paused, or could not renew)
/// answers `Err`, so no create, update or delete leaves it after another leader may have begun.
pub trait Fence: Send + Sync {
    /// `Ok` while mutations are allowed; otherwise why not (for the error message).
    fn check(&self) -> Result<(), String>;
}
