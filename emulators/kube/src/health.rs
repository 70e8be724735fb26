//! `/healthz`, `/livez` and `/readyz` as kube-apiserver answers them: `ok`, the named checks with
//! `?verbose`, `?exclude=NAME`, and `/readyz/NAME` for one check. The store is in memory, so every
//! check passes once the server answers; the names are the apiserver's for the parts it emulates.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::http::Query;

const COMMON: [&str; 5] = [
    "ping",
    "log",
    "etcd",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
];

fn checks(endpoint: &str) -> Vec<&'static str> {
    let mut checks = COMMON.to_vec();
    if endpoint == "readyz" {
        checks.splice(3..3, ["etcd-readiness", "informer-sync"]);
        checks.push("shutdown");
    }
    checks
}

pub fn handle(path: &str, query: &Query) -> Option<Response> {
    let path = path.trim_end_matches('/');
    let (endpoint, single) = match path.trim_start_matches('/').split_once('/') {
        Some((e, rest)) => (e, Some(rest)),
        None => (path.trim_start_matches('/'), None),
    };
    if !matches!(endpoint, "healthz" | "livez" | "readyz") {
        return None;
    }
    let checks = checks(endpoint);
    if let Some(name) = single {
        return Some(if checks.contains(&name) {
            (StatusCode::OK, "ok").into_response()
        } else {
            (StatusCode::NOT_FOUND, "404 page not found\n").into_response()
        });
    }
    // `?verbose` comes without a value; Go's apiserver only checks that the key is present.
    if query.get("verbose").is_none_or(|v| v == "false") {
        return Some((StatusCode::OK, "ok").into_response());
    }
    let excluded: Vec<&str> = query
        .get("exclude")
        .map(|e| e.split(',').collect())
        .unwrap_or_default();
    let mut body = String::new();
    for check in &checks {
        if excluded.contains(check) {
            body.push_str(&format!("[+]{check} excluded: ok\n"));
        } else {
            body.push_str(&format!("[+]{check} ok\n"));
        }
    }
    body.push_str(&format!("{endpoint} check passed\n"));
    Some((StatusCode::OK, body).into_response())
}
