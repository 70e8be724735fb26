//! The library and binary entry points: kubeconfig, kube client, shutdown, SIGTERM, and
//! delete-collection through kube-rs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube_emulator::KubeEmulator;

#[tokio::test]
async fn the_kubeconfig_points_at_the_server_with_the_default_namespace() {
    let server = KubeEmulator::start().await.unwrap();
    let yaml = server.kubeconfig_yaml();
    let doc: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!(doc["clusters"][0]["cluster"]["server"], server.url());
    assert_eq!(doc["contexts"][0]["context"]["namespace"], "default");
    let path = std::env::temp_dir().join(format!("kube-emulator-kubeconfig-{}", std::process::id()));
    server.write_kubeconfig(&path).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    assert!(cms.list(&ListParams::default()).await.unwrap().items.is_empty());
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn shutdown_stops_the_server_and_frees_the_port() {
    let server = KubeEmulator::start().await.unwrap();
    let addr = server.addr();
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn an_injected_failure_reaches_a_kube_client_as_an_api_error() {
    let server = KubeEmulator::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client());
    // 500, not 429/503/504: kube 5's client retries those itself, which would hide the fault.
    server.faults().fail_next("list", "configmaps", 500, 1);
    match cms.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!((s.code, s.reason.as_str()), (500, "InternalError")),
        other => panic!("expected a 500, got {other:?}"),
    }
    assert!(cms.list(&ListParams::default()).await.is_ok());
}

#[tokio::test]
async fn delete_collection_removes_only_the_selected_objects() {
    let server = KubeEmulator::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client());
    for (name, app) in [("a", "web"), ("b", "web"), ("c", "db")] {
        let cm: ConfigMap =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name, "labels": {"app": app}}}))
                .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    cms.delete_collection(&DeleteParams::default(), &ListParams::default().labels("app=web"))
        .await
        .unwrap();
    let left: Vec<String> = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    assert_eq!(left, vec!["c"]);
}

#[test]
fn the_binary_writes_a_kubeconfig_and_exits_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("kube-emulator-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains(&format!("server: {url}"))
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the binary did not exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_binary_refuses_an_address_it_cannot_bind_with_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--listen", "203.0.113.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on 203.0.113.1:1"));
}

#[tokio::test]
async fn kube_runtimes_event_recorder_creates_an_event_and_patches_its_series_on_repeat() {
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};

    let server = KubeEmulator::start().await.unwrap();
    let recorder = Recorder::new(
        server.client(),
        Reporter {
            controller: "test-operator".into(),
            instance: None,
        },
    );
    let reference = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("ConfigMap".into()),
        name: Some("target".into()),
        namespace: Some("default".into()),
        ..Default::default()
    };
    let event = Event {
        type_: EventType::Warning,
        reason: "CloudError".into(),
        note: Some("quota exceeded".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder
        .publish(&event, &reference)
        .await
        .expect("the first publish creates the event");
    recorder
        .publish(&event, &reference)
        .await
        .expect("a repeat patches the series");
    let events: Api<K8sEvent> = Api::default_namespaced(server.client());
    let list = events.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].reason.as_deref(), Some("CloudError"));
    assert_eq!(list[0].series.as_ref().map(|s| s.count), Some(2));
}

#[tokio::test]
async fn metadata_only_requests_get_partial_object_metadata_as_kubes_metadata_api_expects() {
    use futures::StreamExt;
    use kube::api::WatchParams;
    use kube::core::WatchEvent;

    let server = KubeEmulator::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client());
    let cm: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"k": "v"}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let list = cms.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].metadata.labels.as_ref().unwrap()["x"], "y");
    let one = cms.get_metadata("a").await.unwrap();
    assert_eq!(one.metadata.name.as_deref(), Some("a"));
    let mut events = cms
        .watch_metadata(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    match events.next().await {
        Some(Ok(WatchEvent::Added(o))) => assert_eq!(o.metadata.name.as_deref(), Some("a")),
        other => panic!("expected ADDED metadata, got {other:?}"),
    }
}
