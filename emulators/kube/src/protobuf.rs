//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the objects client-go's
//! typed clients send that way in practice: Secrets and ConfigMaps (Helm's release storage) and
//! DeleteOptions. The body is the apiserver's envelope (`k8s\0` + `runtime.Unknown`) around the
//! object; it is decoded into the JSON the rest of the server handles. Responses stay JSON, which
//! client-go decodes by their Content-Type. Field numbers are those of the upstream
//! `generated.proto` files (as in the k8s-pb crate); only these few messages are needed, so they
//! are read with a small wire-format reader instead of compiling every Kubernetes type.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::registry::ResourceDef;

const MAGIC: &[u8] = b"k8s\x00";

fn bad(what: &str) -> ApiError {
    ApiError::bad_request(format!("cannot decode the protobuf body: {what}"))
}

/// One field of a message: its number and its value (varint or length-delimited bytes).
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ApiError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Wire<'_>)>, ApiError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| bad("length"))?;
                let end = pos
                    .checked_add(len)
                    .filter(|e| *e <= buf.len())
                    .ok_or_else(|| bad("truncated field"))?;
                let bytes = &buf[pos..end];
                pos = end;
                Wire::Bytes(bytes)
            }
            1 => {
                pos += 8;
                continue;
            }
            5 => {
                pos += 4;
                continue;
            }
            other => return Err(bad(&format!("unsupported wire type {other}"))),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad("a string is not UTF-8"))
}

/// A `map<string, V>` entry (key = 1, value = 2).
fn entry(bytes: &[u8], value_as_base64: bool) -> Result<(String, Value), ApiError> {
    let (mut key, mut value) = (String::new(), Value::String(String::new()));
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => key = text(b)?,
            (2, Wire::Bytes(b)) if value_as_base64 => {
                value = Value::String(base64::engine::general_purpose::STANDARD.encode(b));
            }
            (2, Wire::Bytes(b)) => value = Value::String(text(b)?),
            _ => {}
        }
    }
    Ok((key, value))
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut out = Map::new();
    for (n, w) in fields(bytes)? {
        let name = match n {
            1 => "kind",
            3 => "name",
            4 => "uid",
            5 => "apiVersion",
            6 => "controller",
            7 => "blockOwnerDeletion",
            _ => continue,
        };
        let value = match w {
            Wire::Bytes(b) => Value::String(text(b)?),
            Wire::Varint(v) => Value::Bool(v != 0),
        };
        out.insert(name.into(), value);
    }
    Ok(Value::Object(out))
}

/// The client-settable part of ObjectMeta (server-set fields are overwritten anyway).
fn object_meta(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    let (mut labels, mut annotations) = (Map::new(), Map::new());
    let (mut owners, mut finalizers) = (Vec::new(), Vec::new());
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Bytes(b)) => drop(meta.insert("name".into(), Value::String(text(b)?))),
            (2, Wire::Bytes(b)) => drop(meta.insert("generateName".into(), Value::String(text(b)?))),
            (3, Wire::Bytes(b)) => drop(meta.insert("namespace".into(), Value::String(text(b)?))),
            (5, Wire::Bytes(b)) => drop(meta.insert("uid".into(), Value::String(text(b)?))),
            (6, Wire::Bytes(b)) => drop(meta.insert("resourceVersion".into(), Value::String(text(b)?))),
            (11, Wire::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                labels.insert(k, v);
            }
            (12, Wire::Bytes(b)) => {
                let (k, v) = entry(b, false)?;
                annotations.insert(k, v);
            }
            (13, Wire::Bytes(b)) => owners.push(owner_reference(b)?),
            (14, Wire::Bytes(b)) => finalizers.push(Value::String(text(b)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    if !owners.is_empty() {
        meta.insert("ownerReferences".into(), Value::Array(owners));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(meta))
}

/// Secret: metadata 1, data 2 (bytes), type 3, stringData 4, immutable 5.
/// ConfigMap: metadata 1, data 2 (string), binaryData 3 (bytes), immutable 4.
fn data_object(bytes: &[u8], secret: bool) -> Result<Value, ApiError> {
    let mut out = Map::new();
    let (mut data, mut extra) = (Map::new(), Map::new());
    for (n, w) in fields(bytes)? {
        match (n, w, secret) {
            (1, Wire::Bytes(b), _) => drop(out.insert("metadata".into(), object_meta(b)?)),
            (2, Wire::Bytes(b), _) => {
                let (k, v) = entry(b, secret)?;
                data.insert(k, v);
            }
            (3, Wire::Bytes(b), true) => drop(out.insert("type".into(), Value::String(text(b)?))),
            (4, Wire::Bytes(b), true) | (3, Wire::Bytes(b), false) => {
                let (k, v) = entry(b, !secret)?;
                extra.insert(k, v);
            }
            (5, Wire::Varint(v), true) | (4, Wire::Varint(v), false) => {
                out.insert("immutable".into(), Value::Bool(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        out.insert("data".into(), Value::Object(data));
    }
    if !extra.is_empty() {
        let key = if secret { "stringData" } else { "binaryData" };
        out.insert(key.into(), Value::Object(extra));
    }
    Ok(Value::Object(out))
}

/// DeleteOptions: gracePeriodSeconds 1, preconditions 2 (uid 1, resourceVersion 2),
/// orphanDependents 3, propagationPolicy 4, dryRun 5.
fn delete_options(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut out = json!({"kind": "DeleteOptions", "apiVersion": "v1"});
    let mut dry_run = Vec::new();
    for (n, w) in fields(bytes)? {
        match (n, w) {
            (1, Wire::Varint(v)) => out["gracePeriodSeconds"] = json!(v as i64),
            (2, Wire::Bytes(b)) => {
                let mut pre = Map::new();
                for (pn, pw) in fields(b)? {
                    if let (1 | 2, Wire::Bytes(pb)) = (pn, pw) {
                        let key = if pn == 1 { "uid" } else { "resourceVersion" };
                        pre.insert(key.into(), Value::String(text(pb)?));
                    }
                }
                out["preconditions"] = Value::Object(pre);
            }
            (3, Wire::Varint(v)) => out["orphanDependents"] = json!(v != 0),
            (4, Wire::Bytes(b)) => out["propagationPolicy"] = json!(text(b)?),
            (5, Wire::Bytes(b)) => dry_run.push(Value::String(text(b)?)),
            _ => {}
        }
    }
    if !dry_run.is_empty() {
        out["dryRun"] = Value::Array(dry_run);
    }
    Ok(out)
}

/// Decodes a protobuf request body into JSON, or says which bodies are supported.
pub fn decode(def: &ResourceDef, verb: &str, body: &[u8]) -> Result<Value, ApiError> {
    let inner = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing the k8s protobuf envelope"))?;
    let (mut kind, mut raw) = (String::new(), &[][..]);
    for (n, w) in fields(inner)? {
        match (n, w) {
            (1, Wire::Bytes(type_meta)) => {
                for (tn, tw) in fields(type_meta)? {
                    if let (2, Wire::Bytes(k)) = (tn, tw) {
                        kind = text(k)?;
                    }
                }
            }
            (2, Wire::Bytes(r)) => raw = r,
            _ => {}
        }
    }
    let core = |plural: &str| !def.custom && def.group.is_empty() && def.plural == plural;
    let mut object = match (verb, kind.as_str()) {
        ("delete" | "deletecollection", "DeleteOptions") => return delete_options(raw),
        ("create" | "update", "Secret") if core("secrets") => data_object(raw, true)?,
        ("create" | "update", "ConfigMap") if core("configmaps") => data_object(raw, false)?,
        _ => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "kube-emulator decodes protobuf bodies only for Secrets, ConfigMaps and DeleteOptions (got {kind:?} for {verb} {}); send JSON",
                    def.plural
                ),
            ));
        }
    };
    object["apiVersion"] = json!("v1");
    object["kind"] = json!(kind);
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u64, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((n << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn a_secret_in_the_protobuf_envelope_decodes_to_json() {
        let meta = [
            field(1, b"s1"),
            field(11, &[field(1, b"owner"), field(2, b"helm")].concat()),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &[field(1, b"release"), field(2, b"\x00\x01")].concat()),
            field(3, b"helm.sh/release.v1"),
            vec![5 << 3, 1],
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [MAGIC.to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let def = crate::registry::Registry::with_builtins()
            .get("", "v1", "secrets")
            .unwrap();
        let json = decode(&def, "create", &body).unwrap();
        assert_eq!(
            json["metadata"],
            json!({"name": "s1", "labels": {"owner": "helm"}})
        );
        assert_eq!(json["data"], json!({"release": "AAE="}));
        assert_eq!(json["type"], "helm.sh/release.v1");
        assert_eq!(json["immutable"], true);
        assert_eq!(json["kind"], "Secret");
    }

    #[test]
    fn truncated_bodies_are_a_bad_request_not_a_panic() {
        let def = crate::registry::Registry::with_builtins()
            .get("", "v1", "secrets")
            .unwrap();
        let err = decode(&def, "create", b"k8s\x00\x0a\xff").unwrap_err();
        assert_eq!(err.code, 400);
    }
}
