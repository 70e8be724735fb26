//! The one IAM call a ModelArts client makes: `GET /v3/projects?name={region}`, which the SDK
//! sends (signed with the same AK/SK) to find the project ID of a region when none is configured,
//! and which `modelarts-operator check` uses to verify a configured one. Served on the same
//! address as ModelArts so one endpoint override covers both. The emulated account has one
//! project, in the emulator's region.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use serde_json::{Value, json};

use crate::state::Shared;
use crate::validate::Query;

type App = Arc<Shared>;

pub fn router() -> Router<App> {
    Router::new().route("/v3/projects", get(list_projects))
}

/// IAM's domain (account) ID of the emulated account: fixed, like the project ID.
pub const DOMAIN_ID: &str = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0";

async fn list_projects(State(s): State<App>, RawQuery(raw): RawQuery) -> Json<Value> {
    let query = Query::parse(raw.as_deref());
    let wanted = query.get("name");
    let projects: Vec<Value> = [(s.project_id.as_str(), s.region.as_str())]
        .into_iter()
        .filter(|(_, name)| wanted.is_none_or(|w| w == *name))
        .map(|(id, name)| {
            json!({
                "id": id,
                "name": name,
                "domain_id": DOMAIN_ID,
                "parent_id": DOMAIN_ID,
                "is_domain": false,
                "enabled": true,
                "description": "",
                "links": {"self": format!("/v3/projects/{id}")},
            })
        })
        .collect();
    let self_link = match wanted {
        Some(name) => format!("/v3/projects?name={name}"),
        None => "/v3/projects".to_string(),
    };
    Json(json!({
        "projects": projects,
        "links": {"self": self_link, "previous": null, "next": null},
    }))
}
