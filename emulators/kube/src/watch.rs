//! Watch streams: chunked newline-delimited `{"type","object"}` events. A watch subscribes to the
//! live channel and reads history under the store lock, so replay from a resourceVersion flows
//! into live events without a gap or a duplicate.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::error::ApiError;
use crate::registry::ResourceDef;
use crate::selectors::Selectors;
use crate::server::App;
use crate::store::{EventType, WatchEvent};
use crate::table::{self, Include};

pub struct WatchRequest {
    pub def: Arc<ResourceDef>,
    pub namespace: Option<String>,
    pub selectors: Selectors,
    pub resource_version: Option<String>,
    pub timeout: Option<Duration>,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    /// Set when the client asked for `as=Table` (kubectl get -w).
    pub table: Option<Include>,
    /// Set when the client asked for `PartialObjectMetadata` (kube's `metadata_watcher`).
    pub metadata_only: bool,
}

/// Formats events for one watch: version stamping, selector transitions and table rows.
struct Encoder {
    req: WatchRequest,
    columns_sent: bool,
}

impl Encoder {
    fn line(&mut self, kind: &str, object: &Value) -> Bytes {
        let mut object = object.clone();
        if kind != "ERROR" {
            object["apiVersion"] = Value::String(self.req.def.api_version());
            if kind != "BOOKMARK" {
                crate::events::to_view(&self.req.def, &mut object);
            }
            if self.req.metadata_only && kind != "BOOKMARK" {
                object = table::partial(&object);
            }
            if let Some(include) = self.req.table
                && kind != "BOOKMARK"
            {
                // The apiserver sends column definitions only with the first table event.
                object = table::table(&self.req.def, &[&object], include, !self.columns_sent, None);
                self.columns_sent = true;
            }
        }
        let mut bytes = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    fn matches_scope(&self, event: &WatchEvent) -> bool {
        event.storage_key == self.req.def.storage_key()
            && self
                .req
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == event.namespace)
    }

    /// Applies the selectors like the apiserver: an object entering the selection is ADDED, one
    /// leaving it is DELETED.
    fn encode_event(&mut self, event: &WatchEvent) -> Option<Bytes> {
        if !self.matches_scope(event) {
            return None;
        }
        let now = self.req.selectors.matches(&event.object);
        let kind = match (
            event.kind,
            event.old.as_ref().map(|o| self.req.selectors.matches(o)),
        ) {
            (EventType::Modified, Some(false)) if now => EventType::Added,
            (EventType::Modified, Some(true)) if !now => EventType::Deleted,
            (_, _) if !now => return None,
            (kind, _) => kind,
        };
        let shareable = kind == event.kind
            && self.req.table.is_none()
            && !self.req.metadata_only
            && event.object["apiVersion"].as_str() == Some(self.req.def.api_version().as_str());
        if shareable {
            return Some(
                event
                    .line
                    .get_or_init(|| self.line(kind.as_str(), &event.object))
                    .clone(),
            );
        }
        Some(self.line(kind.as_str(), &event.object))
    }

    fn bookmark(&mut self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let object = json!({"kind": self.req.def.kind, "apiVersion": self.req.def.api_version(), "metadata": metadata});
        self.line("BOOKMARK", &object)
    }
}

fn expired_line(message: String) -> Bytes {
    let status = ApiError::expired(message).to_status();
    let mut bytes = serde_json::to_vec(&json!({"type": "ERROR", "object": status})).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

pub fn start(app: &App, req: WatchRequest) -> Result<Response, ApiError> {
    let key = req.def.storage_key();
    let rv_param = req.resource_version.clone().unwrap_or_default();
    let from_now = rv_param.is_empty() || rv_param == "0";
    let (mut rx, initial, start_rv, expired) = {
        let state = app.lock();
        let rx = state.tx.subscribe();
        let mut initial: Vec<Arc<WatchEvent>> = Vec::new();
        let mut expired = None;
        if from_now || req.send_initial_events {
            for object in state.objects.get(&key).into_iter().flat_map(|m| m.values()) {
                initial.push(Arc::new(WatchEvent {
                    rv: state.rv,
                    storage_key: key.clone(),
                    namespace: object["metadata"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    kind: EventType::Added,
                    line: std::sync::OnceLock::new(),
                    object: object.clone(),
                    old: None,
                }));
            }
        } else {
            let from: u64 = rv_param
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv_param:?}")))?;
            if from < state.oldest_resumable_rv() {
                expired = Some(format!(
                    "too old resource version: {from} ({})",
                    state.oldest_resumable_rv() + 1
                ));
            } else {
                initial.extend(
                    state
                        .history
                        .iter()
                        .filter(|e| e.rv > from && e.storage_key == key)
                        .cloned(),
                );
            }
        }
        (rx, initial, state.rv, expired)
    };
    let (tx, out) = mpsc::channel::<Bytes>(256);
    let mut closer = app.faults.watch_closer();
    closer.mark_unchanged();
    let bookmark_every = app.options.bookmark_interval;
    let mut enc = Encoder {
        req,
        columns_sent: false,
    };
    tokio::spawn(async move {
        if let Some(message) = expired {
            let _ = tx.send(expired_line(message)).await;
            return;
        }
        for event in &initial {
            if let Some(line) = enc.encode_event(event)
                && tx.send(line).await.is_err()
            {
                return;
            }
        }
        let mut last_rv = start_rv;
        if enc.req.send_initial_events && enc.req.bookmarks {
            let line = enc.bookmark(last_rv, true);
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = enc.req.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            let line = tokio::select! {
                received = rx.recv() => match received {
                    Ok(event) => {
                        last_rv = event.rv;
                        match enc.encode_event(&event) { Some(line) => line, None => continue }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(expired_line("watch fell too far behind; please re-list".into())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => return,
                _ = ticker.tick(), if enc.req.bookmarks => enc.bookmark(last_rv, false),
                _ = closer.changed() => return,
                _ = tx.closed() => return,
            };
            if tx.send(line).await.is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|bytes| (Ok::<_, Infallible>(bytes), out))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(e.to_string()))
}
