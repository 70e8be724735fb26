//! The run's own "kubectl": creates, patches, deletes and reads objects, retrying through the
//! faults kube-emulator injects (they hit every client, this one included).
use super::objects::Kind;
use kube::{
    Api, Client,
    api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::Value;
use std::time::Duration;

pub struct Cluster {
    client: Client,
    ns: String,
}

/// What the run reads of an object.
#[derive(Debug, Clone)]
pub struct Seen {
    pub name: String,
    pub uid: String,
    pub generation: i64,
    pub deleting: bool,
    pub cloud_id: Option<String>,
    /// Ready=True for the current generation.
    pub ready: bool,
    /// Ready's reason and message when not ready (for the report).
    pub why: String,
}

const ATTEMPTS: u32 = 40;

fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

impl Cluster {
    pub fn new(client: Client, ns: &str) -> Cluster {
        Cluster {
            client,
            ns: ns.into(),
        }
    }

    fn api(&self, kind: Kind) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.ns, &kind.api_resource())
    }

    /// Retries `op` through injected failures; `Ok(None)` when the object is not found.
    async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<Option<T>, String>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            match op().await {
                Ok(v) => return Ok(Some(v)),
                Err(e) if status_code(&e) == Some(404) => return Ok(None),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10) + 1))).await;
        }
        Err(format!("{what}: {last}"))
    }

    /// Creates the object; its UID. An AlreadyExists after a failed attempt is this create.
    pub async fn create(&self, kind: Kind, manifest: &Value) -> Result<String, String> {
        let api = self.api(kind);
        let obj: DynamicObject = serde_json::from_value(manifest.clone()).map_err(|e| e.to_string())?;
        let name = obj.metadata.name.clone().unwrap_or_default();
        let pp = PostParams {
            field_manager: Some("chaos".into()),
            ..Default::default()
        };
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            match api.create(&pp, &obj).await {
                Ok(o) => return Ok(o.metadata.uid.unwrap_or_default()),
                Err(e) if status_code(&e) == Some(409) => {
                    // Created by an earlier attempt, or the predecessor still finalizing.
                    if let Some(seen) = self.get(kind, &name).await?
                        && !seen.deleting
                    {
                        return Ok(seen.uid);
                    }
                    last = e.to_string();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(10) + 1))).await;
        }
        Err(format!("create {name}: {last}"))
    }

    pub async fn patch(&self, kind: Kind, name: &str, patch: &Value) -> Result<(), String> {
        let api = self.api(kind);
        let (pp, patch) = (PatchParams::default(), Patch::Merge(patch));
        self.retry(&format!("patch {name}"), || api.patch(name, &pp, &patch))
            .await
            .map(drop)
    }

    pub async fn delete(&self, kind: Kind, name: &str) -> Result<(), String> {
        let api = self.api(kind);
        let dp = DeleteParams::default();
        self.retry(&format!("delete {name}"), || api.delete(name, &dp))
            .await
            .map(drop)
    }

    pub async fn get(&self, kind: Kind, name: &str) -> Result<Option<Seen>, String> {
        let api = self.api(kind);
        Ok(self
            .retry(&format!("get {name}"), || api.get(name))
            .await?
            .map(|o| seen(&o)))
    }

    /// Every object of `kind` in the namespace.
    pub async fn list(&self, kind: Kind) -> Result<Vec<Seen>, String> {
        let api = self.api(kind);
        let lp = ListParams::default();
        let list = self
            .retry("list", || api.list(&lp))
            .await?
            .map(|l| l.items)
            .unwrap_or_default();
        Ok(list.iter().map(seen).collect())
    }
}

fn seen(o: &DynamicObject) -> Seen {
    let status = o.data.get("status").cloned().unwrap_or(Value::Null);
    let generation = o.metadata.generation.unwrap_or(0);
    let ready = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready");
    let is_ready =
        ready.is_some_and(|c| c["status"] == "True" && c["observedGeneration"].as_i64() == Some(generation));
    let why = ready
        .map(|c| {
            format!(
                "Ready={} {}: {}",
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_else(|| "no Ready condition".into());
    Seen {
        name: o.metadata.name.clone().unwrap_or_default(),
        uid: o.metadata.uid.clone().unwrap_or_default(),
        generation,
        deleting: o.metadata.deletion_timestamp.is_some(),
        cloud_id: status["cloudId"].as_str().map(str::to_string),
        ready: is_ready,
        why,
    }
}
