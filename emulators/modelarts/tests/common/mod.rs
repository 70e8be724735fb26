//! A minimal signed ModelArts client for the HTTP tests and the benchmark. It signs with the
//! emulator's own `auth::sign`; the independent check of the verifier is the Python SDK suite.
#![allow(dead_code)]

use axum::http::{HeaderMap, HeaderValue};
use modelarts_emulator::auth::{RequestParts, sdk_date, sign};
use serde_json::Value;

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub host: String,
    pub ak: String,
    pub sk: String,
    pub project_id: String,
    pub security_token: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Client {
    pub fn new(addr: std::net::SocketAddr, project_id: &str) -> Self {
        Client {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("client"),
            base: format!("http://{addr}"),
            host: addr.to_string(),
            ak: "AKEXAMPLE".into(),
            sk: "SKEXAMPLE".into(),
            project_id: project_id.into(),
            security_token: None,
        }
    }

    /// `path` may contain `{pid}`, replaced by this client's project id.
    pub fn signed_headers(&self, method: &str, path_and_query: &str, body: &[u8]) -> HeaderMap {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("host", HeaderValue::from_str(&self.host).expect("host"));
        h.insert(
            "x-project-id",
            HeaderValue::from_str(&self.project_id).expect("pid"),
        );
        h.insert(
            "x-sdk-date",
            HeaderValue::from_str(&sdk_date(jiff::Timestamp::now())).expect("date"),
        );
        if let Some(t) = &self.security_token {
            h.insert("x-security-token", HeaderValue::from_str(t).expect("token"));
        }
        let parts = RequestParts {
            method,
            path,
            query,
            headers: &h,
            body,
        };
        let auth = sign(&self.ak, &self.sk, &parts).expect("sign");
        h.insert("authorization", HeaderValue::from_str(&auth).expect("auth"));
        h.remove("host");
        h
    }

    pub async fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> reqwest::Result<Reply> {
        let path = path.replace("{pid}", &self.project_id);
        let bytes = body
            .map(|b| serde_json::to_vec(&b).expect("json"))
            .unwrap_or_default();
        let headers = self.signed_headers(method, &path, &bytes);
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_bytes());
        }
        let resp = req.body(bytes).send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply {
            status,
            body,
            headers,
        })
    }

    /// Status and raw body bytes, for callers that decode into their own types.
    pub async fn call_raw(&self, method: &str, path: &str) -> (u16, bytes::Bytes) {
        let path = path.replace("{pid}", &self.project_id);
        let headers = self.signed_headers(method, &path, b"");
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_bytes());
        }
        let resp = req.send().await.expect("request failed");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.expect("body"))
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.try_call(method, path, body).await.expect("request failed")
    }
}
