//! The client against a scripted HTTP server: exact requests, signing, retries, errors, hooks.

mod cloud_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cloud_support::{PROJECT, Server, reply};
use modelarts_operator::cloud::notebooks::{
    CreateNotebookRequest, NotebookFilter, StartOptions, Tag, VolumeMount,
};
use modelarts_operator::cloud::{
    CallOutcome, CallRecord, ClientConfig, Credentials, ErrorKind, ModelArtsClient, PageRequest,
};
use serde_json::json;

const NOTEBOOK: &str = r#"{"id":"nb-1","name":"nb","status":"CREATING","lease":{"duration":3600000,"enable":true,"type":"TIMING"},"token":"t","workspace_id":"0","some_new_field":{"x":1}}"#;

fn ak_sk() -> Credentials {
    Credentials::ak_sk("AKTEST", "SKTEST")
}

#[tokio::test]
async fn create_notebook_sends_a_signed_post_with_the_sdk_content_type_and_exact_body() {
    let server = Server::start(vec![reply(201, NOTEBOOK)]).await;
    let client = server.client(ak_sk());
    let request = CreateNotebookRequest {
        name: "nb".into(),
        image_id: "img-1".into(),
        volume: VolumeMount {
            category: "EVS".into(),
            ownership: "MANAGED".into(),
            capacity: Some(5),
            ..VolumeMount::default()
        },
        flavor: Some("modelarts.vm.cpu.2u".into()),
        ..CreateNotebookRequest::default()
    };
    let notebook = client.create_notebook(&request).await.expect("created");
    assert_eq!(
        (notebook.id.as_str(), notebook.status.as_str()),
        ("nb-1", "CREATING")
    );

    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.target, format!("/v1/{PROJECT}/notebooks"));
    assert_eq!(
        sent.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(sent.header("x-project-id"), Some(PROJECT));
    let host = server.base.trim_start_matches("http://");
    assert_eq!(sent.header("host"), Some(host));
    let host_headers = sent
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .count();
    assert_eq!(host_headers, 1, "the signed Host header is the only one sent");
    let date = sent.header("x-sdk-date").unwrap_or_default();
    assert!(
        jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", date).is_ok(),
        "{date}"
    );
    let authorization = sent.header("authorization").unwrap_or_default();
    assert!(
        authorization.starts_with(
            "SDK-HMAC-SHA256 Access=AKTEST, SignedHeaders=content-type;host;user-agent;x-project-id;x-sdk-date, Signature="
        ),
        "{authorization}"
    );
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
    // Unset optional fields are omitted, never sent as null.
    assert_eq!(
        String::from_utf8_lossy(&sent.body),
        r#"{"name":"nb","image_id":"img-1","volume":{"category":"EVS","ownership":"MANAGED","capacity":5},"flavor":"modelarts.vm.cpu.2u"}"#
    );
}

#[tokio::test]
async fn list_notebooks_sends_filters_and_tags_as_a_sorted_encoded_query() {
    let server = Server::start(vec![reply(
        200,
        r#"{"current":0,"pages":1,"size":1,"total":1,"data":[{"id":"a"}]}"#,
    )])
    .await;
    let client = server.client(ak_sk());
    let filter = NotebookFilter {
        status: Some("RUNNING".into()),
        name: Some("my nb".into()),
        tags: vec![("owner".into(), "team a".into()), ("env".into(), "dev".into())],
        ..NotebookFilter::default()
    };
    let page = client
        .list_notebooks(
            &filter,
            PageRequest {
                offset: 20,
                limit: 10,
            },
        )
        .await
        .expect("listed");
    assert_eq!(page.data.len(), 1);
    let sent = &server.requests()[0];
    assert_eq!(
        sent.target,
        format!(
            "/v1/{PROJECT}/notebooks?limit=10&name=my%20nb&offset=20&status=RUNNING&tags=owner%7Cteam%20a%2Cenv%7Cdev"
        )
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert!(sent.body.is_empty());
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
}

#[tokio::test]
async fn list_all_notebooks_walks_every_page() {
    let page = |ids: &[&str], total: usize| {
        let data: Vec<_> = ids.iter().map(|id| json!({"id": id})).collect();
        reply(200, &json!({"total": total, "data": data}).to_string())
    };
    let server = Server::start(vec![page(&["a", "b"], 3), page(&["c"], 3)]).await;
    let client = server.client(ak_sk());
    let all = client
        .list_all_notebooks(&NotebookFilter::default(), 2)
        .await
        .expect("listed");
    let ids: Vec<_> = all.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let targets: Vec<_> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            format!("/v1/{PROJECT}/notebooks?limit=2&offset=0"),
            format!("/v1/{PROJECT}/notebooks?limit=2&offset=2"),
        ]
    );
}

#[tokio::test]
async fn start_notebook_puts_auto_stop_options_in_the_query_and_sends_no_body() {
    let server = Server::start(vec![reply(200, NOTEBOOK)]).await;
    let client = server.client(ak_sk());
    let options = StartOptions {
        duration_ms: Some(7_200_000),
        auto_stop_type: Some("IDLE".into()),
    };
    client.start_notebook("nb-1", &options).await.expect("started");
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(
        sent.target,
        format!("/v1/{PROJECT}/notebooks/nb-1/start?duration=7200000&type=IDLE")
    );
    assert!(sent.body.is_empty());
}

#[tokio::test]
async fn notebook_tag_delete_is_a_delete_with_a_json_body_and_an_empty_answer() {
    let server = Server::start(vec![reply(200, "")]).await;
    let client = server.client(ak_sk());
    client
        .delete_notebook_tags("nb-1", &[Tag::new("k", "v")], Some("0"))
        .await
        .expect("deleted");
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "DELETE");
    assert_eq!(
        sent.target,
        format!("/v1/{PROJECT}/notebooks/nb-1/tags/delete?workspace_id=0")
    );
    assert_eq!(sent.body_json(), json!({"tags": [{"key": "k", "value": "v"}]}));
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let server = Server::start(vec![reply(200, NOTEBOOK)]).await;
    let client = server.client(ak_sk());
    client.show_notebook("a b/c").await.expect("shown");
    assert_eq!(
        server.requests()[0].target,
        format!("/v1/{PROJECT}/notebooks/a%20b%2Fc")
    );
}

#[tokio::test]
async fn reads_are_retried_on_503_and_then_succeed() {
    let server = Server::start(vec![
        reply(503, r#"{"error_code":"ModelArts.0001","error_msg":"busy"}"#),
        reply(502, "<html>bad gateway</html>"),
        reply(200, NOTEBOOK),
    ])
    .await;
    let client = server.client(ak_sk());
    let notebook = client
        .show_notebook("nb-1")
        .await
        .expect("third attempt succeeds");
    assert_eq!(notebook.id, "nb-1");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn reads_honour_retry_after_on_429() {
    let server = Server::start(vec![
        reply(
            429,
            r#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}"#,
        )
        .with_header("Retry-After", "1"),
        reply(200, NOTEBOOK),
    ])
    .await;
    let client = server.client(ak_sk());
    let started = Instant::now();
    client.show_notebook("nb-1").await.expect("retried");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_client_budget_is_returned_to_the_caller_at_once() {
    let server = Server::start(vec![
        reply(429, r#"{"error_code":"APIGW.0308","error_msg":"throttled"}"#)
            .with_header("Retry-After", "120"),
        reply(200, NOTEBOOK),
    ])
    .await;
    let client = server.client(ak_sk());
    let error = client.show_notebook("nb-1").await.expect_err("not waited for");
    assert_eq!(error.kind(), ErrorKind::Throttled);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn reads_give_up_after_the_attempt_budget_with_the_last_error() {
    let busy = || reply(503, r#"{"error_code":"X","error_msg":"busy"}"#);
    let server = Server::start(vec![busy(), busy(), busy(), busy(), busy()]).await;
    let client = server.client(ak_sk());
    let error = client.show_notebook("nb-1").await.expect_err("fails");
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn mutations_are_never_retried() {
    let cases: Vec<(&str, u16, ErrorKind)> = vec![
        ("503 on stop", 503, ErrorKind::Transient),
        ("429 on stop", 429, ErrorKind::Throttled),
    ];
    for (why, status, kind) in cases {
        let server = Server::start(vec![
            reply(status, r#"{"error_code":"X","error_msg":"m"}"#),
            reply(200, NOTEBOOK),
        ])
        .await;
        let client = server.client(ak_sk());
        let error = client.stop_notebook("nb-1").await.expect_err(why);
        assert_eq!(error.kind(), kind, "{why}");
        assert_eq!(server.requests().len(), 1, "{why}: exactly one request");
    }
}

#[tokio::test]
async fn http_error_responses_are_classified_and_keep_their_details() {
    // (status, body, expected kind)
    let cases = [
        (
            400,
            r#"{"error_code":"ModelArts.6309","error_msg":"The instance does not exist."}"#,
            ErrorKind::NotFound,
        ),
        (
            404,
            r#"{"error_code":"ModelArts.0000","error_msg":"gone"}"#,
            ErrorKind::NotFound,
        ),
        (
            400,
            r#"{"error_code":"ModelArts.6304","error_msg":"Please stop the instance before deleting."}"#,
            ErrorKind::WrongState,
        ),
        (
            400,
            r#"{"error_code":"ModelArts.0113","error_msg":"Quota exhausted"}"#,
            ErrorKind::QuotaExceeded,
        ),
        (
            400,
            r#"{"error_code":"ModelArts.0104","error_msg":"Parameter error"}"#,
            ErrorKind::Invalid,
        ),
        (
            401,
            r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}"#,
            ErrorKind::Unauthorized,
        ),
        (
            403,
            r#"{"error":{"code":"X","message":"denied"}}"#,
            ErrorKind::Forbidden,
        ),
    ];
    for (status, body, kind) in cases {
        let server = Server::start(vec![reply(status, body)]).await;
        let client = server.client(ak_sk());
        let error = client.delete_notebook("nb-1").await.expect_err(body);
        assert_eq!(error.kind(), kind, "{body}");
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.request_id(), Some(format!("req-{status}").as_str()));
        assert!(error.error_code().is_some_and(|c| !c.is_empty()));
        assert!(!error.error_msg().is_empty());
    }
}

#[tokio::test]
async fn a_delete_answered_with_an_empty_body_is_accepted() {
    let server = Server::start(vec![reply(204, "")]).await;
    let client = server.client(ak_sk());
    assert_eq!(client.delete_notebook("nb-1").await.expect("deleted"), None);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_transient() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let mut config =
        ClientConfig::new("cn-north-4", PROJECT).with_endpoint(format!("http://127.0.0.1:{port}"));
    config.retry = modelarts_operator::cloud::RetryPolicy::none();
    let client = ModelArtsClient::new(config, ak_sk()).expect("client");
    let error = client.show_notebook("nb-1").await.expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert_eq!(error.status(), None);
}

#[tokio::test]
async fn a_slow_answer_times_out_as_transient() {
    let server = Server::start(vec![reply(200, NOTEBOOK).delayed(Duration::from_secs(5))]).await;
    let mut config = ClientConfig::new("cn-north-4", PROJECT).with_endpoint(&server.base);
    config.request_timeout = Duration::from_millis(200);
    config.retry = modelarts_operator::cloud::RetryPolicy::none();
    let client = ModelArtsClient::new(config, ak_sk()).expect("client");
    let error = client.stop_notebook("nb-1").await.expect_err("times out");
    assert_eq!(error.kind(), ErrorKind::Transient);
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn token_credentials_send_x_auth_token_and_no_signature() {
    let server = Server::start(vec![reply(200, NOTEBOOK)]).await;
    let client = server.client(Credentials::token("iam-token"));
    client.show_notebook("nb-1").await.expect("shown");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-auth-token"), Some("iam-token"));
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn temporary_credentials_send_a_signed_security_token() {
    let server = Server::start(vec![reply(200, NOTEBOOK)]).await;
    let client = server.client(Credentials::temporary("AKTEST", "SKTEST", "sts-token"));
    client.show_notebook("nb-1").await.expect("shown");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-security-token"), Some("sts-token"));
    assert!(
        sent.header("authorization")
            .unwrap_or_default()
            .contains("x-security-token")
    );
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
}

#[tokio::test]
async fn rotated_credentials_apply_to_the_next_request_of_every_clone() {
    let server = Server::start(vec![reply(200, NOTEBOOK), reply(200, NOTEBOOK)]).await;
    let client = server.client(ak_sk());
    let clone = client.clone();
    client.show_notebook("nb-1").await.expect("first");
    client.credentials().replace(Credentials::ak_sk("AKNEW", "SKNEW"));
    clone.show_notebook("nb-1").await.expect("second");
    let requests = server.requests();
    assert!(requests[0].signature_is_valid("AKTEST", "SKTEST"));
    assert!(requests[1].signature_is_valid("AKNEW", "SKNEW"));
}

#[tokio::test]
async fn the_observer_sees_every_attempt_with_operation_outcome_and_status() {
    let server = Server::start(vec![
        reply(503, "{}"),
        reply(200, NOTEBOOK),
        reply(400, r#"{"error_code":"ModelArts.6305","error_msg":"running"}"#),
    ])
    .await;
    let records: Arc<Mutex<Vec<CallRecord>>> = Arc::default();
    let sink = records.clone();
    let client = server
        .client(ak_sk())
        .with_observer(Arc::new(move |record: &CallRecord| {
            sink.lock().expect("lock").push(record.clone())
        }));
    client.show_notebook("nb-1").await.expect("shown after a retry");
    client
        .start_notebook("nb-1", &StartOptions::default())
        .await
        .expect_err("already running");
    let seen: Vec<_> = records
        .lock()
        .expect("lock")
        .iter()
        .map(|r| (r.operation, r.outcome.as_str(), r.status, r.attempt))
        .collect();
    assert_eq!(
        seen,
        [
            ("notebooks.show", "Transient", Some(503), 1),
            ("notebooks.show", "Success", Some(200), 2),
            ("notebooks.start", "WrongState", Some(400), 1),
        ]
    );
    assert_eq!(
        CallOutcome::Failure(ErrorKind::QuotaExceeded).as_str(),
        "QuotaExceeded"
    );
}
