use super::*;
use axum::http::HeaderValue;

const PID: &str = "0123456789abcdef0123456789abcdef";
const VECTOR_TIME: i64 = 1_735_689_600; // 2025-01-01T00:00:00Z
const BODY: &str = r#"{"name": "nb-1", "image_id": "e1a07296-22a8-4f05-8bc8-e936c8e54090", "volume": {"category": "EVS", "ownership": "MANAGED"}}"#;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_str(v).unwrap());
    }
    h
}

fn config() -> AuthConfig {
    let mut cfg = AuthConfig::default();
    cfg.keys.insert(
        "AKEXAMPLE".into(),
        Secret {
            sk: "SKEXAMPLE".into(),
            security_token: None,
        },
    );
    cfg
}

fn post_vector_headers(signature: &str) -> HeaderMap {
    let auth = format!(
        "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature={signature}"
    );
    headers(&[
        ("content-type", "application/json;charset=UTF-8"),
        ("host", "modelarts.cn-north-4.myhuaweicloud.com"),
        ("user-agent", "huaweicloud-usdk-python/3.0"),
        ("x-project-id", PID),
        ("x-sdk-date", "20250101T000000Z"),
        ("authorization", &auth),
    ])
}

fn post_vector(h: &HeaderMap) -> RequestParts<'_> {
    RequestParts {
        method: "POST",
        path: "/v1/0123456789abcdef0123456789abcdef/notebooks",
        query: Some("limit=10&workspace_id=0"),
        headers: h,
        body: BODY.as_bytes(),
    }
}

const POST_SIG: &str = "7831b2e50755104276019dda14744b7837d8bad057376692e9c86bf0ab2cd709";

#[test]
fn the_reference_post_vector_has_the_documented_canonical_request() {
    let h = post_vector_headers(POST_SIG);
    let signed = ["content-type", "host", "user-agent", "x-project-id", "x-sdk-date"];
    let canonical = canonical_request(&post_vector(&h), &signed).unwrap();
    let expected = format!(
        "POST\n/v1/{PID}/notebooks/\nlimit=10&workspace_id=0\ncontent-type:application/json;charset=UTF-8\nhost:modelarts.cn-north-4.myhuaweicloud.com\nuser-agent:huaweicloud-usdk-python/3.0\nx-project-id:{PID}\nx-sdk-date:20250101T000000Z\n\ncontent-type;host;user-agent;x-project-id;x-sdk-date\n96c3077c04e274878d608f3921265a794b917da7e9d8640ba6c3a36415e124f4"
    );
    assert_eq!(canonical, expected);
    assert_eq!(
        string_to_sign("20250101T000000Z", &canonical),
        "SDK-HMAC-SHA256\n20250101T000000Z\n67dc658fe6c7845cc4b1cd91b22dde4a0e6fbc83c58d2d9a83ad3860aaffee30"
    );
}

#[test]
fn the_reference_post_vector_verifies() {
    let h = post_vector_headers(POST_SIG);
    assert_eq!(verify(&config(), &post_vector(&h), VECTOR_TIME), Ok(()));
}

#[test]
fn the_reference_get_vector_verifies() {
    let auth = "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=578da33da7e6db990c103eead96f1f44f24c57e82f2bf2f201aa5734d1f0f80c";
    let h = headers(&[
        ("content-type", "application/json"),
        ("host", "modelarts.cn-north-4.myhuaweicloud.com"),
        ("x-project-id", PID),
        ("x-sdk-date", "20250101T000000Z"),
        ("authorization", auth),
    ]);
    let req = RequestParts {
        method: "GET",
        path: &format!("/v2/{PID}/pools/pool-abc"),
        query: None,
        headers: &h,
        body: b"",
    };
    assert_eq!(verify(&config(), &req, VECTOR_TIME), Ok(()));
}

#[test]
fn the_client_signer_reproduces_the_reference_signature() {
    let mut h = post_vector_headers(POST_SIG);
    h.remove("authorization");
    let auth = sign("AKEXAMPLE", "SKEXAMPLE", &post_vector(&h)).unwrap();
    assert!(auth.ends_with(POST_SIG), "{auth}");
}

#[test]
fn query_strings_are_sorted_and_encoded_like_the_sdk() {
    assert_eq!(
        canonical_query(Some("tags=k1%7Cv%201%2Ck2%7Cv%2F2&name=a~b%2Ac")),
        "name=a~b%2Ac&tags=k1%7Cv%201%2Ck2%7Cv%2F2"
    );
    assert_eq!(canonical_query(Some("b=2&a=2&a=1")), "a=1&a=2&b=2");
    assert_eq!(canonical_query(None), "");
}

#[test]
fn canonical_uri_reencodes_segments_and_appends_a_slash() {
    assert_eq!(canonical_uri("/v1/p/notebooks"), "/v1/p/notebooks/");
    assert_eq!(canonical_uri("/v1/p/a%20b/"), "/v1/p/a%20b/");
    assert_eq!(canonical_uri("/v1/p/a:b"), "/v1/p/a%3Ab/");
}

#[test]
fn tampered_requests_are_refused_with_the_reason() {
    type Tamper = fn(&mut HeaderMap) -> Option<&'static [u8]>;
    let cases: [(&str, Tamper, AuthError); 5] = [
        ("a different body", |_| Some(b"{}"), AuthError::Signature),
        (
            "a wrong signature",
            |h| {
                let v = h["authorization"].to_str().unwrap().replace("7831", "0000");
                h.insert("authorization", HeaderValue::from_str(&v).unwrap());
                None
            },
            AuthError::Signature,
        ),
        (
            "an unknown access key",
            |h| {
                let v = h["authorization"]
                    .to_str()
                    .unwrap()
                    .replace("AKEXAMPLE", "AKOTHER");
                h.insert("authorization", HeaderValue::from_str(&v).unwrap());
                None
            },
            AuthError::UnknownAccessKey("AKOTHER".into()),
        ),
        (
            "a missing signed header",
            |h| {
                h.remove("user-agent");
                None
            },
            AuthError::MissingSignedHeader("user-agent".into()),
        ),
        (
            "no credentials at all",
            |h| {
                h.remove("authorization");
                None
            },
            AuthError::Missing,
        ),
    ];
    for (why, tamper, expected) in cases {
        let mut h = post_vector_headers(POST_SIG);
        let body = tamper(&mut h);
        let mut req = post_vector(&h);
        if let Some(b) = body {
            req.body = b;
        }
        assert_eq!(verify(&config(), &req, VECTOR_TIME), Err(expected), "{why}");
    }
}

#[test]
fn a_date_more_than_fifteen_minutes_off_is_refused() {
    let h = post_vector_headers(POST_SIG);
    assert_eq!(
        verify(&config(), &post_vector(&h), VECTOR_TIME + 16 * 60),
        Err(AuthError::Skew)
    );
    assert_eq!(
        verify(&config(), &post_vector(&h), VECTOR_TIME - 16 * 60),
        Err(AuthError::Skew)
    );
    assert_eq!(verify(&config(), &post_vector(&h), VECTOR_TIME + 14 * 60), Ok(()));
}

#[test]
fn temporary_credentials_need_their_security_token() {
    let mut cfg = AuthConfig::default();
    cfg.keys.insert(
        "AKEXAMPLE".into(),
        Secret {
            sk: "SKEXAMPLE".into(),
            security_token: Some("tok".into()),
        },
    );
    let h = post_vector_headers(POST_SIG);
    assert_eq!(
        verify(&cfg, &post_vector(&h), VECTOR_TIME),
        Err(AuthError::SecurityToken)
    );
    let mut h = post_vector_headers(POST_SIG);
    h.insert("x-security-token", HeaderValue::from_static("tok"));
    assert_eq!(verify(&cfg, &post_vector(&h), VECTOR_TIME), Ok(()));
}

#[test]
fn configured_auth_tokens_are_accepted_and_others_refused() {
    let mut cfg = config();
    cfg.tokens.insert("good-token".into());
    for (token, expected) in [("good-token", Ok(())), ("bad-token", Err(AuthError::Token))] {
        let h = headers(&[("x-auth-token", token)]);
        let req = RequestParts {
            method: "GET",
            path: "/v1/p/notebooks",
            query: None,
            headers: &h,
            body: b"",
        };
        assert_eq!(verify(&cfg, &req, VECTOR_TIME), expected, "{token}");
    }
}
