//! SDK-HMAC-SHA256 verification, rebuilt from what arrived on the wire (reference 4.2).
//!
//! The verifier never re-serialises anything: it hashes the raw body bytes, takes the signed
//! header list from the `Authorization` header (the client decides what it signed), and uses
//! the `Host` header as received, port included. The same canonicalisation functions are used
//! by [`sign`], which tests and the benchmark use to act as a client.

use std::collections::{HashMap, HashSet};

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The gateway is believed to allow about 15 minutes of clock skew (reference 4.2).
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// RFC 3986 unreserved characters stay, everything else is `%XX` (Python `quote(s, safe='~')`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub sk: String,
    /// Temporary (STS) credentials must present this value in `X-Security-Token`.
    pub security_token: Option<String>,
}

/// What the gateway knows: AK → secret, plus IAM tokens accepted in `X-Auth-Token`.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub keys: HashMap<String, Secret>,
    pub tokens: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization or X-Auth-Token header")]
    Missing,
    #[error("malformed Authorization header: {0}")]
    Malformed(&'static str),
    #[error("unsupported signing algorithm {0}")]
    Algorithm(String),
    #[error("unknown access key {0}")]
    UnknownAccessKey(String),
    #[error("missing or invalid X-Sdk-Date")]
    BadDate,
    #[error("X-Sdk-Date is more than 15 minutes away from the server time")]
    Skew,
    #[error("signed header {0} is not present")]
    MissingSignedHeader(String),
    #[error("X-Security-Token missing or wrong for temporary credentials")]
    SecurityToken,
    #[error("signature does not match")]
    Signature,
    #[error("X-Auth-Token is not valid")]
    Token,
}

/// The parts of a received request the signature covers.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

struct Authorization<'a> {
    access: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, AuthError> {
    let (alg, rest) = value
        .split_once(' ')
        .ok_or(AuthError::Malformed("no algorithm"))?;
    if alg != ALGORITHM {
        return Err(AuthError::Algorithm(alg.to_string()));
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(AuthError::Malformed("expected key=value"))?;
        match k {
            "Access" => access = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    Ok(Authorization {
        access: access.ok_or(AuthError::Malformed("no Access"))?,
        signed_headers: signed
            .ok_or(AuthError::Malformed("no SignedHeaders"))?
            .split(';')
            .collect(),
        signature: signature.ok_or(AuthError::Malformed("no Signature"))?,
    })
}

fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// Decode then re-encode each segment, and always end with `/` (the SDK does the same).
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = percent_decode_str(raw_path).decode_utf8_lossy();
    let mut out = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Pairs sorted by raw key then raw value, both re-encoded with the unreserved rule. Only
/// `%XX` is decoded: the SDK never sends `+` for a space.
pub fn canonical_query(raw_query: Option<&str>) -> String {
    let Some(q) = raw_query.filter(|q| !q.is_empty()) else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_hex(key: &str, msg: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac takes any key length");
    mac.update(msg.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// CanonicalRequest for the given signed header names (lower-case, in the order given).
pub fn canonical_request(req: &RequestParts<'_>, signed: &[&str]) -> Result<String, AuthError> {
    let mut canonical_headers = String::new();
    for name in signed {
        let value =
            header_str(req.headers, name).ok_or_else(|| AuthError::MissingSignedHeader(name.to_string()))?;
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(value.trim());
        canonical_headers.push('\n');
    }
    let payload_hash = if req.body.is_empty() {
        EMPTY_SHA256.to_string()
    } else if let Some(h) = header_str(req.headers, "x-sdk-content-sha256") {
        h.to_string()
    } else {
        sha256_hex(req.body)
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed.join(";"),
        payload_hash
    ))
}

pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Parse `%Y%m%dT%H%M%SZ` into epoch seconds.
fn parse_sdk_date(s: &str) -> Option<i64> {
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", s).ok()?;
    Some(dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_second())
}

/// Verify a request. `now_secs` is wall-clock time (skew is checked against the real clock,
/// not emulated time, because clients sign with their real clock).
pub fn verify(cfg: &AuthConfig, req: &RequestParts<'_>, now_secs: i64) -> Result<(), AuthError> {
    let Some(auth) = header_str(req.headers, "authorization") else {
        // Token auth replaces signing entirely (reference 4.3).
        return match header_str(req.headers, "x-auth-token") {
            Some(t) if cfg.tokens.contains(t) => Ok(()),
            Some(_) => Err(AuthError::Token),
            None => Err(AuthError::Missing),
        };
    };
    let parsed = parse_authorization(auth)?;
    let secret = cfg
        .keys
        .get(parsed.access)
        .ok_or_else(|| AuthError::UnknownAccessKey(parsed.access.to_string()))?;
    let date = header_str(req.headers, "x-sdk-date").ok_or(AuthError::BadDate)?;
    let signed_at = parse_sdk_date(date).ok_or(AuthError::BadDate)?;
    if (now_secs - signed_at).abs() > MAX_SKEW_SECS {
        return Err(AuthError::Skew);
    }
    if let Some(expected) = &secret.security_token
        && header_str(req.headers, "x-security-token") != Some(expected.as_str())
    {
        return Err(AuthError::SecurityToken);
    }
    let canonical = canonical_request(req, &parsed.signed_headers)?;
    let expected = hmac_hex(&secret.sk, &string_to_sign(date, &canonical));
    // Constant-time comparison is not needed for a test stand-in, but costs nothing.
    let ok = expected.len() == parsed.signature.len()
        && expected
            .bytes()
            .zip(parsed.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if ok { Ok(()) } else { Err(AuthError::Signature) }
}

/// Client side: compute the `Authorization` value for a request whose headers already
/// contain every header to sign (including `host` and `x-sdk-date`). Signs every header
/// present except those whose name contains `_`, exactly as the SDK does.
pub fn sign(ak: &str, sk: &str, req: &RequestParts<'_>) -> Result<String, AuthError> {
    let mut names: Vec<String> = req
        .headers
        .keys()
        .map(|k| k.as_str().to_ascii_lowercase())
        .filter(|k| !k.contains('_'))
        .collect();
    names.sort();
    names.dedup();
    let signed: Vec<&str> = names.iter().map(String::as_str).collect();
    let date = header_str(req.headers, "x-sdk-date").ok_or(AuthError::BadDate)?;
    let canonical = canonical_request(req, &signed)?;
    let signature = hmac_hex(sk, &string_to_sign(date, &canonical));
    Ok(format!(
        "{ALGORITHM} Access={ak}, SignedHeaders={}, Signature={signature}",
        signed.join(";")
    ))
}

/// Format a time for `X-Sdk-Date`.
pub fn sdk_date(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
