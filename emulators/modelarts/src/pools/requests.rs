//! Validation of pool, patch and network bodies (reference 2.2, 2.5, seed Networking table).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::flavors;
use super::model::ResourceSpec;
use crate::errors::{ApiError, ApiResult};
use crate::validate::{Obj, check_len, one_of};

pub const SCOPES: &[&str] = &["Train", "Infer", "Notebook"];
pub const MAX_NODES_PER_FLAVOR: i64 = 500;

/// Display names (`os.modelarts/name`) of pools and networks: lowercase letters, digits and
/// `-`, starting with a letter, not ending with `-`, 1–63 characters (chosen; undocumented).
pub fn check_display_name(field: &str, name: &str) -> ApiResult<()> {
    check_len(field, name, 1, 63)?;
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok_chars || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.ends_with('-') {
        return Err(ApiError::invalid(
            field,
            "use lowercase letters, digits and '-', start with a letter, not end with '-'",
        ));
    }
    Ok(())
}

fn string_map(obj: Option<Obj<'_>>, field: &str, raw: Option<&Value>) -> ApiResult<BTreeMap<String, String>> {
    let Some(_) = obj else { return Ok(BTreeMap::new()) };
    let mut out = BTreeMap::new();
    if let Some(Value::Object(m)) = raw {
        for (k, v) in m {
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Null => {}
                _ => return Err(ApiError::invalid(&format!("{field}.{k}"), "must be a string")),
            }
        }
    }
    Ok(out)
}

fn check_annotations(field: &str, a: &BTreeMap<String, String>, creating: bool) -> ApiResult<()> {
    if let Some(d) = a.get("os.modelarts/description")
        && d.chars().any(|c| "!<>=&\"'".contains(c))
    {
        return Err(ApiError::invalid(
            &format!("{field}.os.modelarts/description"),
            "must not contain !<>=&\"'",
        ));
    }
    if let Some(m) = a.get("os.modelarts/billing.mode") {
        one_of(&format!("{field}.os.modelarts/billing.mode"), m, &["0", "1"])?;
        if m == "1" && creating {
            for k in ["os.modelarts/period.num", "os.modelarts/period.type"] {
                if !a.contains_key(k) {
                    return Err(ApiError::invalid(
                        &format!("{field}.{k}"),
                        "is required when billing.mode is 1",
                    ));
                }
            }
        }
    }
    if let Some(t) = a.get("os.modelarts/period.type") {
        one_of(&format!("{field}.os.modelarts/period.type"), t, &["2", "3"])?;
    }
    if let Some(r) = a.get("os.modelarts/auto.renew") {
        one_of(&format!("{field}.os.modelarts/auto.renew"), r, &["0", "1"])?;
    }
    Ok(())
}

fn parse_scope(arr: &[Value], field: &str) -> ApiResult<Vec<String>> {
    if arr.is_empty() {
        return Err(ApiError::invalid(
            field,
            "must name at least one of Train, Infer, Notebook",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, v) in arr.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let s = v
            .as_str()
            .ok_or_else(|| ApiError::invalid(&f, "must be a string"))?;
        one_of(&f, s, SCOPES)?;
        if out.iter().any(|o| o == s) {
            return Err(ApiError::invalid(&f, format!("{s} is listed twice")));
        }
        out.push(s.to_string());
    }
    Ok(out)
}

/// `spec.resources`; `min_count` is 1 at create, 0 in a patch (0 removes the flavor).
fn parse_resources(
    arr: &[Value],
    field: &str,
    pool_type: &str,
    min_count: i64,
) -> ApiResult<Vec<ResourceSpec>> {
    if arr.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    let mut out: Vec<ResourceSpec> = Vec::new();
    for (i, v) in arr.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let Value::Object(map) = v else {
            return Err(ApiError::invalid(&f, "must be an object"));
        };
        let obj = Obj::root(v)?;
        let flavor = obj
            .req_str("flavor")
            .map_err(|_| ApiError::invalid(&format!("{f}.flavor"), "is required"))?;
        let known = flavors::find(flavor)
            .ok_or_else(|| ApiError::invalid(&format!("{f}.flavor"), format!("unknown flavor {flavor}")))?;
        if known.pool_type != pool_type {
            return Err(ApiError::invalid(
                &format!("{f}.flavor"),
                format!(
                    "{flavor} is a {} flavor, the pool is {pool_type}",
                    known.pool_type
                ),
            ));
        }
        let count = match obj.raw("count").map(Value::as_i64) {
            None => return Err(ApiError::invalid(&format!("{f}.count"), "is required")),
            Some(None) => return Err(ApiError::invalid(&format!("{f}.count"), "must be an integer")),
            Some(Some(n)) if n < min_count || n > MAX_NODES_PER_FLAVOR => {
                return Err(ApiError::invalid(
                    &format!("{f}.count"),
                    format!("{n} is outside [{min_count}, {MAX_NODES_PER_FLAVOR}]"),
                ));
            }
            Some(Some(n)) => n,
        };
        let max_count = match obj.raw("maxCount").map(Value::as_i64) {
            None => count,
            Some(Some(m)) if m >= count => m,
            Some(_) => {
                return Err(ApiError::invalid(
                    &format!("{f}.maxCount"),
                    "must be an integer not below count",
                ));
            }
        };
        if pool_type == "Dedicate" && max_count != count {
            return Err(ApiError::invalid(
                &format!("{f}.maxCount"),
                "must equal count for a physical (Dedicate) pool",
            ));
        }
        if let Some(azs) = obj.raw("azs") {
            let total: i64 = azs
                .as_array()
                .map(|a| a.iter().filter_map(|z| z["count"].as_i64()).sum())
                .unwrap_or(-1);
            if total != count {
                return Err(ApiError::invalid(
                    &format!("{f}.azs"),
                    "per-AZ counts must add up to count",
                ));
            }
        }
        if out.iter().any(|r| r.flavor == flavor) {
            return Err(ApiError::invalid(
                &format!("{f}.flavor"),
                format!("{flavor} is listed twice"),
            ));
        }
        let mut extra: Map<String, Value> = map.clone();
        for k in ["flavor", "count", "maxCount", "azs"] {
            extra.remove(k);
        }
        out.push(ResourceSpec {
            flavor: flavor.to_string(),
            count,
            max_count,
            azs: obj.raw("azs").cloned(),
            extra,
        });
    }
    Ok(out)
}

pub struct CreatePool {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub pool_type: String,
    pub scope: Vec<String>,
    pub resources: Vec<ResourceSpec>,
    pub network: Option<String>,
    pub job_flavors: Vec<String>,
    pub driver: Option<Value>,
}

pub fn parse_create(body: &Value) -> ApiResult<CreatePool> {
    let root = Obj::root(body)?;
    if root.req_str("apiVersion")? != "v2" {
        return Err(ApiError::invalid("apiVersion", "must be v2"));
    }
    if root.req_str("kind")? != "Pool" {
        return Err(ApiError::invalid("kind", "must be Pool"));
    }
    let mut mp = String::new();
    let meta = root
        .opt_obj("metadata", &mut mp)?
        .ok_or_else(|| ApiError::invalid("metadata", "is required"))?;
    let mut lp = String::new();
    let labels_obj = meta
        .opt_obj("labels", &mut lp)?
        .ok_or_else(|| ApiError::invalid("metadata.labels", "is required"))?;
    let labels = string_map(Some(labels_obj), "metadata.labels", meta.raw("labels"))?;
    let name = labels
        .get("os.modelarts/name")
        .ok_or_else(|| ApiError::invalid("metadata.labels.os.modelarts/name", "is required"))?;
    check_display_name("metadata.labels.os.modelarts/name", name)?;
    let mut ap = String::new();
    let ann_obj = meta.opt_obj("annotations", &mut ap)?;
    let annotations = string_map(ann_obj, "metadata.annotations", meta.raw("annotations"))?;
    check_annotations("metadata.annotations", &annotations, true)?;

    let mut sp = String::new();
    let spec = root
        .opt_obj("spec", &mut sp)?
        .ok_or_else(|| ApiError::invalid("spec", "is required"))?;
    let pool_type = spec.req_enum("type", &["Dedicate", "Logical"])?;
    let scope = parse_scope(
        spec.opt_arr("scope")?
            .ok_or_else(|| ApiError::invalid("spec.scope", "is required"))?,
        "spec.scope",
    )?;
    let resources = parse_resources(
        spec.opt_arr("resources")?
            .ok_or_else(|| ApiError::invalid("spec.resources", "is required"))?,
        "spec.resources",
        pool_type,
        1,
    )?;
    let mut np = String::new();
    let network = match spec.opt_obj("network", &mut np)? {
        Some(n) => Some(n.req_str("name")?.to_string()),
        None => None,
    };
    if pool_type == "Dedicate" && network.is_none() {
        return Err(ApiError::invalid(
            "spec.network.name",
            "is required for a physical (Dedicate) pool",
        ));
    }
    Ok(CreatePool {
        labels,
        annotations,
        pool_type: pool_type.to_string(),
        scope,
        resources,
        network,
        job_flavors: spec.opt_str_list("jobFlavors")?.unwrap_or_default(),
        driver: spec.raw("driver").cloned(),
    })
}

/// A validated merge patch. `None` = field not in the patch.
#[derive(Default)]
pub struct PoolPatch {
    /// Annotation changes; a `None` value removes the key (merge-patch null).
    pub annotations: Vec<(String, Option<String>)>,
    pub scope: Option<Vec<String>>,
    pub resources: Option<Vec<ResourceSpec>>,
    pub job_flavors: Option<Vec<String>>,
    pub driver: Option<Value>,
}

pub fn parse_patch(body: &Value, pool_type: &str) -> ApiResult<PoolPatch> {
    let root = Obj::root(body)?;
    let mut patch = PoolPatch::default();
    if let Some(Value::Object(meta)) = root.raw("metadata") {
        if let Some(k) = meta.keys().find(|k| *k != "annotations") {
            return Err(ApiError::invalid(&format!("metadata.{k}"), "cannot be patched"));
        }
        if let Some(Value::Object(a)) = meta.get("annotations") {
            let mut check = BTreeMap::new();
            for (k, v) in a {
                match v {
                    Value::String(s) => {
                        check.insert(k.clone(), s.clone());
                        patch.annotations.push((k.clone(), Some(s.clone())));
                    }
                    Value::Null => patch.annotations.push((k.clone(), None)),
                    _ => {
                        return Err(ApiError::invalid(
                            &format!("metadata.annotations.{k}"),
                            "must be a string or null",
                        ));
                    }
                }
            }
            check_annotations("metadata.annotations", &check, false)?;
        }
    }
    let mut sp = String::new();
    if let Some(spec) = root.opt_obj("spec", &mut sp)? {
        if let Some(Value::Object(m)) = root.raw("spec")
            && let Some(k) = m
                .keys()
                .find(|k| !["scope", "resources", "jobFlavors", "driver"].contains(&k.as_str()))
        {
            return Err(ApiError::invalid(&format!("spec.{k}"), "cannot be patched"));
        }
        if let Some(s) = spec.opt_arr("scope")? {
            patch.scope = Some(parse_scope(s, "spec.scope")?);
        }
        if let Some(r) = spec.opt_arr("resources")? {
            let resources = parse_resources(r, "spec.resources", pool_type, 0)?;
            if resources.iter().all(|r| r.count == 0) {
                return Err(ApiError::invalid(
                    "spec.resources",
                    "at least one node must stay in the pool",
                ));
            }
            patch.resources = Some(resources.into_iter().filter(|r| r.count > 0).collect());
        }
        patch.job_flavors = spec.opt_str_list("jobFlavors")?;
        if let Some(d) = spec.raw("driver") {
            let mut dp = String::new();
            if let Some(dobj) = spec.opt_obj("driver", &mut dp)? {
                dobj.opt_enum("updateStrategy", &["force", "idle"])?;
            }
            patch.driver = Some(d.clone());
        }
    }
    Ok(patch)
}

pub struct CreateNetwork {
    pub display_name: String,
    pub workspace_id: String,
    pub cidr: String,
    pub connection: Option<Value>,
}

/// `172.16.0.0/12`-style IPv4 CIDR with a prefix between 8 and 28.
fn check_cidr(field: &str, cidr: &str) -> ApiResult<()> {
    let bad = || ApiError::invalid(field, format!("'{cidr}' is not an IPv4 CIDR like 172.16.0.0/12"));
    let (ip, prefix) = cidr.split_once('/').ok_or_else(bad)?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if ip.parse::<std::net::Ipv4Addr>().is_err() || !(8..=28).contains(&prefix) {
        return Err(bad());
    }
    Ok(())
}

pub fn parse_network(body: &Value) -> ApiResult<CreateNetwork> {
    let root = Obj::root(body)?;
    if root.req_str("apiVersion")? != "v1" {
        return Err(ApiError::invalid("apiVersion", "must be v1"));
    }
    if root.req_str("kind")? != "Network" {
        return Err(ApiError::invalid("kind", "must be Network"));
    }
    let mut mp = String::new();
    let meta = root
        .opt_obj("metadata", &mut mp)?
        .ok_or_else(|| ApiError::invalid("metadata", "is required"))?;
    let mut lp = String::new();
    let labels = meta
        .opt_obj("labels", &mut lp)?
        .ok_or_else(|| ApiError::invalid("metadata.labels", "is required"))?;
    let name = labels
        .opt_str("os.modelarts/name")?
        .ok_or_else(|| ApiError::invalid("metadata.labels.os.modelarts/name", "is required"))?;
    check_display_name("metadata.labels.os.modelarts/name", name)?;
    let workspace = labels.opt_str("os.modelarts/workspace.id")?.unwrap_or("0");
    let mut sp = String::new();
    let spec = root
        .opt_obj("spec", &mut sp)?
        .ok_or_else(|| ApiError::invalid("spec", "is required"))?;
    let cidr = spec.req_str("cidr")?;
    check_cidr("spec.cidr", cidr)?;
    Ok(CreateNetwork {
        display_name: name.to_string(),
        workspace_id: workspace.to_string(),
        cidr: cidr.to_string(),
        connection: spec.raw("connection").cloned(),
    })
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
