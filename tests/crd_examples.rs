//! The sample manifests in `deploy/examples/` deserialise into the typed resources and serialise
//! back without losing or changing a field.
use modelarts_operator::api::common::{CommonSpec, DesiredState};
use modelarts_operator::api::lite_server::ServerType;
use modelarts_operator::api::{LiteServer, Notebook, ResourcePool};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

fn load<T: DeserializeOwned>(file: &str) -> (Value, T) {
    let path = format!("{}/deploy/examples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let raw: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
    let typed: T =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{path} does not fit the type: {e}"));
    (raw, typed)
}

/// Every value in `expected` is present and equal in `actual` (which may add defaults).
fn assert_contains(actual: &Value, expected: &Value, at: &str) {
    match expected {
        Value::Object(fields) => {
            for (key, value) in fields {
                assert_contains(&actual[key], value, &format!("{at}.{key}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at} changed in the round trip"),
    }
}

fn assert_round_trips<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(file: &str) -> T {
    let (raw, typed): (Value, T) = load(file);
    let serialised = serde_json::to_value(&typed).expect("serialises");
    assert_contains(&serialised, &raw, file);
    let again: T = serde_json::from_value(serialised).expect("deserialises again");
    assert_eq!(again, typed, "{file} differs after a second round trip");
    typed
}

#[test]
fn the_notebook_example_round_trips_with_its_tags_and_ssh_key_pair() {
    let notebook: Notebook = assert_round_trips("notebook.yaml");
    assert_eq!(
        notebook.spec.tags().get("team").map(String::as_str),
        Some("ml-research")
    );
    let ssh = notebook.spec.ssh.as_ref().expect("ssh access");
    assert_eq!(ssh.key_pair_names, ["ml-team-keypair"]);
    assert_eq!(notebook.spec.desired_state, DesiredState::Running);
}

#[test]
fn the_resource_pool_example_round_trips() {
    let pool: ResourcePool = assert_round_trips("resource-pool.yaml");
    assert_eq!(pool.spec.resources[0].count, 2);
}

#[test]
fn the_ecs_lite_server_example_round_trips_without_tags() {
    let server: LiteServer = assert_round_trips("lite-server-ecs.yaml");
    assert_eq!(server.spec.server_type, ServerType::Ecs);
    assert!(server.spec.tags().is_empty(), "ECS servers have no tag API");
    assert_eq!(
        server.spec.login.key_pair_name.as_deref(),
        Some("ml-team-keypair")
    );
}

#[test]
fn the_hps_supernode_example_round_trips_with_nodes_per_flavor() {
    let server: LiteServer = assert_round_trips("lite-server-hps.yaml");
    assert_eq!(server.spec.server_type, ServerType::Hps);
    assert_eq!(server.spec.nodes[0].count, 4);
    assert!(server.spec.hps_cluster_id.is_some());
}
