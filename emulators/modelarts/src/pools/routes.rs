//! HTTP surface of the pool family (reference table 0.2), networks and resource flavors.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{LabelSelector, flavors, requests};
use crate::errors::{ApiError, ApiResult};
use crate::paging::{continue_page, continue_start};
use crate::state::{Shared, bump};
use crate::validate::{Obj, Query, parse_body, parse_tags};

type App = Arc<Shared>;
type JsonResult = ApiResult<Json<Value>>;

pub fn router() -> Router<App> {
    let v2 = "/v2/{project_id}/pools";
    let v1 = "/v1/{project_id}/pools";
    Router::new()
        .route(v2, post(create).get(list))
        .route(
            &format!("{v2}/{{pool_name}}"),
            get(show).patch(patch).delete(remove),
        )
        .route(&format!("{v2}/{{pool_name}}/nodes"), get(list_nodes))
        .route(
            &format!("{v2}/{{pool_name}}/nodes/batch-delete"),
            post(delete_nodes),
        )
        .route(&format!("{v2}/{{pool_name}}/nodes/{{node_name}}"), get(show_node))
        .route(&format!("{v1}/tags"), get(aggregate_tags))
        .route(&format!("{v1}/resource-instances/filter"), post(filter))
        .route(
            "/v1/{project_id}/modelarts-pool/resource-instances/filter",
            post(filter),
        )
        .route(&format!("{v1}/{{pool_name}}/tags"), get(show_tags))
        .route(&format!("{v1}/{{pool_name}}/tags/create"), post(create_tags))
        .route(
            &format!("{v1}/{{pool_name}}/tags/delete"),
            axum::routing::delete(delete_tags),
        )
        .route("/v1/{project_id}/resourceflavors", get(resource_flavors))
        .route(
            "/v1/{project_id}/networks",
            post(create_network).get(list_networks),
        )
        .route(
            "/v1/{project_id}/networks/{network_name}",
            get(show_network).delete(delete_network),
        )
}

async fn create(State(s): State<App>, Path(pid): Path<String>, body: Bytes) -> JsonResult {
    let req = requests::parse_create(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, seq| p.pools.create(req, bump(seq), ctx).map(Json))
}

async fn list(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.pools.list(&q, ctx).map(Json))
}

async fn show(State(s): State<App>, Path((pid, name)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.show(&name, ctx).map(Json))
}

/// Accepts `application/json` (what the SDK sends) and `application/merge-patch+json` (what the
/// docs require) alike; anything else is refused.
async fn patch(
    State(s): State<App>,
    Path((pid, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> JsonResult {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !(ct.starts_with("application/json") || ct.starts_with("application/merge-patch+json")) {
        return Err(ApiError::invalid(
            "Content-Type",
            format!("{ct} is not application/json or application/merge-patch+json"),
        ));
    }
    let body = parse_body(&body)?;
    s.with_project(&pid, |p, ctx, _| {
        let pool_type = p
            .pools
            .show(&name, ctx)
            .map(|v| v["spec"]["type"].as_str().unwrap_or("Dedicate").to_string())?;
        let patch = requests::parse_patch(&body, &pool_type)?;
        p.pools.patch(&name, patch, ctx).map(Json)
    })
}

async fn remove(State(s): State<App>, Path((pid, name)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.delete(&name, ctx).map(Json))
}

async fn list_nodes(
    State(s): State<App>,
    Path((pid, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.pools.list_nodes(&name, &q, ctx).map(Json))
}

async fn show_node(
    State(s): State<App>,
    Path((pid, name, node)): Path<(String, String, String)>,
) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.show_node(&name, &node, ctx).map(Json))
}

async fn delete_nodes(
    State(s): State<App>,
    Path((pid, name)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let body = parse_body(&body)?;
    let names = Obj::root(&body)?
        .opt_str_list("deleteNodeNames")?
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid("deleteNodeNames", "is required and must not be empty"))?;
    s.with_project(&pid, |p, ctx, _| p.pools.delete_nodes(&name, &names, ctx))?;
    Ok(Json(json!({})))
}

async fn show_tags(State(s): State<App>, Path((pid, name)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.show_tags(&name, ctx).map(Json))
}

async fn create_tags(
    State(s): State<App>,
    Path((pid, name)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, true)?;
    s.with_project(&pid, |p, ctx, _| p.pools.add_tags(&name, tags, ctx).map(Json))
}

async fn delete_tags(
    State(s): State<App>,
    Path((pid, name)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, false)?;
    s.with_project(&pid, |p, ctx, _| p.pools.remove_tags(&name, &tags, ctx).map(Json))
}

async fn aggregate_tags(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.pools.aggregate_tags(&q, ctx).map(Json))
}

async fn filter(
    State(s): State<App>,
    Path(pid): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        parse_body(&body)?
    };
    s.with_project(&pid, |p, ctx, _| p.pools.filter(&body, &q, ctx).map(Json))
}

async fn resource_flavors(State(s): State<App>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let selector = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?;
    let limit = q.int("limit", 1, 500)?.unwrap_or(500) as usize;
    let start = continue_start(&q)?;
    let items: Vec<Value> = flavors::RESOURCE_FLAVORS
        .iter()
        .filter(|f| {
            let labels: BTreeMap<String, String> =
                [("os.modelarts/scope".to_string(), f.scope.to_string())].into();
            selector.matches(&labels)
        })
        .map(|f| f.to_json(&s.region))
        .collect();
    let (page, meta) = continue_page(items, start, limit);
    Ok(Json(
        json!({"apiVersion": "v1", "kind": "ResourceFlavorList", "metadata": meta, "items": page}),
    ))
}

async fn create_network(State(s): State<App>, Path(pid): Path<String>, body: Bytes) -> JsonResult {
    let req = requests::parse_network(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| p.pools.create_network(req, ctx).map(Json))
}

async fn list_networks(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.pools.list_networks(&q, ctx).map(Json))
}

async fn show_network(State(s): State<App>, Path((pid, name)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.show_network(&name, ctx).map(Json))
}

async fn delete_network(State(s): State<App>, Path((pid, name)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.pools.delete_network(&name, ctx).map(Json))
}
