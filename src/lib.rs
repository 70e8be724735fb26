//! modelarts-operator: manages Huawei Cloud ModelArts notebooks, resource pools and Lite Servers
//! as Kubernetes custom resources.
#![forbid(unsafe_code)]

pub mod cli;
pub mod api;
