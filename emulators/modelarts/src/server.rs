//! The HTTP server: router assembly, the gateway middleware (auth, faults, counters, request
//! ids) and an accept loop of our own, so that a fault can drop a connection mid-request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::auth::{self, RequestParts};
use crate::errors::{ApiError, codes};
use crate::faults::FaultAction;
use crate::state::{LogEntry, Shared, lock};

/// Marker on a response: close the connection instead of sending it.
#[derive(Clone, Copy)]
struct DropConnection;

/// The route template a response was produced by, for the request log.
#[derive(Clone)]
struct RouteTemplate(String);

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct DroppedByFault;

const MAX_BODY: usize = 16 * 1024 * 1024;

pub fn build_router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .merge(crate::notebooks::routes::router())
        .merge(crate::pools::routes::router())
        .merge(crate::servers::routes::router())
        .merge(crate::iam::router())
        // The gateway knows an API by method and path: a wrong method is an unknown API.
        .method_not_allowed_fallback(api_not_found)
        .route_layer(middleware::from_fn_with_state(shared.clone(), gateway));
    Router::new()
        .merge(api)
        .nest("/_emulator", crate::control::router())
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), request_id))
        .with_state(shared)
}

async fn api_not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::API_NOT_FOUND,
        format!("No API matches {} {}", req.method(), req.uri().path()),
    )
}

fn dropped() -> Response {
    let mut r = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    r.extensions_mut().insert(DropConnection);
    r
}

/// What API Gateway does in front of ModelArts: authenticate, count, apply injected faults.
async fn gateway(
    State(s): State<Arc<Shared>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let template = matched
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    let route = format!("{} {template}", parts.method);
    s.record_call(&route);
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return ApiError::invalid("body", "unreadable or larger than 16 MiB").into_response(),
    };
    let verdict = {
        let rp = RequestParts {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &bytes,
        };
        let cfg = s.auth.read().unwrap_or_else(|e| e.into_inner());
        auth::verify(&cfg, &rp, jiff::Timestamp::now().as_second())
    };
    if let Err(e) = verdict {
        let mut r =
            ApiError::unauthorized(format!("Incorrect IAM authentication information: {e}")).into_response();
        r.extensions_mut().insert(RouteTemplate(route));
        return r;
    }

    // API Gateway throttles before the backend sees the request, after authenticating it.
    if let Some(e) = crate::quota::check(&s, &template, parts.uri.path(), &route) {
        let mut r = e.into_response();
        r.extensions_mut().insert(RouteTemplate(route));
        return r;
    }

    let actions = lock(&s.faults).fire(parts.method.as_str(), &template, parts.uri.path());
    let latency: u64 = actions
        .iter()
        .map(|a| {
            if let FaultAction::Latency { millis } = a {
                *millis
            } else {
                0
            }
        })
        .sum();
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let mut after_commit = None;
    for a in actions {
        match a {
            FaultAction::Latency { .. } => {}
            FaultAction::Drop => return dropped(),
            FaultAction::Status {
                status,
                error_code,
                retry_after,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                let code = error_code.unwrap_or_else(|| {
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        codes::THROTTLED
                    } else {
                        codes::INTERNAL
                    }
                    .to_string()
                });
                let mut e = ApiError::new(
                    status,
                    &code,
                    format!("Injected fault: {}", status.canonical_reason().unwrap_or("")),
                );
                e.retry_after = retry_after;
                let mut r = e.into_response();
                r.extensions_mut().insert(RouteTemplate(route));
                return r;
            }
            FaultAction::CommitThenFail { status, drop } => after_commit = Some((status, drop)),
        }
    }

    let mut resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if let Some((status, drop)) = after_commit {
        if drop {
            return dropped();
        }
        let status = status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp = ApiError::new(
            status,
            codes::INTERNAL,
            "Injected fault after the request was committed",
        )
        .into_response();
    }
    resp.extensions_mut().insert(RouteTemplate(route));
    resp
}

/// Every response carries `X-Request-Id`; API calls are appended to the bounded request log.
async fn request_id(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let access_key = signing_access_key(req.headers());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    // `Date` tells clients the emulated time, as a real server's Date tells its own clock:
    // lease expiry and other timestamps in bodies are only comparable with it.
    if let Some(v) = jiff::Timestamp::from_millisecond(s.clock.now_ms())
        .ok()
        .and_then(|t| {
            jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&t)
                .ok()
        })
        .and_then(|d| HeaderValue::from_str(&d).ok())
    {
        resp.headers_mut().insert(axum::http::header::DATE, v);
    }
    if !path.starts_with("/_emulator") {
        let route = resp.extensions().get::<RouteTemplate>().map(|r| r.0.clone());
        s.record_log(LogEntry {
            at_ms: s.clock.now_ms(),
            request_id: id,
            method,
            path,
            query,
            route,
            status: resp.status().as_u16(),
            access_key,
        });
    }
    resp
}

/// `Access=AK` from an `SDK-HMAC-SHA256 Access=AK, SignedHeaders=..., Signature=...` header.
fn signing_access_key(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let rest = value.split_once("Access=")?.1;
    Some(rest.split(',').next().unwrap_or(rest).trim().to_string())
}

/// Serve until `shutdown` flips. Each connection is served by hyper directly; when the
/// router marks a response with [`DropConnection`], the service fails and hyper closes the
/// socket without writing anything, which is what a client sees on a network fault.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let mut conn_shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let router = router.clone();
                        async move {
                            let resp = router.oneshot(req.map(Body::new)).await.unwrap_or_else(|e| match e {});
                            if resp.extensions().get::<DropConnection>().is_some() { Err(DroppedByFault) } else { Ok(resp) }
                        }
                    });
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = conn_shutdown.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
