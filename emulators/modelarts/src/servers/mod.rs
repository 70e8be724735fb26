//! Lite Server backend: dev-servers (reference 3.1–3.10, 3.12) and supernodes (3.11, in
//! `hyper.rs`). Supernode children are ordinary servers with `hps` set.

pub mod catalog;
mod hyper;
pub mod model;
pub mod render;
pub mod requests;
pub mod routes;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::offset_page;
use crate::progression::{Family, Pending};
use crate::state::Ctx;
use crate::validate::Query;
use model::{Hyper, Server, Status, Tick};
use requests::{BatchAction, CreateServer};

#[derive(Debug, Default)]
pub struct Servers {
    by_seq: BTreeMap<u64, Server>,
    index: HashMap<String, u64>,
    hypers: BTreeMap<u64, Hyper>,
    hindex: HashMap<String, u64>,
}

impl Servers {
    /// IDs of every stored server (supernode nodes included), hidden ones included.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.index.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// IDs of every stored hyperinstance (supernode), hidden ones included.
    pub fn hyper_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.hindex.keys().cloned().collect();
        ids.sort();
        ids
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(codes::SERVER_NOT_FOUND, "Server", id)
}

/// `offset`/`limit` (0 or absent → 10, at most 1024) and `sort_key`/`sort_dir` (ASC default).
fn paging(q: &Query) -> ApiResult<(usize, usize, bool, bool)> {
    let limit = match q.int("limit", 0, 1024)? {
        None | Some(0) => 10,
        Some(n) => n as usize,
    };
    let offset = q.int("offset", 0, i64::from(i32::MAX))?.unwrap_or(0) as usize;
    let by_update = q.enum_of("sort_key", &["createTime", "updateTime"])? == Some("updateTime");
    let desc = q.enum_of("sort_dir", &["ASC", "DESC"])? == Some("DESC");
    Ok((offset, limit, by_update, desc))
}

impl Servers {
    fn new_server(req: &CreateServer, seq: u64, name: String, ctx: &Ctx<'_>) -> Server {
        let id = uuid::Uuid::new_v4().to_string();
        Server {
            seq,
            id,
            name,
            status: Status::Creating,
            pending: Some(Pending::new(
                Status::Running,
                ctx.progression(Family::Servers),
                ctx.now,
            )),
            flavor: req.flavor.clone(),
            server_type: req.server_type.clone(),
            arch: req.arch.clone(),
            charging_mode: req.charging_mode.clone(),
            order_id: (req.charging_mode == "PRE_PAID").then(|| format!("CS{}", ctx.now % 10_000_000_000)),
            image_id: req.image_id.clone(),
            key_pair_name: req.key_pair_name.clone(),
            vpc_id: req.vpc_id.clone(),
            subnet_id: req.subnet_id.clone(),
            root_volume: req.root_volume.clone(),
            data_volumes: req.data_volumes.clone(),
            hps: None,
            cloud_server_id: uuid::Uuid::new_v4().to_string(),
            ip: format!("192.168.{}.{}", (seq / 250) % 250, seq % 250 + 2),
            created_at: ctx.now,
            updated_at: ctx.now,
            hidden_reads: ctx.hidden_reads(Family::Servers),
            hidden_from_parent: 0,
        }
    }

    fn insert(&mut self, s: Server) {
        self.index.insert(s.id.clone(), s.seq);
        self.by_seq.insert(s.seq, s);
    }

    /// `count` servers (named `name`, `name-2`, …); the response is the first one (reference
    /// 5.8). An HPS create makes a supernode with its child servers.
    pub fn create(&mut self, req: CreateServer, seq: &mut u64, ctx: &Ctx<'_>) -> ApiResult<Value> {
        if req.server_type == "HPS" {
            return self.create_hyper(req, seq, ctx);
        }
        let mut first = None;
        for i in 0..req.count {
            *seq += 1;
            let name = if i == 0 {
                req.name.clone()
            } else {
                format!("{}-{}", req.name, i + 1)
            };
            let s = Self::new_server(&req, *seq, name, ctx);
            first.get_or_insert_with(|| render::server(&s));
            self.insert(s);
        }
        first.ok_or_else(|| ApiError::invalid("count", "must be at least 1"))
    }

    fn get_mut(&mut self, id: &str, ctx: &Ctx<'_>, read: bool) -> ApiResult<&mut Server> {
        let seq = *self.index.get(id).ok_or_else(|| not_found(id))?;
        let s = self.by_seq.get_mut(&seq).ok_or_else(|| not_found(id))?;
        if read && s.hidden_reads > 0 {
            s.hidden_reads -= 1;
            return Err(not_found(id));
        }
        if s.tick(ctx.now, read) == Tick::Gone {
            self.by_seq.remove(&seq);
            self.index.remove(id);
            return Err(not_found(id));
        }
        self.by_seq.get_mut(&seq).ok_or_else(|| not_found(id))
    }

    fn tick_all(&mut self, ctx: &Ctx<'_>) {
        let mut gone = Vec::new();
        for (seq, s) in &mut self.by_seq {
            if s.tick(ctx.now, true) == Tick::Gone {
                gone.push(*seq);
            }
        }
        for seq in gone {
            if let Some(s) = self.by_seq.remove(&seq) {
                self.index.remove(&s.id);
            }
        }
        self.tick_hypers(ctx);
    }

    pub fn show(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        Ok(render::server(self.get_mut(id, ctx, true)?))
    }

    /// The server as `show` renders it, without counting as a client read (control API).
    pub fn peek(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        Ok(render::server(self.get_mut(id, ctx, false)?))
    }

    /// List (and `sync`, which on the real service refreshes from ECS/BMS first).
    pub fn list(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let (offset, limit, by_update, desc) = paging(q)?;
        self.tick_all(ctx);
        let mut hits: Vec<&mut Server> = self.by_seq.values_mut().collect();
        hits.retain_mut(|s| {
            if s.hidden_reads > 0 {
                s.hidden_reads -= 1;
                false
            } else {
                true
            }
        });
        let mut hits: Vec<&Server> = hits.into_iter().map(|s| &*s).collect();
        if by_update {
            hits.sort_by_key(|s| (s.updated_at, s.seq));
        }
        if desc {
            hits.reverse();
        }
        let total = hits.len();
        let data = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(render::server)
            .collect();
        Ok(offset_page(total, offset, limit, data))
    }

    pub fn rename(&mut self, id: &str, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let s = self.get_mut(id, ctx, false)?;
        s.name = name.to_string();
        s.updated_at = ctx.now;
        Ok(render::server(s))
    }

    /// One action on one server; `extend` is the `ServerOsRequest` for OS changes.
    pub fn act(&mut self, id: &str, action: &str, extend: &Value, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Servers);
        let now = ctx.now;
        let s = self.get_mut(id, ctx, false)?;
        let hps = s.hps.is_some();
        match action {
            "START" => s.start(p, now)?,
            "STOP" => s.stop(p, now)?,
            "REBOOT" => s.reboot(p, now)?,
            "CHANGEOS" => {
                let image = requests::parse_os(extend, true, hps)?;
                s.change_os(image.as_deref(), false, p, now)?
            }
            "REINSTALLOS" => {
                let image = requests::parse_os(extend, false, hps)?;
                s.change_os(image.as_deref(), true, p, now)?
            }
            "DELETE" => s.delete(p, now)?,
            other => return Err(ApiError::invalid("type", format!("unknown action {other}"))),
        }
        Ok(render::server(s))
    }

    /// All-or-nothing: the action is tried on copies first, so one refused server leaves
    /// every server untouched.
    pub fn batch(&mut self, b: BatchAction, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let snapshot = (self.by_seq.clone(), self.index.clone());
        let mut out = Vec::new();
        for (i, id) in b.ids.iter().enumerate() {
            match self.act(id, &b.action, &b.extend_param, ctx) {
                Ok(v) => out.push(v),
                Err(mut e) => {
                    (self.by_seq, self.index) = snapshot;
                    e.message = format!("servers[{i}]: {}", e.message);
                    return Err(e);
                }
            }
        }
        let n = out.len();
        Ok(offset_page(n, 0, n.max(1), out))
    }

    pub fn force_status(&mut self, id: &str, status: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        let st = Status::parse(status)
            .ok_or_else(|| ApiError::invalid("status", format!("unknown server status {status}")))?;
        self.get_mut(id, ctx, false)?.force_status(st, ctx.now);
        Ok(())
    }

    pub fn console_action(&mut self, id: &str, action: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        self.act(id, &action.to_ascii_uppercase(), &Value::Null, ctx)
            .map(drop)
    }

    pub fn remove(&mut self, id: &str) -> ApiResult<()> {
        let seq = self.index.remove(id).ok_or_else(|| not_found(id))?;
        self.by_seq.remove(&seq);
        Ok(())
    }

    /// Every stored server and supernode (control API inventory). A supernode's children are
    /// listed under it (`parent`), not as servers of their own; nothing counts as a read.
    pub fn inventory(&mut self, ctx: &Ctx<'_>) -> Vec<Value> {
        let gone: Vec<u64> = (self.by_seq.iter_mut())
            .filter_map(|(seq, s)| (s.tick(ctx.now, false) == Tick::Gone).then_some(*seq))
            .collect();
        for seq in gone {
            if let Some(s) = self.by_seq.remove(&seq) {
                self.index.remove(&s.id);
            }
        }
        let mut out: Vec<Value> = (self.by_seq.values())
            .map(|s| {
                json!({"kind": "dev-servers", "id": s.id, "name": s.name, "status": s.status.as_str(),
                       "tags": {}, "created_at": s.created_at, "parent": s.hps.as_ref().map(|h| &h.0)})
            })
            .collect();
        out.extend(self.hyper_inventory(ctx));
        out
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
