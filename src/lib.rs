//! modelarts-operator: manages Huawei Cloud ModelArts notebooks, resource pools and Lite Servers
//! as Kubernetes custom resources.
// Denied, not forbidden: one audited FFI call, `runtime::memory::trim`, is allowed.
#![deny(unsafe_code)]

pub mod api;
pub mod cli;
pub mod cloud;
pub mod engine;
pub mod resources;
pub mod runtime;
