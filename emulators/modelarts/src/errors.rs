//! The one error type every handler returns. It renders the ModelArts error body
//! `{"error_code","error_msg"}`; the request-id header is added by the middleware for every
//! response (errors and successes alike), so it is not repeated here.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Codes used by the emulator. The notebook ones are documented by ModelArts (reference 4.4);
/// the not-found codes per family are our choice (reference 5.13) and listed in the README.
pub mod codes {
    pub const PARAM_INVALID: &str = "ModelArts.0104";
    pub const NOTEBOOK_STOP_BEFORE_DELETE: &str = "ModelArts.6304";
    pub const NOTEBOOK_ALREADY_RUNNING: &str = "ModelArts.6305";
    pub const NOTEBOOK_STARTING: &str = "ModelArts.6306";
    /// Chosen for "instance state does not allow this operation" (not in the public catalogue).
    pub const NOTEBOOK_BAD_STATE: &str = "ModelArts.6307";
    pub const NOTEBOOK_NOT_FOUND: &str = "ModelArts.6309";
    pub const STORAGE_NOT_FOUND: &str = "ModelArts.6310";
    pub const POOL_NOT_FOUND: &str = "ModelArts.50015001";
    pub const POOL_BAD_STATE: &str = "ModelArts.50015002";
    pub const NETWORK_NOT_FOUND: &str = "ModelArts.50025001";
    pub const NETWORK_IN_USE: &str = "ModelArts.50025002";
    pub const SERVER_NOT_FOUND: &str = "ModelArts.7001";
    pub const SERVER_BAD_STATE: &str = "ModelArts.7002";
    pub const SERVER_PREPAID: &str = "ModelArts.7003";
    pub const HYPERINSTANCE_NOT_FOUND: &str = "ModelArts.7101";
    pub const IMAGE_NOT_FOUND: &str = "ModelArts.6404";
    pub const AUTH_FAILED: &str = "APIGW.0301";
    pub const API_NOT_FOUND: &str = "APIGW.0101";
    pub const THROTTLED: &str = "APIGW.0308";
    pub const INTERNAL: &str = "ModelArts.0001";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling faults).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 ModelArts.0104; `field` is named first so a client can tell which input was wrong.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            codes::PARAM_INVALID,
            format!("Invalid parameter '{field}': {why}"),
        )
    }

    pub fn bad_state(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &str, what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, format!("{what} {id} does not exist"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::AUTH_FAILED, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error_code": self.code, "error_msg": self.message });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
