//! `/openapi/v2`, `/openapi/v3` with every served kind's schema, and the health endpoints.

use serde_json::Value;

use crate::common::Api;

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                out.push(r.to_string());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn v3(api: &Api, gv: &str) -> Value {
    let (code, root) = api.get("/openapi/v3").await;
    assert_eq!(code, 200);
    let url = root["paths"][gv]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("no {gv} in {root}"))
        .to_string();
    let (code, doc) = api.get(&url).await;
    assert_eq!(code, 200, "{doc}");
    doc
}

#[tokio::test]
async fn a_crds_schema_is_published_with_its_group_version_kind_and_object_meta() {
    let api = Api::start().await;
    api.widget_crd().await;
    let doc = v3(&api, "apis/test.emulator.dev/v1").await;
    let schemas = &doc["components"]["schemas"];
    let widget = &schemas["dev.emulator.test.v1.Widget"];
    assert_eq!(
        widget["x-kubernetes-group-version-kind"],
        serde_json::json!([{"group": "test.emulator.dev", "version": "v1", "kind": "Widget"}])
    );
    assert_eq!(widget["properties"]["spec"]["properties"]["size"]["maximum"], 10);
    assert_eq!(
        widget["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    let mut all = Vec::new();
    refs(schemas, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(schemas.get(name).is_some(), "dangling {r}");
    }
}

#[tokio::test]
async fn built_in_kinds_are_published_with_the_upstream_descriptions() {
    let api = Api::start().await;
    let doc = v3(&api, "api/v1").await;
    let cm = &doc["components"]["schemas"]["io.k8s.api.core.v1.ConfigMap"];
    assert_eq!(cm["x-kubernetes-group-version-kind"][0]["kind"], "ConfigMap");
    assert!(
        cm["properties"]["data"]["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Data contains the configuration data.")),
        "{cm}"
    );
    let lease = v3(&api, "apis/coordination.k8s.io/v1").await;
    assert!(lease["components"]["schemas"]["io.k8s.api.coordination.v1.Lease"].is_object());
    // The PATCH operation still advertises server-side field validation.
    let patch = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps/{name}"]["patch"];
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
}

#[tokio::test]
async fn openapi_v2_is_one_swagger_document_with_definitions_references() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, doc) = api.get("/openapi/v2").await;
    assert_eq!(code, 200);
    assert_eq!(doc["swagger"], "2.0");
    let defs = &doc["definitions"];
    assert!(defs["dev.emulator.test.v1.Widget"].is_object());
    assert!(defs["io.k8s.api.core.v1.Namespace"].is_object());
    let mut all = Vec::new();
    refs(defs, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("not a v2 reference: {r}"));
        assert!(defs.get(name).is_some(), "dangling {r}");
    }
    let resp = api
        .http
        .get(format!("{}/openapi/v2", api.base))
        .header(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 406, "protobuf is not served; say so");
}

#[tokio::test]
async fn health_endpoints_list_their_checks_when_verbose() {
    let api = Api::start().await;
    let (code, body) = api.get("/readyz?verbose").await;
    assert_eq!(code, 200);
    let text = body.as_str().unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"[+]ping ok"), "{text}");
    assert!(
        lines.contains(&"[+]etcd ok") && lines.contains(&"[+]shutdown ok"),
        "{text}"
    );
    assert_eq!(lines.last(), Some(&"readyz check passed"));
    let (_, body) = api.get("/livez?verbose&exclude=etcd").await;
    let text = body.as_str().unwrap_or_default();
    assert!(
        text.contains("[+]etcd excluded: ok") && !text.contains("shutdown"),
        "{text}"
    );
    assert_eq!(api.get("/healthz").await.1, "ok");
    assert_eq!(api.get("/readyz/ping").await.1, "ok");
    assert_eq!(api.get("/readyz/no-such-check").await.0, 404);
}
