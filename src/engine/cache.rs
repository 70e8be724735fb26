//! The controller's cache entry for one object: what the controller and the conflict checks
//! read in place (name, namespace, UID, age, cloud ID), and the object itself as compact JSON,
//! decoded when a reconcile or a poll needs it. A Ready Notebook costs ~4.4 KiB as a struct
//! (each string, map and condition its own allocation) and ~1.5 KiB as text: with every object
//! of a kind cached, this is most of the operator's memory (issue 12).
//!
//! The text is LZ4-compressed against a dictionary: one earlier object of the same kind that
//! had a status. Objects of a kind share most of their text (keys, the API version, condition
//! types, reasons and messages, often the spec), so each entry keeps mostly what is its own.
use super::{key::Key, resource::CloudResource};
use crate::api::common::CommonStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, runtime::reflector::ObjectRef};
use serde::{Deserialize, Deserializer};
use std::{
    borrow::Cow,
    collections::HashMap,
    fmt,
    marker::PhantomData,
    sync::{Arc, LazyLock, RwLock},
};

/// `kubectl apply` records the whole manifest in this annotation; nothing here reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub struct Cached<R> {
    /// Only the identifying fields, less the UID; the rest of the metadata is in `body`.
    /// kube-runtime copies the UID of this metadata into every reference to the object (the
    /// cache's key, each queued reconcile), ~50 bytes each; it is kept once, in `uid`.
    meta: ObjectMeta,
    uid: Option<Key>,
    cloud_id: Option<Box<str>>,
    /// The object's compact JSON, LZ4-compressed against `dictionary`, its length prepended.
    body: Box<[u8]>,
    /// Shared by the entries of a kind; each entry holds the one it was compressed with.
    dictionary: Arc<[u8]>,
    kind: PhantomData<fn() -> R>,
}

/// One dictionary per kind, chosen once: the first object cached with a status (the
/// conditions are much of an object's text). Until then, entries are compressed without one.
static DICTIONARIES: LazyLock<RwLock<Dictionaries>> = LazyLock::new(Default::default);

type Dictionaries = HashMap<&'static str, Arc<[u8]>>;

fn dictionary(kind: &'static str, text: &[u8], has_status: bool) -> Arc<[u8]> {
    let chosen = DICTIONARIES
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(kind)
        .cloned();
    match chosen {
        Some(dictionary) => dictionary,
        None if has_status => DICTIONARIES
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_insert_with(|| Arc::from(text))
            .clone(),
        None => Arc::from(&[][..]),
    }
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
            resource_version: full.resource_version.clone(),
            generation: full.generation,
            creation_timestamp: full.creation_timestamp.clone(),
            deletion_timestamp: full.deletion_timestamp.clone(),
            ..ObjectMeta::default()
        };
        let uid = full.uid.as_deref().map(Key::new);
        let cloud_id = obj.status().and_then(|s| s.cloud_id()).map(Box::from);
        let text = serde_json::to_vec(&obj)?;
        let dictionary = dictionary(R::KIND, &text, obj.status().is_some());
        let body = lz4_flex::block::compress_prepend_size_with_dict(&text, &dictionary);
        Ok(Cached {
            meta,
            uid,
            cloud_id,
            body: body.into_boxed_slice(),
            dictionary,
            kind: PhantomData,
        })
    }

    /// The whole object as it was cached.
    pub fn decode(&self) -> Result<R, serde_json::Error> {
        let text = lz4_flex::block::decompress_size_prepended_with_dict(&self.body, &self.dictionary)
            // Only a bug could corrupt an entry this process wrote; say so as a decode error.
            .map_err(|e| serde::de::Error::custom(format!("cache entry: {e}")))?;
        serde_json::from_slice(&text)
    }

    /// Bytes the entry's text takes, compressed (for tests and measurement).
    pub fn stored_len(&self) -> usize {
        self.body.len()
    }

    /// `metadata.uid`, which [`Resource::meta`] leaves out.
    pub fn object_uid(&self) -> Option<&Key> {
        self.uid.as_ref()
    }

    /// The identifying metadata with the UID, for the checks that compare objects.
    pub fn identity(&self) -> ObjectMeta {
        ObjectMeta {
            uid: self.uid.as_ref().map(Key::to_string),
            ..self.meta.clone()
        }
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
            uid: self.uid.clone(),
            cloud_id: self.cloud_id.clone(),
            body: self.body.clone(),
            dictionary: self.dictionary.clone(),
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
        assert_eq!(cached.object_uid(), Some(&Key::new("u-1")));
        assert_eq!(cached.identity().uid.as_deref(), Some("u-1"));
        assert_eq!(
            cached.uid(),
            None,
            "kept once, not in each reference to the object"
        );
        assert_eq!(ObjectRef::from_obj(&cached).extra.uid, None);
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

    #[test]
    fn similar_objects_are_stored_in_a_fraction_of_their_text_and_each_decodes_to_its_own() {
        let objects: Vec<serde_json::Value> = (0..50)
            .map(|i| {
                let mut served = served();
                served["metadata"]["name"] = format!("nb-{i}").into();
                served["metadata"]["uid"] = format!("8f3c2a4e-{i:04}-4b7e-9d1a-3c5e7f9b2d4a").into();
                served["status"]["cloudId"] = format!("5d2f8c1a-{i:04}-4e6b-8a3c-1f7d9b5e2c4a").into();
                served
            })
            .collect();
        for served in &objects {
            let cached: Cached<Notebook> = serde_json::from_value(served.clone()).expect("cached");
            let mut expected: Notebook = serde_json::from_value(served.clone()).expect("notebook");
            expected.metadata.managed_fields = None;
            expected.annotations_mut().remove(LAST_APPLIED);
            let decoded = cached.decode().expect("decodes");
            assert_eq!(
                serde_json::to_value(&decoded).unwrap(),
                serde_json::to_value(&expected).unwrap()
            );
            let text = serde_json::to_vec(&decoded).unwrap().len();
            assert!(
                cached.stored_len() * 2 < text,
                "{} bytes stored for {text} bytes of text",
                cached.stored_len()
            );
        }
    }

    #[test]
    fn a_corrupt_entry_is_a_decode_error_not_a_panic() {
        let mut cached: Cached<Notebook> = serde_json::from_value(served()).expect("cached");
        // Cut short: the compressed block ends before the text it promises.
        cached.body = Box::from(&cached.body[..cached.body.len() / 2]);
        let err = cached.decode().expect_err("corrupt");
        assert!(err.to_string().contains("cache entry"), "{err}");
    }
}
