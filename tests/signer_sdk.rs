//! Cross-check: the Rust signer and the official Python SDK's signer must produce byte-identical
//! `Authorization` headers (and the same request URI) for a wide spread of requests.
//!
//! Needs the SDK: `MODELARTS_SDK_PYTHON`, else `.venv/bin/python` at the workspace root, else
//! `python3`. `./scripts/test` creates that `.venv`. A missing SDK fails the test on purpose.

mod cloud_support;

use jiff::Timestamp;
use modelarts_operator::cloud::Credentials;
use modelarts_operator::cloud::signer::{RequestToSign, authorize, canonical_query};
use reqwest::Url;
use serde_json::{Value, json};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

struct Case {
    method: &'static str,
    base: &'static str,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    security_token: Option<&'static str>,
    date: Timestamp,
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// At least 50 requests, built by walking several independent lists with different strides so
/// that methods, hosts, paths, queries, bodies, content types and tokens mix.
fn cases() -> Vec<Case> {
    let methods = ["GET", "POST", "PUT", "DELETE", "PATCH"];
    let bases = [
        "https://modelarts.cn-north-4.myhuaweicloud.com",
        "http://127.0.0.1:8080",
        "https://modelarts.ap-southeast-1.myhuaweicloud.cn:8443",
        "http://localhost:30443",
    ];
    let paths = [
        format!("/v1/{PROJECT}/notebooks"),
        format!("/v1/{PROJECT}/notebooks/"),
        format!("/v2/{PROJECT}/pools/pool-abc"),
        format!("/v1/{PROJECT}/notebooks/a%20b%7Ec"),
        format!("/v1/{PROJECT}/dev-servers/%E4%B8%AD%E6%96%87"),
        format!("/v1/{PROJECT}/notebooks/a%2Fb/tags/delete"),
        format!("/v1/{PROJECT}/x/%2A%7C%21%27%28%29"),
        format!("/v2/{PROJECT}/pools/pool-abc/nodes/batch-delete"),
    ];
    let queries: Vec<Vec<(String, String)>> = vec![
        vec![],
        owned(&[("limit", "10"), ("offset", "0")]),
        owned(&[("a", "2"), ("a", "1"), ("a", "1"), ("b", "")]),
        owned(&[("name", "my notebook"), ("sort_dir", "DESC")]),
        owned(&[("name", "a~b*c"), ("tags", "k1|v 1,k2|v/2")]),
        owned(&[("name", "笔记本"), ("description", "café ü")]),
        owned(&[("q", "a+b=c&d;e"), ("x", "%41")]),
        owned(&[("continue", "eyJ2IjoxfQ=="), ("limit", "500")]),
        owned(&[
            ("labelSelector", "os.modelarts/name=my-pool"),
            ("workspaceId", "0"),
        ]),
        owned(&[("Z", "1"), ("a", "1"), ("_", "u"), ("~", "t")]),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        br#"{"name":"nb-1","volume":{"category":"EVS","ownership":"MANAGED"}}"#.to_vec(),
        br#"{"name": "nb-1", "image_id": "e1a07296-22a8-4f05-8bc8-e936c8e54090"}"#.to_vec(),
        "{\"description\":\"中文描述 — ünïcödé\"}".as_bytes().to_vec(),
        br#"{"tags":[{"key":"k","value":"v"}]}"#.to_vec(),
        br#"{"spec":{"resources":[{"flavor":"f","count":3}]}}"#.to_vec(),
    ];
    let content_types = [
        "application/json",
        "application/json;charset=UTF-8",
        "application/merge-patch+json",
    ];
    let tokens = [None, Some("sts-security-token-value")];
    let dates = [
        "2025-01-01T00:00:00Z",
        "2026-11-22T14:05:09Z",
        "1999-12-31T23:59:59Z",
    ];

    (0..64usize)
        .map(|i| {
            let mut headers = vec![
                ("Content-Type".to_owned(), content_types[(i / 3) % 3].to_owned()),
                ("X-Project-Id".to_owned(), PROJECT.to_owned()),
            ];
            if i % 2 == 0 {
                headers.push(("User-Agent".to_owned(), "huaweicloud-usdk-python/3.0".to_owned()));
            }
            if i % 5 == 0 {
                headers.push(("X-ModelArts-User-ID".to_owned(), "  user-1  ".to_owned()));
            }
            if i % 7 == 0 {
                headers.push(("X_Not_Signed".to_owned(), "1".to_owned()));
            }
            Case {
                method: methods[i % methods.len()],
                base: bases[(i / 2) % bases.len()],
                path: paths[(i * 3) % paths.len()].clone(),
                query: queries[(i * 7) % queries.len()].clone(),
                headers,
                body: bodies[(i * 5) % bodies.len()].clone(),
                security_token: tokens[(i / 4) % 2],
                date: dates[i % dates.len()].parse().expect("valid date literal"),
            }
        })
        .collect()
}

fn sign_with_sdk(cases: &[Case]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "method": c.method,
                "url": c.base,
                "path": c.path,
                "query": c.query,
                "headers": c.headers,
                "body_hex": hex::encode(&c.body),
                "ak": "AKEXAMPLE",
                "sk": "SKEXAMPLE",
                "security_token": c.security_token,
                "date": c.date.strftime("%Y%m%dT%H%M%SZ").to_string(),
            })
        })
        .collect();
    match cloud_support::run_sdk_script(&[], &Value::Array(input)) {
        Value::Array(signed) => signed,
        other => panic!("SDK script printed {other}, not a list"),
    }
}

#[test]
fn the_rust_signer_matches_the_official_python_sdk_byte_for_byte() {
    let cases = cases();
    assert!(cases.len() >= 50);
    let expected = sign_with_sdk(&cases);
    assert_eq!(expected.len(), cases.len());

    for (i, (case, sdk)) in cases.iter().zip(&expected).enumerate() {
        let query = canonical_query(&case.query);
        let uri = if query.is_empty() {
            case.path.clone()
        } else {
            format!("{}?{query}", case.path)
        };
        let url = Url::parse(&format!("{}{uri}", case.base)).expect("valid test url");
        let credentials = match case.security_token {
            Some(token) => Credentials::temporary("AKEXAMPLE", "SKEXAMPLE", token),
            None => Credentials::ak_sk("AKEXAMPLE", "SKEXAMPLE"),
        };
        let request = RequestToSign {
            method: case.method,
            url: &url,
            headers: &case.headers,
            body: &case.body,
        };
        let ours = authorize(&request, &credentials, case.date);
        let authorization = ours
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| v.as_str());
        assert_eq!(
            authorization,
            sdk["authorization"].as_str(),
            "case {i}: {} {url}\ncanonical request:\n{}",
            case.method,
            ours.canonical_request
        );
        assert_eq!(
            Some(uri.as_str()),
            sdk["uri"].as_str(),
            "case {i}: the URI sent differs from the SDK's"
        );
        // Every header the SDK added (date, host, token, unsigned-payload marker) we add too.
        for (name, value) in &ours.headers {
            if name != "Authorization" {
                assert_eq!(
                    sdk["headers"][name].as_str(),
                    Some(value.as_str()),
                    "case {i}: header {name}"
                );
            }
        }
    }
}
