//! SDK-HMAC-SHA256 request signing, exactly as the official Huawei Cloud SDK
//! (`huaweicloudsdkcore/signer/signer.py`) does it; see reference section 4.2.
//!
//! Everything here is a pure function of the request, the credentials and the clock reading, so
//! it can be checked byte for byte against the SDK (`tests/signer_sdk.rs`).

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use reqwest::Url;
use sha2::{Digest, Sha256};

use super::credentials::Credentials;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const HEADER_DATE: &str = "X-Sdk-Date";
pub const HEADER_SECURITY_TOKEN: &str = "X-Security-Token";
pub const HEADER_AUTH_TOKEN: &str = "X-Auth-Token";
pub const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";
/// SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// RFC 3986 unreserved characters stay; everything else is percent-encoded with upper-case hex.
/// This is Python's `quote(s, safe='~')` (and `quote(s, safe='')`, which keeps `~` as well since
/// Python 3.7), the rule the SDK uses for path segments, path parameters and query pairs.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode a path segment, path parameter, query key or query value.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// The request as the signer sees it. `url` is what will be sent: its path already has encoded
/// path parameters and its query is the canonical query (see [`canonical_query`]).
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// Headers already set on the request (Content-Type, User-Agent, X-Project-Id, ...).
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What signing adds to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Headers to add, in the order the SDK adds them (`Authorization` last when present).
    pub headers: Vec<(String, String)>,
    /// The canonical request and string to sign, kept for debugging signature mismatches.
    /// Empty for token auth.
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// Authenticate a request with `credentials` at time `now`.
///
/// - AK/SK: adds `X-Security-Token` (temporary credentials), `X-Sdk-Content-Sha256` (only for a
///   non-JSON Content-Type, as the SDK does), `X-Sdk-Date` and `Host` when absent, then
///   `Authorization`.
/// - Token: adds only `X-Auth-Token`; nothing is signed.
/// - A request that already carries `Authorization` is left alone, as in the SDK.
pub fn authorize(request: &RequestToSign<'_>, credentials: &Credentials, now: Timestamp) -> Authorization {
    match credentials {
        Credentials::Token(token) => Authorization {
            headers: vec![(HEADER_AUTH_TOKEN.to_owned(), token.clone())],
            canonical_request: String::new(),
            string_to_sign: String::new(),
        },
        Credentials::AkSk {
            access_key,
            secret_key,
            security_token,
        } => sign(request, access_key, secret_key, security_token.as_deref(), now),
    }
}

/// Sign with AK/SK (see [`authorize`]).
pub fn sign(
    request: &RequestToSign<'_>,
    access_key: &str,
    secret_key: &str,
    security_token: Option<&str>,
    now: Timestamp,
) -> Authorization {
    let mut all: Vec<(String, String)> = request.headers.to_vec();
    let mut added: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, value: String, all: &mut Vec<(String, String)>| {
        all.push((name.to_owned(), value.clone()));
        added.push((name.to_owned(), value));
    };

    if let Some(token) = security_token {
        add(HEADER_SECURITY_TOKEN, token.to_owned(), &mut all);
    }
    if find(&all, "authorization").is_some() {
        return Authorization {
            headers: added,
            canonical_request: String::new(),
            string_to_sign: String::new(),
        };
    }
    // The SDK only hashes JSON and BSON bodies; anything else (e.g. merge-patch+json, which does
    // not start with "application/json") is declared unsigned.
    if let Some(content_type) = find(&all, "content-type")
        && !content_type.starts_with("application/json")
        && !content_type.starts_with("application/bson")
    {
        add(HEADER_CONTENT_SHA256, "UNSIGNED-PAYLOAD".to_owned(), &mut all);
    }
    let date = match find(&all, HEADER_DATE) {
        Some(existing) => existing.to_owned(),
        None => {
            let date = now.strftime(DATE_FORMAT).to_string();
            add(HEADER_DATE, date.clone(), &mut all);
            date
        }
    };
    if find(&all, "host").is_none() {
        add("Host", host_header(request.url), &mut all);
    }

    let (signed_headers, canonical_headers) = canonical_headers(&all);
    let payload_hash = if request.body.is_empty() {
        EMPTY_BODY_SHA256.to_owned()
    } else if let Some(declared) = find(&all, HEADER_CONTENT_SHA256) {
        declared.to_owned()
    } else {
        hex::encode(Sha256::digest(request.body))
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.url.path()),
        canonical_query(&query_pairs(request.url)),
        canonical_headers,
        signed_headers,
        payload_hash
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let signature = hmac_sha256_hex(secret_key.as_bytes(), string_to_sign.as_bytes());
    added.push((
        "Authorization".to_owned(),
        format!("{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"),
    ));
    Authorization {
        headers: added,
        canonical_request,
        string_to_sign,
    }
}

/// The `Host` header value: the URL's host, with the port only when it is not the scheme's
/// default (what the SDK takes from `urlparse(url).netloc`, and what hyper sends).
pub fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Decode the path, split it on `/`, encode each segment, and make sure it ends with `/`.
/// A `%2F` inside a segment therefore becomes a separator, exactly as in the SDK.
pub fn canonical_uri(path: &str) -> String {
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let mut uri = decoded.split('/').map(encode).collect::<Vec<_>>().join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// Sort the pairs by key then value (duplicates kept), encode both sides, join with `&`.
/// This is also the query string the client sends, as the SDK does.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort();
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The query of `url` as raw pairs. Percent-decoding only: a `+` is a literal plus, because the
/// client encodes spaces as `%20`.
fn query_pairs(url: &Url) -> Vec<(String, String)> {
    let Some(query) = url.query() else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect()
}

/// `(signed header list, canonical header block)`. Names containing `_` are not signed (the SDK
/// skips them); values are trimmed; the block ends with a newline.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut by_name: BTreeMap<String, &str> = BTreeMap::new();
    for (name, value) in headers {
        if name.contains('_') {
            continue;
        }
        by_name.insert(name.to_ascii_lowercase(), value.trim());
    }
    let signed = by_name.keys().cloned().collect::<Vec<_>>().join(";");
    let block = by_name
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect::<String>();
    (signed, block)
}

fn find<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests;
