//! The Kubernetes API this product offers: CRD types only (kube-derive + schemars).
pub mod common;
pub mod conditions;

/// API group of every kind the operator serves.
pub const GROUP: &str = "modelarts.operator.dev";
/// Served and stored version.
pub const VERSION: &str = "v1alpha1";
