//! Status writes: a JSON merge patch of exactly what changed since the last write, with `null`
//! for removed fields, and nothing at all when nothing changed (a no-op write would re-trigger
//! the controller for nothing).
use super::{outcome::Result, resource::CloudResource};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Map, Value};

pub struct StatusWriter<R: CloudResource> {
    api: Api<R>,
    name: String,
    written: Value,
    /// Set once the object is known to be gone: later writes are skipped.
    pub gone: bool,
}

impl<R: CloudResource> StatusWriter<R> {
    pub fn new(api: Api<R>, name: String, current: &R::Status) -> Self {
        let written = serde_json::to_value(current).unwrap_or(Value::Null);
        Self {
            api,
            name,
            written,
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
        if self.gone {
            return Ok(false);
        }
        let desired = serde_json::to_value(status).unwrap_or(Value::Null);
        let Some(patch) = merge_diff(&self.written, &desired) else {
            return Ok(false);
        };
        let body = serde_json::json!({ "status": patch });
        match self
            .api
            .patch_status(&self.name, &PatchParams::default(), &Patch::Merge(&body))
            .await
        {
            Ok(_) => {
                self.written = desired;
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                self.gone = true;
                Ok(false)
            }
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
