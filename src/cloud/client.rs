//! `ModelArtsClient`: configuration, signing, timeouts, retries of reads, tracing and the metrics
//! hook. The typed calls live in `notebooks.rs`, `pools.rs` and `lite_servers.rs`.
//!
//! Credentials: the client holds a [`SharedCredentials`] handle and reads it before signing each
//! request, so replacing the credentials in the handle (a rotated Secret) takes effect on the next
//! request without rebuilding the client. A client is also cheap to build per credentials scope:
//! pass one [`HttpPools`] to [`ModelArtsClient::with_http_client`] to share its connection pools.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::credentials::SharedCredentials;
use super::error::{self, Error, ErrorKind};
use super::signer::{self, RequestToSign};

/// Content-Type values the SDK sends per operation (reference 4.2 lists which). The header is
/// signed, so it is exactly the SDK's string: its generated code declares
/// `application/json;charset=UTF-8`, but `http_utils.select_header_content_type` lower-cases it,
/// so the wire carries `charset=utf-8` (checked in `tests/cloud_sdk_requests.rs`).
pub const JSON: &str = "application/json";
pub const JSON_UTF8: &str = "application/json;charset=utf-8";
pub const MERGE_PATCH: &str = "application/merge-patch+json";

/// `https://modelarts.{region}.myhuaweicloud.com`, the default endpoint of a region.
pub fn default_endpoint(region: &str) -> String {
    format!("https://modelarts.{region}.myhuaweicloud.com")
}

/// Which Content-Type a pool PATCH carries. The docs require merge-patch; the SDK sends plain JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchContentType {
    #[default]
    MergePatch,
    Json,
}

impl PatchContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            PatchContentType::MergePatch => MERGE_PATCH,
            PatchContentType::Json => JSON,
        }
    }
}

/// Retries of reads (GET). Mutating calls are never retried here: a create retried after a
/// timeout could create a second resource, so that decision belongs to the reconcile engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// First backoff step; it doubles per attempt ("equal jitter": half fixed, half random).
    pub base_delay: Duration,
    /// Upper bound of one backoff step.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for in the client: the error is returned
    /// and the engine requeues with the server's delay.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Delay before retry number `retry` (1 = first retry), or `None` to stop retrying.
    fn delay(&self, retry: u32, error: &Error) -> Option<Duration> {
        if retry >= self.max_attempts || !error.is_retryable() {
            return None;
        }
        if let Some(server) = error.retry_after() {
            return (server <= self.max_retry_after).then_some(server);
        }
        let step = self
            .base_delay
            .saturating_mul(1u32 << (retry - 1).min(16))
            .min(self.max_delay);
        let half = step / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        Some(half + Duration::from_millis(jitter))
    }
}

/// The default time allowed to open a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how to call ModelArts.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub region: String,
    /// The IAM project ID of the region (32 hex characters).
    pub project_id: String,
    /// Base URL override (the emulator in tests); `None` means [`default_endpoint`].
    pub endpoint: Option<String>,
    pub connect_timeout: Duration,
    /// Whole-request timeout, per attempt.
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
    pub patch_content_type: PatchContentType,
    pub user_agent: String,
}

impl ClientConfig {
    pub fn new(region: impl Into<String>, project_id: impl Into<String>) -> Self {
        ClientConfig {
            region: region.into(),
            project_id: project_id.into(),
            endpoint: None,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            patch_content_type: PatchContentType::default(),
            user_agent: format!("modelarts-operator/{}", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
}

/// How one HTTP request ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Success,
    Failure(ErrorKind),
}

impl CallOutcome {
    /// `Success`, or the error category: a bounded label set.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Success => "Success",
            CallOutcome::Failure(kind) => kind.as_str(),
        }
    }
}

/// One HTTP request sent to ModelArts (each retry is its own record).
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// Stable operation name, e.g. `notebooks.create`.
    pub operation: &'static str,
    pub outcome: CallOutcome,
    pub status: Option<u16>,
    pub latency: Duration,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// Receives every call, so the operator can count calls and latency by operation and outcome
/// (e.g. in Prometheus) without this module depending on a metrics library.
pub trait CallObserver: Send + Sync {
    fn observe(&self, record: &CallRecord);
}

impl<F: Fn(&CallRecord) + Send + Sync> CallObserver for F {
    fn observe(&self, record: &CallRecord) {
        self(record)
    }
}

/// The connection pools of ModelArts clients. hyper grows an HTTP/1 connection's read buffer to
/// fit the largest response it has read (up to ~400 KiB) and keeps it while the connection lives,
/// so one page of a listing (200 notebooks, ~300 KiB) left a big buffer on whichever of the
/// dozens of connections concurrent writes had opened. Reads get a pool of their own that keeps
/// few idle connections; writes, answered with one resource, keep small buffers.
#[derive(Clone)]
pub struct HttpPools {
    writes: reqwest::Client,
    reads: reqwest::Client,
}

/// Idle connections the read pool keeps per host: the poller walks pages one at a time per kind.
const IDLE_READ_CONNECTIONS: usize = 4;

impl HttpPools {
    pub fn new(connect_timeout: Duration) -> Result<Self, Error> {
        let builder = || {
            reqwest::Client::builder()
                .use_rustls_tls()
                .connect_timeout(connect_timeout)
                // The SDK does not follow redirects; a redirect from ModelArts is an error to surface.
                .redirect(reqwest::redirect::Policy::none())
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| Error::invalid_request("client.new", format!("cannot build HTTP client: {e}")))
        };
        Ok(HttpPools {
            writes: built(builder())?,
            reads: built(builder().pool_max_idle_per_host(IDLE_READ_CONNECTIONS))?,
        })
    }

    fn for_method(&self, method: &Method) -> &reqwest::Client {
        if method == Method::GET {
            &self.reads
        } else {
            &self.writes
        }
    }
}

/// A ModelArts API client for one region and project.
#[derive(Clone)]
pub struct ModelArtsClient {
    http: HttpPools,
    base: String,
    region: String,
    project_id: String,
    credentials: SharedCredentials,
    observer: Option<Arc<dyn CallObserver>>,
    gate: Option<Arc<dyn super::gate::RequestGate>>,
    fence: Option<Arc<dyn super::gate::Fence>>,
    config: ClientConfig,
}

impl fmt::Debug for ModelArtsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelArtsClient")
            .field("base", &self.base)
            .field("region", &self.region)
            .field("project_id", &self.project_id)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// A request, before signing.
pub(crate) struct Call {
    pub operation: &'static str,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Call {
    pub fn new(operation: &'static str, method: Method, path: String, content_type: &'static str) -> Self {
        Call {
            operation,
            method,
            path,
            query: Vec::new(),
            content_type,
            body: Vec::new(),
        }
    }

    pub fn query(mut self, pairs: Vec<(String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    pub fn json_body<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, Error> {
        self.body = serde_json::to_vec(body)
            .map_err(|e| Error::invalid_request(self.operation, format!("cannot serialise body: {e}")))?;
        Ok(self)
    }
}

/// A successful (2xx) response.
pub(crate) struct Reply {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Vec<u8>,
}

impl ModelArtsClient {
    /// A client with its own connection pool.
    pub fn new(config: ClientConfig, credentials: impl Into<SharedCredentials>) -> Result<Self, Error> {
        let http = HttpPools::new(config.connect_timeout)?;
        Self::with_http_client(config, credentials, http)
    }

    /// A client sharing `http` (and its connection pools) with other clients, e.g. one client per
    /// credentials scope over one set of pools.
    pub fn with_http_client(
        config: ClientConfig,
        credentials: impl Into<SharedCredentials>,
        http: HttpPools,
    ) -> Result<Self, Error> {
        let base = config
            .endpoint
            .clone()
            .unwrap_or_else(|| default_endpoint(&config.region));
        let parsed = Url::parse(&base)
            .map_err(|e| Error::invalid_request("client.new", format!("bad endpoint {base:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::invalid_request(
                "client.new",
                format!("endpoint {base:?} must be an http(s) URL with a host"),
            ));
        }
        Ok(ModelArtsClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            region: config.region.clone(),
            project_id: config.project_id.clone(),
            credentials: credentials.into(),
            observer: None,
            gate: None,
            fence: None,
            config,
        })
    }

    /// Report every HTTP request to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Await `gate` before every HTTP request (retries included), e.g. a token bucket.
    pub fn with_gate(mut self, gate: Arc<dyn super::gate::RequestGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Check `fence` right before every mutating request (anything but GET): a refused check
    /// fails the call without sending it.
    pub fn with_fence(mut self, fence: Arc<dyn super::gate::Fence>) -> Self {
        self.fence = Some(fence);
        self
    }

    /// The credentials handle; `replace` on it rotates credentials for this client and its clones.
    pub fn credentials(&self) -> &SharedCredentials {
        &self.credentials
    }
    pub fn region(&self) -> &str {
        &self.region
    }
    pub fn project_id(&self) -> &str {
        &self.project_id
    }
    pub fn endpoint(&self) -> &str {
        &self.base
    }
    pub(crate) fn patch_content_type(&self) -> &'static str {
        self.config.patch_content_type.as_str()
    }

    /// `/{version}/{project_id}/{segments...}`, each segment percent-encoded as the SDK encodes
    /// path parameters (`quote(v, safe='')`).
    pub(crate) fn path(&self, version: &str, segments: &[&str]) -> String {
        let mut path = format!("/{version}/{}", signer::encode(&self.project_id));
        for segment in segments {
            path.push('/');
            path.push_str(&signer::encode(segment));
        }
        path
    }

    /// Send and decode a JSON response.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, Error> {
        let operation = call.operation;
        let reply = self.send(call).await?;
        serde_json::from_slice(&reply.body)
            .map_err(|e| Error::decode(operation, reply.status, reply.request_id, e))
    }

    /// Send and decode a JSON response, or `None` for an empty body (a delete that may answer
    /// 204 or 200 with the deleted object).
    pub(crate) async fn json_opt<T: DeserializeOwned>(&self, call: Call) -> Result<Option<T>, Error> {
        let operation = call.operation;
        let reply = self.send(call).await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&reply.body)
            .map(Some)
            .map_err(|e| Error::decode(operation, reply.status, reply.request_id, e))
    }

    /// Send and ignore the response body (calls documented to return nothing useful).
    pub(crate) async fn empty(&self, call: Call) -> Result<(), Error> {
        self.send(call).await.map(|_| ())
    }

    /// Send `call`, retrying reads on Throttled/Transient as [`RetryPolicy`] says.
    pub(crate) async fn send(&self, call: Call) -> Result<Reply, Error> {
        let retryable = call.method == Method::GET;
        let mut attempt = 1;
        loop {
            let result = self.attempt(&call, attempt).await;
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(error) => error,
            };
            let delay = if retryable {
                self.config.retry.delay(attempt, &error)
            } else {
                None
            };
            match delay {
                Some(delay) => {
                    tracing::debug!(
                        operation = call.operation,
                        attempt,
                        category = error.category(),
                        delay_ms = delay.as_millis() as u64,
                        "retrying ModelArts read"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error),
            }
        }
    }

    async fn attempt(&self, call: &Call, attempt: u32) -> Result<Reply, Error> {
        let span = tracing::info_span!(
            "modelarts_call",
            operation = call.operation,
            method = %call.method,
            attempt,
            status = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        if let Some(gate) = &self.gate {
            gate.acquire().await;
        }
        // After the token bucket, which may have waited: the fence is judged at sending time.
        if call.method != Method::GET
            && let Some(fence) = &self.fence
            && let Err(why) = fence.check()
        {
            return Err(Error::fenced(call.operation, why));
        }
        let started = Instant::now();
        let result = self.exchange(call).instrument(span.clone()).await;
        let latency = started.elapsed();
        // Back-pressure for the whole scope behind the gate, not only this call's retry.
        if let (Some(gate), Err(error)) = (&self.gate, &result)
            && error.kind() == super::ErrorKind::Throttled
        {
            gate.throttled(error.retry_after());
        }
        let (outcome, status) = match &result {
            Ok(reply) => (CallOutcome::Success, Some(reply.status)),
            Err(error) => (CallOutcome::Failure(error.kind()), error.status()),
        };
        if let Some(status) = status {
            span.record("status", status);
        }
        let request_id = match &result {
            Ok(reply) => reply.request_id.as_deref(),
            Err(error) => error.request_id(),
        };
        if let Some(id) = request_id {
            span.record("request_id", id);
        }
        span.in_scope(|| match &result {
            Ok(_) => tracing::debug!(
                latency_ms = latency.as_millis() as u64,
                "ModelArts call succeeded"
            ),
            Err(error) => tracing::debug!(
                latency_ms = latency.as_millis() as u64,
                category = error.category(),
                error = %error,
                "ModelArts call failed"
            ),
        });
        if let Some(observer) = &self.observer {
            observer.observe(&CallRecord {
                operation: call.operation,
                outcome,
                status,
                latency,
                attempt,
            });
        }
        result
    }

    async fn exchange(&self, call: &Call) -> Result<Reply, Error> {
        let op = call.operation;
        let query = signer::canonical_query(&call.query);
        let mut url = format!("{}{}", self.base, call.path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        let url =
            Url::parse(&url).map_err(|e| Error::invalid_request(op, format!("bad URL {url:?}: {e}")))?;

        let mut headers: Vec<(String, String)> = vec![
            ("Content-Type".to_owned(), call.content_type.to_owned()),
            ("User-Agent".to_owned(), self.config.user_agent.clone()),
        ];
        // Global services (IAM) get no project header, as the SDK's credentials add none there.
        if !self.project_id.is_empty() {
            headers.push(("X-Project-Id".to_owned(), self.project_id.clone()));
        }
        let credentials = self.credentials.current();
        let request = RequestToSign {
            method: call.method.as_str(),
            url: &url,
            headers: &headers,
            body: &call.body,
        };
        let auth = signer::authorize(&request, &credentials, jiff::Timestamp::now());
        headers.extend(auth.headers);

        let mut header_map = HeaderMap::new();
        for (name, value) in &headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Error::invalid_request(op, format!("bad header name {name:?}: {e}")))?;
            // Never echo the value: it may be a token or signature.
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::invalid_request(op, format!("header {name} has an invalid value")))?;
            header_map.append(name, value);
        }

        let mut builder = self
            .http
            .for_method(&call.method)
            .request(call.method.clone(), url)
            .headers(header_map)
            .timeout(self.config.request_timeout);
        // POST/PUT/PATCH always carry a body, if only an empty one, so `Content-Length: 0` is
        // sent as the SDK (requests) does; some gateways refuse a bodiless POST without it.
        let has_body_method = matches!(call.method, Method::POST | Method::PUT | Method::PATCH);
        if !call.body.is_empty() || has_body_method {
            builder = builder.body(call.body.clone());
        }
        let response = builder.send().await.map_err(|e| Error::transport(op, e))?;
        let status = response.status().as_u16();
        let response_headers = response.headers().clone();
        super::clock::observe(&response_headers);
        let body = response.bytes().await.map_err(|e| Error::transport(op, e))?;
        if !(200..300).contains(&status) {
            return Err(Error::from_response(op, status, &response_headers, &body));
        }
        Ok(Reply {
            status,
            request_id: error::request_id(&response_headers),
            body: body.to_vec(),
        })
    }
}

/// Helper to build query pairs from optional values.
#[derive(Default)]
pub(crate) struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Query(Vec::new())
    }
    pub fn opt<V: ToString>(mut self, key: &str, value: Option<V>) -> Self {
        if let Some(value) = value {
            self.0.push((key.to_owned(), value.to_string()));
        }
        self
    }
    pub fn put<V: ToString>(mut self, key: &str, value: V) -> Self {
        self.0.push((key.to_owned(), value.to_string()));
        self
    }
    pub fn pairs(self) -> Vec<(String, String)> {
        self.0
    }
}
