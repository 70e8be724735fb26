//! Throughput benchmark: 10,000 custom resources created and then updated over loopback HTTP
//! while five watchers stream every event. Run with `cargo bench -p kube-emulator`.
//!
//! Server, writers and watchers share the same process and cores, so the figure is a floor for
//! what a separate client would see. The CRD carries a schema with a pattern and a CEL rule so
//! admission work is included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kube_emulator::KubeEmulator;
use serde_json::json;

const OBJECTS: usize = 10_000;
const WATCHERS: usize = 5;
const WRITERS: usize = 16;
const PATH: &str = "/apis/bench.emulator.dev/v1/namespaces/default/gadgets";

fn crd() -> serde_json::Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.bench.emulator.dev"},
        "spec": {"group": "bench.emulator.dev", "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"],
                        "x-kubernetes-validations": [{"rule": "self.size <= 1000000", "message": "too big"}],
                        "properties": {"size": {"type": "integer", "minimum": 0},
                                       "region": {"type": "string", "pattern": "^[a-z]+-[a-z]+-[0-9]+$"}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}
    })
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn phase(base: &str, http: &reqwest::Client, label: &str, update: bool) -> f64 {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
        let (next, http, base) = (next.clone(), http.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= OBJECTS {
                    break;
                }
                let resp = if update {
                    http.patch(format!("{base}{PATH}/g{i}"))
                        .header("content-type", "application/merge-patch+json")
                        .body(json!({"spec": {"size": i + 1}}).to_string())
                        .send()
                        .await
                } else {
                    let body = json!({"apiVersion": "bench.emulator.dev/v1", "kind": "Gadget",
                        "metadata": {"name": format!("g{i}"), "labels": {"bench": "yes"}},
                        "spec": {"size": i, "region": "cn-north-4"}});
                    http.post(format!("{base}{PATH}"))
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                };
                let status = resp.expect("request answered").status();
                assert!(status.is_success(), "write {i} failed: {status}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer finished");
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = OBJECTS as f64 / secs;
    println!(
        "{label}: {OBJECTS} writes in {secs:.2}s = {rate:.0} writes/s (load average {})",
        loadavg()
    );
    rate
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    println!(
        "kube-emulator throughput: {OBJECTS} objects, {WATCHERS} watchers, {WRITERS} concurrent writers, cores: {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("load average before: {}", loadavg());
    let server = KubeEmulator::start().await.expect("server starts");
    let base = server.url();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(WRITERS)
        .build()
        .unwrap();
    let resp = http
        .post(format!(
            "{base}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        ))
        .header("content-type", "application/json")
        .body(crd().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let received = Arc::new(AtomicU64::new(0));
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let resp = http
            .get(format!(
                "{base}/apis/bench.emulator.dev/v1/gadgets?watch=true&resourceVersion=0"
            ))
            .send()
            .await
            .unwrap();
        let received = received.clone();
        watchers.push(tokio::spawn(async move {
            let mut resp = resp;
            while let Ok(Some(chunk)) = resp.chunk().await {
                let events = chunk.iter().filter(|b| **b == b'\n').count() as u64;
                received.fetch_add(events, Ordering::Relaxed);
            }
        }));
    }

    let create = phase(&base, &http, "create", false).await;
    let update = phase(&base, &http, "update (merge patch)", true).await;

    let expected = (2 * OBJECTS * WATCHERS) as u64;
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = received.load(Ordering::Relaxed);
    println!(
        "watch events delivered: {got} of {expected} ({WATCHERS} watchers x {} writes)",
        2 * OBJECTS
    );
    println!(
        "result: create {create:.0} writes/s, update {update:.0} writes/s, target >= 2000: {}",
        if create >= 2000.0 && update >= 2000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    assert_eq!(got, expected, "every watcher saw every write");
    for w in watchers {
        w.abort();
    }
    server.shutdown().await;
}
