//! Resource pool backend (reference section 2) plus what pools stand on: networks and
//! resource flavors.

pub mod flavors;
pub mod model;
pub mod render;
pub mod requests;
pub mod routes;
mod tags;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::{continue_page, continue_start};
use crate::progression::{Family, Pending, take_due};
use crate::state::Ctx;
use crate::validate::Query;
use model::{Phase, Pool, Tick};
use requests::{CreateNetwork, CreatePool, PoolPatch};

pub const DEFAULT_NETWORK: &str = "network-default-0000";

#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub display_name: String,
    pub workspace_id: String,
    pub cidr: String,
    pub connection: Option<Value>,
    pub phase: &'static str,
    pub pending: Option<Pending<&'static str>>,
    pub created_at: i64,
}

#[derive(Debug, Default)]
pub struct Pools {
    by_seq: BTreeMap<u64, Pool>,
    index: HashMap<String, u64>,
    networks: BTreeMap<String, Network>,
    seeded: bool,
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(codes::POOL_NOT_FOUND, "Pool", name)
}

fn network_not_found(name: &str) -> ApiError {
    ApiError::not_found(codes::NETWORK_NOT_FOUND, "Network", name)
}

impl Pools {
    /// Pools stored, however they are progressing (deleted ones leave lazily, as for notebooks).
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    /// Every project starts with one Active network, as a console-created default would be.
    fn seed(&mut self, now: i64) {
        if !self.seeded {
            self.seeded = true;
            self.networks.insert(
                DEFAULT_NETWORK.into(),
                Network {
                    name: DEFAULT_NETWORK.into(),
                    display_name: "default-network".into(),
                    workspace_id: "0".into(),
                    cidr: "192.168.128.0/17".into(),
                    connection: None,
                    phase: "Active",
                    pending: None,
                    created_at: now,
                },
            );
        }
    }

    fn get_mut(&mut self, name: &str, ctx: &Ctx<'_>, read: bool) -> ApiResult<&mut Pool> {
        let seq = *self.index.get(name).ok_or_else(|| not_found(name))?;
        let pool = self.by_seq.get_mut(&seq).ok_or_else(|| not_found(name))?;
        if read && pool.hidden_reads > 0 {
            pool.hidden_reads -= 1;
            return Err(not_found(name));
        }
        if pool.tick(ctx.now, read) == Tick::Gone {
            self.by_seq.remove(&seq);
            self.index.remove(name);
            return Err(not_found(name));
        }
        self.by_seq.get_mut(&seq).ok_or_else(|| not_found(name))
    }

    fn tick_all(&mut self, ctx: &Ctx<'_>) {
        let mut gone = Vec::new();
        for (seq, p) in &mut self.by_seq {
            if p.tick(ctx.now, true) == Tick::Gone {
                gone.push(*seq);
            }
        }
        for seq in gone {
            if let Some(p) = self.by_seq.remove(&seq) {
                self.index.remove(&p.name);
            }
        }
    }

    pub fn create(&mut self, req: CreatePool, seq: u64, ctx: &Ctx<'_>) -> ApiResult<Value> {
        self.seed(ctx.now);
        if let Some(n) = &req.network
            && !self.networks.contains_key(n)
        {
            return Err(ApiError::invalid(
                "spec.network.name",
                format!("network {n} does not exist"),
            ));
        }
        let p = ctx.progression(Family::Pools);
        let name = format!("pool-{}", uuid::Uuid::new_v4().simple());
        let mut pool = Pool {
            seq,
            name: name.clone(),
            labels: req.labels,
            annotations: req.annotations,
            pool_type: req.pool_type,
            scope: req.scope,
            resources: req.resources,
            network: req.network,
            job_flavors: req.job_flavors,
            driver: req.driver,
            phase: Phase::Creating,
            pending: Some(Pending::new(Phase::Running, p, ctx.now)),
            message: String::new(),
            nodes: Vec::new(),
            node_seq: 0,
            tags: BTreeMap::new(),
            created_at: ctx.now,
            deleted_at: None,
            hidden_reads: ctx.hidden_reads(Family::Pools),
            change: None,
        };
        pool.reconcile_nodes(p, ctx.now, ctx.region);
        let out = render::pool(&pool, ctx);
        self.index.insert(name, seq);
        self.by_seq.insert(seq, pool);
        Ok(out)
    }

    pub fn show(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let pool = self.get_mut(name, ctx, true)?;
        Ok(render::pool(pool, ctx))
    }

    /// The pool as `show` renders it, without counting as a client read (control API).
    pub fn peek(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let pool = self.get_mut(name, ctx, false)?;
        Ok(render::pool(pool, ctx))
    }

    pub fn list(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let selector = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
        let status = q
            .enum_of("status", &["created", "failed", "creating"])?
            .map(str::to_string);
        let workspace = q.get("workspaceId").map(str::to_string);
        self.tick_all(ctx);
        let mut items = Vec::new();
        for pool in self.by_seq.values_mut() {
            let phase_ok = match status.as_deref() {
                None => true,
                Some("created") => matches!(pool.phase, Phase::Running | Phase::Abnormal),
                Some("creating") => pool.phase == Phase::Creating,
                Some(_) => pool.phase == Phase::Error,
            };
            let ws = pool
                .labels
                .get("os.modelarts/workspace.id")
                .map(String::as_str)
                .unwrap_or("0");
            if !phase_ok || workspace.as_deref().is_some_and(|w| w != ws) || !selector.matches(&pool.labels) {
                continue;
            }
            if pool.hidden_reads > 0 {
                pool.hidden_reads -= 1;
                continue;
            }
            items.push(render::pool(pool, ctx));
        }
        Ok(json!({"apiVersion": "v2", "kind": "PoolList", "items": items}))
    }

    pub fn patch(&mut self, name: &str, patch: PoolPatch, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Pools);
        let pool = self.get_mut(name, ctx, false)?;
        pool.require_running("update")?;
        if pool.is_prepaid()
            && patch.resources.is_some()
            && !patch
                .annotations
                .iter()
                .any(|(k, v)| k == "os.modelarts/order.id" && v.is_some())
        {
            return Err(ApiError::invalid(
                "metadata.annotations.os.modelarts/order.id",
                "is required to change the resources of a yearly/monthly pool",
            ));
        }
        for (k, v) in patch.annotations {
            match v {
                Some(v) => pool.annotations.insert(k, v),
                None => pool.annotations.remove(&k),
            };
        }
        let scope_changes = patch.scope.as_ref().is_some_and(|s| *s != pool.scope);
        let driver_changes = patch
            .driver
            .as_ref()
            .is_some_and(|d| Some(d) != pool.driver.as_ref());
        if scope_changes || driver_changes {
            pool.change = Some(model::SpecChange {
                previous_scope: pool.scope.clone(),
                driver_upgrading: driver_changes,
                pending: Pending::new((), p, ctx.now),
            });
        }
        if let Some(s) = patch.scope {
            pool.scope = s;
        }
        if let Some(j) = patch.job_flavors {
            pool.job_flavors = j;
        }
        if let Some(d) = patch.driver {
            pool.driver = Some(d);
        }
        if let Some(r) = patch.resources {
            // Merge-patch replaces arrays: a flavor left out scales to zero.
            pool.resources = r;
            pool.reconcile_nodes(p, ctx.now, ctx.region);
        }
        Ok(render::pool(pool, ctx))
    }

    pub fn delete(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Pools);
        let pool = self.get_mut(name, ctx, false)?;
        pool.delete(p, ctx.now)?;
        Ok(render::pool(pool, ctx))
    }

    pub fn list_nodes(&mut self, name: &str, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let limit = q.int("limit", 0, 500)?.unwrap_or(500);
        let limit = if limit == 0 { 500 } else { limit as usize };
        let start = continue_start(q)?;
        let pool = self.get_mut(name, ctx, true)?;
        let (page, meta) = continue_page(pool.nodes.iter().collect(), start, limit);
        let items: Vec<Value> = page.into_iter().map(|n| render::node(n, pool, ctx)).collect();
        Ok(json!({"apiVersion": "v2", "kind": "NodeList", "metadata": meta, "items": items}))
    }

    pub fn show_node(&mut self, name: &str, node: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let pool = self.get_mut(name, ctx, true)?;
        let n = pool
            .nodes
            .iter()
            .find(|n| n.name == node)
            .ok_or_else(|| ApiError::not_found(codes::POOL_NOT_FOUND, "Node", node))?;
        Ok(render::node(n, pool, ctx))
    }

    pub fn delete_nodes(&mut self, name: &str, names: &[String], ctx: &Ctx<'_>) -> ApiResult<()> {
        let p = ctx.progression(Family::Pools);
        self.get_mut(name, ctx, false)?.delete_nodes(names, p, ctx.now)
    }

    // ---- networks ----

    pub fn create_network(&mut self, req: CreateNetwork, ctx: &Ctx<'_>) -> ApiResult<Value> {
        self.seed(ctx.now);
        if self.networks.values().any(|n| n.display_name == req.display_name) {
            return Err(ApiError::invalid(
                "metadata.labels.os.modelarts/name",
                format!("network {} already exists", req.display_name),
            ));
        }
        let name = format!(
            "network-{}-{}",
            &req.display_name[..req.display_name.len().min(8)],
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let n = Network {
            name: name.clone(),
            display_name: req.display_name,
            workspace_id: req.workspace_id,
            cidr: req.cidr,
            connection: req.connection,
            phase: "Creating",
            pending: Some(Pending::new("Active", ctx.progression(Family::Pools), ctx.now)),
            created_at: ctx.now,
        };
        let out = render::network(&n, ctx);
        self.networks.insert(name, n);
        Ok(out)
    }

    fn network_mut(&mut self, name: &str, ctx: &Ctx<'_>, read: bool) -> ApiResult<&mut Network> {
        self.seed(ctx.now);
        let n = self
            .networks
            .get_mut(name)
            .ok_or_else(|| network_not_found(name))?;
        if let Some(to) = take_due(&mut n.pending, ctx.now, read) {
            n.phase = to;
        }
        Ok(n)
    }

    pub fn show_network(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        Ok(render::network(self.network_mut(name, ctx, true)?, ctx))
    }

    pub fn list_networks(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        self.seed(ctx.now);
        let selector = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
        let limit = q.int("limit", 1, 500)?.unwrap_or(500) as usize;
        let start = continue_start(q)?;
        let names: Vec<String> = self.networks.keys().cloned().collect();
        let mut items = Vec::new();
        for name in names {
            let n = self.network_mut(&name, ctx, true)?;
            let labels: BTreeMap<String, String> = [
                ("os.modelarts/name".to_string(), n.display_name.clone()),
                ("os.modelarts/workspace.id".to_string(), n.workspace_id.clone()),
            ]
            .into();
            if selector.matches(&labels) {
                items.push(render::network(n, ctx));
            }
        }
        let (page, meta) = continue_page(items, start, limit);
        Ok(json!({"apiVersion": "v1", "kind": "NetworkList", "metadata": meta, "items": page}))
    }

    pub fn delete_network(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        self.tick_all(ctx);
        self.network_mut(name, ctx, false)?;
        if let Some(p) = self.by_seq.values().find(|p| p.network.as_deref() == Some(name)) {
            return Err(ApiError::bad_state(
                codes::NETWORK_IN_USE,
                format!("Network {name} is used by pool {}.", p.name),
            ));
        }
        let mut n = self
            .networks
            .remove(name)
            .ok_or_else(|| network_not_found(name))?;
        n.phase = "Deleting";
        Ok(render::network(&n, ctx))
    }

    // ---- out-of-band ----

    pub fn force_status(&mut self, name: &str, phase: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        let ph = Phase::parse(phase)
            .ok_or_else(|| ApiError::invalid("status", format!("unknown pool phase {phase}")))?;
        let pool = self.get_mut(name, ctx, false)?;
        pool.phase = ph;
        pool.pending = None;
        pool.message = format!("{phase} set by the emulator control API");
        Ok(())
    }

    /// A console user scaling one flavor (no phase or billing preconditions).
    pub fn set_node_count(&mut self, name: &str, flavor: &str, count: i64, ctx: &Ctx<'_>) -> ApiResult<()> {
        if flavors::find(flavor).is_none() {
            return Err(ApiError::invalid("flavor", format!("unknown flavor {flavor}")));
        }
        if !(0..=requests::MAX_NODES_PER_FLAVOR).contains(&count) {
            return Err(ApiError::invalid(
                "count",
                format!("{count} is outside [0, {}]", requests::MAX_NODES_PER_FLAVOR),
            ));
        }
        let p = ctx.progression(Family::Pools);
        let pool = self.get_mut(name, ctx, false)?;
        match pool.resources.iter_mut().find(|r| r.flavor == flavor) {
            Some(r) => {
                r.count = count;
                r.max_count = r.max_count.max(count);
            }
            None => pool.resources.push(model::ResourceSpec {
                flavor: flavor.to_string(),
                count,
                max_count: count,
                azs: None,
                extra: serde_json::Map::new(),
            }),
        }
        pool.resources.retain(|r| r.count > 0);
        pool.reconcile_nodes(p, ctx.now, ctx.region);
        Ok(())
    }

    pub fn remove(&mut self, name: &str) -> ApiResult<()> {
        let seq = self.index.remove(name).ok_or_else(|| not_found(name))?;
        self.by_seq.remove(&seq);
        Ok(())
    }

    /// Every stored pool (control API inventory), named by its display name label; nothing
    /// counts as a client read and nothing is hidden.
    pub fn inventory(&mut self, ctx: &Ctx<'_>) -> Vec<Value> {
        let gone: Vec<u64> = (self.by_seq.iter_mut())
            .filter_map(|(seq, pool)| (pool.tick(ctx.now, false) == Tick::Gone).then_some(*seq))
            .collect();
        for seq in gone {
            if let Some(pool) = self.by_seq.remove(&seq) {
                self.index.remove(&pool.name);
            }
        }
        (self.by_seq.values())
            .map(|pool| {
                let name = pool.labels.get("os.modelarts/name").unwrap_or(&pool.name);
                json!({"kind": "pools", "id": pool.name, "name": name, "status": pool.phase.as_str(),
                       "tags": pool.tags, "created_at": pool.created_at})
            })
            .collect()
    }
}

/// K8s-style equality selectors: `k=v`, `k==v`, `k!=v`, `k` (exists), `!k` (absent), ANDed.
pub struct LabelSelector(Vec<(String, Op)>);

pub enum Op {
    Eq(String),
    Ne(String),
    Exists,
    Absent,
}

impl LabelSelector {
    pub fn parse(s: &str) -> ApiResult<Self> {
        let mut out = Vec::new();
        for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (key, op) = if let Some((k, v)) = term.split_once("!=") {
                (k, Op::Ne(v.to_string()))
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (k, Op::Eq(v.to_string()))
            } else if let Some(k) = term.strip_prefix('!') {
                (k, Op::Absent)
            } else {
                (term, Op::Exists)
            };
            if key.trim().is_empty() {
                return Err(ApiError::invalid("labelSelector", format!("'{term}' has no key")));
            }
            out.push((key.trim().to_string(), op));
        }
        Ok(LabelSelector(out))
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(k, op)| match op {
            Op::Eq(v) => labels.get(k) == Some(v),
            Op::Ne(v) => labels.get(k) != Some(v),
            Op::Exists => labels.contains_key(k),
            Op::Absent => !labels.contains_key(k),
        })
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
