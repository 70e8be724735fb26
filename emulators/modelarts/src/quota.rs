//! A server-side request quota per project, like an API Gateway throttling policy: above it a
//! request is answered `429 APIGW.0308` with `Retry-After`, and nothing is changed.
//!
//! The policy is a token bucket per project: `rps` tokens per second, at most `burst` saved up
//! (default: one second's worth, `rps`). A request takes one token or is throttled. Time is
//! the real (monotonic) clock, not the emulated one: clients pace themselves on real time.
//! Only authenticated API calls with a project in their path count; the control API and IAM
//! never do.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::control::Control;
use crate::errors::{ApiError, ApiResult, codes};
use crate::state::{Shared, lock};

/// A quota: `rps` requests per second per project, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuotaSettings {
    pub rps: f64,
    /// Requests saved up while idle; defaults to `rps` (one second's worth), at least 1.
    #[serde(default)]
    pub burst: Option<f64>,
}

impl QuotaSettings {
    pub fn per_second(rps: f64) -> Self {
        QuotaSettings { rps, burst: None }
    }

    fn capacity(&self) -> f64 {
        self.burst.unwrap_or(self.rps).max(1.0)
    }

    /// A clear error naming the field and the rule, for the control API and the command line.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rps.is_finite() && self.rps > 0.0) {
            return Err(format!("quota rps must be a positive number, got {}", self.rps));
        }
        match self.burst {
            Some(b) if !(b.is_finite() && b >= 1.0) => {
                Err(format!("quota burst must be a number of at least 1, got {b}"))
            }
            _ => Ok(()),
        }
    }
}

/// The buckets of every project, for one setting.
#[derive(Debug, Default)]
pub struct Quota {
    settings: Option<QuotaSettings>,
    /// Project → (tokens, seconds since `epoch` when last updated).
    buckets: HashMap<String, (f64, f64)>,
}

impl Quota {
    pub fn new(settings: Option<QuotaSettings>) -> Self {
        Quota {
            settings,
            buckets: HashMap::new(),
        }
    }

    pub fn settings(&self) -> Option<QuotaSettings> {
        self.settings
    }

    /// Replaces the policy; every project starts again with a full bucket.
    pub fn set(&mut self, settings: Option<QuotaSettings>) {
        self.settings = settings;
        self.buckets.clear();
    }

    /// Admits one request of `project` at `now` (seconds on any monotonic clock), or returns
    /// the whole seconds to wait before a token is available (at least 1: `Retry-After` counts
    /// in whole seconds, and 0 would invite an immediate retry).
    pub fn admit(&mut self, project: &str, now: f64) -> Result<(), u64> {
        let Some(settings) = self.settings else {
            return Ok(());
        };
        let capacity = settings.capacity();
        if !self.buckets.contains_key(project) {
            self.buckets.insert(project.to_string(), (capacity, now));
        }
        let (tokens, last) = self.buckets.get_mut(project).expect("inserted above");
        *tokens = (*tokens + (now - *last).max(0.0) * settings.rps).min(capacity);
        *last = now.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err((((1.0 - *tokens) / settings.rps).ceil() as u64).max(1))
    }
}

/// The gateway's quota check: `Some(response)` when the request is throttled (and counted).
pub(crate) fn check(shared: &Shared, template: &str, path: &str, route: &str) -> Option<ApiError> {
    let project = project_of(template, path)?;
    let now = shared.quota_epoch.elapsed().as_secs_f64();
    let (retry_after, rps) = {
        let mut quota = lock(&shared.quota);
        let rps = quota.settings.map(|s| s.rps)?;
        (quota.admit(project, now).err()?, rps)
    };
    shared.record_throttled(route);
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::THROTTLED,
        // The reference's message, then the policy in API Gateway's wording.
        format!(
            "The throttling threshold has been reached: policy user over ratelimit,limit:{rps},time:1 second"
        ),
    );
    e.retry_after = Some(retry_after);
    Some(e)
}

/// The concrete segment standing where the route template has `{project_id}`.
fn project_of<'a>(template: &str, path: &'a str) -> Option<&'a str> {
    let at = template.split('/').position(|s| s == "{project_id}")?;
    path.split('/').nth(at).filter(|p| !p.is_empty())
}

impl Control {
    /// Turn the quota on (`Some`) or off (`None`); every project starts with a full bucket.
    pub fn set_quota(&self, settings: Option<QuotaSettings>) -> Result<(), String> {
        if let Some(s) = &settings {
            s.validate()?;
        }
        lock(&self.shared.quota).set(settings);
        Ok(())
    }

    pub fn quota(&self) -> Option<QuotaSettings> {
        lock(&self.shared.quota).settings()
    }

    /// Requests answered 429 by the quota so far (injected 429 faults are not counted here).
    pub fn throttled_count(&self) -> u64 {
        lock(&self.shared.stats).throttled.values().sum()
    }

    /// Throttled requests by route, keyed `METHOD /route/{template}` like [`Control::call_counts`].
    pub fn throttled_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats).throttled.clone()
    }
}

// ---------------------------------------------------------------- HTTP ----

type App = Arc<Shared>;

/// `GET/PUT/DELETE /_emulator/quota`.
pub fn router() -> Router<App> {
    Router::new().route("/quota", get(get_quota).put(put_quota).delete(delete_quota))
}

fn describe(c: &Control) -> Json<Value> {
    Json(json!({
        "quota": c.quota(),
        "throttled": c.throttled_count(),
        "throttled_by_route": c.throttled_counts(),
    }))
}

async fn get_quota(State(s): State<App>) -> Json<Value> {
    describe(&Control { shared: s })
}

async fn put_quota(State(s): State<App>, Json(q): Json<QuotaSettings>) -> ApiResult<Json<Value>> {
    let c = Control { shared: s };
    c.set_quota(Some(q)).map_err(|e| ApiError::invalid("quota", e))?;
    Ok(describe(&c))
}

async fn delete_quota(State(s): State<App>) -> Json<Value> {
    let c = Control { shared: s };
    let _ = c.set_quota(None);
    describe(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_serves_its_burst_then_the_rate() {
        let mut q = Quota::new(Some(QuotaSettings::per_second(10.0)));
        for _ in 0..10 {
            assert_eq!(q.admit("p", 0.0), Ok(()));
        }
        assert_eq!(q.admit("p", 0.0), Err(1), "the 11th request in the same instant");
        assert_eq!(q.admit("p", 0.05), Err(1), "half a token is not a token");
        assert_eq!(q.admit("p", 0.1), Ok(()), "one token after 1/rps s");
        // A long idle period saves up at most the burst.
        let admitted = (0..50).filter(|_| q.admit("p", 100.0).is_ok()).count();
        assert_eq!(admitted, 10);
    }

    #[test]
    fn projects_have_separate_buckets_and_burst_is_configurable() {
        let mut q = Quota::new(Some(QuotaSettings {
            rps: 2.0,
            burst: Some(1.0),
        }));
        assert_eq!(q.admit("a", 0.0), Ok(()));
        assert_eq!(q.admit("a", 0.0), Err(1));
        assert_eq!(q.admit("b", 0.0), Ok(()), "another project's bucket is full");
        assert_eq!(q.admit("a", 0.5), Ok(()));
    }

    #[test]
    fn a_slow_quota_asks_for_the_whole_wait_and_no_quota_admits_everything() {
        let mut q = Quota::new(Some(QuotaSettings::per_second(0.25)));
        assert_eq!(q.admit("p", 0.0), Ok(()));
        assert_eq!(q.admit("p", 0.0), Err(4));
        q.set(None);
        assert!((0..1000).all(|_| q.admit("p", 0.0).is_ok()));
    }

    #[test]
    fn bad_settings_are_refused_with_the_field_named() {
        let err = QuotaSettings::per_second(0.0).validate().unwrap_err();
        assert!(err.contains("rps"), "{err}");
        let err = QuotaSettings {
            rps: 5.0,
            burst: Some(0.5),
        }
        .validate()
        .unwrap_err();
        assert!(err.contains("burst"), "{err}");
    }

    #[test]
    fn the_project_is_the_segment_at_the_templates_project_id() {
        assert_eq!(
            project_of("/v1/{project_id}/notebooks/{id}", "/v1/abc/notebooks/x"),
            Some("abc")
        );
        assert_eq!(project_of("/v3/projects", "/v3/projects"), None);
    }
}
