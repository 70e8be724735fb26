//! `/openapi/v2` and `/openapi/v3` with the schema of every served kind, as kube-apiserver
//! publishes them: built-in kinds from k8s-openapi's schemas (the upstream OpenAPI definitions,
//! descriptions included), custom resources from their CRD's `openAPIV3Schema` wrapped with
//! `apiVersion`, `kind` and `metadata`. Each top-level schema carries
//! `x-kubernetes-group-version-kind`, which `kubectl explain` uses to find it; each PATCH operation
//! carries the `fieldValidation` parameter, which tells kubectl to leave validation to the server.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use k8s_openapi::api::{
    apps, authentication, authorization, coordination, core, discovery as discovery_api, events, networking,
    policy, rbac,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::{Map, Value, json};

use crate::discovery::SERVER_MINOR;
use crate::registry::{Registry, ResourceDef};

const V3_PREFIX: &str = "#/components/schemas/";
const V2_PREFIX: &str = "#/definitions/";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

type Gvk = (String, String, String);

/// Schemas of the built-in kinds, generated once: the definitions by name, and the top-level
/// definition name of each group/version/kind.
struct Builtins {
    definitions: Map<String, Value>,
    kinds: BTreeMap<Gvk, String>,
}

macro_rules! register {
    ($gen:ident, $kinds:ident; $($t:ty),* $(,)?) => {$(
        $gen.subschema_for::<$t>();
        $kinds.insert(
            (
                <$t as k8s_openapi::Resource>::GROUP.to_string(),
                <$t as k8s_openapi::Resource>::VERSION.to_string(),
                <$t as k8s_openapi::Resource>::KIND.to_string(),
            ),
            <$t as schemars::JsonSchema>::schema_name().into_owned(),
        );
    )*};
}

fn builtins() -> &'static Builtins {
    static BUILTINS: OnceLock<Builtins> = OnceLock::new();
    BUILTINS.get_or_init(|| {
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        let mut kinds = BTreeMap::new();
        // Every built-in kind this server (or a later one) may serve; only served ones are published.
        register!(generator, kinds;
            core::v1::Namespace, core::v1::Secret, core::v1::ConfigMap, core::v1::Event,
            core::v1::ServiceAccount, core::v1::Pod, core::v1::Service, core::v1::Endpoints,
            events::v1::Event, coordination::v1::Lease, CustomResourceDefinition,
            apps::v1::Deployment, apps::v1::ReplicaSet, discovery_api::v1::EndpointSlice,
            policy::v1::PodDisruptionBudget, networking::v1::NetworkPolicy,
            rbac::v1::Role, rbac::v1::RoleBinding, rbac::v1::ClusterRole, rbac::v1::ClusterRoleBinding,
            authorization::v1::SubjectAccessReview, authorization::v1::SelfSubjectAccessReview,
            authorization::v1::LocalSubjectAccessReview, authorization::v1::SelfSubjectRulesReview,
            authentication::v1::TokenReview,
        );
        let mut definitions = generator.take_definitions(true);
        for ((group, version, kind), name) in &kinds {
            if let Some(schema) = definitions.get_mut(name) {
                schema["x-kubernetes-group-version-kind"] =
                    json!([{"group": group, "version": version, "kind": kind}]);
            }
        }
        Builtins { definitions, kinds }
    })
}

/// `dev.operator.modelarts.v1alpha1.Notebook`: the apiserver's name for a custom resource schema.
fn custom_name(def: &ResourceDef) -> String {
    let reversed: Vec<&str> = def.group.split('.').rev().collect();
    format!("{}.{}.{}", reversed.join("."), def.version, def.kind)
}

/// A custom resource's schema as the apiextensions-apiserver publishes it.
fn custom_schema(def: &ResourceDef) -> Value {
    let mut schema = def
        .schema
        .as_deref()
        .cloned()
        .unwrap_or_else(|| json!({"type": "object"}));
    if !schema["properties"].is_object() {
        schema["properties"] = json!({});
    }
    let props = &mut schema["properties"];
    props["apiVersion"] = json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"});
    props["kind"] = json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"});
    props["metadata"] = json!({"allOf": [{"$ref": format!("{V3_PREFIX}{OBJECT_META}")}], "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"});
    schema["type"] = json!("object");
    schema["x-kubernetes-group-version-kind"] =
        json!([{"group": def.group, "version": def.version, "kind": def.kind}]);
    schema
}

/// The definition name and schema of one served kind, if one is known.
fn schema_of(def: &ResourceDef) -> Option<(String, Value)> {
    if def.custom {
        return Some((custom_name(def), custom_schema(def)));
    }
    let b = builtins();
    let name = b
        .kinds
        .get(&(def.group.clone(), def.version.clone(), def.kind.clone()))?;
    Some((name.clone(), b.definitions.get(name)?.clone()))
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(V3_PREFIX))
            {
                out.push(r.to_string());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The schemas of the given kinds plus every definition they reference.
fn schemas_for<'a>(defs: impl Iterator<Item = &'a ResourceDef>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut pending = Vec::new();
    for def in defs {
        if let Some((name, schema)) = schema_of(def) {
            collect_refs(&schema, &mut pending);
            out.insert(name, schema);
        }
    }
    let mut seen: BTreeSet<String> = out.keys().cloned().collect();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = builtins().definitions.get(&name) {
            collect_refs(schema, &mut pending);
            out.insert(name, schema.clone());
        }
    }
    out
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn defs_of<'a>(
    registry: &'a Registry,
    group: &'a str,
    version: &'a str,
) -> impl Iterator<Item = &'a ResourceDef> {
    registry
        .all()
        .filter(move |d| d.group == group && d.version == version)
        .map(|d| d.as_ref())
}

/// Operations on each object path, with the query parameters kubectl probes for.
fn paths<'a>(defs: impl Iterator<Item = &'a ResourceDef>, v2: bool) -> Map<String, Value> {
    let mut paths = Map::new();
    for d in defs {
        let gvk = json!({"group": d.group, "version": d.version, "kind": d.kind});
        let prefix = format!("/{}", gv_path(&d.group, &d.version));
        let item = if d.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", d.plural)
        } else {
            format!("{prefix}/{}/{{name}}", d.plural)
        };
        let param = |name: &str| {
            if v2 {
                json!({"name": name, "in": "query", "type": "string", "uniqueItems": true})
            } else {
                json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
            }
        };
        let params = json!([param("dryRun"), param("fieldManager"), param("fieldValidation")]);
        let op = |action: &str| {
            json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk, "parameters": params,
                   "responses": {"200": {"description": "OK"}}})
        };
        paths.insert(
            item,
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
    }
    paths
}

pub fn v3_root(registry: &Registry) -> Value {
    let mut paths = Map::new();
    for (g, v) in registry.group_versions() {
        let doc = v3_group_version(registry, &g, &v).unwrap_or(Value::Null);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        doc.to_string().hash(&mut hasher);
        let path = gv_path(&g, &v);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={:016X}", hasher.finish())}),
        );
    }
    json!({"paths": paths})
}

pub fn v3_group_version(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let paths = paths(defs_of(registry, group, version), false);
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{SERVER_MINOR}.0")},
        "paths": paths,
        "components": {"schemas": schemas_for(defs_of(registry, group, version))},
    }))
}

/// Rewrites a v3 schema for Swagger 2.0: `#/definitions/` references, and no keywords v2 lacks.
fn to_v2(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix(V3_PREFIX)
            {
                *r = format!("{V2_PREFIX}{name}");
            }
            for key in ["nullable", "anyOf", "oneOf", "not"] {
                map.remove(key);
            }
            map.values_mut().for_each(to_v2);
        }
        Value::Array(items) => items.iter_mut().for_each(to_v2),
        _ => {}
    }
}

pub fn v2(registry: &Registry) -> Value {
    let defs: Vec<&ResourceDef> = registry.all().map(|d| d.as_ref()).collect();
    let mut definitions = Value::Object(schemas_for(defs.iter().copied()));
    to_v2(&mut definitions);
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{SERVER_MINOR}.0")},
        "paths": paths(defs.iter().copied(), true),
        "definitions": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_schema_names_reverse_the_group() {
        let def = ResourceDef {
            group: "modelarts.operator.dev".into(),
            version: "v1alpha1".into(),
            kind: "Notebook".into(),
            ..crate::crd::defs_from_crd(
                &json!({"spec": {"names": {"kind": "Notebook"}, "versions": [{"name": "v1alpha1"}]}}),
            )
            .remove(0)
        };
        assert_eq!(custom_name(&def), "dev.operator.modelarts.v1alpha1.Notebook");
    }

    #[test]
    fn builtin_schemas_carry_their_group_version_kind_and_resolve_every_reference() {
        let b = builtins();
        let deployment = &b.definitions["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
        let mut refs = Vec::new();
        collect_refs(&Value::Object(b.definitions.clone()), &mut refs);
        for r in refs {
            assert!(b.definitions.contains_key(&r), "dangling reference {r}");
        }
    }
}
