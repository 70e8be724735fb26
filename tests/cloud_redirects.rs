//! Clients over shared pools (as the resolver builds one per credentials scope) never follow a
//! redirect, on the read pool (GET) or the write pool (POST): the SDK does not, and a followed
//! redirect would replay a signed request somewhere else.

mod cloud_support;

use cloud_support::{PROJECT, Server, reply};
use modelarts_operator::cloud::notebooks::StartOptions;
use modelarts_operator::cloud::{CONNECT_TIMEOUT, ClientConfig, Credentials, HttpPools, ModelArtsClient};

const NOTEBOOK: &str = r#"{"id":"nb-1","name":"nb","status":"RUNNING"}"#;

#[tokio::test]
async fn neither_pool_follows_a_redirect() {
    let moved = || reply(302, "").with_header("Location", "/elsewhere");
    // Anything that reached /elsewhere would be answered with a notebook.
    let server = Server::start_with_fallback(vec![moved(), moved()], reply(200, NOTEBOOK)).await;
    let config = ClientConfig::new("cn-north-4", PROJECT).with_endpoint(&server.base);
    let pools = HttpPools::new(CONNECT_TIMEOUT).expect("pools");
    let client =
        ModelArtsClient::with_http_client(config, Credentials::ak_sk("AK", "SK"), pools).expect("client");

    let read = client.show_notebook("nb-1").await;
    let write = client.start_notebook("nb-1", &StartOptions::default()).await;

    let requests = server.requests();
    let followed: Vec<_> = requests
        .iter()
        .filter(|r| r.target.starts_with("/elsewhere"))
        .collect();
    assert!(followed.is_empty(), "followed: {followed:?}");
    assert_eq!(read.expect_err("a redirect is an error").status(), Some(302));
    assert_eq!(write.expect_err("a redirect is an error").status(), Some(302));
}
