//! Shared helpers: a raw HTTP client (independent of kube-rs, to check wire-level behaviour) and
//! a test CRD with a schema, a status subresource and printer columns.

use std::time::Duration;

use kube_emulator::KubeEmulator;
use serde_json::{Value, json};

pub struct Api {
    pub server: KubeEmulator,
    pub http: reqwest::Client,
    pub base: String,
}

pub const WIDGETS: &str = "/apis/test.emulator.dev/v1/namespaces/default/widgets";

impl Api {
    pub async fn start() -> Self {
        let server = KubeEmulator::start().await.expect("server starts");
        Self::with(server)
    }

    pub fn with(server: KubeEmulator) -> Self {
        let base = server.url();
        Self {
            server,
            http: reqwest::Client::new(),
            base,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.header("content-type", content_type).body(body.to_string());
        }
        let resp = req.send().await.expect("request is answered");
        let code = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send("GET", path, "", None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, "application/json", Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("PUT", path, "application/json", Some(body)).await
    }
    pub async fn merge(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("PATCH", path, "application/merge-patch+json", Some(body))
            .await
    }
    pub async fn json_patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("PATCH", path, "application/json-patch+json", Some(body))
            .await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.send("DELETE", path, "", None).await
    }

    /// Registers the Widget CRD and waits for it to be served.
    pub async fn widget_crd(&self) {
        let (code, body) = self
            .post(
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                widget_crd(),
            )
            .await;
        assert_eq!(code, 201, "{body}");
    }

    pub async fn create_widget(&self, name: &str, spec: Value) -> Value {
        let (code, body) = self.post(WIDGETS, widget(name, spec)).await;
        assert_eq!(code, 201, "{body}");
        body
    }

    /// Opens a watch and returns a reader of its events.
    pub async fn watch(&self, path_and_query: &str) -> Watch {
        self.watch_accepting(path_and_query, "application/json").await
    }

    pub async fn watch_accepting(&self, path_and_query: &str, accept: &str) -> Watch {
        let resp = self
            .http
            .get(format!("{}{path_and_query}", self.base))
            .header("accept", accept)
            .send()
            .await
            .expect("watch opens");
        Watch {
            status: resp.status().as_u16(),
            resp,
            buf: Vec::new(),
        }
    }
}

pub struct Watch {
    pub status: u16,
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Watch {
    /// The next event, or None when the stream ends or nothing arrives within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Some(serde_json::from_slice(&line).expect("each line is one JSON event"));
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .ok()?
                .ok()??;
            self.buf.extend_from_slice(&chunk);
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("a watch event arrives")
    }
}

pub fn widget(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "test.emulator.dev/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.test.emulator.dev"},
        "spec": {
            "group": "test.emulator.dev",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["all", "emulator"]},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "x-kubernetes-validations": [
                                {"rule": "has(self.zone) != has(self.region)", "message": "exactly one of zone or region must be set"},
                                {"rule": "!has(self.region) || !has(oldSelf.region) || self.region == oldSelf.region", "message": "region is immutable"}
                            ],
                            "properties": {
                                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                "region": {"type": "string", "pattern": "^[a-z]+-[a-z]+-[0-9]+$"},
                                "zone": {"type": "string", "maxLength": 12},
                                "tier": {"type": "string", "enum": ["small", "large"], "default": "small"},
                                "tags": {"type": "object", "maxProperties": 3, "additionalProperties": {"type": "string"},
                                         "x-kubernetes-validations": [{"rule": "self.all(k, k.size() <= 8)", "message": "tag keys are at most 8 characters"}]},
                                "ports": {"type": "array", "maxItems": 2, "items": {"type": "integer"}},
                                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                            }
                        },
                        "status": {"type": "object", "properties": {
                            "observedGeneration": {"type": "integer"},
                            "conditions": {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
                        }}
                    }
                }}
            }]
        }
    })
}
