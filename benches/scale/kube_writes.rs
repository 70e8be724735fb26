//! Counts the operator's successful Kubernetes writes by kind, on the client side: a layer under
//! the operator's own kube client, so the bench's creates and reads are not counted.
use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

/// Write counts by kind: status patch, finalizer (JSON patch), annotation (merge patch), Event...
#[derive(Clone, Default)]
pub struct KubeWrites(Arc<Mutex<BTreeMap<String, u64>>>);

impl KubeWrites {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The operator's client, counting through this.
    pub async fn client(&self, kubeconfig: &std::path::Path) -> Result<kube::Client, String> {
        let kc = kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| e.to_string())?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| e.to_string())?;
        let builder = kube::client::ClientBuilder::try_from(config).map_err(|e| e.to_string())?;
        Ok(builder.with_layer(self).build())
    }
}

/// What a write request is, from its method, path and content type; `None` for reads.
fn classify<B>(req: &http::Request<B>) -> Option<String> {
    let method = req.method().as_str();
    if matches!(method, "GET" | "HEAD" | "OPTIONS") {
        return None;
    }
    let path = req.uri().path();
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let resource = segments
        .iter()
        .rposition(|s| *s == "namespaces")
        .and_then(|i| segments.get(i + 2))
        .or_else(|| segments.last())
        .copied()
        .unwrap_or("?");
    Some(match (method, resource) {
        (_, "events") => format!("{method} Event"),
        ("PATCH", _) if path.ends_with("/status") => format!("status patch ({resource})"),
        ("PATCH", _) if content_type.contains("json-patch") => {
            format!("object JSON patch, i.e. finalizer ({resource})")
        }
        ("PATCH", _) if content_type.contains("merge-patch") => {
            format!("object merge patch, i.e. annotation ({resource})")
        }
        _ => format!("{method} {resource} ({content_type})"),
    })
}

impl<S> tower::Layer<S> for KubeWrites {
    type Service = Counting<S>;
    fn layer(&self, inner: S) -> Counting<S> {
        Counting {
            inner,
            writes: self.clone(),
        }
    }
}

pub struct Counting<S> {
    inner: S,
    writes: KubeWrites,
}

impl<S, B, RB> tower::Service<http::Request<B>> for Counting<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let kind = classify(&req);
        let writes = self.writes.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            // Only a write the server accepted is a write (a 409 or 404 changed nothing).
            if let Some(kind) = kind
                && resp.status().is_success()
            {
                *writes
                    .0
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(kind)
                    .or_default() += 1;
            }
            Ok(resp)
        })
    }
}
