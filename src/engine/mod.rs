//! The one generic reconcile engine: finalizer, ownership, typed outcomes, conditions, backoff,
//! events, metrics and the cloud-side snapshot poller. Each kind only implements its trait.
pub mod apply;
pub mod backoff;
pub mod cache;
pub mod cleanup;
pub mod conditions;
pub mod context;
pub mod crd_deletion;
pub mod create;
pub mod demand;
pub mod events;
pub mod identity;
pub mod key;
pub mod metrics;
pub mod outcome;
pub mod ownership;
pub mod pack;
pub mod poller;
pub mod ratelimit;
pub mod reconciler;
pub mod resource;
pub mod snapshot;
pub mod status;
pub mod tags;
