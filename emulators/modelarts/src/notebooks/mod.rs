//! Notebook backend: the per-project collection and every operation of reference section 1.

pub mod images;
pub mod model;
pub mod render;
pub mod requests;
pub mod routes;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::catalog;
use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::{offset_limit, offset_page};
use crate::progression::{Family, Pending};
use crate::state::Ctx;
use crate::validate::Query;
use model::{Lease, Notebook, Status, Storage, StorageStatus, Tick};
use requests::{CreateRequest, MountRequest, UpdateRequest};

/// Notebooks of one project, kept in creation order so the default DESC listing is a reverse walk.
#[derive(Debug, Default)]
pub struct Notebooks {
    by_seq: BTreeMap<u64, Notebook>,
    index: HashMap<String, u64>,
    saved_images: Vec<images::SavedImage>,
}

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        e.to_string(),
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(codes::NOTEBOOK_NOT_FOUND, "Notebook instance", id)
}

impl Notebooks {
    pub fn len(&self) -> usize {
        self.by_seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    /// IDs of every stored resource, hidden (eventually consistent) ones included.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.index.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn create(&mut self, req: CreateRequest, seq: u64, ctx: &Ctx<'_>) -> Value {
        let now = ctx.now;
        let id = uuid::Uuid::new_v4().to_string();
        let nb = Notebook {
            seq,
            id: id.clone(),
            name: req.name,
            description: req.description,
            status: Status::Creating,
            pending: Some(Pending::new(
                Status::Running,
                ctx.progression(Family::Notebooks),
                now,
            )),
            fail_reason: None,
            flavor: req.flavor,
            custom_spec: req.custom_spec,
            image_id: req.image_id,
            volume: req.volume,
            data_volumes: req.data_volumes,
            workspace_id: req.workspace_id,
            feature: req.feature,
            pool_id: req.pool_id,
            endpoints: req.endpoints,
            affinity: req.affinity,
            user_vpc: req.user_vpc,
            lease: Lease {
                create_at: now,
                duration: req.lease_duration,
                enable: true,
                kind: req.lease_type,
                update_at: now,
            },
            tags: BTreeMap::new(),
            storages: Vec::new(),
            token: uuid::Uuid::new_v4().simple().to_string(),
            ip: format!("192.168.{}.{}", (seq / 250) % 250, seq % 250 + 2),
            created_at: now,
            updated_at: now,
            hidden_reads: ctx.hidden_reads(Family::Notebooks),
            delete_fails: false,
        };
        let out = render::notebook(&nb, ctx);
        self.index.insert(id, seq);
        self.by_seq.insert(seq, nb);
        out
    }

    /// Tick and fetch. `read` marks show calls: they count down after-N-reads steps and are
    /// the calls an eventually-consistent new notebook is invisible to.
    fn get_mut(&mut self, id: &str, ctx: &Ctx<'_>, read: bool) -> ApiResult<&mut Notebook> {
        let seq = *self.index.get(id).ok_or_else(|| not_found(id))?;
        let p = ctx.progression(Family::Notebooks);
        let nb = self.by_seq.get_mut(&seq).ok_or_else(|| not_found(id))?;
        if read && nb.hidden_reads > 0 {
            nb.hidden_reads -= 1;
            return Err(not_found(id));
        }
        if nb.tick(ctx.now, read, p) == Tick::Gone {
            self.by_seq.remove(&seq);
            self.index.remove(id);
            return Err(not_found(id));
        }
        self.by_seq.get_mut(&seq).ok_or_else(|| not_found(id))
    }

    pub fn show(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, true)?;
        Ok(render::notebook(nb, ctx))
    }

    /// The notebook as `show` renders it, without counting as a client read (control API).
    pub fn peek(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, false)?;
        Ok(render::notebook(nb, ctx))
    }

    /// `show` serialised straight to bytes (the hot path of every controller poll).
    pub fn show_json(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Vec<u8>> {
        let nb = self.get_mut(id, ctx, true)?;
        serde_json::to_vec(&render::view(nb, ctx)).map_err(internal)
    }

    /// Tick every notebook (list calls are reads for all of them) and drop finished deletions.
    fn tick_all(&mut self, ctx: &Ctx<'_>) {
        let p = ctx.progression(Family::Notebooks);
        let mut gone = Vec::new();
        for (seq, nb) in &mut self.by_seq {
            if nb.tick(ctx.now, true, p) == Tick::Gone {
                gone.push(*seq);
            }
        }
        for seq in gone {
            if let Some(nb) = self.by_seq.remove(&seq) {
                self.index.remove(&nb.id);
            }
        }
    }

    /// The list as a `Value` (tests and in-process callers); HTTP uses [`Self::list_json`].
    pub fn list(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let bytes = self.list_json(q, ctx)?;
        serde_json::from_slice(&bytes).map_err(internal)
    }

    /// The list page serialised straight from borrowed views (the fast path).
    pub fn list_json(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Vec<u8>> {
        let (offset, limit) = offset_limit(q, 10, 1000)?;
        let filter = ListFilter::parse(q)?;
        let sort_key = q.get("sort_key").unwrap_or("create_at");
        let desc = q.enum_of("sort_dir", &["ASC", "DESC"])?.unwrap_or("DESC") == "DESC";
        self.tick_all(ctx);
        let mut hits: Vec<&mut Notebook> = self.by_seq.values_mut().filter(|nb| filter.matches(nb)).collect();
        // Eventual consistency: a hidden notebook is skipped, and this list counts as one miss.
        hits.retain_mut(|nb| {
            if nb.hidden_reads > 0 {
                nb.hidden_reads -= 1;
                false
            } else {
                true
            }
        });
        let mut hits: Vec<&Notebook> = hits.into_iter().map(|nb| &*nb).collect();
        match sort_key {
            "create_at" => {}
            "update_at" => hits.sort_by_key(|nb| (nb.updated_at, nb.seq)),
            "name" => hits.sort_by(|a, b| a.name.cmp(&b.name).then(a.seq.cmp(&b.seq))),
            "status" => hits.sort_by(|a, b| a.status.as_str().cmp(b.status.as_str()).then(a.seq.cmp(&b.seq))),
            other => {
                return Err(ApiError::bad_state(
                    "ModelArts.6303",
                    format!("Field {other} does not support sorting (create_at, update_at, name, status)."),
                ));
            }
        }
        if desc {
            hits.reverse();
        }
        let total = hits.len();
        let data: Vec<render::NotebookView<'_>> = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|nb| render::view(nb, ctx))
            .collect();
        let page = crate::paging::OffsetPage::new(total, offset, limit, data);
        serde_json::to_vec(&page).map_err(internal)
    }

    pub fn update(&mut self, id: &str, req: UpdateRequest, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, false)?;
        nb.check_update_allowed()?;
        if req.changes_spec() {
            nb.check_spec_change_allowed()?;
        }
        if let Some(f) = &req.flavor {
            let image = catalog::notebook_image(req.image_id.as_deref().unwrap_or(&nb.image_id));
            let flavor = catalog::notebook_flavor(f);
            if let (Some(i), Some(fl)) = (image, flavor)
                && !fl.fits(i)
            {
                return Err(ApiError::invalid(
                    "flavor",
                    format!("flavor {f} cannot run image {}", i.name),
                ));
            }
        }
        if let Some(size) = req.storage_new_size {
            if nb.volume.category != "EVS" {
                return Err(ApiError::invalid(
                    "storage_new_size",
                    "only EVS volumes can be resized",
                ));
            }
            if size <= nb.volume.capacity.unwrap_or(0) {
                return Err(ApiError::invalid(
                    "storage_new_size",
                    "an EVS volume can only grow",
                ));
            }
        }
        // All checks passed: apply.
        if let Some(v) = req.name {
            nb.name = v;
        }
        if let Some(v) = req.description {
            nb.description = v;
        }
        if let Some(v) = req.flavor {
            nb.flavor = v;
            nb.custom_spec = None;
        }
        if let Some(v) = req.custom_spec {
            nb.custom_spec = Some(v);
            nb.flavor = "custom.flavor.spec.code".into();
        }
        if let Some(v) = req.image_id {
            nb.image_id = v;
        }
        if let Some(v) = req.storage_new_size {
            nb.volume.capacity = Some(v);
        }
        if let Some(v) = req.endpoints {
            nb.endpoints = v;
        }
        if let Some(v) = req.affinity {
            nb.affinity = Some(v);
        }
        if let Some(v) = req.data_volumes {
            nb.data_volumes = v;
        }
        nb.updated_at = ctx.now;
        Ok(render::notebook(nb, ctx))
    }

    pub fn delete(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        nb.delete(p, ctx.now)?;
        Ok(render::notebook(nb, ctx))
    }

    pub fn start(
        &mut self,
        id: &str,
        duration: Option<i64>,
        kind: Option<&str>,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        nb.start(duration, kind, p, ctx.now)?;
        Ok(render::notebook(nb, ctx))
    }

    pub fn stop(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        nb.stop(p, ctx.now)?;
        Ok(render::notebook(nb, ctx))
    }

    pub fn show_lease(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, true)?;
        nb.require_running("show the lease of")?;
        Ok(render::lease(&nb.lease))
    }

    pub fn renew_lease(&mut self, id: &str, duration: i64, kind: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let mode = ctx.settings.lease_renewal;
        let nb = self.get_mut(id, ctx, false)?;
        nb.renew_lease(duration, kind, mode, ctx.now)?;
        Ok(render::lease(&nb.lease))
    }

    pub fn switchable_flavors(&mut self, id: &str, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, true)?;
        let image = catalog::notebook_image(&nb.image_id);
        let current = nb.flavor.clone();
        let fits: Vec<Value> = catalog::NOTEBOOK_FLAVORS
            .iter()
            .filter(|f| f.id != current && image.is_none_or(|i| f.fits(i)))
            .map(catalog::NotebookFlavor::to_json)
            .collect();
        flavor_page(fits, q)
    }

    pub fn add_tags(
        &mut self,
        id: &str,
        tags: Vec<(String, Option<String>)>,
        ctx: &Ctx<'_>,
    ) -> ApiResult<()> {
        let nb = self.get_mut(id, ctx, false)?;
        for (k, v) in tags {
            // An existing key is overwritten.
            nb.tags.insert(k, v.unwrap_or_default());
        }
        nb.updated_at = ctx.now;
        Ok(())
    }

    pub fn remove_tags(
        &mut self,
        id: &str,
        keys: &[(String, Option<String>)],
        ctx: &Ctx<'_>,
    ) -> ApiResult<()> {
        let nb = self.get_mut(id, ctx, false)?;
        for (k, v) in keys {
            // A value, when given, must match; missing tags are ignored.
            if v.as_ref().is_none_or(|v| nb.tags.get(k) == Some(v)) {
                nb.tags.remove(k);
            }
        }
        nb.updated_at = ctx.now;
        Ok(())
    }

    /// `GET /notebooks/tags`: every key in use with its values merged.
    pub fn aggregate_tags(&self, workspace: Option<&str>) -> Value {
        let mut merged: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for nb in self
            .by_seq
            .values()
            .filter(|nb| workspace.is_none_or(|w| nb.workspace_id == w))
        {
            for (k, v) in &nb.tags {
                let values = merged.entry(k).or_default();
                if !values.contains(&v.as_str()) {
                    values.push(v);
                }
            }
        }
        let tags: Vec<Value> = merged
            .into_iter()
            .map(|(k, v)| json!({"key": k, "values": v}))
            .collect();
        json!({ "tags": tags })
    }

    pub fn mount(&mut self, id: &str, req: MountRequest, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        nb.require_running("mount storage on")?;
        if nb.storages.iter().any(|s| s.mount_path == req.mount_path) {
            return Err(ApiError::invalid(
                "mount_path",
                format!("{} is already mounted", req.mount_path),
            ));
        }
        if req.category == "EFS" && nb.pool_id.is_none() {
            return Err(ApiError::invalid(
                "category",
                "EFS can only be mounted on dedicated-pool instances",
            ));
        }
        let s = Storage {
            id: uuid::Uuid::new_v4().to_string(),
            category: req.category,
            mount_path: req.mount_path,
            uri: req.uri,
            efs_id: req.efs_id,
            status: StorageStatus::Mounting,
            pending: Some(Pending::new(StorageStatus::Mounted, p, ctx.now)),
        };
        let out = render::storage(&s);
        nb.storages.push(s);
        Ok(out)
    }

    pub fn list_storage(&mut self, id: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, true)?;
        let data: Vec<Value> = nb.storages.iter().map(render::storage).collect();
        let n = data.len();
        Ok(offset_page(n, 0, n.max(1), data))
    }

    fn storage_mut<'a>(nb: &'a mut Notebook, sid: &str) -> ApiResult<&'a mut Storage> {
        nb.storages
            .iter_mut()
            .find(|s| s.id == sid)
            .ok_or_else(|| ApiError::not_found(codes::STORAGE_NOT_FOUND, "Storage", sid))
    }

    pub fn show_storage(&mut self, id: &str, sid: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let nb = self.get_mut(id, ctx, true)?;
        Ok(render::storage(Self::storage_mut(nb, sid)?))
    }

    pub fn unmount(&mut self, id: &str, sid: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        nb.require_running("unmount storage from")?;
        let s = Self::storage_mut(nb, sid)?;
        match s.status {
            StorageStatus::Mounted | StorageStatus::MountFailed | StorageStatus::UnmountFailed => {
                s.status = StorageStatus::Unmounting;
                s.pending = Some(Pending::new(StorageStatus::Unmounted, p, ctx.now));
                Ok(render::storage(s))
            }
            other => Err(ApiError::bad_state(
                codes::NOTEBOOK_BAD_STATE,
                format!("Storage {sid} is {} and cannot be unmounted.", other.as_str()),
            )),
        }
    }

    // ---- out-of-band (control API) ----

    pub fn force_status(&mut self, id: &str, status: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        let st = Status::parse(status)
            .ok_or_else(|| ApiError::invalid("status", format!("unknown notebook status {status}")))?;
        let nb = self.get_mut(id, ctx, false)?;
        nb.force_status(st, ctx.now);
        Ok(())
    }

    pub fn console_action(&mut self, id: &str, action: &str, ctx: &Ctx<'_>) -> ApiResult<()> {
        match action {
            "start" => self.start(id, None, None, ctx).map(drop),
            "stop" => self.stop(id, ctx).map(drop),
            "fail-deletes" | "heal-deletes" => {
                self.get_mut(id, ctx, false)?.delete_fails = action == "fail-deletes";
                Ok(())
            }
            other => Err(ApiError::invalid(
                "action",
                format!("{other} is not start, stop, fail-deletes or heal-deletes"),
            )),
        }
    }

    pub fn remove(&mut self, id: &str) -> ApiResult<()> {
        let seq = self.index.remove(id).ok_or_else(|| not_found(id))?;
        self.by_seq.remove(&seq);
        Ok(())
    }

    /// Every stored notebook (control API inventory): steps already due complete, but nothing
    /// counts as a client read and nothing is hidden by eventual consistency.
    pub fn inventory(&mut self, ctx: &Ctx<'_>) -> Vec<Value> {
        let p = ctx.progression(Family::Notebooks);
        let gone: Vec<u64> = (self.by_seq.iter_mut())
            .filter_map(|(seq, nb)| (nb.tick(ctx.now, false, p) == Tick::Gone).then_some(*seq))
            .collect();
        for seq in gone {
            if let Some(nb) = self.by_seq.remove(&seq) {
                self.index.remove(&nb.id);
            }
        }
        (self.by_seq.values())
            .map(|nb| {
                json!({"kind": "notebooks", "id": nb.id, "name": nb.name, "status": nb.status.as_str(),
                       "tags": nb.tags, "created_at": nb.created_at})
            })
            .collect()
    }
}

/// Notebook flavor lists carry the same items in both `data` and `flavors`.
pub fn flavor_page(items: Vec<Value>, q: &Query) -> ApiResult<Value> {
    let total = items.len();
    let (offset, limit) = offset_limit(q, total.max(1) as i64, 1000)?;
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut v = offset_page(total, offset, limit, page.clone());
    v["flavors"] = Value::Array(page);
    Ok(v)
}

/// The list filters of reference 1.3. Fuzzy filters are case-insensitive substring matches.
struct ListFilter {
    exact: Vec<(&'static str, String)>,
    fuzzy: Vec<(&'static str, String)>,
    status: Option<Status>,
    tags: Vec<(String, String)>,
}

impl ListFilter {
    fn parse(q: &Query) -> ApiResult<Self> {
        let status = match q.get("status") {
            None | Some("") => None,
            Some(s) => Some(
                Status::parse(s).ok_or_else(|| ApiError::invalid("status", format!("unknown status {s}")))?,
            ),
        };
        let mut tags = Vec::new();
        if let Some(raw) = q.get("tags").filter(|t| !t.is_empty()) {
            for pair in raw.split(',') {
                let (k, v) = pair
                    .split_once('|')
                    .ok_or_else(|| ApiError::invalid("tags", "expected k1|v1,k2|v2"))?;
                tags.push((k.to_string(), v.to_string()));
            }
        }
        let pick = |names: &[&'static str]| -> Vec<(&'static str, String)> {
            names
                .iter()
                .filter_map(|n| q.get(n).filter(|v| !v.is_empty()).map(|v| (*n, v.to_lowercase())))
                .collect()
        };
        Ok(ListFilter {
            exact: pick(&["id", "image_id", "workspace_id", "feature", "pool_id", "ip"]),
            fuzzy: pick(&["name", "flavor", "description", "pool_name"]),
            status,
            tags,
        })
    }

    fn matches(&self, nb: &Notebook) -> bool {
        let field = |name: &str| -> String {
            match name {
                "id" => nb.id.clone(),
                "image_id" => nb.image_id.clone(),
                "workspace_id" => nb.workspace_id.clone(),
                "feature" => nb.feature.to_lowercase(),
                "pool_id" | "pool_name" => nb.pool_id.clone().unwrap_or_default(),
                "ip" => nb.ip.clone(),
                "name" => nb.name.to_lowercase(),
                "flavor" => nb.flavor.to_lowercase(),
                "description" => nb.description.to_lowercase(),
                _ => String::new(),
            }
        };
        self.status.is_none_or(|s| nb.status == s)
            && self.exact.iter().all(|(n, v)| field(n).to_lowercase() == *v)
            && self.fuzzy.iter().all(|(n, v)| field(n).contains(v.as_str()))
            && self.tags.iter().all(|(k, v)| nb.tags.get(k) == Some(v))
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
