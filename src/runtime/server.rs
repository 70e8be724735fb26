//! The operator's HTTP endpoints: `/metrics` (Prometheus text), `/healthz`, `/readyz` and
//! `/readyz/leader`.
//!
//! `/readyz` answers 200 on the leader and on a healthy standby alike (the body says which):
//! a standby that failed readiness would hold every rolling update and `helm install --wait`
//! forever. `/readyz/leader` answers 200 only on the replica that may change the cloud.
use crate::engine::metrics::Metrics;
use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

/// What this replica is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Starting = 0,
    /// Runs the controllers and may change the cloud.
    Leader = 1,
    /// Campaigns for the lease; runs nothing.
    Standby = 2,
}

#[derive(Clone)]
pub struct Health {
    role: Arc<AtomicU8>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            role: Arc::new(AtomicU8::new(Role::Starting as u8)),
        }
    }
}

impl Health {
    /// Ready as the only (leader) replica, or back to starting.
    pub fn set_ready(&self, ready: bool) {
        self.set_role(if ready { Role::Leader } else { Role::Starting });
    }

    pub fn set_role(&self, role: Role) {
        self.role.store(role as u8, Ordering::Relaxed);
    }

    pub fn role(&self) -> Role {
        match self.role.load(Ordering::Relaxed) {
            1 => Role::Leader,
            2 => Role::Standby,
            _ => Role::Starting,
        }
    }
}

pub fn router(metrics: Metrics, health: Health) -> Router {
    let leader = health.clone();
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(metrics)
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let role = health.role();
                async move {
                    match role {
                        Role::Leader => (StatusCode::OK, "ready: leader"),
                        Role::Standby => (StatusCode::OK, "ready: standby"),
                        Role::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
                    }
                }
            }),
        )
        .route(
            "/readyz/leader",
            get(move || {
                let role = leader.role();
                async move {
                    match role {
                        Role::Leader => (StatusCode::OK, "leader"),
                        _ => (StatusCode::SERVICE_UNAVAILABLE, "not the leader"),
                    }
                }
            }),
        )
}

async fn metrics_text(State(metrics): State<Metrics>) -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}
