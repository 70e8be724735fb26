//! One integration-test binary for the whole crate: each module below was a separate test
//! target, but eleven ~180 MB debug binaries cost minutes of linking and gigabytes of disk on the
//! shared 2-core machine.

mod apply_conflicts;
mod auth;
mod builtins;
mod common;
mod controller;
mod derived_crd;
mod discovery;
mod entry_points;
mod events;
mod garbage_collection;
mod kubectl;
mod kubectl_builtins;
mod kubectl_lifecycle;
mod namespace_lifecycle;
mod objects;
mod openapi;
mod patches;
mod protobuf_bodies;
mod tables_and_faults;
mod validation;
mod validation_details;
mod watch;
