//! One error type for every ModelArts call, classified into the few kinds the reconcile engine
//! acts on (reference section 4.4).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde_json::Value;

/// What the engine should make of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The resource does not exist (HTTP 404, or HTTP 400 with a ModelArts not-found code).
    NotFound,
    /// A precondition on the resource's state failed ("stop it first", "already running").
    WrongState,
    /// The request is wrong; retrying it unchanged cannot help.
    Invalid,
    /// Authentication failed (bad AK/SK, signature, token).
    Unauthorized,
    /// Authenticated but not allowed.
    Forbidden,
    /// Rate limited (HTTP 429 / APIGW.0308); see [`Error::retry_after`].
    Throttled,
    /// 5xx, timeouts, connection failures, unreadable responses: retry with backoff.
    Transient,
    /// A quota or instance-count limit was reached.
    QuotaExceeded,
    /// The resource already exists, or the request conflicts with another change.
    Conflict,
}

impl ErrorKind {
    /// PascalCase name, used as Kubernetes Event reason and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::WrongState => "WrongState",
            ErrorKind::Invalid => "Invalid",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Transient => "Transient",
            ErrorKind::QuotaExceeded => "QuotaExceeded",
            ErrorKind::Conflict => "Conflict",
        }
    }

    /// What the user should do about an error of this kind, appended to every message.
    pub fn advice(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "check the IDs the spec names (image.id, poolId, resourceId, network)",
            ErrorKind::WrongState => "the operator retries once the resource leaves its current state",
            ErrorKind::Invalid => {
                "fix the field the message names; the operator retries when the spec changes"
            }
            ErrorKind::Unauthorized => {
                "check accessKey/secretKey in the credentials Secret and the clock (modelarts-operator check shows which)"
            }
            ErrorKind::Forbidden => "grant the key's IAM user ModelArts permissions in this project",
            ErrorKind::Throttled => "the operator backs off and retries; lower --rate if this persists",
            ErrorKind::Transient => "the operator backs off and retries",
            ErrorKind::QuotaExceeded => {
                "raise the quota or free resources in the console; the operator retries when the spec changes"
            }
            ErrorKind::Conflict => "the operator retries after reading the resource again",
        }
    }

    /// Whether sending the same request again later may succeed without any change.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ModelArts codes that mean "no such resource" even though they come with HTTP 400.
/// 6309 is documented ("The instance does not exist"); 6357 and 6404 are what the Terraform
/// provider maps to not-found for notebooks.
const NOT_FOUND_CODES: &[&str] = &["ModelArts.6309", "ModelArts.6357", "ModelArts.6404"];
/// Documented notebook state preconditions: 6304 stop before deleting, 6305 already running,
/// 6306 starting, 6307 already stopped, 6308 stopping.
const WRONG_STATE_CODES: &[&str] = &[
    "ModelArts.6304",
    "ModelArts.6305",
    "ModelArts.6306",
    "ModelArts.6307",
    "ModelArts.6308",
];
/// 0113 notebook quota exhausted, 0116 quota exceeded, 6302 instance count at the maximum.
const QUOTA_CODES: &[&str] = &["ModelArts.0113", "ModelArts.0116", "ModelArts.6302"];
/// 6301 the instance already exists.
const CONFLICT_CODES: &[&str] = &["ModelArts.6301"];
const THROTTLED_CODES: &[&str] = &["APIGW.0308"];
/// APIGW.0101 is "API not found": a 404 about the URL, not the resource. Calling it NotFound
/// would make a controller believe its resource is gone.
const WRONG_API_CODES: &[&str] = &["APIGW.0101"];

/// Classify an HTTP error response by its ModelArts/APIGW code first, then its status.
pub fn classify(status: u16, error_code: Option<&str>) -> ErrorKind {
    let code = error_code.unwrap_or_default();
    let is = |codes: &[&str]| codes.contains(&code);
    if status == 429 || is(THROTTLED_CODES) {
        ErrorKind::Throttled
    } else if is(QUOTA_CODES) {
        ErrorKind::QuotaExceeded
    } else if is(NOT_FOUND_CODES) {
        ErrorKind::NotFound
    } else if is(WRONG_STATE_CODES) {
        ErrorKind::WrongState
    } else if is(CONFLICT_CODES) {
        ErrorKind::Conflict
    } else if is(WRONG_API_CODES) {
        ErrorKind::Invalid
    } else {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            408 => ErrorKind::Transient,
            500..=599 => ErrorKind::Transient,
            _ => ErrorKind::Invalid,
        }
    }
}

/// A failed ModelArts call. Boxed so that `Result<T, Error>` stays one pointer wide.
#[derive(thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Details>);

#[derive(thiserror::Error)]
#[error("{}", self.describe())]
struct Details {
    operation: &'static str,
    kind: ErrorKind,
    status: Option<u16>,
    error_code: Option<String>,
    error_msg: String,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error response (status ≥ 400, or any non-2xx), parsed as the SDK's
    /// `DefaultExceptionHandler` does.
    pub fn from_response(operation: &'static str, status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let (code, message) = parse_error_body(body);
        let raw = String::from_utf8_lossy(body).into_owned();
        // The SDK's fallbacks: the status as the code, the raw body as the message.
        let error_code = code.unwrap_or_else(|| status.to_string());
        let kind = classify(status, Some(&error_code));
        Error(Box::new(Details {
            operation,
            kind,
            status: Some(status),
            error_code: Some(error_code),
            error_msg: message.unwrap_or(raw),
            request_id: request_id(headers),
            retry_after: retry_after(headers),
            source: None,
        }))
    }

    /// The request never got an HTTP response (or its body could not be read).
    pub fn transport(operation: &'static str, source: reqwest::Error) -> Self {
        // A builder error is our own bug (bad URL or header), not something a retry fixes.
        let kind = if source.is_builder() {
            ErrorKind::Invalid
        } else {
            ErrorKind::Transient
        };
        let what = if source.is_timeout() {
            "request timed out"
        } else if source.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
        Error(Box::new(Details {
            operation,
            kind,
            status: source.status().map(|s| s.as_u16()),
            error_code: None,
            error_msg: what.to_owned(),
            request_id: None,
            retry_after: None,
            source: Some(Box::new(source)),
        }))
    }

    /// A 2xx response whose body is not what the operation returns. Classified Transient: it is
    /// most often a proxy or gateway page, and a real schema change needs an operator upgrade,
    /// not a spec change, so backing off is the right reaction either way.
    pub fn decode(
        operation: &'static str,
        status: u16,
        request_id: Option<String>,
        source: serde_json::Error,
    ) -> Self {
        Error(Box::new(Details {
            operation,
            kind: ErrorKind::Transient,
            status: Some(status),
            error_code: None,
            error_msg: "unexpected response body".to_owned(),
            request_id,
            retry_after: None,
            source: Some(Box::new(source)),
        }))
    }

    /// The client could not build the request (e.g. the body does not serialise).
    pub fn invalid_request(operation: &'static str, message: impl Into<String>) -> Self {
        Error(Box::new(Details {
            operation,
            kind: ErrorKind::Invalid,
            status: None,
            error_code: None,
            error_msg: message.into(),
            request_id: None,
            retry_after: None,
            source: None,
        }))
    }

    /// A mutating request the leader-election fence refused to send. Classified Transient,
    /// which callers treat as "may have happened": a create's marker is kept rather than
    /// cleared by a replica that is no longer allowed to decide anything.
    pub fn fenced(operation: &'static str, why: impl Into<String>) -> Self {
        Error(Box::new(Details {
            operation,
            kind: ErrorKind::Transient,
            status: None,
            error_code: Some("Fenced".to_owned()),
            error_msg: format!("not sent: {}", why.into()),
            request_id: None,
            retry_after: None,
            source: None,
        }))
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }
    /// PascalCase kind name, for Event reasons and metric labels (bounded cardinality).
    pub fn category(&self) -> &'static str {
        self.0.kind.as_str()
    }
    pub fn is_retryable(&self) -> bool {
        self.0.kind.is_retryable()
    }
    pub fn is_not_found(&self) -> bool {
        self.0.kind == ErrorKind::NotFound
    }
    /// The operation name, e.g. `notebooks.show`.
    pub fn operation(&self) -> &'static str {
        self.0.operation
    }
    /// HTTP status, when a response was received.
    pub fn status(&self) -> Option<u16> {
        self.0.status
    }
    /// `error_code` from the body (e.g. `ModelArts.6309`), else the HTTP status as a string.
    pub fn error_code(&self) -> Option<&str> {
        self.0.error_code.as_deref()
    }
    pub fn error_msg(&self) -> &str {
        &self.0.error_msg
    }
    /// `X-Request-Id` of the response, to quote to Huawei Cloud support.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }
}

impl Details {
    fn describe(&self) -> String {
        let mut text = format!("ModelArts {} failed ({})", self.operation, self.kind);
        if let Some(status) = self.status {
            text.push_str(&format!(": HTTP {status}"));
        }
        if let Some(code) = &self.error_code {
            text.push_str(&format!(" {code}"));
        }
        // Raw bodies can be whole HTML pages; keep messages readable in Events and logs.
        let message: String = self.error_msg.chars().take(300).collect();
        text.push_str(&format!(": {message}"));
        if let Some(id) = &self.request_id {
            text.push_str(&format!(" (request id {id})"));
        }
        text.push_str("; ");
        text.push_str(self.kind.advice());
        text
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("operation", &self.operation)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("error_code", &self.error_code)
            .field("error_msg", &self.error_msg)
            .field("request_id", &self.request_id)
            .field("retry_after", &self.retry_after)
            .field("source", &self.source)
            .finish()
    }
}

pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    // HeaderMap lookups are case-insensitive, which covers the SDK's X-Request-Id/x-request-id.
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `Retry-After` as delay-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// `(error_code, error_msg)` from an error body, trying the pairs the SDK tries, in its order:
/// `error_code`/`error_msg`, `errorCode`/`errorMsg`, `code`/`message`, then the same inside nested
/// objects. `error_code`/`error_message` (legacy APIs) and a lone `error_code` are accepted last.
pub fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => find_pair(&map).unwrap_or((None, None)),
        _ => (None, None),
    }
}

fn find_pair(map: &serde_json::Map<String, Value>) -> Option<(Option<String>, Option<String>)> {
    const PAIRS: &[(&str, &str)] = &[
        ("error_code", "error_msg"),
        ("errorCode", "errorMsg"),
        ("code", "message"),
    ];
    for (code, msg) in PAIRS {
        if map.contains_key(*code) && map.contains_key(*msg) {
            return Some((text(&map[*code]), text(&map[*msg])));
        }
    }
    // Like the SDK, look into every nested object; the last one that matches wins.
    let nested = map
        .values()
        .filter_map(|v| v.as_object())
        .filter_map(find_pair)
        .next_back();
    if nested.is_some() {
        return nested;
    }
    if map.contains_key("error_code") {
        let message = map.get("error_message").and_then(text);
        return Some((text(&map["error_code"]), message));
    }
    None
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
