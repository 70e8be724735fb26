use super::*;
use crate::progression::{Progression, ProgressionSettings};
use crate::state::Settings;
use serde_json::json;

const NOW: i64 = 1_800_000_000_000;
const BMS_IMAGE: &str = "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f";
const HPS_IMAGE: &str = "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f";
const HPS_FLAVOR: &str = "modelarts.hps.npu.arm.snt9c.x4";
const UUID: &str = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f";

fn settings() -> Settings {
    Settings {
        progression: ProgressionSettings::all(Progression::Immediate),
        ..Settings::default()
    }
}

fn ctx(s: &Settings) -> Ctx<'_> {
    Ctx {
        now: NOW,
        settings: s,
        region: "cn-north-4",
        project_id: "p",
    }
}

fn body() -> Value {
    json!({"name": "gpu-box", "image_id": BMS_IMAGE, "flavor": "modelarts.bm.gpu.8ant8", "key_pair_name": "kp",
           "network": {"vpc_id": UUID, "subnet_id": UUID, "security_group_id": UUID}})
}

fn hps_body() -> Value {
    json!({"name": "super", "image_id": HPS_IMAGE, "flavor": HPS_FLAVOR, "server_type": "HPS", "key_pair_name": "kp",
           "hps_cluster_id": UUID, "network": {"vpc_id": UUID, "subnet_id": UUID, "security_group_id": UUID}})
}

fn create(srv: &mut Servers, s: &Settings, b: Value, seq: &mut u64) -> Value {
    srv.create(requests::parse_create(&b).unwrap(), seq, &ctx(s))
        .unwrap()
}

fn q(s: &str) -> Query {
    Query::parse(Some(s))
}

#[test]
fn create_with_count_makes_several_servers_and_answers_with_the_first() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let mut b = body();
    b["count"] = json!(3);
    let v = create(&mut srv, &s, b, &mut seq);
    assert_eq!(
        (v["name"].as_str(), v["status"].as_str()),
        (Some("gpu-box"), Some("CREATING"))
    );
    let list = srv.list(&q("limit=2"), &ctx(&s)).unwrap();
    assert_eq!(
        (list["total"].as_u64(), list["pages"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(list["data"][1]["name"], "gpu-box-2");
    assert_eq!(list["data"][0]["status"], "RUNNING");
    let desc = srv.list(&q("sort_dir=DESC"), &ctx(&s)).unwrap();
    assert_eq!(desc["data"][0]["name"], "gpu-box-3");
}

#[test]
fn server_lifecycle_over_the_backend_ends_in_not_found() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let id = create(&mut srv, &s, body(), &mut seq)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    let n = Value::Null;
    assert_eq!(srv.act(&id, "STOP", &n, &c).unwrap()["status"], "STOPPING");
    let os = json!({"image_id": BMS_IMAGE});
    assert_eq!(srv.act(&id, "CHANGEOS", &os, &c).unwrap()["status"], "CHANGINGOS");
    assert_eq!(srv.act(&id, "REBOOT", &n, &c).unwrap()["status"], "REBOOTING");
    assert_eq!(srv.rename(&id, "renamed", &c).unwrap()["name"], "renamed");
    assert_eq!(srv.act(&id, "DELETE", &n, &c).unwrap()["status"], "DELETING");
    assert_eq!(srv.show(&id, &c).unwrap_err().code, "ModelArts.7001");
}

#[test]
fn a_batch_action_is_all_or_nothing() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let a = create(&mut srv, &s, body(), &mut seq)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = create(&mut srv, &s, body(), &mut seq)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    srv.show(&a, &c).unwrap();
    srv.act(&b, "STOP", &Value::Null, &c).unwrap();
    let batch = requests::parse_batch(&json!({"type": "STOP", "servers": [{"id": a}, {"id": b}]})).unwrap();
    let e = srv.batch(batch, &c).unwrap_err();
    assert!(e.message.starts_with("servers[1]"), "{}", e.message);
    assert_eq!(
        srv.show(&a, &c).unwrap()["status"],
        "RUNNING",
        "the first server was rolled back"
    );
    let batch = requests::parse_batch(&json!({"type": "START", "servers": [{"id": b}]})).unwrap();
    assert_eq!(srv.batch(batch, &c).unwrap()["data"][0]["status"], "STARTING");
}

#[test]
fn prepaid_servers_get_an_order_and_cannot_be_deleted() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let mut b = body();
    b["charging_info"] = json!({"charging_mode": "PRE_PAID", "period_num": 1, "period_type": "MONTH"});
    let v = create(&mut srv, &s, b, &mut seq);
    assert!(v["order_id"].as_str().unwrap().starts_with("CS"));
    let e = srv
        .act(v["id"].as_str().unwrap(), "DELETE", &Value::Null, &ctx(&s))
        .unwrap_err();
    assert_eq!(e.code, "ModelArts.7003");
}

#[test]
fn an_hps_create_makes_a_supernode_with_child_servers() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let first = create(&mut srv, &s, hps_body(), &mut seq);
    assert_eq!(first["category"], "HPS");
    let hid = first["server_hps"]["id"].as_str().unwrap().to_string();
    let c = ctx(&s);
    let h = srv.show_hyper(&hid, &c).unwrap();
    assert_eq!(h["status"], "ACTIVE");
    assert_eq!(h["servers"].as_array().unwrap().len(), 4);
    assert_eq!(srv.list_hypers(&q(""), &c).unwrap()["total"], 1);
    assert_eq!(
        srv.list(&q("limit=100"), &c).unwrap()["total"],
        4,
        "children are dev-servers too"
    );
}

#[test]
fn supernode_start_stop_changeos_act_on_children() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let hid = create(&mut srv, &s, hps_body(), &mut seq)["server_hps"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    srv.show_hyper(&hid, &c).unwrap();
    let e = srv.hyper_action(&hid, "START", &Value::Null, &c).unwrap_err();
    assert!(e.message.contains("already running"), "{}", e.message);
    let h = srv.hyper_action(&hid, "STOP", &Value::Null, &c).unwrap();
    assert!(
        h["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "STOPPING")
    );
    let os = json!({"image_id": HPS_IMAGE, "admin_pass": "Secret-123"});
    assert!(
        srv.hyper_action(&hid, "CHANGEOS", &os, &c)
            .unwrap_err()
            .message
            .contains("'admin_pass'")
    );
    let h = srv
        .hyper_action(&hid, "CHANGEOS", &json!({"image_id": HPS_IMAGE}), &c)
        .unwrap();
    assert_eq!(h["status"], "REIMAGING");
    let h = srv.show_hyper(&hid, &c).unwrap();
    assert_eq!(h["status"], "ACTIVE");
    assert!(
        h["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "RUNNING")
    );
}

#[test]
fn supernode_scaling_changes_its_children_within_limits() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let hid = create(&mut srv, &s, hps_body(), &mut seq)["server_hps"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    let h = srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c).unwrap();
    assert_eq!(h["servers"].as_array().unwrap().len(), 5);
    assert!(
        srv.scale_up(&hid, "modelarts.bm.gpu.8ant8", HPS_IMAGE, &mut seq, &c)
            .unwrap_err()
            .message
            .contains("'flavor'")
    );
    for _ in 0..3 {
        srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c).unwrap();
    }
    assert!(
        srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c)
            .unwrap_err()
            .message
            .contains("maximum")
    );
    assert_eq!(
        srv.scale_evaluations(&hid, &c).unwrap()["evaluations"][0]["is_sold_out"],
        true
    );
    let children: Vec<String> = srv.hyper_servers(&hid, &c).unwrap()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        srv.scale_down(&hid, &children, &c)
            .unwrap_err()
            .message
            .contains("at least one")
    );
    assert!(
        srv.scale_down(&hid, &["nope".into()], &c)
            .unwrap_err()
            .message
            .contains("'server_ids[0]'")
    );
    let h = srv.scale_down(&hid, &children[..7], &c).unwrap();
    assert_eq!(h["servers"].as_array().unwrap().len(), 1);
    assert_eq!(
        srv.show(&children[0], &c).unwrap_err().status.as_u16(),
        404,
        "removed children are deleted"
    );
}

#[test]
fn supernode_tags_refuse_duplicates_and_delete_by_post() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let hid = create(&mut srv, &s, hps_body(), &mut seq)["server_hps"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    let t = srv
        .add_hyper_tags(&hid, vec![("env".into(), Some("dev".into()))], &c)
        .unwrap();
    assert_eq!(t, json!({"tags": [{"key": "env", "value": "dev"}]}));
    assert!(
        srv.add_hyper_tags(&hid, vec![("env".into(), Some("x".into()))], &c)
            .unwrap_err()
            .message
            .contains("already exists")
    );
    srv.remove_hyper_tags(&hid, vec![("env".into(), None)], &c)
        .unwrap();
    assert_eq!(srv.hyper_tags(&hid, &c).unwrap(), json!({"tags": []}));
}

#[test]
fn deleting_a_supernode_terminates_it_and_its_children() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let first = create(&mut srv, &s, hps_body(), &mut seq);
    let hid = first["server_hps"]["id"].as_str().unwrap().to_string();
    let c = ctx(&s);
    srv.show_hyper(&hid, &c).unwrap();
    assert_eq!(srv.delete_hyper(&hid, &c).unwrap()["status"], "TERMINATING");
    assert_eq!(srv.show_hyper(&hid, &c).unwrap_err().code, "ModelArts.7101");
    assert_eq!(
        srv.show(first["id"].as_str().unwrap(), &c)
            .unwrap_err()
            .status
            .as_u16(),
        404
    );
}

#[test]
fn create_validation_names_the_field() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("bad name", json!({"name": "a b"}), "'name'"),
        ("image not uuid", json!({"image_id": "x"}), "'image_id'"),
        ("unknown image", json!({"image_id": UUID}), "'image_id'"),
        ("no network", json!({"network": null}), "'network'"),
        (
            "bad vpc",
            json!({"network": {"vpc_id": "v", "subnet_id": UUID, "security_group_id": UUID}}),
            "'network.vpc_id'",
        ),
        (
            "both flavors",
            json!({"resource_flavor": "modelarts.bm.gpu.8ant8"}),
            "'flavor'",
        ),
        ("no flavor", json!({"flavor": null}), "'flavor'"),
        ("unknown flavor", json!({"flavor": "nope"}), "'flavor'"),
        ("type mismatch", json!({"server_type": "ECS"}), "'server_type'"),
        (
            "arch mismatch",
            json!({"image_id": "5d2e0d6c-6d1a-4b41-9a2a-2f3e4c5b6a71"}),
            "'image_id'",
        ),
        (
            "password and key",
            json!({"admin_pass": "Secret-123"}),
            "'admin_pass'",
        ),
        ("no login", json!({"key_pair_name": null}), "'key_pair_name'"),
        (
            "weak password",
            json!({"key_pair_name": null, "admin_pass": "password"}),
            "'admin_pass'",
        ),
        (
            "root in password",
            json!({"key_pair_name": null, "admin_pass": "Root-1234x"}),
            "'admin_pass'",
        ),
        ("count too big", json!({"count": 11}), "'count'"),
        (
            "root volume too small",
            json!({"root_volume": {"size": 50}}),
            "'root_volume.size'",
        ),
        (
            "data volume without type",
            json!({"data_volume": {"size": 200, "count": 1}}),
            "'data_volume.type'",
        ),
        (
            "prepaid without period",
            json!({"charging_info": {"charging_mode": "PRE_PAID"}}),
            "'charging_info.period_num'",
        ),
        (
            "bad charging mode",
            json!({"charging_info": {"charging_mode": "FREE"}}),
            "'charging_info.charging_mode'",
        ),
        (
            "hps cluster on BMS",
            json!({"hps_cluster_id": UUID}),
            "'hps_cluster_id'",
        ),
        (
            "user data not base64",
            json!({"user_data": "not base64!"}),
            "'user_data'",
        ),
    ];
    for (why, patch, field) in cases {
        let mut b = body();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let e = requests::parse_create(&b)
            .err()
            .unwrap_or_else(|| panic!("{why} should fail"));
        assert_eq!(e.code, "ModelArts.0104", "{why}");
        assert!(
            e.message.contains(field),
            "{why}: '{}' should name {field}",
            e.message
        );
    }
    let mut hps = hps_body();
    hps["count"] = json!(2);
    assert!(
        requests::parse_create(&hps)
            .err()
            .unwrap()
            .message
            .contains("'count'")
    );
    let mut hps = hps_body();
    hps["hps_cluster_id"] = Value::Null;
    assert!(
        requests::parse_create(&hps)
            .err()
            .unwrap()
            .message
            .contains("'hps_cluster_id'")
    );
    let mut hps = hps_body();
    hps["key_pair_name"] = Value::Null;
    hps["admin_pass"] = json!("Secret-123");
    assert!(
        requests::parse_create(&hps)
            .err()
            .unwrap()
            .message
            .contains("'admin_pass'")
    );
}

#[test]
fn an_ecs_server_changes_os_to_the_second_seeded_ecs_image() {
    let s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let ecs = json!({"name": "ecs-box", "image_id": "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e",
                     "flavor": "modelarts.ecs.gpu.t4.8u32g", "key_pair_name": "kp",
                     "network": {"vpc_id": UUID, "subnet_id": UUID, "security_group_id": UUID}});
    let id = create(&mut srv, &s, ecs, &mut seq)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    srv.act(&id, "STOP", &Value::Null, &c).unwrap();
    let next = "3c7e5a1b-9d2f-4e8a-b6c4-7f1e2d3a5b90";
    srv.act(&id, "CHANGEOS", &json!({"image_id": next}), &c).unwrap();
    let shown = srv.show(&id, &c).unwrap();
    assert_eq!(shown["image"]["image_id"], next);
    assert_eq!(shown["image"]["server_type"], "ECS");
    assert_eq!(shown["status"], "RUNNING");
}

#[test]
fn with_eventual_consistency_a_scaled_up_node_is_missing_from_the_first_supernode_reads() {
    let mut s = settings();
    let mut srv = Servers::default();
    let mut seq = 0;
    let hid = create(&mut srv, &s, hps_body(), &mut seq)["server_hps"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.hidden_reads.insert(Family::Servers, 2);
    let c = ctx(&s);
    let nodes = |v: &Value| v["servers"].as_array().map(Vec::len).unwrap_or(0);
    // The answer and the next two reads lag behind; the stored truth does not.
    assert_eq!(
        nodes(&srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c).unwrap()),
        4
    );
    assert_eq!(nodes(&srv.show_hyper(&hid, &c).unwrap()), 4);
    assert_eq!(
        srv.list_hypers(&q(""), &c).unwrap()["data"][0]["servers"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(nodes(&srv.show_hyper(&hid, &c).unwrap()), 5);
    assert_eq!(
        srv.hyper_servers(&hid, &c).unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    // The capacity check counts the hidden node: at the maximum of 8, the 5th scale-up fails.
    for _ in 0..3 {
        srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c).unwrap();
    }
    assert!(srv.scale_up(&hid, HPS_FLAVOR, HPS_IMAGE, &mut seq, &c).is_err());
}
