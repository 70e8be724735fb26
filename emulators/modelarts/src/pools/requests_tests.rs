use super::*;
use serde_json::json;

fn valid() -> Value {
    json!({
        "apiVersion": "v2", "kind": "Pool",
        "metadata": {"labels": {"os.modelarts/name": "train-pool"}, "annotations": {"os.modelarts/description": "d"}},
        "spec": {"type": "Dedicate", "scope": ["Train", "Infer"],
                 "resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 2}],
                 "network": {"name": "network-default-0000"}}
    })
}

fn set(mut v: Value, path: &[&str], value: Value) -> Value {
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = value;
    v
}

#[test]
fn a_valid_pool_body_parses_with_max_count_defaulting_to_count() {
    let p = parse_create(&valid()).unwrap();
    assert_eq!(p.labels["os.modelarts/name"], "train-pool");
    assert_eq!((p.resources[0].count, p.resources[0].max_count), (2, 2));
    assert_eq!(p.network.as_deref(), Some("network-default-0000"));
}

#[test]
fn invalid_pool_bodies_are_refused_naming_the_field() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "wrong apiVersion",
            set(valid(), &["apiVersion"], json!("v1")),
            "'apiVersion'",
        ),
        ("wrong kind", set(valid(), &["kind"], json!("Cluster")), "'kind'"),
        (
            "no name label",
            set(valid(), &["metadata", "labels"], json!({})),
            "os.modelarts/name'",
        ),
        (
            "upper-case name",
            set(
                valid(),
                &["metadata", "labels", "os.modelarts/name"],
                json!("Pool"),
            ),
            "os.modelarts/name'",
        ),
        (
            "bad type",
            set(valid(), &["spec", "type"], json!("Shared")),
            "'spec.type'",
        ),
        (
            "empty scope",
            set(valid(), &["spec", "scope"], json!([])),
            "'spec.scope'",
        ),
        (
            "unknown scope",
            set(valid(), &["spec", "scope"], json!(["Serve"])),
            "'spec.scope[0]'",
        ),
        (
            "duplicate scope",
            set(valid(), &["spec", "scope"], json!(["Train", "Train"])),
            "'spec.scope[1]'",
        ),
        (
            "no resources",
            set(valid(), &["spec", "resources"], json!([])),
            "'spec.resources'",
        ),
        (
            "unknown flavor",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "x", "count": 1}]),
            ),
            "'spec.resources[0].flavor'",
        ),
        (
            "zero count",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "modelarts.vm.gpu.tnt004", "count": 0}]),
            ),
            "'spec.resources[0].count'",
        ),
        (
            "no count",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "modelarts.vm.gpu.tnt004"}]),
            ),
            "'spec.resources[0].count'",
        ),
        (
            "physical maxCount differs",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "modelarts.vm.gpu.tnt004", "count": 1, "maxCount": 3}]),
            ),
            "'spec.resources[0].maxCount'",
        ),
        (
            "logical flavor on a physical pool",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "modelarts.pool.logical.cpu.8u32g", "count": 1}]),
            ),
            "'spec.resources[0].flavor'",
        ),
        (
            "azs not adding up",
            set(
                valid(),
                &["spec", "resources"],
                json!([{"flavor": "modelarts.vm.gpu.tnt004", "count": 2, "azs": [{"az": "a", "count": 1}]}]),
            ),
            "'spec.resources[0].azs'",
        ),
        (
            "physical pool without network",
            set(valid(), &["spec", "network"], Value::Null),
            "'spec.network.name'",
        ),
        (
            "bad billing mode",
            set(
                valid(),
                &["metadata", "annotations", "os.modelarts/billing.mode"],
                json!("2"),
            ),
            "billing.mode'",
        ),
        (
            "yearly without period",
            set(
                valid(),
                &["metadata", "annotations", "os.modelarts/billing.mode"],
                json!("1"),
            ),
            "period.num'",
        ),
        (
            "description with quotes",
            set(
                valid(),
                &["metadata", "annotations", "os.modelarts/description"],
                json!("a'b"),
            ),
            "description'",
        ),
    ];
    for (why, body, field) in cases {
        let e = parse_create(&body)
            .err()
            .unwrap_or_else(|| panic!("{why} should fail"));
        assert_eq!(e.code, "ModelArts.0104", "{why}");
        assert!(
            e.message.contains(field),
            "{why}: '{}' should name {field}",
            e.message
        );
    }
}

#[test]
fn patches_accept_only_the_documented_paths() {
    let ok = json!({"metadata": {"annotations": {"os.modelarts/description": "new", "x": null}},
                    "spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 3}], "scope": ["Train"]}});
    let p = parse_patch(&ok, "Dedicate").unwrap();
    assert_eq!(p.resources.unwrap()[0].count, 3);
    assert_eq!(p.annotations.len(), 2);
    for (body, field) in [
        (json!({"spec": {"type": "Logical"}}), "'spec.type'"),
        (json!({"metadata": {"labels": {"a": "b"}}}), "'metadata.labels'"),
        (
            json!({"spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 0}]}}),
            "'spec.resources'",
        ),
        (
            json!({"spec": {"driver": {"updateStrategy": "now"}}}),
            "'spec.driver.updateStrategy'",
        ),
    ] {
        let e = parse_patch(&body, "Dedicate").err().expect("must fail");
        assert!(e.message.contains(field), "'{}' should name {field}", e.message);
    }
    let drop_flavor = json!({"spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 1}, {"flavor": "modelarts.bm.gpu.8v100", "count": 0}]}});
    assert_eq!(
        parse_patch(&drop_flavor, "Dedicate")
            .unwrap()
            .resources
            .unwrap()
            .len(),
        1,
        "count 0 removes a flavor"
    );
}

#[test]
fn network_bodies_need_a_name_and_a_cidr() {
    let ok = json!({"apiVersion": "v1", "kind": "Network", "metadata": {"labels": {"os.modelarts/name": "net-a"}}, "spec": {"cidr": "172.16.0.0/12"}});
    assert_eq!(parse_network(&ok).unwrap().cidr, "172.16.0.0/12");
    for (path, value, field) in [
        (vec!["spec", "cidr"], json!("172.16.0.0"), "'spec.cidr'"),
        (vec!["spec", "cidr"], json!("300.1.0.0/16"), "'spec.cidr'"),
        (vec!["spec", "cidr"], json!("10.0.0.0/30"), "'spec.cidr'"),
        (vec!["kind"], json!("Pool"), "'kind'"),
        (vec!["metadata", "labels"], json!({}), "os.modelarts/name'"),
    ] {
        let e = parse_network(&set(ok.clone(), &path, value))
            .err()
            .expect("must fail");
        assert!(e.message.contains(field), "'{}' should name {field}", e.message);
    }
}
