use super::*;
use crate::progression::{Progression, ProgressionSettings};
use crate::state::Settings;

const NOW: i64 = 1_800_000_000_000;
const GPU: &str = "modelarts.vm.gpu.tnt004";

fn settings(p: Progression) -> Settings {
    Settings {
        progression: ProgressionSettings::all(p),
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

fn body(name: &str, count: i64) -> Value {
    json!({"apiVersion": "v2", "kind": "Pool",
           "metadata": {"labels": {"os.modelarts/name": name}},
           "spec": {"type": "Dedicate", "scope": ["Train"], "resources": [{"flavor": GPU, "count": count}],
                    "network": {"name": DEFAULT_NETWORK}}})
}

fn create(pools: &mut Pools, s: &Settings, name: &str, count: i64, seq: u64) -> String {
    let v = pools
        .create(requests::parse_create(&body(name, count)).unwrap(), seq, &ctx(s))
        .unwrap();
    assert_eq!(v["status"]["phase"], "Creating");
    assert!(v["metadata"]["name"].as_str().unwrap().starts_with("pool-"));
    v["metadata"]["name"].as_str().unwrap().to_string()
}

fn q(s: &str) -> Query {
    Query::parse(Some(s))
}

fn patch_body(count: i64) -> requests::PoolPatch {
    requests::parse_patch(
        &json!({"spec": {"resources": [{"flavor": GPU, "count": count}]}}),
        "Dedicate",
    )
    .unwrap()
}

#[test]
fn a_new_pool_goes_from_creating_to_running_with_available_node_arrays() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "train", 2, 1);
    let v = pools.show(&name, &ctx(&s)).unwrap();
    assert_eq!(v["status"]["phase"], "Running");
    assert_eq!(
        v["status"]["resources"]["available"],
        json!([{"flavor": GPU, "count": 2, "maxCount": 2}])
    );
    assert_eq!(v["status"]["resources"]["creating"], json!([]));
    assert_eq!(v["metadata"]["labels"]["os.modelarts/name"], "train");
    assert_eq!(v["status"]["scope"][0]["state"], "Enabled");
}

#[test]
fn a_pool_naming_an_unknown_network_is_refused() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let mut b = body("p", 1);
    b["spec"]["network"]["name"] = json!("network-nope");
    let e = pools
        .create(requests::parse_create(&b).unwrap(), 1, &ctx(&s))
        .unwrap_err();
    assert!(e.message.contains("'spec.network.name'"), "{}", e.message);
    let e = pools.show("pool-missing", &ctx(&s)).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code.as_str()), (404, "ModelArts.50015001"));
}

#[test]
fn lists_filter_by_label_selector_status_and_workspace() {
    let s = settings(Progression::AfterReads { reads: 1 });
    let mut pools = Pools::default();
    let a = create(&mut pools, &s, "alpha", 1, 1);
    create(&mut pools, &s, "beta", 1, 2);
    let c = ctx(&s);
    let names = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                p["metadata"]["labels"]["os.modelarts/name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names(pools.list(&q("status=creating"), &c).unwrap()),
        ["alpha", "beta"],
        "the first read sees Creating"
    );
    assert_eq!(
        names(
            pools
                .list(&q("status=created&labelSelector=os.modelarts%2Fname%3Dalpha"), &c)
                .unwrap()
        ),
        ["alpha"]
    );
    assert_eq!(
        names(
            pools
                .list(&q("labelSelector=os.modelarts%2Fname!%3Dalpha"), &c)
                .unwrap()
        ),
        ["beta"]
    );
    assert!(names(pools.list(&q("workspaceId=ws1"), &c).unwrap()).is_empty());
    assert_eq!(pools.list(&q(""), &c).unwrap()["kind"], "PoolList");
    assert!(
        pools
            .list(&q("status=running"), &c)
            .unwrap_err()
            .message
            .contains("'status'")
    );
    pools.force_status(&a, "Error", &c).unwrap();
    assert_eq!(names(pools.list(&q("status=failed"), &c).unwrap()), ["alpha"]);
}

#[test]
fn patching_resources_scales_and_node_lists_follow() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "scale", 1, 1);
    let c = ctx(&s);
    let e = pools.patch(&name, patch_body(3), &c);
    assert!(
        e.is_ok(),
        "the immediate transition completes before the patch: {e:?}"
    );
    let v = e.unwrap();
    assert_eq!(
        v["status"]["resources"]["creating"],
        json!([{"flavor": GPU, "count": 2, "maxCount": 2}])
    );
    let nodes = pools.list_nodes(&name, &q("limit=2"), &c).unwrap();
    assert_eq!(nodes["items"].as_array().unwrap().len(), 2);
    assert_eq!(nodes["metadata"]["remainingItemCount"], 1);
    let token = nodes["metadata"]["continue"].as_str().unwrap().to_string();
    let rest = pools
        .list_nodes(&name, &q(&format!("limit=2&continue={token}")), &c)
        .unwrap();
    assert_eq!(
        (
            rest["items"].as_array().unwrap().len(),
            rest["metadata"]["continue"].as_str()
        ),
        (1, Some(""))
    );
    assert_eq!(rest["items"][0]["status"]["phase"], "Available");
    let v = pools.patch(&name, patch_body(1), &c).unwrap();
    assert_eq!(v["status"]["resources"]["deleting"][0]["count"], 2);
    assert_eq!(
        pools.show(&name, &c).unwrap()["status"]["resources"]["available"][0]["count"],
        1
    );
}

#[test]
fn a_pool_that_is_not_running_refuses_patches() {
    let s = settings(Progression::AfterDuration { millis: 60_000 });
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "slow", 1, 1);
    let e = pools.patch(&name, patch_body(2), &ctx(&s)).unwrap_err();
    assert_eq!(e.code, "ModelArts.50015002");
}

#[test]
fn a_yearly_monthly_pool_needs_an_order_id_to_scale() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let mut b = body("prepaid", 1);
    b["metadata"]["annotations"] = json!({"os.modelarts/billing.mode": "1", "os.modelarts/period.num": "1", "os.modelarts/period.type": "2"});
    let name = pools
        .create(requests::parse_create(&b).unwrap(), 1, &ctx(&s))
        .unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ctx(&s);
    pools.show(&name, &c).unwrap();
    let e = pools.patch(&name, patch_body(2), &c).unwrap_err();
    assert!(e.message.contains("order.id"), "{}", e.message);
    let with_order = requests::parse_patch(
        &json!({"metadata": {"annotations": {"os.modelarts/order.id": "CS2401"}}, "spec": {"resources": [{"flavor": GPU, "count": 2}]}}),
        "Dedicate",
    )
    .unwrap();
    assert!(pools.patch(&name, with_order, &c).is_ok());
    assert!(
        pools.delete(&name, &c).is_err(),
        "yearly/monthly pools are not deleted through the API"
    );
}

#[test]
fn a_deleted_pool_reports_its_deletion_timestamp_and_then_404s() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "gone", 1, 1);
    let c = ctx(&s);
    pools.show(&name, &c).unwrap();
    let v = pools.delete(&name, &c).unwrap();
    assert_eq!(v["status"]["phase"], "Deleting");
    assert!(v["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(pools.show(&name, &c).unwrap_err().status.as_u16(), 404);
}

#[test]
fn pool_tags_overwrite_delete_aggregate_and_filter() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let a = create(&mut pools, &s, "alpha", 1, 1);
    let b = create(&mut pools, &s, "beta", 1, 2);
    let c = ctx(&s);
    pools
        .add_tags(
            &a,
            vec![
                ("env".into(), Some("dev".into())),
                ("team".into(), Some("ml".into())),
            ],
            &c,
        )
        .unwrap();
    pools
        .add_tags(&a, vec![("env".into(), Some("prod".into()))], &c)
        .unwrap();
    pools
        .add_tags(&b, vec![("env".into(), Some("dev".into()))], &c)
        .unwrap();
    assert_eq!(
        pools.show_tags(&a, &c).unwrap(),
        json!({"tags": [{"key": "env", "values": ["prod"]}, {"key": "team", "values": ["ml"]}]})
    );
    let agg = pools.aggregate_tags(&q("limit=1"), &c).unwrap();
    assert_eq!(agg, json!({"tags": [{"key": "env", "values": ["prod", "dev"]}]}));
    let hits = |pools: &mut Pools, body: Value| pools.filter(&body, &q(""), &c).unwrap();
    let r = hits(
        &mut pools,
        json!({"tags": [{"key": "env", "values": ["dev", "prod"]}]}),
    );
    assert_eq!(r["total_count"], 2);
    let r = hits(
        &mut pools,
        json!({"tags": [{"key": "env", "values": ["prod"]}, {"key": "team", "values": []}]}),
    );
    assert_eq!(r["resources"][0]["resource_id"], a.as_str());
    assert_eq!(r["resources"][0]["resource_name"], "alpha");
    let r = hits(
        &mut pools,
        json!({"matches": [{"key": "resource_name", "value": "BET"}], "limit": "10", "offset": "0"}),
    );
    assert_eq!(r["total_count"], 1);
    assert!(
        pools
            .filter(&json!({"matches": [{"key": "id", "value": "x"}]}), &q(""), &c)
            .unwrap_err()
            .message
            .contains("'matches[0].key'")
    );
    pools.remove_tags(&a, &[("env".into(), None)], &c).unwrap();
    assert_eq!(
        pools.show_tags(&a, &c).unwrap()["tags"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn networks_are_created_listed_and_deleted_unless_in_use() {
    let s = settings(Progression::Immediate);
    let mut pools = Pools::default();
    let c = ctx(&s);
    let req = requests::parse_network(&json!({"apiVersion": "v1", "kind": "Network",
        "metadata": {"labels": {"os.modelarts/name": "net-a"}}, "spec": {"cidr": "172.16.0.0/12"}}))
    .unwrap();
    let v = pools.create_network(req, &c).unwrap();
    assert_eq!(v["status"]["phase"], "Creating");
    let net = v["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(pools.show_network(&net, &c).unwrap()["status"]["phase"], "Active");
    let list = pools.list_networks(&q(""), &c).unwrap();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        2,
        "the default network plus ours"
    );
    let sel = pools
        .list_networks(&q("labelSelector=os.modelarts%2Fname%3Dnet-a"), &c)
        .unwrap();
    assert_eq!(sel["items"][0]["metadata"]["name"], net.as_str());
    let mut b = body("user", 1);
    b["spec"]["network"]["name"] = json!(net);
    let pool = pools.create(requests::parse_create(&b).unwrap(), 1, &c).unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        pools.delete_network(&net, &c).unwrap_err().code,
        "ModelArts.50025002"
    );
    pools.remove(&pool).unwrap();
    assert_eq!(
        pools.delete_network(&net, &c).unwrap()["status"]["phase"],
        "Deleting"
    );
    assert_eq!(
        pools.show_network(&net, &c).unwrap_err().code,
        "ModelArts.50025001"
    );
}

#[test]
fn console_scaling_and_eventual_consistency_are_visible_to_clients() {
    let mut s = settings(Progression::Immediate);
    s.hidden_reads.insert(Family::Pools, 1);
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "late", 1, 1);
    let c = ctx(&s);
    assert_eq!(pools.show(&name, &c).unwrap_err().status.as_u16(), 404);
    assert_eq!(pools.show(&name, &c).unwrap()["status"]["phase"], "Running");
    pools
        .set_node_count(&name, "modelarts.vm.cpu.16u64g.d", 2, &c)
        .unwrap();
    let v = pools.show(&name, &c).unwrap();
    assert_eq!(v["spec"]["resources"].as_array().unwrap().len(), 2);
    assert_eq!(v["status"]["resources"]["available"].as_array().unwrap().len(), 2);
    assert!(pools.set_node_count(&name, "nope", 1, &c).is_err());
    assert!(
        pools
            .set_node_count(&name, GPU, -1, &c)
            .unwrap_err()
            .message
            .contains("'count'")
    );
}

#[test]
fn a_driver_upgrade_shows_upgrading_until_it_completes() {
    let s = settings(Progression::AfterReads { reads: 1 });
    let mut pools = Pools::default();
    let name = create(&mut pools, &s, "drv", 1, 1);
    let c = ctx(&s);
    pools.show(&name, &c).unwrap();
    assert_eq!(pools.show(&name, &c).unwrap()["status"]["phase"], "Running");
    let patch = requests::parse_patch(&json!({"spec": {"driver": {"gpuVersion": "535.54", "updateStrategy": "idle"}, "scope": ["Train", "Infer"]}}), "Dedicate").unwrap();
    let v = pools.patch(&name, patch, &c).unwrap();
    assert_eq!(
        v["status"]["driver"]["gpu"],
        json!({"version": "535.54", "state": "Upgrading"})
    );
    assert_eq!(
        v["status"]["scope"][1],
        json!({"scopeType": "Infer", "state": "Enabling"})
    );
    pools.show(&name, &c).unwrap();
    let v = pools.show(&name, &c).unwrap();
    assert_eq!(v["status"]["driver"]["gpu"]["state"], "Running");
    assert_eq!(v["status"]["scope"][1]["state"], "Enabled");
}
