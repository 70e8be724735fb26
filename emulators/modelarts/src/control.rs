//! The control plane for tests (moto's `/moto-api`): reset, progression, emulated time, faults,
//! out-of-band edits and statistics. [`Control`] is the in-process API; [`router`] serves the
//! same operations unsigned under `/_emulator/`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Secret;
use crate::errors::{ApiError, ApiResult};
use crate::faults::{FaultRule, InstalledFault};
use crate::notebooks::model::LeaseRenewal;
use crate::progression::{Family, Progression, ProgressionSettings};
use crate::state::{LogEntry, Shared, lock};

/// A resource kind addressed by out-of-band edits (`/_emulator/projects/{pid}/{kind}/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Notebook,
    Pool,
    Server,
    Hyperinstance,
}

impl std::str::FromStr for Kind {
    type Err = ApiError;
    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s {
            "notebooks" | "notebook" => Ok(Kind::Notebook),
            "pools" | "pool" => Ok(Kind::Pool),
            "dev-servers" | "servers" | "server" => Ok(Kind::Server),
            "hyperinstances" | "hyperinstance" => Ok(Kind::Hyperinstance),
            other => Err(ApiError::invalid(
                "kind",
                format!("{other} is not notebooks, pools, dev-servers or hyperinstances"),
            )),
        }
    }
}

fn unsupported(kind: Kind, what: &str) -> ApiError {
    ApiError::invalid("kind", format!("{kind:?} does not support {what} yet"))
}

/// In-process control handle; cheap to clone.
#[derive(Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl Control {
    /// Forget every resource, fault, counter and log entry; restore configured settings and
    /// the real clock.
    pub fn reset(&self) {
        self.shared.reset();
    }

    pub fn region(&self) -> &str {
        &self.shared.region
    }

    pub fn project_id(&self) -> &str {
        &self.shared.project_id
    }

    pub fn progression(&self) -> ProgressionSettings {
        lock(&self.shared.store).settings.progression
    }

    pub fn set_progression(&self, family: Family, p: Progression) {
        lock(&self.shared.store).settings.progression.set(family, p);
    }

    pub fn set_all_progression(&self, p: Progression) {
        lock(&self.shared.store).settings.progression = ProgressionSettings::all(p);
    }

    /// Move emulated time forward (transitions and lease expiry follow it).
    pub fn advance_time(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Emulated now in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.shared.clock.now_ms()
    }

    /// Eventual consistency: resources of `family` created from now on are missing from the
    /// next `reads` show/list calls (0 turns it off).
    pub fn set_eventual_consistency(&self, family: Family, reads: u32) {
        lock(&self.shared.store)
            .settings
            .hidden_reads
            .insert(family, reads);
    }

    pub fn set_lease_renewal(&self, mode: LeaseRenewal) {
        lock(&self.shared.store).settings.lease_renewal = mode;
    }

    pub fn add_fault(&self, rule: FaultRule) -> u64 {
        lock(&self.shared.faults).add(rule)
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        lock(&self.shared.faults).remove(id)
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    pub fn faults(&self) -> Vec<InstalledFault> {
        lock(&self.shared.faults).list()
    }

    pub fn add_credentials(&self, ak: &str, sk: &str, security_token: Option<&str>) {
        let mut auth = self.shared.auth.write().unwrap_or_else(|e| e.into_inner());
        auth.keys.insert(
            ak.to_string(),
            Secret {
                sk: sk.to_string(),
                security_token: security_token.map(str::to_string),
            },
        );
    }

    pub fn add_auth_token(&self, token: &str) {
        self.shared
            .auth
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .tokens
            .insert(token.to_string());
    }

    /// A resource as the API would show it, without counting as a read or being hidden by
    /// eventual consistency (for assertions in tests).
    pub fn get(&self, project: &str, kind: Kind, id: &str) -> ApiResult<Value> {
        self.shared.with_project(project, |p, ctx, _| match kind {
            Kind::Notebook => p.notebooks.peek(id, ctx),
            Kind::Pool => p.pools.peek(id, ctx),
            Kind::Server => p.servers.peek(id, ctx),
            Kind::Hyperinstance => p.servers.show_hyper(id, ctx),
        })
    }

    /// Every stored resource of `kind` as `get` shows it (for counting the cloud in tests):
    /// hidden (eventually consistent) ones included, deleted ones as their final state.
    pub fn list(&self, project: &str, kind: Kind) -> Vec<Value> {
        let ids = self.shared.with_project(project, |p, _, _| match kind {
            Kind::Notebook => p.notebooks.ids(),
            Kind::Pool => p.pools.ids(),
            Kind::Server => p.servers.ids(),
            Kind::Hyperinstance => p.servers.hyper_ids(),
        });
        ids.iter()
            .filter_map(|id| self.get(project, kind, id).ok())
            .collect()
    }

    /// Out-of-band status change, as if the platform or a console user did it.
    pub fn set_status(&self, project: &str, kind: Kind, id: &str, status: &str) -> ApiResult<()> {
        self.shared.with_project(project, |p, ctx, _| match kind {
            Kind::Notebook => p.notebooks.force_status(id, status, ctx),
            Kind::Pool => p.pools.force_status(id, status, ctx),
            Kind::Server => p.servers.force_status(id, status, ctx),
            Kind::Hyperinstance => p.servers.force_hyper_status(id, status, ctx),
        })
    }

    /// A console user pressing start or stop (the normal preconditions apply).
    pub fn console_action(&self, project: &str, kind: Kind, id: &str, action: &str) -> ApiResult<()> {
        self.shared.with_project(project, |p, ctx, _| match kind {
            Kind::Notebook => p.notebooks.console_action(id, action, ctx),
            Kind::Server => p.servers.console_action(id, action, ctx),
            Kind::Hyperinstance => p
                .servers
                .hyper_action(id, &action.to_ascii_uppercase(), &serde_json::Value::Null, ctx)
                .map(drop),
            other => Err(unsupported(other, "console actions")),
        })
    }

    pub fn add_tags(&self, project: &str, kind: Kind, id: &str, tags: &[(&str, &str)]) -> ApiResult<()> {
        let tags: Vec<(String, Option<String>)> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
        self.shared.with_project(project, |p, ctx, _| match kind {
            Kind::Notebook => p.notebooks.add_tags(id, tags, ctx),
            Kind::Pool => p.pools.add_tags(id, tags, ctx).map(drop),
            Kind::Hyperinstance => p.servers.hyper_console_tags(id, tags, &[], ctx),
            other => Err(unsupported(other, "tags")),
        })
    }

    pub fn remove_tags(&self, project: &str, kind: Kind, id: &str, keys: &[&str]) -> ApiResult<()> {
        let keys: Vec<(String, Option<String>)> = keys.iter().map(|k| (k.to_string(), None)).collect();
        self.shared.with_project(project, |p, ctx, _| match kind {
            Kind::Notebook => p.notebooks.remove_tags(id, &keys, ctx),
            Kind::Pool => p.pools.remove_tags(id, &keys, ctx).map(drop),
            Kind::Hyperinstance => {
                let keys: Vec<String> = keys.into_iter().map(|(k, _)| k).collect();
                p.servers.hyper_console_tags(id, vec![], &keys, ctx)
            }
            other => Err(unsupported(other, "tags")),
        })
    }

    /// Delete a resource at once, bypassing preconditions (someone deleted it in the console).
    pub fn delete_resource(&self, project: &str, kind: Kind, id: &str) -> ApiResult<()> {
        self.shared.with_project(project, |p, _, _| match kind {
            Kind::Notebook => p.notebooks.remove(id),
            Kind::Pool => p.pools.remove(id),
            Kind::Server => p.servers.remove(id),
            Kind::Hyperinstance => p.servers.remove_hyper(id),
        })
    }

    /// A console user scaling one flavor of a pool to `count` nodes (0 removes the flavor).
    pub fn set_pool_node_count(&self, project: &str, pool: &str, flavor: &str, count: i64) -> ApiResult<()> {
        self.shared.with_project(project, |p, ctx, _| {
            p.pools.set_node_count(pool, flavor, count, ctx)
        })
    }

    /// Calls so far for one route, e.g. `("GET", "/v1/{project_id}/notebooks/{id}")`.
    pub fn call_count(&self, method: &str, template: &str) -> u64 {
        let key = format!("{} {template}", method.to_ascii_uppercase());
        lock(&self.shared.stats).counters.get(&key).copied().unwrap_or(0)
    }

    /// All counters, keyed `METHOD /route/{template}`.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.stats).counters.clone()
    }

    /// The most recent API requests (bounded), oldest first.
    pub fn request_log(&self) -> Vec<LogEntry> {
        lock(&self.shared.stats).log.iter().cloned().collect()
    }

    pub fn clear_stats(&self) {
        let mut stats = lock(&self.shared.stats);
        stats.counters.clear();
        stats.throttled.clear();
        stats.log.clear();
    }

    /// Every resource stored in a project (notebooks, pools, dev-servers with their supernode as
    /// `parent`, hyperinstances), eventually consistent ones included, without counting reads:
    /// what a test counts the cloud with. Each item: kind, id, name, status, tags, created_at.
    pub fn inventory(&self, project: &str) -> Vec<Value> {
        self.shared.with_project(project, |p, ctx, _| {
            let mut all = p.notebooks.inventory(ctx);
            all.extend(p.pools.inventory(ctx));
            all.extend(p.servers.inventory(ctx));
            all
        })
    }

    /// Number of pools stored in a project, hidden (eventually consistent) ones included.
    pub fn pool_count(&self, project: &str) -> usize {
        self.shared.with_project(project, |p, _, _| p.pools.len())
    }

    /// Number of notebooks stored in a project (finished deletions excluded lazily).
    pub fn notebook_count(&self, project: &str) -> usize {
        self.shared.with_project(project, |p, _, _| p.notebooks.len())
    }
}

// ---------------------------------------------------------------- HTTP ----

type App = Arc<Shared>;

fn ctl(s: &App) -> Control {
    Control { shared: s.clone() }
}

fn ok() -> Json<Value> {
    Json(json!({"ok": true}))
}

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(describe))
        .route("/reset", post(reset))
        .route("/progression", get(get_progression).put(put_progression))
        .route("/progression/{family}", put(put_family_progression))
        .route("/time", get(get_time))
        .route("/time/advance", post(advance_time))
        .route("/eventual-consistency", post(eventual_consistency))
        .route("/lease-renewal", put(lease_renewal))
        .route("/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/calls", get(calls).delete(clear_calls))
        .route("/requests", get(requests))
        .route("/credentials", post(add_credentials))
        .route("/projects/{pid}/inventory", get(inventory))
        .route("/projects/{pid}/{kind}/{id}", get(peek).delete(delete_resource))
        .route("/projects/{pid}/{kind}/{id}/status", post(set_status))
        .route("/projects/{pid}/{kind}/{id}/action", post(action))
        .route("/projects/{pid}/{kind}/{id}/nodes", put(set_pool_nodes))
        .route(
            "/projects/{pid}/{kind}/{id}/tags",
            post(add_tags).delete(remove_tags),
        )
        .merge(crate::quota::router())
}

async fn describe(State(s): State<App>) -> Json<Value> {
    Json(json!({"region": s.region, "project_id": s.project_id, "now_ms": s.clock.now_ms()}))
}

async fn reset(State(s): State<App>) -> Json<Value> {
    ctl(&s).reset();
    ok()
}

async fn get_progression(State(s): State<App>) -> Json<ProgressionSettings> {
    Json(ctl(&s).progression())
}

/// Body: either `{"mode": ...}` for every family or a full `{"notebooks":…, "pools":…, "servers":…}`.
async fn put_progression(State(s): State<App>, Json(v): Json<Value>) -> ApiResult<Json<Value>> {
    if v.get("mode").is_some() {
        let p: Progression = serde_json::from_value(v).map_err(|e| ApiError::invalid("mode", e))?;
        ctl(&s).set_all_progression(p);
    } else {
        let all: ProgressionSettings = serde_json::from_value(v).map_err(|e| ApiError::invalid("body", e))?;
        lock(&s.store).settings.progression = all;
    }
    Ok(ok())
}

async fn put_family_progression(
    State(s): State<App>,
    Path(family): Path<String>,
    Json(v): Json<Value>,
) -> ApiResult<Json<Value>> {
    let family: Family = family
        .parse()
        .map_err(|e: String| ApiError::invalid("family", e))?;
    let p: Progression = serde_json::from_value(v).map_err(|e| ApiError::invalid("mode", e))?;
    ctl(&s).set_progression(family, p);
    Ok(ok())
}

async fn get_time(State(s): State<App>) -> Json<Value> {
    Json(json!({"now_ms": s.clock.now_ms(), "offset_ms": s.clock.offset_ms()}))
}

#[derive(Deserialize)]
struct Advance {
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    millis: u64,
}

async fn advance_time(State(s): State<App>, Json(a): Json<Advance>) -> Json<Value> {
    ctl(&s).advance_time(Duration::from_secs(a.seconds) + Duration::from_millis(a.millis));
    get_time(State(s)).await
}

#[derive(Deserialize)]
struct Consistency {
    family: String,
    reads: u32,
}

async fn eventual_consistency(State(s): State<App>, Json(c): Json<Consistency>) -> ApiResult<Json<Value>> {
    let family: Family = c
        .family
        .parse()
        .map_err(|e: String| ApiError::invalid("family", e))?;
    ctl(&s).set_eventual_consistency(family, c.reads);
    Ok(ok())
}

#[derive(Deserialize)]
struct Renewal {
    mode: LeaseRenewal,
}

async fn lease_renewal(State(s): State<App>, Json(r): Json<Renewal>) -> Json<Value> {
    ctl(&s).set_lease_renewal(r.mode);
    ok()
}

async fn list_faults(State(s): State<App>) -> Json<Vec<InstalledFault>> {
    Json(ctl(&s).faults())
}

async fn add_fault(State(s): State<App>, Json(rule): Json<FaultRule>) -> Json<Value> {
    Json(json!({"id": ctl(&s).add_fault(rule)}))
}

async fn clear_faults(State(s): State<App>) -> Json<Value> {
    ctl(&s).clear_faults();
    ok()
}

async fn remove_fault(State(s): State<App>, Path(id): Path<u64>) -> ApiResult<Json<Value>> {
    if ctl(&s).remove_fault(id) {
        Ok(ok())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "Emulator.404",
            format!("no fault {id}"),
        ))
    }
}

async fn calls(State(s): State<App>) -> Json<BTreeMap<String, u64>> {
    Json(ctl(&s).call_counts())
}

async fn clear_calls(State(s): State<App>) -> Json<Value> {
    ctl(&s).clear_stats();
    ok()
}

async fn requests(State(s): State<App>) -> Json<Vec<LogEntry>> {
    Json(ctl(&s).request_log())
}

#[derive(Deserialize)]
struct Creds {
    ak: String,
    sk: String,
    #[serde(default)]
    security_token: Option<String>,
}

async fn add_credentials(State(s): State<App>, Json(c): Json<Creds>) -> Json<Value> {
    ctl(&s).add_credentials(&c.ak, &c.sk, c.security_token.as_deref());
    ok()
}

async fn inventory(State(s): State<App>, Path(pid): Path<String>) -> Json<Value> {
    Json(json!({"items": ctl(&s).inventory(&pid)}))
}

async fn peek(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    ctl(&s).get(&pid, kind.parse()?, &id).map(Json)
}

async fn delete_resource(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    ctl(&s).delete_resource(&pid, kind.parse()?, &id)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct PoolNodes {
    flavor: String,
    count: i64,
}

async fn set_pool_nodes(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
    Json(b): Json<PoolNodes>,
) -> ApiResult<Json<Value>> {
    if kind.parse::<Kind>()? != Kind::Pool {
        return Err(unsupported(kind.parse()?, "node counts"));
    }
    ctl(&s).set_pool_node_count(&pid, &id, &b.flavor, b.count)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct SetStatus {
    status: String,
}

async fn set_status(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
    Json(b): Json<SetStatus>,
) -> ApiResult<Json<Value>> {
    ctl(&s).set_status(&pid, kind.parse()?, &id, &b.status)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct Action {
    action: String,
}

async fn action(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
    Json(b): Json<Action>,
) -> ApiResult<Json<Value>> {
    ctl(&s).console_action(&pid, kind.parse()?, &id, &b.action)?;
    Ok(ok())
}

#[derive(Deserialize)]
struct TagBody {
    #[serde(default)]
    tags: Vec<TagKv>,
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Deserialize)]
struct TagKv {
    key: String,
    #[serde(default)]
    value: String,
}

async fn add_tags(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
    Json(b): Json<TagBody>,
) -> ApiResult<Json<Value>> {
    let tags: Vec<(&str, &str)> = b
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    ctl(&s).add_tags(&pid, kind.parse()?, &id, &tags)?;
    Ok(ok())
}

async fn remove_tags(
    State(s): State<App>,
    Path((pid, kind, id)): Path<(String, String, String)>,
    Json(b): Json<TagBody>,
) -> ApiResult<Json<Value>> {
    let keys: Vec<&str> = b
        .keys
        .iter()
        .map(String::as_str)
        .chain(b.tags.iter().map(|t| t.key.as_str()))
        .collect();
    ctl(&s).remove_tags(&pid, kind.parse()?, &id, &keys)?;
    Ok(ok())
}
