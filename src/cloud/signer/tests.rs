//! The two test vectors of reference section 4.2 (computed with the real SDK), plus the encoding
//! rules the vectors do not reach.

use super::*;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

fn at_2025() -> Timestamp {
    "2025-01-01T00:00:00Z".parse().expect("valid timestamp literal")
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn value<'a>(auth: &'a Authorization, name: &str) -> Option<&'a str> {
    auth.headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_post_vector_from_the_reference_signs_to_the_documented_authorization() {
    let url = Url::parse(&format!(
        "https://modelarts.cn-north-4.myhuaweicloud.com/v1/{PROJECT}/notebooks?limit=10&workspace_id=0"
    ))
    .expect("valid url");
    let body = br#"{"name": "nb-1", "image_id": "e1a07296-22a8-4f05-8bc8-e936c8e54090", "volume": {"category": "EVS", "ownership": "MANAGED"}}"#;
    let headers = headers(&[
        ("Content-Type", "application/json;charset=UTF-8"),
        ("User-Agent", "huaweicloud-usdk-python/3.0"),
        ("X-Project-Id", PROJECT),
    ]);
    let request = RequestToSign {
        method: "POST",
        url: &url,
        headers: &headers,
        body,
    };
    let auth = sign(&request, "AKEXAMPLE", "SKEXAMPLE", None, at_2025());

    let expected_canonical = format!(
        "POST\n/v1/{PROJECT}/notebooks/\nlimit=10&workspace_id=0\n\
         content-type:application/json;charset=UTF-8\n\
         host:modelarts.cn-north-4.myhuaweicloud.com\n\
         user-agent:huaweicloud-usdk-python/3.0\n\
         x-project-id:{PROJECT}\nx-sdk-date:20250101T000000Z\n\n\
         content-type;host;user-agent;x-project-id;x-sdk-date\n\
         96c3077c04e274878d608f3921265a794b917da7e9d8640ba6c3a36415e124f4"
    );
    assert_eq!(auth.canonical_request, expected_canonical);
    assert_eq!(
        auth.string_to_sign,
        "SDK-HMAC-SHA256\n20250101T000000Z\n67dc658fe6c7845cc4b1cd91b22dde4a0e6fbc83c58d2d9a83ad3860aaffee30"
    );
    assert_eq!(
        value(&auth, "Authorization"),
        Some(
            "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature=7831b2e50755104276019dda14744b7837d8bad057376692e9c86bf0ab2cd709"
        )
    );
    assert_eq!(value(&auth, "X-Sdk-Date"), Some("20250101T000000Z"));
    assert_eq!(
        value(&auth, "Host"),
        Some("modelarts.cn-north-4.myhuaweicloud.com")
    );
}

#[test]
fn the_get_vector_from_the_reference_signs_an_empty_body_with_the_empty_hash() {
    let url = Url::parse(&format!(
        "https://modelarts.cn-north-4.myhuaweicloud.com/v2/{PROJECT}/pools/pool-abc"
    ))
    .expect("valid url");
    let headers = headers(&[("Content-Type", "application/json"), ("X-Project-Id", PROJECT)]);
    let request = RequestToSign {
        method: "GET",
        url: &url,
        headers: &headers,
        body: b"",
    };
    let auth = sign(&request, "AKEXAMPLE", "SKEXAMPLE", None, at_2025());
    assert!(auth.canonical_request.ends_with(EMPTY_BODY_SHA256));
    assert_eq!(
        value(&auth, "Authorization"),
        Some(
            "SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=578da33da7e6db990c103eead96f1f44f24c57e82f2bf2f201aa5734d1f0f80c"
        )
    );
}

#[test]
fn query_pairs_are_sorted_and_encoded_as_the_reference_example_shows() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("tags", "k1|v 1,k2|v/2"), ("name", "a~b*c")],
            "name=a~b%2Ac&tags=k1%7Cv%201%2Ck2%7Cv%2F2",
        ),
        (&[("b", "2"), ("a", "z"), ("a", "y")], "a=y&a=z&b=2"),
        (&[], ""),
        (&[("k", "é")], "k=%C3%A9"),
        (&[("k", "")], "k="),
    ];
    for (pairs, expected) in cases {
        let owned = headers(pairs);
        assert_eq!(canonical_query(&owned), *expected, "pairs {pairs:?}");
    }
}

#[test]
fn canonical_uri_reencodes_each_segment_and_adds_a_trailing_slash() {
    let cases = [
        ("/v1/p/notebooks", "/v1/p/notebooks/"),
        ("/v1/p/notebooks/", "/v1/p/notebooks/"),
        ("/v1/p/a%20b", "/v1/p/a%20b/"),
        ("/v1/p/a%7Eb", "/v1/p/a~b/"),
        ("/v1/p/a%2Fb", "/v1/p/a/b/"),
        ("/v1/p/%E4%B8%AD", "/v1/p/%E4%B8%AD/"),
        ("/", "/"),
    ];
    for (path, expected) in cases {
        assert_eq!(canonical_uri(path), expected, "path {path}");
    }
}

#[test]
fn a_security_token_is_added_and_signed() {
    let url = Url::parse("http://127.0.0.1:8080/v1/p/notebooks").expect("valid url");
    let headers = headers(&[("Content-Type", "application/json")]);
    let request = RequestToSign {
        method: "GET",
        url: &url,
        headers: &headers,
        body: b"",
    };
    let credentials = Credentials::temporary("AK", "SK", "TOKEN");
    let auth = authorize(&request, &credentials, at_2025());
    assert_eq!(value(&auth, "X-Security-Token"), Some("TOKEN"));
    assert_eq!(value(&auth, "Host"), Some("127.0.0.1:8080"));
    let authorization = value(&auth, "Authorization").unwrap_or_default();
    assert!(
        authorization.contains("SignedHeaders=content-type;host;x-sdk-date;x-security-token,"),
        "{authorization}"
    );
}

#[test]
fn token_credentials_add_only_an_unsigned_auth_token() {
    let url = Url::parse("https://example.com/v1/p/notebooks").expect("valid url");
    let request = RequestToSign {
        method: "GET",
        url: &url,
        headers: &[],
        body: b"",
    };
    let auth = authorize(&request, &Credentials::token("tok"), at_2025());
    assert_eq!(auth.headers, vec![("X-Auth-Token".to_owned(), "tok".to_owned())]);
}

#[test]
fn a_non_json_content_type_is_declared_unsigned_like_the_sdk_does() {
    let url = Url::parse("https://example.com/v2/p/pools/x").expect("valid url");
    let headers = headers(&[("Content-Type", "application/merge-patch+json")]);
    let request = RequestToSign {
        method: "PATCH",
        url: &url,
        headers: &headers,
        body: b"{\"spec\": {}}",
    };
    let auth = sign(&request, "AK", "SK", None, at_2025());
    assert_eq!(value(&auth, "X-Sdk-Content-Sha256"), Some("UNSIGNED-PAYLOAD"));
    assert!(auth.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

#[test]
fn header_names_with_underscores_are_sent_but_not_signed() {
    let url = Url::parse("https://example.com/v1/p/x").expect("valid url");
    let headers = headers(&[("Content-Type", "application/json"), ("X_Custom", "1")]);
    let request = RequestToSign {
        method: "GET",
        url: &url,
        headers: &headers,
        body: b"",
    };
    let auth = sign(&request, "AK", "SK", None, at_2025());
    assert!(!auth.canonical_request.contains("x_custom"));
}
