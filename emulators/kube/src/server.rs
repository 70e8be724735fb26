//! The axum application: one fallback handler that routes by the apiserver's URL layout, plus the
//! `/_emulator/` control endpoints.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::discovery;
use crate::error::ApiError;
use crate::faults::Faults;
use crate::handlers;
use crate::http::{Query, Route, json_response, parse_path};
use crate::store::State;

/// Tunables for tests; `Default` suits normal use.
#[derive(Debug, Clone)]
pub struct Options {
    /// Watch events kept for replay; older resourceVersions get 410 Expired.
    pub history_limit: usize,
    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Runs the minimal deployment, replicaset and disruption-budget controllers, which report
    /// every replica as running and ready (no Pod is created: there is no kubelet). Off, such
    /// objects keep the empty status a controller-less apiserver shows.
    pub workload_controllers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            history_limit: 100_000,
            bookmark_interval: Duration::from_secs(5),
            workload_controllers: true,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub state: Arc<Mutex<State>>,
    pub faults: Faults,
    pub options: Options,
}

impl App {
    pub fn new(options: Options) -> Self {
        let mut state = State::new(options.history_limit);
        state.workload_controllers = options.workload_controllers;
        crate::kinds::seed(&mut state);
        Self {
            state: Arc::new(Mutex::new(state)),
            faults: Faults::default(),
            options,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A handler never panics while holding the lock; if one did, the data is still consistent
        // at the granularity of a commit, so keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn router(app: App) -> Router {
    Router::new().fallback(dispatch).with_state(app)
}

async fn dispatch(
    AxState(app): AxState<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = Query::parse(uri.query());
    let path = uri.path().to_string();
    if let Some(rest) = path.strip_prefix("/_emulator/") {
        return handlers::control::handle(&app, &method, rest, &body)
            .unwrap_or_else(IntoResponse::into_response);
    }
    let latency = app.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Authentication, impersonation and RBAC run before routing, as the apiserver's filters do.
    let user = match crate::auth::admit(&app.lock(), &method, &path, &query, &headers) {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    if let Some(result) = crate::auth::review::handle(&app.lock(), &user, &method, &path, &body) {
        return result.unwrap_or_else(IntoResponse::into_response);
    }
    // The v2 document is served as JSON only; answer a protobuf-only Accept (client-go's v2
    // client) with 406 instead of JSON the client would misparse.
    if path.starts_with("/openapi/v2") && !crate::http::accepts_json(&headers) {
        return ApiError::new(
            406,
            "NotAcceptable",
            "only application/json is supported for /openapi/v2",
        )
        .into_response();
    }
    if let Some(resp) = crate::health::handle(&path, &query) {
        return resp;
    }
    match non_resource(&app, &path) {
        Some(Ok(resp)) => return resp,
        Some(Err(e)) => return e.into_response(),
        None => {}
    }
    let result = match parse_path(&path) {
        Some(Route::Resource(target)) => handlers::resource(&app, &method, target, &query, &headers, &body),
        Some(Route::Root { legacy: true }) => Ok(json_response(StatusCode::OK, &discovery::api_versions())),
        Some(Route::Root { legacy: false }) => Ok(json_response(
            StatusCode::OK,
            &discovery::api_group_list(&app.lock().registry),
        )),
        Some(Route::Group { group }) => discovery::api_group(&app.lock().registry, &group)
            .map(|doc| json_response(StatusCode::OK, &doc))
            .ok_or_else(not_found_path),
        Some(Route::GroupVersion { group, version }) => {
            discovery::resource_list(&app.lock().registry, &group, &version)
                .map(|doc| json_response(StatusCode::OK, &doc))
                .ok_or_else(not_found_path)
        }
        None => Err(not_found_path()),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

pub fn not_found_path() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

fn non_resource(app: &App, path: &str) -> Option<Result<Response, ApiError>> {
    let ok = |v| Some(Ok(json_response(StatusCode::OK, &v)));
    match path {
        "/version" | "/version/" => ok(discovery::version()),
        "/openapi/v2" | "/openapi/v2/" => ok(crate::openapi::v2(&app.lock().registry)),
        "/openapi/v3" | "/openapi/v3/" => ok(crate::openapi::v3_root(&app.lock().registry)),
        p if p.starts_with("/openapi/v3/") => {
            let rest = p.trim_start_matches("/openapi/v3/");
            let doc = match rest.split('/').collect::<Vec<_>>().as_slice() {
                ["api", v] => crate::openapi::v3_group_version(&app.lock().registry, "", v),
                ["apis", g, v] => crate::openapi::v3_group_version(&app.lock().registry, g, v),
                _ => None,
            };
            Some(
                doc.map(|d| json_response(StatusCode::OK, &d))
                    .ok_or_else(not_found_path),
            )
        }
        p if p.starts_with("/openapi/") => Some(Err(not_found_path())),
        _ => None,
    }
}

/// Status for an injected failure, with the reason a real server would give for that code.
pub fn injected(code: u16) -> ApiError {
    let reason = match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };
    let mut err = ApiError::new(code, reason, format!("injected fault: {reason} ({code})"));
    if code == 429 {
        err.details = Some(json!({"retryAfterSeconds": 1}));
    }
    err
}
