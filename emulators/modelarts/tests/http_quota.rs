//! The server-side quota over real HTTP: 429 APIGW.0308 with Retry-After above it, per project,
//! counted, nothing changed by a throttled request, and configurable through the control API.

mod common;

use common::Client;
use modelarts_emulator::{EmulatorConfig, Kind, Progression, QuotaSettings, spawn};
use serde_json::{Value, json};

const PID: &str = modelarts_emulator::DEFAULT_PROJECT_ID;
const OTHER: &str = "fedcba9876543210fedcba9876543210";
const LIST: &str = "GET /v1/{project_id}/notebooks";

fn create_body(name: &str) -> Value {
    json!({"name": name, "image_id": modelarts_emulator::catalog::IMAGE_PYTORCH_CPU, "flavor": "modelarts.vm.cpu.2u",
           "volume": {"category": "EVS", "ownership": "MANAGED"}})
}

/// 0.5/s with a burst of 3: three calls pass, the fourth waits 2 s (no test runs that long).
fn slow_quota() -> QuotaSettings {
    QuotaSettings {
        rps: 0.5,
        burst: Some(3.0),
    }
}

#[tokio::test]
async fn above_the_quota_a_project_gets_429_apigw_0308_with_retry_after_and_nothing_changes() {
    let emu = spawn(EmulatorConfig {
        quota: Some(slow_quota()),
        ..EmulatorConfig::default()
    })
    .await
    .expect("spawn");
    emu.set_all_progression(Progression::Immediate);
    let c = Client::new(emu.addr(), PID);
    for _ in 0..3 {
        let r = c.call("GET", "/v1/{pid}/notebooks", None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = c
        .call("POST", "/v1/{pid}/notebooks", Some(create_body("nb-throttled")))
        .await;
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.body["error_code"], "APIGW.0308");
    let msg = r.body["error_msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("The throttling threshold has been reached"),
        "{msg}"
    );
    assert_eq!(r.headers["retry-after"], "2");
    assert!(r.headers.contains_key("x-request-id"));
    assert_eq!(emu.notebook_count(PID), 0, "a throttled create changes nothing");

    // Another project has its own bucket.
    let other = Client::new(emu.addr(), OTHER);
    assert_eq!(other.call("GET", "/v1/{pid}/notebooks", None).await.status, 200);

    assert_eq!(emu.throttled_count(), 1);
    assert_eq!(
        emu.throttled_counts().get("POST /v1/{project_id}/notebooks"),
        Some(&1)
    );
    // The gateway received the throttled call: it is in the call counters too.
    assert_eq!(emu.call_count("POST", "/v1/{project_id}/notebooks"), 1);
    assert_eq!(emu.call_counts().get(LIST), Some(&4));
    let log = emu.request_log();
    assert_eq!(log.iter().filter(|e| e.status == 429).count(), 1);

    // The control API never counts against the quota.
    let ctl = format!("{}/_emulator/quota", emu.base_url());
    for _ in 0..5 {
        assert_eq!(reqwest::get(&ctl).await.unwrap().status(), 200);
    }
    let seen: Value = reqwest::get(&ctl).await.unwrap().json().await.unwrap();
    assert_eq!(seen["quota"]["rps"], 0.5);
    assert_eq!(seen["throttled"], 1);

    // reset forgets the counters but restores the configured quota.
    emu.reset();
    assert_eq!(emu.quota(), Some(slow_quota()));
    assert_eq!(emu.throttled_count(), 0);
    let _ = emu.inventory(PID);
    assert!(emu.get(PID, Kind::Notebook, "none").is_err());
}

#[tokio::test]
async fn the_control_api_turns_the_quota_on_and_off_and_refuses_bad_settings() {
    let emu = spawn(EmulatorConfig::default()).await.expect("spawn");
    let c = Client::new(emu.addr(), PID);
    let http = reqwest::Client::new();
    let ctl = format!("{}/_emulator/quota", emu.base_url());
    for _ in 0..10 {
        assert_eq!(
            c.call("GET", "/v1/{pid}/notebooks", None).await.status,
            200,
            "off by default"
        );
    }

    let bad = http.put(&ctl).json(&json!({"rps": 0})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["error_msg"].as_str().unwrap_or_default().contains("rps"),
        "{body}"
    );
    let bad = http
        .put(&ctl)
        .json(&json!({"rps": 5, "burst": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let on = http
        .put(&ctl)
        .json(&json!({"rps": 0.5, "burst": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(on.status(), 200);
    let statuses: Vec<u16> = futures_statuses(&c, 4).await;
    assert_eq!(statuses, [200, 200, 429, 429]);

    let off = http.delete(&ctl).send().await.unwrap();
    assert_eq!(off.status(), 200);
    assert_eq!(emu.quota(), None);
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 200);
    assert_eq!(emu.throttled_count(), 2);

    // The Rust handle does the same.
    emu.set_quota(Some(QuotaSettings {
        rps: 0.5,
        burst: Some(1.0),
    }))
    .expect("valid");
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 200);
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 429);
    assert!(emu.set_quota(Some(QuotaSettings::per_second(-1.0))).is_err());
}

/// Statuses of `n` list calls made one after another.
async fn futures_statuses(c: &Client, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.call("GET", "/v1/{pid}/notebooks", None).await.status);
    }
    out
}
