//! Pool tags (v1): per-pool show/create/delete, the project aggregate, and the tag filter
//! API of the seed `003_e3c36c7f9c553042.txt`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Pools;
use crate::errors::{ApiError, ApiResult};
use crate::state::Ctx;
use crate::validate::{Obj, Query};

fn pool_tags(tags: &BTreeMap<String, String>) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"key": k, "values": [v]}))
        .collect();
    json!({ "tags": tags })
}

impl Pools {
    pub fn show_tags(&mut self, name: &str, ctx: &Ctx<'_>) -> ApiResult<Value> {
        Ok(pool_tags(&self.get_mut(name, ctx, true)?.tags))
    }

    pub fn add_tags(
        &mut self,
        name: &str,
        tags: Vec<(String, Option<String>)>,
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let pool = self.get_mut(name, ctx, false)?;
        for (k, v) in tags {
            pool.tags.insert(k, v.unwrap_or_default());
        }
        Ok(pool_tags(&pool.tags))
    }

    pub fn remove_tags(
        &mut self,
        name: &str,
        tags: &[(String, Option<String>)],
        ctx: &Ctx<'_>,
    ) -> ApiResult<Value> {
        let pool = self.get_mut(name, ctx, false)?;
        for (k, v) in tags {
            if v.as_ref().is_none_or(|v| pool.tags.get(k) == Some(v)) {
                pool.tags.remove(k);
            }
        }
        Ok(pool_tags(&pool.tags))
    }

    /// `GET /v1/{project_id}/pools/tags`: keys with merged values, paged by offset/limit.
    pub fn aggregate_tags(&mut self, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let limit = q.int("limit", 1, 1000)?.unwrap_or(200) as usize;
        let offset = q.int("offset", 0, i64::from(i32::MAX))?.unwrap_or(0) as usize;
        self.tick_all(ctx);
        let mut merged: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for pool in self.by_seq.values() {
            for (k, v) in &pool.tags {
                let values = merged.entry(k).or_default();
                if !values.contains(&v.as_str()) {
                    values.push(v);
                }
            }
        }
        let tags: Vec<Value> = merged
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(k, v)| json!({"key": k, "values": v}))
            .collect();
        Ok(json!({ "tags": tags }))
    }

    /// Tag filter: keys ANDed, a key's values ORed (empty values = key present); `matches` on
    /// `resource_name` is a case-insensitive substring. limit/offset come from the query or,
    /// as in the seed's example, from the body as strings.
    pub fn filter(&mut self, body: &Value, q: &Query, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let root = Obj::root(body)?;
        let mut wanted: Vec<(String, Vec<String>)> = Vec::new();
        for (i, t) in root
            .opt_arr("tags")?
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let field = format!("tags[{i}]");
            let key = t
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid(&format!("{field}.key"), "is required"))?;
            crate::validate::check_len(&format!("{field}.key"), key, 1, 128)?;
            let values = match t.get("values") {
                Some(Value::Array(a)) if a.len() <= 200 => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            }
            .ok_or_else(|| {
                ApiError::invalid(
                    &format!("{field}.values"),
                    "is required: an array of at most 200 strings",
                )
            })?;
            wanted.push((key.to_string(), values));
        }
        let mut name_match = None;
        for (i, m) in root
            .opt_arr("matches")?
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let field = format!("matches[{i}]");
            if m.get("key").and_then(Value::as_str) != Some("resource_name") {
                return Err(ApiError::invalid(
                    &format!("{field}.key"),
                    "must be resource_name",
                ));
            }
            let v = m
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::invalid(&format!("{field}.value"), "is required"))?;
            crate::validate::check_len(&format!("{field}.value"), v, 0, 255)?;
            name_match = Some(v.to_lowercase());
        }
        let body_num = |k: &str| -> ApiResult<Option<i64>> {
            match root.raw(k) {
                None => Ok(None),
                Some(Value::String(s)) => s
                    .parse()
                    .map(Some)
                    .map_err(|_| ApiError::invalid(k, "must be a number")),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ApiError::invalid(k, "must be a number")),
            }
        };
        let limit = q.int("limit", 1, 1000)?.or(body_num("limit")?).unwrap_or(1000);
        let offset = q
            .int("offset", 0, i64::from(i32::MAX))?
            .or(body_num("offset")?)
            .unwrap_or(0);
        if !(1..=1000).contains(&limit) || offset < 0 {
            return Err(ApiError::invalid(
                "limit",
                "limit must be 1-1000 and offset at least 0",
            ));
        }
        self.tick_all(ctx);
        let hits: Vec<Value> = self
            .by_seq
            .values()
            .filter(|p| {
                wanted.iter().all(|(k, vs)| p.tags.get(k).is_some_and(|v| vs.is_empty() || vs.contains(v)))
                    && name_match.as_ref().is_none_or(|m| p.display_name().to_lowercase().contains(m.as_str()))
            })
            .map(|p| {
                let tags: Vec<Value> = p.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
                json!({"resource_id": p.name, "resource_name": p.display_name(), "resource_detail": null, "tags": tags})
            })
            .collect();
        let total = hits.len();
        let resources: Vec<Value> = hits
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        Ok(json!({"total_count": total, "resources": resources}))
    }
}
