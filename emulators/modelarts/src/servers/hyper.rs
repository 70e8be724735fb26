//! Supernodes (hyperinstances): created through `POST /dev-servers` with `server_type: HPS`;
//! start/stop act on the child servers (the supernode's own enum has no STOPPED, reference 5.10).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::model::{Hyper, HyperStatus, Server, Status, Tick};
use super::requests::CreateServer;
use super::{Servers, catalog, not_found, paging, render};
use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::offset_page;
use crate::progression::{Family, Pending};
use crate::state::Ctx;
use crate::validate::Query;

fn hyper_not_found(id: &str) -> ApiError {
    ApiError::not_found(codes::HYPERINSTANCE_NOT_FOUND, "Hyperinstance", id)
}

impl Servers {
    pub(super) fn create_hyper(
        &mut self,
        req: CreateServer,
        seq: &mut u64,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let flavor =
            catalog::flavor(&req.flavor).ok_or_else(|| ApiError::invalid("flavor", "unknown flavor"))?;
        *seq += 1;
        let id = uuid::Uuid::new_v4().to_string();
        let mut h = Hyper {
            seq: *seq,
            id: id.clone(),
            name: req.name.clone(),
            hps_id: uuid::Uuid::new_v4().to_string(),
            hps_cluster_id: req.hps_cluster_id.clone().unwrap_or_default(),
            charging_mode: req.charging_mode.clone(),
            order_id: (req.charging_mode == "PRE_PAID").then(|| format!("CS{}", ctx.now % 10_000_000_000)),
            flavor: req.flavor.clone(),
            status: HyperStatus::Provisioning,
            pending: Some(Pending::new(
                HyperStatus::Active,
                ctx.progression(Family::Servers),
                ctx.now,
            )),
            children: Vec::new(),
            max_children: flavor.hps_nodes.1,
            tags: BTreeMap::new(),
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let mut first = None;
        for i in 0..flavor.hps_nodes.0 {
            *seq += 1;
            let mut s = Self::new_server(&req, *seq, format!("{}-node-{}", req.name, i + 1), ctx);
            s.hps = Some((id.clone(), req.name.clone()));
            h.children.push(s.id.clone());
            first.get_or_insert_with(|| render::server(&s));
            self.insert(s);
        }
        self.hindex.insert(id, h.seq);
        self.hypers.insert(h.seq, h);
        first.ok_or_else(|| ApiError::invalid("flavor", "supernode flavor has no nodes"))
    }

    /// Complete supernode steps; a terminated supernode takes its children with it.
    pub(super) fn tick_hypers(&mut self, ctx: &Ctx<'_>) {
        let mut gone = Vec::new();
        for (seq, h) in &mut self.hypers {
            if h.tick(ctx.now, true) == Tick::Gone {
                gone.push(*seq);
            }
        }
        for seq in gone {
            if let Some(h) = self.hypers.remove(&seq) {
                self.hindex.remove(&h.id);
                for c in h.children {
                    if let Some(s) = self.index.remove(&c) {
                        self.by_seq.remove(&s);
                    }
                }
            }
        }
    }

    fn hyper_mut(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<&mut Hyper> {
        self.tick_all(ctx);
        let seq = *self.hindex.get(id).ok_or_else(|| hyper_not_found(id))?;
        self.hypers.get_mut(&seq).ok_or_else(|| hyper_not_found(id))
    }

    fn children(&self, h: &Hyper) -> Vec<&Server> {
        h.children
            .iter()
            .filter_map(|c| self.index.get(c).and_then(|s| self.by_seq.get(s)))
            .filter(|s| s.hidden_from_parent == 0)
            .collect()
    }

    /// One client read of a supernode with these children happened (after rendering it, so
    /// this read still missed them): nodes a scale-up hid are missed one read fewer.
    fn count_read(&mut self, children: &[String]) {
        for c in children {
            if let Some(s) = self.index.get(c).and_then(|s| self.by_seq.get_mut(s)) {
                s.hidden_from_parent = s.hidden_from_parent.saturating_sub(1);
            }
        }
    }

    /// Render without ticking, so a mutation's answer shows the transitional states it caused.
    fn render_hyper_id(&self, id: &str) -> ApiResult<Value> {
        let h = self
            .hindex
            .get(id)
            .and_then(|s| self.hypers.get(s))
            .ok_or_else(|| hyper_not_found(id))?;
        Ok(self.render_hyper(h))
    }

    fn render_hyper(&self, h: &Hyper) -> Value {
        render::hyper(h, self.children(h).into_iter().map(render::server).collect())
    }

    pub fn show_hyper(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?.clone();
        let out = self.render_hyper(&h);
        self.count_read(&h.children);
        Ok(out)
    }

    pub fn list_hypers(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let (offset, limit, by_update, desc) = paging(q)?;
        self.tick_all(ctx);
        let mut hs: Vec<&Hyper> = self.hypers.values().collect();
        if by_update {
            hs.sort_by_key(|h| (h.updated_at, h.seq));
        }
        if desc {
            hs.reverse();
        }
        let total = hs.len();
        let page: Vec<&Hyper> = hs.into_iter().skip(offset).take(limit).collect();
        let read: Vec<String> = page.iter().flat_map(|h| h.children.clone()).collect();
        let data = page.into_iter().map(|h| self.render_hyper(h)).collect();
        self.count_read(&read);
        Ok(offset_page(total, offset, limit, data))
    }

    /// Pay-per-use supernodes in ACTIVE or ERROR: TERMINATING → TERMINATED (then 404).
    pub fn delete_hyper(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Servers);
        let h = self.hyper_mut(id, ctx)?;
        if h.charging_mode == "PRE_PAID" {
            return Err(ApiError::bad_state(
                codes::SERVER_PREPAID,
                format!("Supernode {id} is billed yearly/monthly."),
            ));
        }
        match h.status {
            HyperStatus::Terminating => {}
            HyperStatus::Active | HyperStatus::Error => {
                h.go(HyperStatus::Terminating, HyperStatus::Terminated, p, ctx.now)
            }
            other => {
                return Err(ApiError::bad_state(
                    codes::SERVER_BAD_STATE,
                    format!("Cannot delete supernode {id} in status {}.", other.as_str()),
                ));
            }
        }
        let h = h.clone();
        for c in &h.children {
            if let Some(s) = self.index.get(c).and_then(|s| self.by_seq.get_mut(s)) {
                s.status = Status::Deleting;
                s.pending = None;
            }
        }
        Ok(self.render_hyper(&h))
    }

    /// Start/stop/changeos of a supernode apply to every child; all children must allow it.
    pub fn hyper_action(
        &mut self,
        id: &str,
        action: &str,
        extend: &Value,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let p = ctx.progression(Family::Servers);
        let h = self.hyper_mut(id, ctx)?;
        h.require_active(&action.to_lowercase())?;
        let h = h.clone();
        let snapshot = (self.by_seq.clone(), self.index.clone());
        for c in &h.children {
            if let Err(e) = self.act(c, action, extend, ctx) {
                (self.by_seq, self.index) = snapshot;
                return Err(e);
            }
        }
        if action == "CHANGEOS"
            && let Some(hm) = self.hindex.get(id).and_then(|s| self.hypers.get_mut(s))
        {
            hm.go(HyperStatus::Reimaging, HyperStatus::Active, p, ctx.now);
        }
        self.render_hyper_id(id)
    }

    pub fn hyper_tags(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?;
        Ok(tags_json(&h.tags))
    }

    /// Create errors when a key already exists (docstring); both echo `{tags}`.
    pub fn add_hyper_tags(
        &mut self,
        id: &str,
        tags: Vec<(String, Option<String>)>,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?;
        if let Some((i, (k, _))) = tags.iter().enumerate().find(|(_, (k, _))| h.tags.contains_key(k)) {
            return Err(ApiError::invalid(
                &format!("tags[{i}].key"),
                format!("tag {k} already exists"),
            ));
        }
        for (k, v) in &tags {
            h.tags.insert(k.clone(), v.clone().unwrap_or_default());
        }
        Ok(tags_json(
            &tags
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
        ))
    }

    pub fn remove_hyper_tags(
        &mut self,
        id: &str,
        tags: Vec<(String, Option<String>)>,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?;
        for (k, _) in &tags {
            h.tags.remove(k);
        }
        Ok(tags_json(
            &tags
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
        ))
    }

    /// Live scale-up adds one child server; fails at the flavor's maximum.
    pub fn scale_up(
        &mut self,
        id: &str,
        flavor: &str,
        image_id: &str,
        seq: &mut u64,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?;
        h.require_active("scale up")?;
        if h.children.len() >= h.max_children {
            return Err(ApiError::bad_state(
                codes::SERVER_BAD_STATE,
                format!("Supernode {id} is at its maximum of {} servers.", h.max_children),
            ));
        }
        if flavor != h.flavor {
            return Err(ApiError::invalid(
                "flavor",
                format!("supernode {id} uses flavor {}", h.flavor),
            ));
        }
        let h = h.clone();
        let template = self
            .children(&h)
            .first()
            .map(|s| (*s).clone())
            .ok_or_else(|| not_found(id))?;
        *seq += 1;
        let mut s = template;
        s.seq = *seq;
        s.id = uuid::Uuid::new_v4().to_string();
        s.name = format!("{}-node-{}", h.name, h.children.len() + 1);
        s.image_id = image_id.to_string();
        s.status = Status::Creating;
        s.pending = Some(Pending::new(
            Status::Running,
            ctx.progression(Family::Servers),
            ctx.now,
        ));
        s.created_at = ctx.now;
        s.updated_at = ctx.now;
        s.hidden_reads = 0;
        s.hidden_from_parent = ctx.hidden_reads(Family::Servers);
        let child = s.id.clone();
        self.insert(s);
        self.hyper_mut(id, ctx)?.children.push(child);
        self.render_hyper_id(id)
    }

    /// Live scale-down removes the named children; at least one must stay.
    pub fn scale_down(&mut self, id: &str, server_ids: &[String], ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Servers);
        let h = self.hyper_mut(id, ctx)?;
        h.require_active("scale down")?;
        for (i, sid) in server_ids.iter().enumerate() {
            if !h.children.contains(sid) {
                return Err(ApiError::invalid(
                    &format!("server_ids[{i}]"),
                    format!("{sid} is not a server of supernode {id}"),
                ));
            }
        }
        if server_ids.len() >= h.children.len() {
            return Err(ApiError::bad_state(
                codes::SERVER_BAD_STATE,
                format!("Supernode {id} must keep at least one server."),
            ));
        }
        h.children.retain(|c| !server_ids.contains(c));
        for sid in server_ids {
            if let Some(s) = self.index.get(sid).and_then(|s| self.by_seq.get_mut(s)) {
                s.status = Status::Deleting;
                s.pending = Some(Pending::new(Status::Deleted, p, ctx.now));
            }
        }
        self.render_hyper_id(id)
    }

    pub fn hyper_servers(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?.clone();
        let data: Vec<Value> = self.children(&h).into_iter().map(render::server).collect();
        self.count_read(&h.children);
        let n = data.len();
        Ok(offset_page(n, 0, n.max(1), data))
    }

    pub fn scale_evaluations(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let h = self.hyper_mut(id, ctx)?;
        let full = h.children.len() >= h.max_children;
        Ok(json!({"evaluations": [{"flavor": h.flavor, "resource_flavor": h.flavor, "is_sold_out": full}]}))
    }

    pub fn force_hyper_status(&mut self, id: &str, status: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        let st = HyperStatus::parse(status)
            .ok_or_else(|| ApiError::invalid("status", format!("unknown hyperinstance status {status}")))?;
        let h = self.hyper_mut(id, ctx)?;
        h.status = st;
        h.pending = None;
        h.updated_at = ctx.now;
        Ok(())
    }

    /// Supernodes for [`Servers::inventory`]; due steps complete without counting as reads.
    pub(super) fn hyper_inventory(&mut self, ctx: &Ctx<'_>) -> Vec<Value> {
        let gone: Vec<u64> = (self.hypers.iter_mut())
            .filter_map(|(seq, h)| (h.tick(ctx.now, false) == Tick::Gone).then_some(*seq))
            .collect();
        for seq in gone {
            if let Some(h) = self.hypers.remove(&seq) {
                self.hindex.remove(&h.id);
                for c in h.children {
                    let _ = self.remove(&c);
                }
            }
        }
        (self.hypers.values())
            .map(|h| {
                json!({"kind": "hyperinstances", "id": h.id, "name": h.name, "status": h.status.as_str(),
                       "tags": h.tags, "created_at": h.created_at, "children": h.children.len()})
            })
            .collect()
    }

    pub fn remove_hyper(&mut self, id: &str) -> ApiResult<()> {
        let seq = self.hindex.remove(id).ok_or_else(|| hyper_not_found(id))?;
        if let Some(h) = self.hypers.remove(&seq) {
            for c in h.children {
                let _ = self.remove(&c);
            }
        }
        Ok(())
    }

    pub fn hyper_console_tags(
        &mut self,
        id: &str,
        add: Vec<(String, Option<String>)>,
        remove: &[String],
        ctx: &Ctx<'_>,
    ) -> ApiResult<()> {
        let h = self.hyper_mut(id, ctx)?;
        for (k, v) in add {
            h.tags.insert(k, v.unwrap_or_default());
        }
        for k in remove {
            h.tags.remove(k);
        }
        Ok(())
    }
}

fn tags_json(tags: &BTreeMap<String, String>) -> Value {
    let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    json!({ "tags": tags })
}
