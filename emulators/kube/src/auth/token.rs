//! ServiceAccount tokens: JWTs signed with this server's key (HS256, where a real apiserver uses
//! RS256 with its service-account key; clients never verify them). Bound tokens come from the
//! TokenRequest subresource (`POST .../serviceaccounts/NAME/token`); legacy tokens are filled into
//! `kubernetes.io/service-account-token` Secrets, as the token controller does. A token
//! authenticates only while it has not expired and its ServiceAccount (and, for a legacy token,
//! its Secret) still exists with the same uid.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::User;
use crate::error::{ApiError, Cause};
use crate::http::{Target, json_response};
use crate::registry::ResourceDef;
use crate::store::State;

pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";
pub const TOKEN_SECRET: &str = "kubernetes.io/service-account-token";
const SA_NAME: &str = "kubernetes.io/service-account.name";
const SA_UID: &str = "kubernetes.io/service-account.uid";

fn sign(key: &[u8], input: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn encode(key: &[u8], claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{body}");
    let signature = sign(key, &input);
    format!("{input}.{signature}")
}

fn decode(key: &[u8], token: &str) -> Option<Value> {
    let (input, signature) = token.rsplit_once('.')?;
    let expected = sign(key, input);
    // Constant-time comparison is moot on a loopback test server; equality is enough.
    if expected != signature {
        return None;
    }
    let (_, body) = input.split_once('.')?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn service_account(state: &State, ns: &str, name: &str) -> Option<Value> {
    state.get("/serviceaccounts", ns, name).map(|o| (*o).clone())
}

/// The user a token stands for, if it is valid now.
pub fn authenticate(state: &State, token: &str) -> Option<User> {
    let claims = decode(&state.token_key, token)?;
    if claims["iss"] == LEGACY_ISSUER {
        let ns = claims["kubernetes.io/serviceaccount/namespace"].as_str()?;
        let name = claims["kubernetes.io/serviceaccount/service-account.name"].as_str()?;
        let uid = claims["kubernetes.io/serviceaccount/service-account.uid"].as_str()?;
        let secret_name = claims["kubernetes.io/serviceaccount/secret.name"].as_str()?;
        let secret = state.get("/secrets", ns, secret_name)?;
        let stored = secret["data"]["token"]
            .as_str()
            .and_then(|t| STANDARD.decode(t).ok())?;
        let sa = service_account(state, ns, name)?;
        return (stored == token.as_bytes() && sa["metadata"]["uid"] == uid)
            .then(|| User::service_account(ns, name, uid));
    }
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now()) {
        return None;
    }
    let k8s = &claims["kubernetes.io"];
    let ns = k8s["namespace"].as_str()?;
    let name = k8s["serviceaccount"]["name"].as_str()?;
    let uid = k8s["serviceaccount"]["uid"].as_str()?;
    let sa = service_account(state, ns, name)?;
    (sa["metadata"]["uid"] == uid).then(|| User::service_account(ns, name, uid))
}

/// A bound token for a ServiceAccount that exists; `None` when it does not.
pub fn mint(state: &State, ns: &str, name: &str, audiences: &Value, seconds: i64) -> Option<(String, i64)> {
    let sa = service_account(state, ns, name)?;
    let iat = now();
    let exp = iat + seconds;
    let claims = json!({
        "aud": audiences, "exp": exp, "iat": iat, "nbf": iat, "iss": ISSUER,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": format!("system:serviceaccount:{ns}:{name}"),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": sa["metadata"]["uid"]}},
    });
    Some((encode(&state.token_key, &claims), exp))
}

/// `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token`.
pub fn token_request(
    state: &State,
    def: &ResourceDef,
    target: &Target,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let ns = target.namespace.as_deref().unwrap_or("default");
    let name = target.name.as_deref().unwrap_or_default();
    let mut request = if body.is_empty() {
        json!({})
    } else {
        crate::handlers::decode_body(body, false)?
    };
    if !request["spec"].is_object() {
        request["spec"] = json!({});
    }
    let spec = &mut request["spec"];
    if spec["audiences"].as_array().is_none_or(|a| a.is_empty()) {
        spec["audiences"] = json!([ISSUER]);
    }
    if spec["expirationSeconds"].is_null() {
        spec["expirationSeconds"] = json!(3600);
    }
    let seconds = spec["expirationSeconds"].as_i64().unwrap_or(0);
    let token_def = ResourceDef::builtin(
        "authentication.k8s.io",
        "v1",
        "tokenrequests",
        "TokenRequest",
        true,
        &[],
    );
    if seconds < 600 {
        return Err(ApiError::invalid(
            &token_def,
            name,
            vec![super::super::builtins::invalid(
                "spec.expirationSeconds",
                &seconds.to_string(),
                "may not specify a duration less than 10 minutes",
            )],
        ));
    }
    // The apiserver caps requested durations at --service-account-max-token-expiration (48h here).
    let seconds = seconds.min(48 * 3600);
    let (token, exp) = mint(state, ns, name, &request["spec"]["audiences"], seconds)
        .ok_or_else(|| ApiError::not_found(def, name))?;
    let expiration = jiff::Timestamp::from_second(exp)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    request["metadata"] = json!({"name": name, "namespace": ns, "creationTimestamp": null});
    request["status"] = json!({"token": token, "expirationTimestamp": expiration});
    Ok(json_response(StatusCode::CREATED, &request))
}

/// The token controller's work on a `kubernetes.io/service-account-token` Secret, done at once:
/// it must name an existing ServiceAccount, and gets `data.token`, `data.namespace` and
/// `data.ca.crt` (empty: the emulator serves plain HTTP).
pub fn fill_token_secret(state: &State, secret: &mut Value, causes: &mut Vec<Cause>) {
    if secret["type"] != TOKEN_SECRET {
        return;
    }
    let field = format!("metadata.annotations[{SA_NAME}]");
    let Some(sa_name) = secret["metadata"]["annotations"][SA_NAME]
        .as_str()
        .map(String::from)
    else {
        causes.push(super::super::builtins::required(&field, ""));
        return;
    };
    let ns = secret["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_string();
    let Some(sa) = service_account(state, &ns, &sa_name) else {
        // The real token controller deletes such a Secret shortly after; refusing is clearer.
        causes.push(super::super::builtins::invalid(
            &field,
            &format!("{sa_name:?}"),
            &format!("serviceaccount \"{sa_name}\" not found in namespace \"{ns}\""),
        ));
        return;
    };
    let uid = sa["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let secret_name = secret["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    secret["metadata"]["annotations"][SA_UID] = json!(uid);
    if !secret["data"].is_object() {
        secret["data"] = json!({});
    }
    let current = secret["data"]["token"]
        .as_str()
        .and_then(|t| STANDARD.decode(t).ok());
    let still_valid = current
        .and_then(|t| String::from_utf8(t).ok())
        .and_then(|t| decode(&state.token_key, &t))
        .is_some_and(|c| c["kubernetes.io/serviceaccount/service-account.uid"] == uid.as_str());
    if !still_valid {
        let claims = json!({
            "iss": LEGACY_ISSUER,
            "kubernetes.io/serviceaccount/namespace": ns,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": sa_name,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
            "sub": format!("system:serviceaccount:{ns}:{sa_name}"),
        });
        secret["data"]["token"] = json!(STANDARD.encode(encode(&state.token_key, &claims)));
    }
    secret["data"]["namespace"] = json!(STANDARD.encode(&ns));
    secret["data"]["ca.crt"] = json!("");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_signed_with_another_key_or_altered_is_rejected() {
        let claims = json!({"sub": "x"});
        let token = encode(b"key-one", &claims);
        assert_eq!(decode(b"key-one", &token), Some(claims));
        assert_eq!(decode(b"key-two", &token), None);
        let tampered = token.replacen('.', ".e30", 1);
        assert_eq!(decode(b"key-one", &tampered), None);
    }
}
