//! Faults through the emulators' control APIs: the cloud's (5xx, 429 with Retry-After,
//! commit-then-fail answered with an error or a dropped connection, dropped requests, latency,
//! eventual consistency) and the cluster's (failed requests, closed watches, latency).
use rand::{Rng, rngs::StdRng, seq::IndexedRandom};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct Faults {
    http: reqwest::Client,
    cloud: String,
    kube: String,
    /// How many of each fault were injected.
    pub injected: BTreeMap<&'static str, u32>,
}

/// Create, tag and delete calls of every family: where a lost answer hurts most.
const MUTATIONS: &[(&str, &str)] = &[
    ("POST", "/v1/*/notebooks"),
    ("POST", "/v1/*/notebooks/*/tags/create"),
    ("DELETE", "/v1/*/notebooks/*"),
    ("POST", "/v2/*/pools"),
    ("PATCH", "/v2/*/pools/*"),
    ("DELETE", "/v2/*/pools/*"),
    ("POST", "/v1/*/pools/*/tags/create"),
    ("POST", "/v1/*/dev-servers"),
    ("DELETE", "/v1/*/dev-servers/*"),
    ("POST", "/v1/*/dev-servers/hyperinstance/*/tags/create"),
    ("POST", "/v1/*/dev-servers/hyperinstance/*/live-scale-up"),
    ("DELETE", "/v1/*/dev-servers/hyperinstance/*"),
];
const FAMILIES: &[&str] = &["notebooks", "pools", "servers"];
const KUBE_VERBS: &[&str] = &["list", "watch", "create", "patch", "update", "delete", "get"];
const KUBE_RESOURCES: &[&str] = &["notebooks", "resourcepools", "liteservers", "events", "*"];

impl Faults {
    pub fn new(cloud: &str, kube: &str) -> Faults {
        Faults {
            http: reqwest::Client::new(),
            cloud: cloud.trim_end_matches('/').into(),
            kube: kube.trim_end_matches('/').into(),
            injected: BTreeMap::new(),
        }
    }

    async fn post(&self, url: String, body: Value) -> Result<(), String> {
        let resp = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: {}", resp.status()))
        }
    }

    async fn cloud_rule(&mut self, what: &'static str, rule: Value) -> Result<(), String> {
        *self.injected.entry(what).or_default() += 1;
        self.post(format!("{}/_emulator/faults", self.cloud), rule).await
    }

    async fn consistency(&self, family: &str, reads: u32) -> Result<(), String> {
        let url = format!("{}/_emulator/eventual-consistency", self.cloud);
        self.post(url, json!({"family": family, "reads": reads})).await
    }

    /// One random fault, cloud or cluster; each cloud rule fires a few times and disarms.
    pub async fn inject(&mut self, rng: &mut StdRng) -> Result<(), String> {
        let times = rng.random_range(1..=4);
        let (method, path) = *MUTATIONS.choose(rng).unwrap_or(&MUTATIONS[0]);
        match rng.random_range(0..11) {
            0 => {
                let status = *[500, 502, 503].choose(rng).unwrap_or(&500);
                self.cloud_rule("cloud 5xx", json!({"path": "/v*", "kind": "status", "status": status, "times": times}))
                    .await
            }
            1 => {
                self.cloud_rule(
                    "cloud 429 Retry-After",
                    json!({"path": "/v*", "kind": "status", "status": 429, "retry_after": 1, "times": times}),
                )
                .await
            }
            2 | 3 => {
                let status = *[500, 503, 504].choose(rng).unwrap_or(&500);
                self.cloud_rule(
                    "cloud commit-then-fail (error)",
                    json!({"method": method, "path": path, "kind": "commit_then_fail", "status": status, "times": 1}),
                )
                .await
            }
            4 | 5 => {
                self.cloud_rule(
                    "cloud commit-then-fail (dropped connection)",
                    json!({"method": method, "path": path, "kind": "commit_then_fail", "drop": true, "times": 1}),
                )
                .await
            }
            6 => {
                self.cloud_rule("cloud dropped request", json!({"path": "/v*", "kind": "drop", "times": 1}))
                    .await
            }
            7 => {
                let millis = rng.random_range(200..=2000);
                self.cloud_rule(
                    "cloud latency",
                    json!({"path": "/v*", "kind": "latency", "millis": millis, "times": times * 4}),
                )
                .await
            }
            8 => {
                *self.injected.entry("cloud eventual consistency").or_default() += 1;
                let family = *FAMILIES.choose(rng).unwrap_or(&FAMILIES[0]);
                self.consistency(family, rng.random_range(1..=3)).await
            }
            9 => {
                let verb = *KUBE_VERBS.choose(rng).unwrap_or(&"patch");
                let resource = *KUBE_RESOURCES.choose(rng).unwrap_or(&"*");
                let status = *[500, 503, 429].choose(rng).unwrap_or(&500);
                let what = match verb {
                    "watch" => "kube failed watch",
                    "list" | "get" => "kube failed read",
                    _ => "kube failed write",
                };
                *self.injected.entry(what).or_default() += 1;
                let url = format!("{}/_emulator/faults/fail", self.kube);
                self.post(
                    url,
                    json!({"verb": verb, "resource": resource, "status": status, "count": times}),
                )
                .await
            }
            _ => {
                if rng.random_bool(0.6) {
                    *self.injected.entry("kube closed watches").or_default() += 1;
                    self.post(format!("{}/_emulator/watches/close", self.kube), json!({}))
                        .await
                } else {
                    *self.injected.entry("kube latency").or_default() += 1;
                    let millis = *[0, 50, 200].choose(rng).unwrap_or(&0);
                    let url = format!("{}/_emulator/faults/latency", self.kube);
                    self.post(url, json!({"millis": millis})).await
                }
            }
        }
    }

    /// Every fault off: cloud rules, eventual consistency, cluster rules and latency.
    pub async fn clear(&self) -> Result<(), String> {
        let url = format!("{}/_emulator/faults", self.cloud);
        let resp = self.http.delete(&url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        for family in FAMILIES {
            self.consistency(family, 0).await?;
        }
        self.post(format!("{}/_emulator/faults/reset", self.kube), json!({}))
            .await
    }
}
