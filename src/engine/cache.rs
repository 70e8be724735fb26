//! The controller's cache entry for one object: what the controller and the conflict checks
//! read in place (name, namespace, UID, age, cloud ID), and the object itself as compact JSON,
//! decoded when a reconcile or a poll needs it. A Ready Notebook costs ~4.4 KiB as a struct
//! (each string, map and condition its own allocation) and ~1.5 KiB as text: with every object
//! of a kind cached, this is most of the operator's memory (issue 12).
use super::resource::CloudResource;
use crate::api::common::CommonStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, runtime::reflector::ObjectRef};
use serde::{Deserialize, Deserializer};
use std::{borrow::Cow, fmt, marker::PhantomData};

/// `kubectl apply` records the whole manifest in this annotation; nothing here reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub struct Cached<R> {
    /// Only the identifying fields; the rest of the metadata is in `body`.
    meta: ObjectMeta,
    cloud_id: Option<Box<str>>,
    body: Box<[u8]>,
    kind: PhantomData<fn() -> R>,
}

impl<R: CloudResource> Cached<R> {
    /// Caches `obj` without what the operator never reads and what is often the bulk of an
    /// object as served: the managedFields and `kubectl apply`'s copy of the manifest.
    pub fn new(mut obj: R) -> Result<Self, serde_json::Error> {
        let full = obj.meta_mut();
        full.managed_fields = None;
        if let Some(annotations) = full.annotations.as_mut() {
            annotations.remove(LAST_APPLIED);
        }
        let meta = ObjectMeta {
            name: full.name.clone(),
            namespace: full.namespace.clone(),
            uid: full.uid.clone(),
            resource_version: full.resource_version.clone(),
            generation: full.generation,
            creation_timestamp: full.creation_timestamp.clone(),
            deletion_timestamp: full.deletion_timestamp.clone(),
            ..ObjectMeta::default()
        };
        let cloud_id = obj.status().and_then(|s| s.cloud_id()).map(Box::from);
        let body = serde_json::to_vec(&obj)?.into_boxed_slice();
        Ok(Cached {
            meta,
            cloud_id,
            body,
            kind: PhantomData,
        })
    }

    /// The whole object as it was cached.
    pub fn decode(&self) -> Result<R, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// `status.cloudId`, read without decoding.
    pub fn cloud_id(&self) -> Option<&str> {
        self.cloud_id.as_deref()
    }

    /// The key the controller's queue and the engine's wake-ups use for this object.
    pub fn key(obj: &ObjectRef<R>) -> ObjectRef<Cached<R>> {
        let key = ObjectRef::new(&obj.name);
        match &obj.namespace {
            Some(ns) => key.within(ns),
            None => key,
        }
    }
}

impl<R> Clone for Cached<R> {
    fn clone(&self) -> Self {
        Cached {
            meta: self.meta.clone(),
            cloud_id: self.cloud_id.clone(),
            body: self.body.clone(),
            kind: PhantomData,
        }
    }
}

impl<R> fmt::Debug for Cached<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cached")
            .field("meta", &self.meta)
            .field("cloud_id", &self.cloud_id)
            .field("bytes", &self.body.len())
            .finish()
    }
}

impl<R: Resource<DynamicType = ()>> Resource for Cached<R> {
    type DynamicType = ();
    type Scope = R::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        R::kind(dt)
    }
    fn group(dt: &()) -> Cow<'_, str> {
        R::group(dt)
    }
    fn version(dt: &()) -> Cow<'_, str> {
        R::version(dt)
    }
    fn plural(dt: &()) -> Cow<'_, str> {
        R::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

/// The watcher decodes each object it receives straight into its cache entry.
impl<'de, R: CloudResource> Deserialize<'de> for Cached<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let obj = R::deserialize(deserializer)?;
        Cached::new(obj).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::notebook::Notebook;
    use crate::engine::identity::CLOUD_ID_ANNOTATION;
    use kube::ResourceExt;

    fn served() -> serde_json::Value {
        serde_json::json!({
            "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
            "metadata": {
                "name": "nb", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "2026-12-02T10:00:00Z", "finalizers": ["modelarts.operator.dev/cleanup"],
                "labels": {"team": "a"},
                "annotations": {LAST_APPLIED: "{\"spec\": {}}", CLOUD_ID_ANNOTATION: "id-1"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {"flavor": "f", "image": {"id": "i"}, "volume": {"category": "EVS", "ownership": "MANAGED"},
                     "tags": {"team": "a"}},
            "status": {"cloudId": "id-1", "cloudState": "RUNNING", "observedGeneration": 2,
                       "conditions": [{"type": "Ready", "status": "True", "reason": "Available", "message": "",
                                       "lastTransitionTime": "2026-12-02T10:00:02Z", "observedGeneration": 2}]},
        })
    }

    #[test]
    fn a_cached_object_decodes_to_what_was_served_less_managed_fields_and_the_last_applied_manifest() {
        let cached: Cached<Notebook> = serde_json::from_value(served()).expect("cached");
        let decoded = cached.decode().expect("decodes");
        let mut expected: Notebook = serde_json::from_value(served()).expect("notebook");
        expected.metadata.managed_fields = None;
        expected.annotations_mut().remove(LAST_APPLIED);
        assert_eq!(
            serde_json::to_value(&decoded).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
        assert_eq!(decoded.annotations().len(), 1, "{:?}", decoded.annotations());
        assert!(decoded.metadata.managed_fields.is_none());
    }

    #[test]
    fn the_fields_read_in_place_are_the_objects_own() {
        let cached: Cached<Notebook> = serde_json::from_value(served()).expect("cached");
        assert_eq!(cached.name_any(), "nb");
        assert_eq!(cached.namespace().as_deref(), Some("ns"));
        assert_eq!(cached.uid().as_deref(), Some("u-1"));
        assert_eq!(cached.resource_version().as_deref(), Some("7"));
        assert_eq!(cached.meta().generation, Some(2));
        assert!(cached.meta().creation_timestamp.is_some());
        assert_eq!(cached.cloud_id(), Some("id-1"));
        assert_eq!(ObjectRef::from_obj(&cached), ObjectRef::new("nb").within("ns"));
        let key = Cached::<Notebook>::key(&ObjectRef::new("nb").within("ns"));
        assert_eq!(key, ObjectRef::from_obj(&cached));
    }

    #[test]
    fn an_object_without_a_status_has_no_cloud_id() {
        let mut served = served();
        served.as_object_mut().unwrap().remove("status");
        let cached: Cached<Notebook> = serde_json::from_value(served).expect("cached");
        assert_eq!(cached.cloud_id(), None);
        assert!(cached.decode().expect("decodes").status.is_none());
    }
}
