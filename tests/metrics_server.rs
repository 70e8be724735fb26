//! The operator's HTTP endpoints: Prometheus metrics reflect real reconciles and cloud calls.
mod support;

use modelarts_operator::runtime::server::{self, Health};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn metrics_count_reconciles_and_cloud_calls_and_health_endpoints_answer() {
    let env = support::Env::start().await;
    let health = Health::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = server::router(env.metrics.clone(), health.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("http://{addr}{path}")).send();

    assert_eq!(get("/healthz").await.expect("healthz").status(), 200);
    assert_eq!(
        get("/readyz").await.expect("readyz").status(),
        503,
        "not ready before the controllers run"
    );
    health.set_ready(true);
    assert_eq!(get("/readyz").await.expect("readyz").status(), 200);

    let nb: modelarts_operator::api::Notebook = serde_json::from_value(json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
        "metadata": {"name": "nb-metrics", "namespace": support::NS},
        "spec": {"flavor": "modelarts.vm.cpu.2u", "image": {"id": support::IMAGE},
                 "volume": {"category": "EVS", "ownership": "MANAGED"}}
    }))
    .expect("notebook");
    env.apply(&nb).await;
    env.wait_for::<modelarts_operator::api::Notebook>("nb-metrics", Duration::from_secs(30), "Ready", |nb| {
        nb.status.as_ref().is_some_and(|s| {
            s.cloud
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    })
    .await;
    let text = get("/metrics")
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        text.contains(
            r#"modelarts_operator_cloud_api_calls_total{operation="notebooks.create",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"modelarts_operator_reconciles_total{kind="Notebook",outcome="ready"}"#),
        "{text}"
    );
    assert!(
        text.contains("modelarts_operator_cloud_api_latency_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains("modelarts_operator_reconcile_duration_seconds_bucket"),
        "{text}"
    );
}
