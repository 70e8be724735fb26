//! Protobuf request bodies for Secrets, ConfigMaps and DeleteOptions (Helm's release storage).
//! The messages are encoded here by hand from the upstream generated.proto field numbers.

use serde_json::Value;

use crate::common::Api;

const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn bytes(n: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(n << 3 | 2, &mut out);
    varint(value.len() as u64, &mut out);
    out.extend_from_slice(value);
    out
}

fn map_entry(n: u64, key: &str, value: &[u8]) -> Vec<u8> {
    bytes(n, &[bytes(1, key.as_bytes()), bytes(2, value)].concat())
}

fn envelope(kind: &str, raw: &[u8]) -> Vec<u8> {
    let type_meta = [bytes(1, b"v1"), bytes(2, kind.as_bytes())].concat();
    [b"k8s\x00".to_vec(), bytes(1, &type_meta), bytes(2, raw)].concat()
}

/// A Helm-style release Secret: name, labels, one binary data key, a custom type.
fn release_secret(name: &str, payload: &[u8], resource_version: Option<&str>) -> Vec<u8> {
    let mut meta = [
        bytes(1, name.as_bytes()),
        map_entry(11, "owner", b"helm"),
        map_entry(11, "status", b"deployed"),
    ]
    .concat();
    if let Some(rv) = resource_version {
        meta.extend(bytes(6, rv.as_bytes()));
    }
    let secret = [
        bytes(1, &meta),
        map_entry(2, "release", payload),
        bytes(3, b"helm.sh/release.v1"),
    ]
    .concat();
    envelope("Secret", &secret)
}

async fn send(api: &Api, method: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let resp = api
        .http
        .request(method, format!("{}{path}", api.base))
        .header("content-type", PROTOBUF)
        .header("accept", format!("{PROTOBUF}, application/json"))
        .body(body)
        .send()
        .await
        .unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_protobuf_secret_is_created_updated_and_deleted_like_helms_storage_does() {
    let api = Api::start().await;
    let path = "/api/v1/namespaces/default/secrets";
    let (code, created) = send(
        &api,
        "POST",
        path,
        release_secret("sh.helm.release.v1.demo.v1", b"\x00\xffgz", None),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["type"], "helm.sh/release.v1");
    assert_eq!(created["data"]["release"], "AP9neg==");
    assert_eq!(created["metadata"]["labels"]["owner"], "helm");
    let (_, listed) = api.get(&format!("{path}?labelSelector=owner%3Dhelm")).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, updated) = send(
        &api,
        "PUT",
        &format!("{path}/sh.helm.release.v1.demo.v1"),
        release_secret("sh.helm.release.v1.demo.v1", b"v2", Some(&rv)),
    )
    .await;
    assert_eq!(code, 200, "{updated}");
    assert_eq!(updated["data"]["release"], "djI=");
    let options = envelope("DeleteOptions", &bytes(4, b"Background"));
    let (code, _) = send(
        &api,
        "DELETE",
        &format!("{path}/sh.helm.release.v1.demo.v1"),
        options,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        api.get(&format!("{path}/sh.helm.release.v1.demo.v1")).await.0,
        404
    );
}

#[tokio::test]
async fn a_protobuf_config_map_keeps_string_and_binary_data_apart() {
    let api = Api::start().await;
    let meta = bytes(1, b"cm1");
    let cm = [
        bytes(1, &meta),
        map_entry(2, "text", b"hello"),
        map_entry(3, "blob", b"\x01\x02"),
    ]
    .concat();
    let (code, created) = send(
        &api,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        envelope("ConfigMap", &cm),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["data"]["text"], "hello");
    assert_eq!(created["binaryData"]["blob"], "AQI=");
}

#[tokio::test]
async fn other_protobuf_bodies_are_refused_with_415() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, s) = send(
        &api,
        "POST",
        crate::common::WIDGETS,
        envelope("Widget", &bytes(1, &bytes(1, b"w"))),
    )
    .await;
    assert_eq!(code, 415, "{s}");
    let (code, s) = send(
        &api,
        "POST",
        "/api/v1/namespaces/default/secrets",
        b"not protobuf".to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{s}");
}
