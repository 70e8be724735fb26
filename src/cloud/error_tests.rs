use super::*;
use reqwest::header::HeaderValue;

#[test]
fn responses_are_classified_by_code_first_then_status() {
    // (status, error_code, expected kind, why)
    let cases: &[(u16, Option<&str>, ErrorKind, &str)] = &[
        (404, None, ErrorKind::NotFound, "a plain 404 is not found"),
        (
            400,
            Some("ModelArts.6309"),
            ErrorKind::NotFound,
            "6309 instance does not exist",
        ),
        (
            400,
            Some("ModelArts.6357"),
            ErrorKind::NotFound,
            "6357 is a not-found code",
        ),
        (
            400,
            Some("ModelArts.6404"),
            ErrorKind::NotFound,
            "6404 is a not-found code",
        ),
        (
            400,
            Some("ModelArts.6304"),
            ErrorKind::WrongState,
            "6304 stop it before deleting",
        ),
        (
            400,
            Some("ModelArts.6305"),
            ErrorKind::WrongState,
            "6305 already running",
        ),
        (
            400,
            Some("ModelArts.6306"),
            ErrorKind::WrongState,
            "6306 starting",
        ),
        (
            400,
            Some("ModelArts.6307"),
            ErrorKind::WrongState,
            "6307 already stopped",
        ),
        (
            400,
            Some("ModelArts.6308"),
            ErrorKind::WrongState,
            "6308 stopping",
        ),
        (
            400,
            Some("ModelArts.0113"),
            ErrorKind::QuotaExceeded,
            "0113 notebook quota",
        ),
        (
            400,
            Some("ModelArts.0116"),
            ErrorKind::QuotaExceeded,
            "0116 quota exceeded",
        ),
        (
            400,
            Some("ModelArts.6302"),
            ErrorKind::QuotaExceeded,
            "6302 instance count at max",
        ),
        (
            400,
            Some("ModelArts.6301"),
            ErrorKind::Conflict,
            "6301 already exists",
        ),
        (409, None, ErrorKind::Conflict, "a plain 409 is a conflict"),
        (429, None, ErrorKind::Throttled, "429 is throttling"),
        (
            429,
            Some("APIGW.0308"),
            ErrorKind::Throttled,
            "APIGW.0308 is throttling",
        ),
        (500, None, ErrorKind::Transient, "500 is transient"),
        (502, None, ErrorKind::Transient, "502 is transient"),
        (
            503,
            Some("ModelArts.0001"),
            ErrorKind::Transient,
            "503 is transient whatever the code",
        ),
        (408, None, ErrorKind::Transient, "a request timeout is transient"),
        (
            401,
            Some("APIGW.0301"),
            ErrorKind::Unauthorized,
            "bad signature is unauthorized",
        ),
        (403, None, ErrorKind::Forbidden, "403 is forbidden"),
        (
            400,
            Some("ModelArts.0104"),
            ErrorKind::Invalid,
            "parameter error is invalid",
        ),
        (400, None, ErrorKind::Invalid, "an unknown 400 is invalid"),
        (422, None, ErrorKind::Invalid, "other 4xx are invalid"),
        (
            404,
            Some("APIGW.0101"),
            ErrorKind::Invalid,
            "API not found is not a missing resource",
        ),
    ];
    for (status, code, expected, why) in cases {
        assert_eq!(classify(*status, *code), *expected, "{why}");
    }
}

#[test]
fn error_bodies_are_parsed_like_the_sdk_parses_them() {
    // (body, expected code, expected message, why)
    let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
        (
            r#"{"error_code":"ModelArts.6309","error_msg":"The instance does not exist."}"#,
            Some("ModelArts.6309"),
            Some("The instance does not exist."),
            "the documented shape",
        ),
        (
            r#"{"errorCode":"X.1","errorMsg":"camel"}"#,
            Some("X.1"),
            Some("camel"),
            "camelCase",
        ),
        (
            r#"{"code":"X.2","message":"plain"}"#,
            Some("X.2"),
            Some("plain"),
            "code/message",
        ),
        (
            r#"{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication information"}}"#,
            Some("APIGW.0301"),
            Some("Incorrect IAM authentication information"),
            "nested object",
        ),
        (
            r#"{"error_code":"ModelArts.0104","error_message":"legacy"}"#,
            Some("ModelArts.0104"),
            Some("legacy"),
            "legacy error_message",
        ),
        (
            r#"{"code":401,"message":"numeric"}"#,
            Some("401"),
            Some("numeric"),
            "numeric code",
        ),
        ("<html>bad gateway</html>", None, None, "not JSON"),
        ("[1,2]", None, None, "JSON but not an object"),
        ("", None, None, "empty body"),
    ];
    for (body, code, message, why) in cases {
        let (c, m) = parse_error_body(body.as_bytes());
        assert_eq!(c.as_deref(), *code, "{why}: code");
        assert_eq!(m.as_deref(), *message, "{why}: message");
    }
}

#[test]
fn an_error_response_keeps_status_code_message_request_id_and_retry_after() {
    let mut headers = HeaderMap::new();
    headers.insert("X-Request-Id", HeaderValue::from_static("req-123"));
    headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    let body = br#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}"#;
    let error = Error::from_response("notebooks.show", 429, &headers, body);
    assert_eq!(error.kind(), ErrorKind::Throttled);
    assert_eq!(error.category(), "Throttled");
    assert_eq!(error.status(), Some(429));
    assert_eq!(error.error_code(), Some("APIGW.0308"));
    assert_eq!(error.error_msg(), "The throttling threshold has been reached");
    assert_eq!(error.request_id(), Some("req-123"));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    let shown = error.to_string();
    assert!(
        shown.contains("notebooks.show") && shown.contains("req-123"),
        "{shown}"
    );
}

#[test]
fn an_unparseable_error_body_falls_back_to_the_status_and_raw_text() {
    let error = Error::from_response("pools.show", 502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
    assert_eq!(error.error_code(), Some("502"));
    assert_eq!(error.error_msg(), "<html>Bad Gateway</html>");
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert_eq!(error.request_id(), None);
}

#[test]
fn retry_after_accepts_seconds_and_http_dates() {
    let mut headers = HeaderMap::new();
    headers.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    // A date in the past means "now".
    assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
    assert_eq!(retry_after(&headers), None);
}

#[test]
fn every_kind_has_a_distinct_pascal_case_category() {
    let kinds = [
        ErrorKind::NotFound,
        ErrorKind::WrongState,
        ErrorKind::Invalid,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::Throttled,
        ErrorKind::Transient,
        ErrorKind::QuotaExceeded,
        ErrorKind::Conflict,
    ];
    let names: std::collections::BTreeSet<&str> = kinds.iter().map(|k| k.as_str()).collect();
    assert_eq!(names.len(), kinds.len());
    for name in names {
        assert!(name.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
        assert!(name.chars().all(|c| c.is_ascii_alphabetic()), "{name}");
    }
    assert!(ErrorKind::Throttled.is_retryable() && ErrorKind::Transient.is_retryable());
    assert!(!ErrorKind::WrongState.is_retryable());
}

#[test]
fn every_error_message_names_the_cloud_code_and_ends_with_what_to_do() {
    // (status, body, what the message must tell the user)
    let cases: &[(u16, &str, &str)] = &[
        (
            401,
            r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}"#,
            "check accessKey/secretKey in the credentials Secret",
        ),
        (
            403,
            r#"{"error_code":"ModelArts.0203","error_msg":"no permission"}"#,
            "grant the key's IAM user ModelArts permissions",
        ),
        (
            400,
            r#"{"error_code":"ModelArts.0104","error_msg":"Invalid parameter 'flavor'"}"#,
            "fix the field the message names",
        ),
        (
            429,
            r#"{"error_code":"APIGW.0308","error_msg":"throttled"}"#,
            "backs off and retries",
        ),
    ];
    for (status, body, advice) in cases {
        let err = Error::from_response("notebooks.create", *status, &HeaderMap::new(), body.as_bytes());
        let text = err.to_string();
        let code = err.error_code().expect("a code").to_string();
        assert!(text.contains(&code), "names {code}: {text}");
        assert!(
            text.ends_with(err.kind().advice()),
            "ends with the advice: {text}"
        );
        assert!(text.contains(advice), "{text}");
    }
}
