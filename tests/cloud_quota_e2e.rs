//! Shared back-pressure against the cloud's quota (issue 12, item 5): modelarts-emulator
//! answers 429 above 10 requests/s for the project; the operator's `--rate` is ten times that.
//! Every object uses the same credentials scope, so the first 429s lower the rate of all of
//! them together (AIMD) and the burst converges with few 429s, instead of every object
//! discovering the quota by itself.
mod support;

use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, QuotaSettings};
use modelarts_operator::api::notebook::Notebook;
use serde_json::json;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use support::{Env, IMAGE, condition};

const N: usize = 60;
const QUOTA: f64 = 10.0;
const RATE: f64 = 100.0;

fn notebook(name: &str) -> Notebook {
    serde_json::from_value(json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {
            "flavor": "modelarts.vm.cpu.2u",
            "image": {"id": IMAGE},
            "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5},
        }
    }))
    .expect("valid Notebook")
}

fn ready(nb: &Notebook) -> bool {
    nb.status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// The lowest value the rate gauge of any scope shows.
fn gauge(env: &Env) -> Option<f64> {
    env.metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("modelarts_operator_cloud_request_rate{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(f64::min)
}

#[tokio::test]
async fn a_burst_against_a_quota_well_below_the_rate_converges_with_few_429s() {
    let env = Env::without_operator().await;
    env.cloud
        .set_quota(Some(QuotaSettings::per_second(QUOTA)))
        .expect("valid quota");
    let env = env.with_operator(|c| {
        c.resolver.rate = RATE;
        c.resolver.burst = RATE as u32;
        c.poll_interval = Duration::from_secs(5);
    });
    let started = Instant::now();
    let objects: Vec<Notebook> = (0..N).map(|i| notebook(&format!("quota-{i:02}"))).collect();
    futures::future::join_all(objects.iter().map(|nb| env.apply(nb))).await;
    let api = env.api::<Notebook>();
    let mut lowest = f64::MAX;
    loop {
        lowest = lowest.min(gauge(&env).unwrap_or(f64::MAX));
        let list = api.list(&Default::default()).await.expect("list");
        if list.items.iter().filter(|nb| ready(nb)).count() == N {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not all Ready after 120 s; throttled {} of {} calls",
            env.cloud.throttled_count(),
            env.cloud.call_counts().values().sum::<u64>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();

    // The cloud holds exactly one notebook per object.
    let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
    for item in env.cloud.inventory(PROJECT) {
        *per_name
            .entry(item["name"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_name.len(), N, "{per_name:?}");
    assert!(per_name.values().all(|c| *c == 1), "{per_name:?}");

    // 429s in the second half of the run, once the rate has come down.
    let half = env.cloud.now_ms() - took.as_millis() as i64 / 2;
    let late: Vec<u16> = env
        .cloud
        .request_log()
        .iter()
        .filter(|e| e.at_ms >= half)
        .map(|e| e.status)
        .collect();
    let late_throttled = late.iter().filter(|s| **s == 429).count();
    let calls: u64 = env.cloud.call_counts().values().sum();
    let throttled = env.cloud.throttled_count();
    let fraction = throttled as f64 / calls as f64;
    eprintln!(
        "{N} Ready in {:.1} s; {calls} calls ({:.1}/s), {throttled} throttled ({:.1} %), {late_throttled} of {} in the second half; lowest rate {lowest:.1}/s",
        took.as_secs_f64(),
        calls as f64 / took.as_secs_f64(),
        fraction * 100.0,
        late.len()
    );
    // Without a shared limiter most calls at 100/s would be throttled; with it, the first
    // few halvings cost some 429s and the rest of the run very few.
    assert!(fraction <= 0.25, "{throttled} of {calls} calls throttled");
    assert!(
        late_throttled as f64 <= 0.1 * late.len() as f64,
        "{late_throttled} of {} calls throttled in the second half",
        late.len()
    );
    // On a loaded machine the operator may not even reach the quota; whenever it was
    // throttled, the whole scope's rate came down.
    assert!(
        throttled == 0 || lowest < RATE,
        "the scope's rate came down: {lowest}"
    );
}
