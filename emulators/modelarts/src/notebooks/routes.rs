//! HTTP surface of the notebook family (reference table 0.1) plus the image list.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};

use super::model::{LEASE_MAX_MS, LEASE_MIN_MS};
use super::{flavor_page, requests};
use crate::catalog;
use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::{offset_limit, offset_page};
use crate::state::{Shared, bump};
use crate::validate::{Obj, Query, parse_body, parse_optional_body, parse_tags};

type App = Arc<Shared>;
type JsonResult = ApiResult<Json<Value>>;

pub fn router() -> Router<App> {
    let nb = "/v1/{project_id}/notebooks";
    Router::new()
        .route(nb, post(create).get(list))
        .route(&format!("{nb}/all"), get(list))
        .route(&format!("{nb}/flavors"), get(flavors))
        .route(&format!("{nb}/tags"), get(aggregate_tags))
        .route(&format!("{nb}/{{id}}"), get(show).put(update).delete(remove))
        .route(&format!("{nb}/{{id}}/start"), post(start))
        .route(&format!("{nb}/{{id}}/stop"), post(stop))
        .route(&format!("{nb}/{{id}}/lease"), get(show_lease).patch(renew_lease))
        .route(&format!("{nb}/{{id}}/flavors"), get(switchable_flavors))
        .route(&format!("{nb}/{{id}}/create-image"), post(create_image))
        .route(&format!("{nb}/{{id}}/tags/create"), post(create_tags))
        .route(&format!("{nb}/{{id}}/tags/delete"), delete(delete_tags))
        .route(&format!("{nb}/{{id}}/storage"), post(mount).get(list_storage))
        .route(
            &format!("{nb}/{{id}}/storage/{{storage_id}}"),
            get(show_storage).delete(unmount),
        )
        .route("/v1/{project_id}/images", get(list_images))
        .route("/v1/{project_id}/images/{id}", get(show_image))
}

async fn create(State(s): State<App>, Path(pid): Path<String>, body: Bytes) -> JsonResult {
    let req = requests::parse_create(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, seq| {
        Ok(Json(p.notebooks.create(req, bump(seq), ctx)))
    })
}

async fn list(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let bytes = s.with_project(&pid, |p, ctx, _| p.notebooks.list_json(&q, ctx))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn show(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> ApiResult<Response> {
    let bytes = s.with_project(&pid, |p, ctx, _| p.notebooks.show_json(&id, ctx))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn update(State(s): State<App>, Path((pid, id)): Path<(String, String)>, body: Bytes) -> JsonResult {
    let req = requests::parse_update(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| p.notebooks.update(&id, req, ctx).map(Json))
}

async fn remove(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.notebooks.delete(&id, ctx).map(Json))
}

async fn start(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let duration = q.int("duration", LEASE_MIN_MS, LEASE_MAX_MS)?;
    let kind = q.enum_of("type", &["TIMING", "IDLE"])?;
    s.with_project(&pid, |p, ctx, _| {
        p.notebooks.start(&id, duration, kind, ctx).map(Json)
    })
}

async fn stop(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.notebooks.stop(&id, ctx).map(Json))
}

async fn show_lease(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.notebooks.show_lease(&id, ctx).map(Json))
}

/// The query `duration` wins over the body and forces TIMING (reference 1.8).
async fn renew_lease(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let body = parse_optional_body(&body)?;
    let (mut duration, mut kind) = (None, "TIMING");
    if !body.is_null() {
        let root = Obj::root(&body)?;
        duration = root.opt_i64("duration", LEASE_MIN_MS, LEASE_MAX_MS)?;
        kind = root.opt_enum("type", &["TIMING", "IDLE"])?.unwrap_or("TIMING");
    }
    if let Some(d) = q.int("duration", LEASE_MIN_MS, LEASE_MAX_MS)? {
        duration = Some(d);
        kind = "TIMING";
    }
    let duration = duration.ok_or_else(|| ApiError::invalid("duration", "is required (query or body)"))?;
    s.with_project(&pid, |p, ctx, _| {
        p.notebooks.renew_lease(&id, duration, kind, ctx).map(Json)
    })
}

async fn flavors(RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let category = q.enum_of("category", &["CPU", "GPU", "ASCEND"])?;
    q.enum_of("type", &["MANAGED", "DEDICATED"])?;
    let items = catalog::NOTEBOOK_FLAVORS
        .iter()
        .filter(|f| category.is_none_or(|c| c == f.category))
        .map(catalog::NotebookFlavor::to_json)
        .collect();
    flavor_page(items, &q).map(Json)
}

async fn switchable_flavors(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| {
        p.notebooks.switchable_flavors(&id, &q, ctx).map(Json)
    })
}

async fn create_tags(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, false)?;
    s.with_project(&pid, |p, ctx, _| p.notebooks.add_tags(&id, tags, ctx))?;
    Ok(Json(json!({})))
}

async fn delete_tags(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, false)?;
    s.with_project(&pid, |p, ctx, _| p.notebooks.remove_tags(&id, &tags, ctx))?;
    Ok(Json(json!({})))
}

async fn aggregate_tags(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let ws = q.get("workspace_id").map(str::to_string);
    s.with_project(&pid, |p, _, _| {
        Ok(Json(p.notebooks.aggregate_tags(ws.as_deref())))
    })
}

async fn mount(State(s): State<App>, Path((pid, id)): Path<(String, String)>, body: Bytes) -> JsonResult {
    let req = requests::parse_mount(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| p.notebooks.mount(&id, req, ctx).map(Json))
}

async fn list_storage(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.notebooks.list_storage(&id, ctx).map(Json))
}

async fn show_storage(
    State(s): State<App>,
    Path((pid, id, sid)): Path<(String, String, String)>,
) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| {
        p.notebooks.show_storage(&id, &sid, ctx).map(Json)
    })
}

async fn unmount(State(s): State<App>, Path((pid, id, sid)): Path<(String, String, String)>) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.notebooks.unmount(&id, &sid, ctx).map(Json))
}

async fn create_image(
    State(s): State<App>,
    Path((pid, id)): Path<(String, String)>,
    body: Bytes,
) -> JsonResult {
    let req = super::images::parse_image_request(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| {
        p.notebooks.create_image(&id, req, ctx).map(Json)
    })
}

/// Built-in images plus the images saved from this project's notebooks.
async fn list_images(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let (offset, limit) = offset_limit(&q, 1000, 1000)?;
    let name = q.get("name").map(str::to_lowercase);
    let fuzzy = q.get("name_fuzzy_match") == Some("true");
    let kind = q.enum_of("type", &["BUILD_IN", "DEDICATED"])?.map(str::to_string);
    let mut all: Vec<Value> = catalog::NOTEBOOK_IMAGES
        .iter()
        .map(|i| i.to_json(&s.region))
        .collect();
    all.extend(s.with_project(&pid, |p, ctx, _| p.notebooks.saved_images(ctx)));
    let items: Vec<Value> = all
        .into_iter()
        .filter(|i| {
            let n = i["name"].as_str().unwrap_or("").to_lowercase();
            let name_ok = match &name {
                None => true,
                Some(want) if fuzzy => n.contains(want.as_str()),
                Some(want) => &n == want,
            };
            name_ok && kind.as_deref().is_none_or(|k| i["type"] == k)
        })
        .collect();
    let total = items.len();
    Ok(Json(offset_page(
        total,
        offset,
        limit,
        items.into_iter().skip(offset).take(limit).collect(),
    )))
}

async fn show_image(State(s): State<App>, Path((pid, id)): Path<(String, String)>) -> JsonResult {
    if let Some(i) = catalog::notebook_image(&id) {
        return Ok(Json(i.to_json(&s.region)));
    }
    s.with_project(&pid, |p, ctx, _| p.notebooks.saved_images(ctx))
        .into_iter()
        .find(|i| i["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(codes::IMAGE_NOT_FOUND, "Image", &id))
}
