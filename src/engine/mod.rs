//! The one generic reconcile engine: finalizer, ownership, typed outcomes, conditions, backoff,
//! events, metrics and the cloud-side snapshot poller. Each kind only implements its trait.
pub mod backoff;
pub mod conditions;
pub mod metrics;
pub mod ratelimit;
pub mod tags;
