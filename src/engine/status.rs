//! Status writes: a JSON merge patch of exactly what changed since the last write, with `null`
//! for removed fields, and nothing at all when nothing changed (a no-op write would re-trigger
//! the controller for nothing).
use super::{
    outcome::{Error, Result},
    resource::CloudResource,
};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Map, Value};

pub struct StatusWriter<R: CloudResource> {
    api: Api<R>,
    name: String,
    written: Value,
    /// The resourceVersion the reconcile's copy of the object had, moved on by each write: the
    /// precondition of a guarded write.
    resource_version: Option<String>,
    /// Set once the object is known to be gone: later writes are skipped.
    pub gone: bool,
}

impl<R: CloudResource> StatusWriter<R> {
    pub fn new(api: Api<R>, name: String, current: &R::Status, resource_version: Option<String>) -> Self {
        let written = serde_json::to_value(current).unwrap_or(Value::Null);
        Self {
            api,
            name,
            written,
            resource_version,
            gone: false,
        }
    }

    /// True when `status` differs from what was last written.
    pub fn differs(&self, status: &R::Status) -> bool {
        serde_json::to_value(status)
            .map(|v| v != self.written)
            .unwrap_or(true)
    }

    /// Writes `status` if it differs from what was last written.
    pub async fn write(&mut self, status: &R::Status) -> Result<bool> {
        self.patch(status, false).await
    }

    /// Writes `status` only if the object is still the version this reconcile read (or last
    /// wrote): a decision taken on a lagging cache copy fails with [`Error::Stale`] instead of
    /// landing. Used for the writes that license a create, so a stale copy never creates.
    pub async fn write_guarded(&mut self, status: &R::Status) -> Result<bool> {
        self.patch(status, true).await
    }

    async fn patch(&mut self, status: &R::Status, guarded: bool) -> Result<bool> {
        if self.gone {
            return Ok(false);
        }
        let desired = serde_json::to_value(status).unwrap_or(Value::Null);
        let Some(patch) = merge_diff(&self.written, &desired) else {
            return Ok(false);
        };
        let body = match (&self.resource_version, guarded) {
            (Some(rv), true) => serde_json::json!({ "metadata": {"resourceVersion": rv}, "status": patch }),
            _ => serde_json::json!({ "status": patch }),
        };
        match self
            .api
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(written) => {
                self.written = desired;
                self.resource_version = written.meta().resource_version.clone();
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.gone = true;
                Ok(false)
            }
            Err(kube::Error::Api(s)) if s.code == 409 && guarded => Err(Error::Stale(s.message)),
            Err(e) => Err(e.into()),
        }
    }
}

/// The RFC 7386 merge patch turning `old` into `new`, or `None` when they are equal.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(p) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), p);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            Some(Value::Object(patch))
        }
        _ => Some(new.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_diff;
    use serde_json::json;

    #[test]
    fn equal_documents_need_no_patch() {
        assert_eq!(merge_diff(&json!({"a": 1}), &json!({"a": 1})), None);
    }

    #[test]
    fn removed_fields_become_null_and_changed_ones_are_set() {
        let old = json!({"cloudId": "x", "pendingCreate": {"token": "t"}, "tags": ["a"]});
        let new = json!({"cloudId": "x", "cloudState": "RUNNING", "tags": ["a", "b"]});
        assert_eq!(
            merge_diff(&old, &new),
            Some(json!({"pendingCreate": null, "cloudState": "RUNNING", "tags": ["a", "b"]}))
        );
    }
}
