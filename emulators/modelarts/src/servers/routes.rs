//! HTTP surface of the Lite Server family (reference table 0.3).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::Value;

use super::{catalog, requests};
use crate::errors::{ApiError, ApiResult, codes};
use crate::paging::{offset_limit, offset_page};
use crate::state::Shared;
use crate::validate::{Obj, Query, parse_body, parse_optional_body, parse_tags};

type App = Arc<Shared>;
type JsonResult = ApiResult<Json<Value>>;
type Ids = Path<(String, String)>;

pub fn router() -> Router<App> {
    let ds = "/v1/{project_id}/dev-servers";
    let hi = "/v1/{project_id}/dev-servers/hyperinstance";
    Router::new()
        .route(ds, post(create).get(list))
        .route(&format!("{ds}/all"), get(list))
        .route(&format!("{ds}/sync"), put(list))
        .route(&format!("{ds}/action"), post(batch))
        .route(&format!("{ds}/flavors"), get(flavors))
        .route(&format!("{ds}/images"), get(images))
        .route(&format!("{ds}/images/{{id}}"), get(image))
        .route(&format!("{ds}/{{id}}"), get(show).put(rename).delete(remove))
        .route(
            &format!("{ds}/{{id}}/start"),
            put(|s, p, b| act(s, p, b, "START")),
        )
        .route(&format!("{ds}/{{id}}/stop"), put(|s, p, b| act(s, p, b, "STOP")))
        .route(
            &format!("{ds}/{{id}}/reboot"),
            put(|s, p, b| act(s, p, b, "REBOOT")),
        )
        .route(
            &format!("{ds}/{{id}}/changeos"),
            post(|s, p, b| act(s, p, b, "CHANGEOS")),
        )
        .route(
            &format!("{ds}/{{id}}/reinstallos"),
            post(|s, p, b| act(s, p, b, "REINSTALLOS")),
        )
        .route(hi, get(list_hypers))
        .route(&format!("{hi}/all"), get(list_hypers))
        .route(&format!("{hi}/{{id}}"), get(show_hyper).delete(delete_hyper))
        .route(
            &format!("{hi}/{{id}}/start"),
            put(|s, p, b| hyper_act(s, p, b, "START")),
        )
        .route(
            &format!("{hi}/{{id}}/stop"),
            put(|s, p, b| hyper_act(s, p, b, "STOP")),
        )
        .route(
            &format!("{hi}/{{id}}/changeos"),
            post(|s, p, b| hyper_act(s, p, b, "CHANGEOS")),
        )
        .route(&format!("{hi}/{{id}}/tags"), get(hyper_tags))
        .route(&format!("{hi}/{{id}}/tags/create"), post(create_hyper_tags))
        .route(&format!("{hi}/{{id}}/tags/delete"), post(delete_hyper_tags))
        .route(&format!("{hi}/{{id}}/live-scale-up"), post(scale_up))
        .route(&format!("{hi}/{{id}}/live-scale-down"), post(scale_down))
        .route(&format!("{hi}/{{id}}/servers"), get(hyper_servers))
        .route(&format!("{hi}/{{id}}/scale-evaluations"), get(scale_evaluations))
}

async fn create(State(s): State<App>, Path(pid): Path<String>, body: Bytes) -> JsonResult {
    let req = requests::parse_create(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, seq| p.servers.create(req, seq, ctx).map(Json))
}

async fn list(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.servers.list(&q, ctx).map(Json))
}

async fn show(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.show(&id, ctx).map(Json))
}

async fn rename(State(s): State<App>, Path((pid, id)): Ids, body: Bytes) -> JsonResult {
    let body = parse_body(&body)?;
    let name = Obj::root(&body)?.req_str("name")?.to_string();
    requests::check_server_name("name", &name)?;
    s.with_project(&pid, |p, ctx, _| p.servers.rename(&id, &name, ctx).map(Json))
}

async fn remove(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| {
        p.servers.act(&id, "DELETE", &Value::Null, ctx).map(Json)
    })
}

async fn act(State(s): State<App>, Path((pid, id)): Ids, body: Bytes, action: &'static str) -> JsonResult {
    let body = parse_optional_body(&body)?;
    if action == "START" && !body.is_null() {
        let root = Obj::root(&body)?;
        root.opt_enum("arch", &["X86", "ARM"])?;
        root.opt_enum("charging_mode", &["COMMON", "POST_PAID", "PRE_PAID"])?;
        root.opt_enum("server_type", &["BMS", "ECS", "HPS"])?;
    }
    s.with_project(&pid, |p, ctx, _| p.servers.act(&id, action, &body, ctx).map(Json))
}

async fn batch(State(s): State<App>, Path(pid): Path<String>, body: Bytes) -> JsonResult {
    let b = requests::parse_batch(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| p.servers.batch(b, ctx).map(Json))
}

async fn flavors(State(s): State<App>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let server_type = q.enum_of("server_type", &["BMS", "ECS", "HPS"])?;
    let arch = q.enum_of("arch", &["X86", "ARM"])?;
    let mode = q
        .enum_of("charging_mode", &["PRE_PAID", "POST_PAID"])?
        .unwrap_or("POST_PAID");
    let data: Vec<Value> = catalog::FLAVORS
        .iter()
        .filter(|f| server_type.is_none_or(|t| t == f.server_type) && arch.is_none_or(|a| a == f.arch))
        .map(|f| f.to_json(&s.region, mode))
        .collect();
    let n = data.len();
    Ok(Json(offset_page(n, 0, n.max(1), data)))
}

async fn images(RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    let server_type = q.enum_of("server_type", &["BMS", "ECS", "HPS"])?;
    let arch = q
        .get("flavor_name")
        .map(|f| {
            catalog::flavor(f)
                .map(|f| f.arch)
                .ok_or_else(|| ApiError::invalid("flavor_name", format!("unknown flavor {f}")))
        })
        .transpose()?;
    let (offset, limit) = offset_limit(&q, 1024, 1024)?;
    let items: Vec<Value> = catalog::IMAGES
        .iter()
        .filter(|i| server_type.is_none_or(|t| t == i.server_type) && arch.is_none_or(|a| a == i.arch))
        .map(catalog::ServerImage::to_json)
        .collect();
    let total = items.len();
    Ok(Json(offset_page(
        total,
        offset,
        limit,
        items.into_iter().skip(offset).take(limit).collect(),
    )))
}

async fn image(Path((_pid, id)): Ids) -> JsonResult {
    catalog::image(&id)
        .map(|i| Json(i.to_json()))
        .ok_or_else(|| ApiError::not_found(codes::IMAGE_NOT_FOUND, "Image", &id))
}

async fn list_hypers(State(s): State<App>, Path(pid): Path<String>, RawQuery(q): RawQuery) -> JsonResult {
    let q = Query::parse(q.as_deref());
    s.with_project(&pid, |p, ctx, _| p.servers.list_hypers(&q, ctx).map(Json))
}

async fn show_hyper(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.show_hyper(&id, ctx).map(Json))
}

async fn delete_hyper(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.delete_hyper(&id, ctx).map(Json))
}

async fn hyper_act(
    State(s): State<App>,
    Path((pid, id)): Ids,
    body: Bytes,
    action: &'static str,
) -> JsonResult {
    let body = parse_optional_body(&body)?;
    s.with_project(&pid, |p, ctx, _| {
        p.servers.hyper_action(&id, action, &body, ctx).map(Json)
    })
}

async fn hyper_tags(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.hyper_tags(&id, ctx).map(Json))
}

async fn create_hyper_tags(State(s): State<App>, Path((pid, id)): Ids, body: Bytes) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, false)?;
    s.with_project(&pid, |p, ctx, _| {
        p.servers.add_hyper_tags(&id, tags, ctx).map(Json)
    })
}

async fn delete_hyper_tags(State(s): State<App>, Path((pid, id)): Ids, body: Bytes) -> JsonResult {
    let tags = parse_tags(&parse_body(&body)?, false)?;
    s.with_project(&pid, |p, ctx, _| {
        p.servers.remove_hyper_tags(&id, tags, ctx).map(Json)
    })
}

async fn scale_up(State(s): State<App>, Path((pid, id)): Ids, body: Bytes) -> JsonResult {
    let (flavor, image) = requests::parse_scale_up(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, seq| {
        p.servers.scale_up(&id, &flavor, &image, seq, ctx).map(Json)
    })
}

async fn scale_down(State(s): State<App>, Path((pid, id)): Ids, body: Bytes) -> JsonResult {
    let ids = requests::parse_scale_down(&parse_body(&body)?)?;
    s.with_project(&pid, |p, ctx, _| p.servers.scale_down(&id, &ids, ctx).map(Json))
}

async fn hyper_servers(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.hyper_servers(&id, ctx).map(Json))
}

async fn scale_evaluations(State(s): State<App>, Path((pid, id)): Ids) -> JsonResult {
    s.with_project(&pid, |p, ctx, _| p.servers.scale_evaluations(&id, ctx).map(Json))
}
