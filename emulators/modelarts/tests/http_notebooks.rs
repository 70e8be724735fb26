//! The emulator over real HTTP: gateway behaviour (auth, request ids, tenancy), the control
//! API and fault injection, driven through a signed client.

mod common;

use std::time::Duration;

use common::Client;
use modelarts_emulator::{EmulatorConfig, Family, FaultAction, FaultRule, Kind, Progression, spawn};
use serde_json::{Value, json};

const PID: &str = modelarts_emulator::DEFAULT_PROJECT_ID;
const OTHER: &str = "fedcba9876543210fedcba9876543210";

fn create_body(name: &str) -> Value {
    json!({"name": name, "image_id": modelarts_emulator::catalog::IMAGE_PYTORCH_CPU, "flavor": "modelarts.vm.cpu.2u",
           "volume": {"category": "EVS", "ownership": "MANAGED"}})
}

async fn started() -> (modelarts_emulator::EmulatorHandle, Client) {
    let emu = spawn(EmulatorConfig::default()).await.expect("spawn");
    emu.set_all_progression(Progression::Immediate);
    let c = Client::new(emu.addr(), PID);
    (emu, c)
}

async fn create(c: &Client, name: &str) -> String {
    let r = c
        .call("POST", "/v1/{pid}/notebooks", Some(create_body(name)))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn a_signed_request_is_served_with_a_request_id() {
    let (_emu, c) = started().await;
    let r = c
        .call("GET", "/v1/{pid}/notebooks?limit=10&name=a%20b", None)
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["total"], 0);
    assert_eq!(r.headers["x-request-id"].len(), 32);
}

#[tokio::test]
async fn unsigned_or_wrongly_signed_requests_get_401_apigw_0301() {
    let (emu, mut c) = started().await;
    let unsigned = reqwest::get(format!("{}/v1/{PID}/notebooks", emu.base_url()))
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    assert!(unsigned.headers().contains_key("x-request-id"));
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error_code"], "APIGW.0301");
    c.sk = "WRONG".into();
    let r = c.call("GET", "/v1/{pid}/notebooks", None).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (401, Some("APIGW.0301"))
    );
}

#[tokio::test]
async fn temporary_credentials_and_auth_tokens_are_accepted() {
    let (emu, mut c) = started().await;
    emu.add_credentials("AKTEMP", "SKTEMP", Some("sts-token"));
    emu.add_auth_token("iam-token");
    (c.ak, c.sk) = ("AKTEMP".into(), "SKTEMP".into());
    assert_eq!(
        c.call("GET", "/v1/{pid}/notebooks", None).await.status,
        401,
        "token header missing"
    );
    c.security_token = Some("sts-token".into());
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 200);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/{PID}/notebooks", emu.base_url());
    for (token, status) in [("iam-token", 200), ("nope", 401)] {
        let r = http.get(&url).header("X-Auth-Token", token).send().await.unwrap();
        assert_eq!(r.status(), status, "{token}");
    }
}

#[tokio::test]
async fn another_projects_notebook_is_not_found() {
    let (emu, c) = started().await;
    let id = create(&c, "mine").await;
    let other = Client::new(emu.addr(), OTHER);
    let r = other
        .call("GET", &format!("/v1/{{pid}}/notebooks/{id}"), None)
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (404, Some("ModelArts.6309"))
    );
    assert_eq!(
        other.call("GET", "/v1/{pid}/notebooks", None).await.body["total"],
        0
    );
    assert_eq!(
        other
            .call("DELETE", &format!("/v1/{{pid}}/notebooks/{id}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_notebook_lifecycle_walks_its_states_over_http() {
    let (_emu, c) = started().await;
    let id = create(&c, "life").await;
    let path = format!("/v1/{{pid}}/notebooks/{id}");
    assert_eq!(c.call("GET", &path, None).await.body["status"], "RUNNING");
    let r = c.call("POST", &format!("{path}/start"), None).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (400, Some("ModelArts.6305"))
    );
    let r = c.call("DELETE", &path, None).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (400, Some("ModelArts.6304"))
    );
    assert_eq!(
        c.call("POST", &format!("{path}/stop"), None).await.body["status"],
        "STOPPING"
    );
    assert_eq!(c.call("GET", &path, None).await.body["status"], "STOPPED");
    let r = c
        .call(
            "POST",
            &format!("{path}/start?duration=7200000&type=TIMING"),
            None,
        )
        .await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["lease"]["duration"].as_i64()),
        (Some("STARTING"), Some(7_200_000))
    );
    assert_eq!(c.call("GET", &path, None).await.body["status"], "RUNNING");
    let r = c
        .call(
            "PATCH",
            &format!("{path}/lease?duration=3600000"),
            Some(json!({"type": "IDLE"})),
        )
        .await;
    assert_eq!(
        (r.body["duration"].as_i64(), r.body["type"].as_str()),
        (Some(10_800_000), Some("TIMING"))
    );
    c.call("POST", &format!("{path}/stop"), None).await;
    c.call("GET", &path, None).await;
    assert_eq!(c.call("DELETE", &path, None).await.body["status"], "DELETING");
    assert_eq!(c.call("GET", &path, None).await.status, 404);
}

#[tokio::test]
async fn tags_are_deleted_with_a_body_on_delete() {
    let (_emu, c) = started().await;
    let id = create(&c, "tagged").await;
    let tags = json!({"tags": [{"key": "owner", "value": "uid-1"}, {"key": "env", "value": "dev"}]});
    assert_eq!(
        c.call(
            "POST",
            &format!("/v1/{{pid}}/notebooks/{id}/tags/create"),
            Some(tags)
        )
        .await
        .status,
        200
    );
    let del = json!({"tags": [{"key": "env"}]});
    assert_eq!(
        c.call(
            "DELETE",
            &format!("/v1/{{pid}}/notebooks/{id}/tags/delete"),
            Some(del)
        )
        .await
        .status,
        200
    );
    let r = c.call("GET", "/v1/{pid}/notebooks/tags", None).await;
    assert_eq!(r.body, json!({"tags": [{"key": "owner", "values": ["uid-1"]}]}));
    let r = c
        .call("GET", "/v1/{pid}/notebooks?tags=owner%7Cuid-1", None)
        .await;
    assert_eq!(r.body["total"], 1);
}

#[tokio::test]
async fn invalid_input_is_a_400_naming_the_field_never_a_crash() {
    let (_emu, c) = started().await;
    let r = c
        .call("POST", "/v1/{pid}/notebooks", Some(json!({"name": "x"})))
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (400, Some("ModelArts.0104"))
    );
    assert!(r.body["error_msg"].as_str().unwrap().contains("'image_id'"));
    let r = c.call("POST", "/v1/{pid}/notebooks", Some(json!([1, 2]))).await;
    assert!(r.body["error_msg"].as_str().unwrap().contains("'body'"));
    let r = c.call("GET", "/v1/{pid}/notebooks?offset=x", None).await;
    assert!(r.body["error_msg"].as_str().unwrap().contains("'offset'"));
    let r = c.call("GET", "/v1/{pid}/no-such-api", None).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (404, Some("APIGW.0101"))
    );
}

#[tokio::test]
async fn after_reads_progression_and_time_advance_drive_transitions() {
    let (emu, c) = started().await;
    emu.set_progression(Family::Notebooks, Progression::AfterReads { reads: 2 });
    let id = create(&c, "slow").await;
    let path = format!("/v1/{{pid}}/notebooks/{id}");
    let statuses: Vec<Value> = futures_like_sequence(&c, &path, 3)
        .await
        .into_iter()
        .map(|v| v["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("CREATING"), json!("CREATING"), json!("RUNNING")]);
    // The one-hour lease runs out in emulated time.
    emu.set_progression(Family::Notebooks, Progression::AfterDuration { millis: 1000 });
    emu.advance_time(Duration::from_secs(3601));
    assert_eq!(c.call("GET", &path, None).await.body["status"], "STOPPING");
    emu.advance_time(Duration::from_secs(2));
    assert_eq!(c.call("GET", &path, None).await.body["status"], "STOPPED");
}

async fn futures_like_sequence(c: &Client, path: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(c.call("GET", path, None).await.body);
    }
    out
}

#[tokio::test]
async fn a_status_fault_answers_with_retry_after_and_changes_nothing() {
    let (emu, c) = started().await;
    emu.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/v1/{project_id}/notebooks".into(),
        action: FaultAction::Status {
            status: 429,
            error_code: None,
            retry_after: Some(7),
        },
        times: Some(1),
    });
    let r = c
        .call("POST", "/v1/{pid}/notebooks", Some(create_body("a")))
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (429, Some("APIGW.0308"))
    );
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(emu.notebook_count(PID), 0);
    assert_eq!(
        c.call("POST", "/v1/{pid}/notebooks", Some(create_body("a")))
            .await
            .status,
        200,
        "fired once"
    );
}

#[tokio::test]
async fn commit_then_fail_creates_the_notebook_but_answers_500() {
    let (emu, c) = started().await;
    emu.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/v1/*/notebooks".into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: false,
        },
        times: Some(1),
    });
    let r = c
        .call("POST", "/v1/{pid}/notebooks", Some(create_body("ghost")))
        .await;
    assert_eq!(r.status, 500);
    let list = c.call("GET", "/v1/{pid}/notebooks?name=ghost", None).await;
    assert_eq!(list.body["total"], 1, "the create was committed");
}

#[tokio::test]
async fn dropped_connections_fail_the_client_with_or_without_a_commit() {
    let (emu, c) = started().await;
    emu.add_fault(FaultRule {
        method: None,
        path: "/v1/*/notebooks".into(),
        action: FaultAction::Drop,
        times: Some(1),
    });
    assert!(
        c.try_call("POST", "/v1/{pid}/notebooks", Some(create_body("x")))
            .await
            .is_err()
    );
    assert_eq!(emu.notebook_count(PID), 0, "a plain drop commits nothing");
    emu.add_fault(FaultRule {
        method: None,
        path: "/v1/*/notebooks".into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    assert!(
        c.try_call("POST", "/v1/{pid}/notebooks", Some(create_body("x")))
            .await
            .is_err()
    );
    assert_eq!(emu.notebook_count(PID), 1, "commit-then-drop commits");
}

#[tokio::test]
async fn latency_faults_delay_the_answer() {
    let (emu, c) = started().await;
    emu.add_fault(FaultRule {
        method: Some("GET".into()),
        path: "*".into(),
        action: FaultAction::Latency { millis: 300 },
        times: None,
    });
    let t = std::time::Instant::now();
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn eventual_consistency_hides_a_new_notebook_from_the_first_reads() {
    let (emu, c) = started().await;
    emu.set_eventual_consistency(Family::Notebooks, 1);
    let id = create(&c, "late").await;
    assert_eq!(
        c.call("GET", &format!("/v1/{{pid}}/notebooks/{id}"), None)
            .await
            .status,
        404
    );
    assert_eq!(
        c.call("GET", &format!("/v1/{{pid}}/notebooks/{id}"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn counters_and_the_request_log_record_calls_by_route_template() {
    let (emu, c) = started().await;
    let id = create(&c, "counted").await;
    for _ in 0..3 {
        c.call("GET", &format!("/v1/{{pid}}/notebooks/{id}"), None).await;
    }
    assert_eq!(emu.call_count("GET", "/v1/{project_id}/notebooks/{id}"), 3);
    assert_eq!(emu.call_count("POST", "/v1/{project_id}/notebooks"), 1);
    let log = emu.request_log();
    assert_eq!(log.len(), 4);
    assert_eq!(
        log[1].route.as_deref(),
        Some("GET /v1/{project_id}/notebooks/{id}")
    );
    emu.reset();
    assert!(emu.call_counts().is_empty());
    assert_eq!(emu.notebook_count(PID), 0);
}

#[tokio::test]
async fn out_of_band_edits_change_what_clients_see() {
    let (emu, c) = started().await;
    let id = create(&c, "console").await;
    let path = format!("/v1/{{pid}}/notebooks/{id}");
    emu.set_status(PID, Kind::Notebook, &id, "ERROR").unwrap();
    assert_eq!(c.call("GET", &path, None).await.body["status"], "ERROR");
    emu.set_status(PID, Kind::Notebook, &id, "RUNNING").unwrap();
    emu.console_action(PID, Kind::Notebook, &id, "stop").unwrap();
    assert_eq!(c.call("GET", &path, None).await.body["status"], "STOPPED");
    emu.add_tags(PID, Kind::Notebook, &id, &[("drift", "yes")])
        .unwrap();
    assert_eq!(
        c.call("GET", &path, None).await.body["tags"],
        json!([{"key": "drift", "value": "yes"}])
    );
    emu.remove_tags(PID, Kind::Notebook, &id, &["drift"]).unwrap();
    emu.delete_resource(PID, Kind::Notebook, &id).unwrap();
    assert_eq!(c.call("GET", &path, None).await.status, 404);
    assert!(emu.set_status(PID, Kind::Notebook, &id, "RUNNING").is_err());
    assert!(emu.set_status(PID, Kind::Notebook, "x", "NAPPING").is_err());
}

#[tokio::test]
async fn the_http_control_api_mirrors_the_handle() {
    let (emu, c) = started().await;
    let http = reqwest::Client::new();
    let ctl = |p: &str| format!("{}/_emulator{p}", emu.base_url());
    let r = http
        .put(ctl("/progression/notebooks"))
        .json(&json!({"mode": "after_reads", "reads": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(emu.progression().notebooks, Progression::AfterReads { reads: 1 });
    let id = create(&c, "ctl").await;
    let r = http
        .post(ctl(&format!("/projects/{PID}/notebooks/{id}/status")))
        .json(&json!({"status": "STOPPED"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(ctl("/faults"))
        .json(&json!({"path": "*", "kind": "status", "status": 503, "times": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.call("GET", "/v1/{pid}/notebooks", None).await.status, 503);
    let calls: Value = http
        .get(ctl("/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["GET /v1/{project_id}/notebooks"], 1);
    let t: Value = http
        .post(ctl("/time/advance"))
        .json(&json!({"seconds": 60}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(t["offset_ms"].as_i64().unwrap() >= 60_000);
    let r = http.post(ctl("/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(emu.notebook_count(PID), 0);
}

#[tokio::test]
async fn the_handle_serves_on_an_ephemeral_port_and_shuts_down() {
    let emu = spawn(EmulatorConfig::default()).await.unwrap();
    let addr = emu.addr();
    assert_ne!(addr.port(), 0);
    assert!(emu.base_url().starts_with("http://127.0.0.1:"));
    emu.shutdown().await;
    let err = reqwest::Client::new()
        .get(format!("http://{addr}/_emulator/"))
        .send()
        .await;
    assert!(err.is_err(), "nothing listens after shutdown");
}

#[tokio::test]
async fn the_inventory_lists_every_stored_resource_even_hidden_ones_without_counting_reads() {
    let (emu, c) = started().await;
    emu.set_eventual_consistency(Family::Notebooks, 5);
    let id = create(&c, "counted-by-a-test").await;
    let tags = json!({"tags": [{"key": "owner", "value": "uid-1"}]});
    c.call(
        "POST",
        &format!("/v1/{{pid}}/notebooks/{id}/tags/create"),
        Some(tags),
    )
    .await;
    let inventory = reqwest::get(format!("{}/_emulator/projects/{PID}/inventory", emu.base_url()))
        .await
        .expect("control API")
        .json::<Value>()
        .await
        .expect("JSON");
    assert_eq!(
        inventory["items"],
        json!([{"kind": "notebooks", "id": id, "name": "counted-by-a-test", "status": "RUNNING",
                "tags": {"owner": "uid-1"}, "created_at": inventory["items"][0]["created_at"]}])
    );
    assert_eq!(emu.call_count("GET", "/v1/{project_id}/notebooks/{id}"), 0);
    // Still hidden from the API's own reads: the inventory consumed none of them.
    assert_eq!(
        c.call("GET", &format!("/v1/{{pid}}/notebooks/{id}"), None)
            .await
            .status,
        404
    );
    emu.control()
        .delete_resource(PID, Kind::Notebook, &id)
        .expect("deleted in the console");
    assert_eq!(emu.control().inventory(PID), Vec::<Value>::new());
}
