//! Speed benchmark (issue 3, item 7): with 10,000 notebooks stored, how many signed GETs per
//! second the emulator serves on loopback, and how long a paged list of all of them takes.
//! Client and server share the machine (and this process), so the figures are a lower bound.
//!
//! Run: `cargo bench -p modelarts-emulator --bench signed_gets`
//! (env BENCH_NOTEBOOKS, BENCH_SECONDS, BENCH_CONCURRENCY override the defaults).

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Client;
use modelarts_emulator::{EmulatorConfig, Progression, spawn};
use serde_json::json;

#[derive(serde::Deserialize)]
struct Page {
    data: Vec<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct Shown {
    id: String,
}

/// CPU seconds this process (client and server together) has used, from /proc (Linux only).
/// Dividing work by it gives a figure that does not depend on how busy the machine is.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let notebooks = env_or("BENCH_NOTEBOOKS", 10_000) as usize;
    let seconds = env_or("BENCH_SECONDS", 5);
    let concurrency = env_or("BENCH_CONCURRENCY", 32) as usize;
    let emu = spawn(EmulatorConfig::default()).await.expect("spawn");
    emu.set_all_progression(Progression::Immediate);
    let client = Arc::new(Client::new(emu.addr(), modelarts_emulator::DEFAULT_PROJECT_ID));

    let t = Instant::now();
    let mut ids = Vec::with_capacity(notebooks);
    let body = json!({"name": "bench", "image_id": modelarts_emulator::catalog::IMAGE_PYTORCH_CPU,
                      "flavor": "modelarts.vm.cpu.2u", "volume": {"category": "EVS", "ownership": "MANAGED"}});
    for chunk in 0..notebooks.div_ceil(64) {
        let mut tasks = Vec::new();
        for _ in 0..64.min(notebooks - chunk * 64) {
            let (c, b) = (client.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                c.call("POST", "/v1/{pid}/notebooks", Some(b)).await
            }));
        }
        for task in tasks {
            let r = task.await.expect("task");
            assert_eq!(r.status, 200);
            ids.push(r.body["id"].as_str().expect("id").to_string());
        }
    }
    println!("created {notebooks} notebooks in {:.2?}", t.elapsed());
    let ids = Arc::new(ids);

    let cpu_before = cpu_seconds();
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (c, ids, done) = (client.clone(), ids.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w * 7919;
            while Instant::now() < deadline {
                let id = &ids[i % ids.len()];
                let (status, body) = c.call_raw("GET", &format!("/v1/{{pid}}/notebooks/{id}")).await;
                assert_eq!(status, 200);
                let nb: Shown = serde_json::from_slice(&body).expect("notebook");
                assert_eq!(&nb.id, id);
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let n = done.load(Ordering::Relaxed);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "signed GET /v1/{{pid}}/notebooks/{{id}}: {n} in {secs:.2}s = {:.0} req/s (concurrency {concurrency})",
        n as f64 / secs
    );
    if let (Some(a), Some(b)) = (cpu_before, cpu_seconds()) {
        let used = b - a;
        println!(
            "  {:.0} req per CPU-second of client+server together ({used:.1} CPU-s used)",
            n as f64 / used
        );
    }

    for limit in [1000usize, 50] {
        let t = Instant::now();
        let (mut offset, mut seen) = (0usize, 0usize);
        loop {
            let (status, body) = client
                .call_raw(
                    "GET",
                    &format!("/v1/{{pid}}/notebooks?offset={offset}&limit={limit}"),
                )
                .await;
            assert_eq!(status, 200);
            // Decode like a typed client would (every byte is parsed; nothing is kept).
            let page: Page = serde_json::from_slice(&body).expect("page");
            let page = page.data.len();
            seen += page;
            offset += limit;
            if page < limit {
                break;
            }
        }
        assert_eq!(seen, notebooks);
        println!(
            "paged list of all {seen} notebooks, limit {limit}: {:.2?} ({} pages)",
            t.elapsed(),
            seen.div_ceil(limit)
        );
    }
    emu.shutdown().await;
}
