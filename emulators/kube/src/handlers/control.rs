//! `/_emulator/` control endpoints: the fault hooks over HTTP, for tests in other processes.
//!
//! - `POST /_emulator/faults/fail`      `{"verb":"create","resource":"configmaps","status":500,"count":2}`
//! - `POST /_emulator/faults/latency`   `{"millis":250}`
//! - `POST /_emulator/faults/reset`
//! - `GET  /_emulator/faults`           armed rules and latency
//! - `POST /_emulator/watches/close`    ends every open watch
//! - `POST /_emulator/history/compact`  drops watch history (old resourceVersions get 410)

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::faults::FailRule;
use crate::http::json_response;
use crate::server::App;

#[derive(Deserialize)]
struct Latency {
    millis: u64,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid control request body: {e}")))
}

pub fn handle(app: &App, method: &Method, path: &str, body: &Bytes) -> Result<Response, ApiError> {
    let ok = || json_response(StatusCode::OK, &json!({"ok": true}));
    match (method.as_str(), path.trim_end_matches('/')) {
        ("POST", "faults/fail") => {
            let rule: FailRule = parse(body)?;
            app.faults
                .fail_next(&rule.verb, &rule.resource, rule.status, rule.count);
            Ok(ok())
        }
        ("POST", "faults/latency") => {
            let latency: Latency = parse(body)?;
            app.faults.set_latency(Duration::from_millis(latency.millis));
            Ok(ok())
        }
        ("POST", "faults/reset") => {
            app.faults.reset();
            Ok(ok())
        }
        ("GET", "faults") => Ok(json_response(
            StatusCode::OK,
            &json!({"rules": app.faults.rules(), "latencyMillis": app.faults.latency().as_millis() as u64}),
        )),
        ("POST", "watches/close") => {
            app.faults.close_watches();
            Ok(ok())
        }
        ("POST", "history/compact") => {
            app.lock().compact();
            Ok(ok())
        }
        _ => Err(ApiError::new(
            404,
            "NotFound",
            format!("no control endpoint {method} /_emulator/{path}"),
        )),
    }
}
