use super::*;
use serde_json::json;

fn valid() -> Value {
    json!({
        "name": "nb-1",
        "image_id": crate::catalog::IMAGE_PYTORCH_CPU,
        "flavor": "modelarts.vm.cpu.2u",
        "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 10}
    })
}

fn with(mut v: Value, path: &[&str], value: Value) -> Value {
    let mut cur = &mut v;
    for p in &path[..path.len() - 1] {
        cur = &mut cur[*p];
    }
    cur[path[path.len() - 1]] = value;
    v
}

#[test]
fn a_minimal_valid_create_body_is_accepted_with_defaults() {
    let r = parse_create(&valid()).unwrap();
    assert_eq!(r.flavor, "modelarts.vm.cpu.2u");
    assert_eq!(r.volume.capacity, Some(10));
    assert_eq!((r.lease_duration, r.lease_type.as_str()), (3_600_000, "TIMING"));
    assert_eq!((r.workspace_id.as_str(), r.feature.as_str()), ("0", "NOTEBOOK"));
}

#[test]
fn invalid_create_bodies_are_refused_naming_the_field() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("name missing", with(valid(), &["name"], Value::Null), "'name'"),
        (
            "name with a space",
            with(valid(), &["name"], json!("a b")),
            "'name'",
        ),
        (
            "name too long",
            with(valid(), &["name"], json!("n".repeat(129))),
            "'name'",
        ),
        (
            "image not a uuid",
            with(valid(), &["image_id"], json!("pytorch")),
            "'image_id'",
        ),
        (
            "volume missing",
            with(valid(), &["volume"], Value::Null),
            "'volume'",
        ),
        (
            "bad volume category",
            with(valid(), &["volume", "category"], json!("NFS")),
            "'volume.category'",
        ),
        (
            "bad ownership",
            with(valid(), &["volume", "ownership"], json!("MINE")),
            "'volume.ownership'",
        ),
        (
            "EVS dedicated",
            with(valid(), &["volume", "ownership"], json!("DEDICATED")),
            "'volume.ownership'",
        ),
        (
            "capacity too big",
            with(valid(), &["volume", "capacity"], json!(5000)),
            "'volume.capacity'",
        ),
        (
            "capacity wrong type",
            with(valid(), &["volume", "capacity"], json!("5")),
            "'volume.capacity'",
        ),
        (
            "no flavor nor spec",
            with(valid(), &["flavor"], Value::Null),
            "'flavor'",
        ),
        (
            "unknown flavor",
            with(valid(), &["flavor"], json!("modelarts.vm.cpu.99u")),
            "'flavor'",
        ),
        (
            "flavor and custom_spec",
            with(valid(), &["custom_spec"], json!({"cpu": 2, "memory": 1024})),
            "'flavor'",
        ),
        (
            "image on the wrong arch",
            with(valid(), &["flavor"], json!("modelarts.bm.npu.arm.8snt9b3.d")),
            "'image_id'",
        ),
        (
            "lease too short",
            with(valid(), &["lease"], json!({"duration": 60_000})),
            "'lease.duration'",
        ),
        (
            "lease too long",
            with(valid(), &["duration"], json!(259_200_001i64)),
            "'duration'",
        ),
        (
            "bad lease type",
            with(valid(), &["lease"], json!({"type": "FOREVER"})),
            "'lease.type'",
        ),
        (
            "bad feature",
            with(valid(), &["feature"], json!("FREE")),
            "'feature'",
        ),
        (
            "bad workspace",
            with(valid(), &["workspace_id"], json!("ws-1")),
            "'workspace_id'",
        ),
        (
            "description with markup",
            with(valid(), &["description"], json!("<b>")),
            "'description'",
        ),
        (
            "bad endpoint service",
            with(valid(), &["endpoints"], json!([{"service": "RDP"}])),
            "'endpoints[0].service'",
        ),
        (
            "vpc without subnet",
            with(valid(), &["user_vpc"], json!({"vpc_id": "v"})),
            "'user_vpc.subnet_id'",
        ),
        (
            "OBS volume without secret",
            with(
                valid(),
                &["volume"],
                json!({"category": "OBS", "ownership": "MANAGED"}),
            ),
            "'volume.dew_secret_name'",
        ),
    ];
    for (why, body, field) in cases {
        let e = parse_create(&body).expect_err(why);
        assert_eq!(e.code, "ModelArts.0104", "{why}");
        assert!(
            e.message.contains(field),
            "{why}: '{}' should name {field}",
            e.message
        );
    }
}

#[test]
fn an_unknown_image_is_not_found() {
    let body = with(
        valid(),
        &["image_id"],
        json!("00000000-0000-4000-8000-000000000000"),
    );
    let e = parse_create(&body).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code.as_str()), (404, "ModelArts.6404"));
}

#[test]
fn custom_spec_needs_a_pool_and_valid_sizes() {
    let base = with(valid(), &["flavor"], Value::Null);
    let spec = with(base.clone(), &["custom_spec"], json!({"cpu": 2, "memory": 2048}));
    assert!(parse_create(&spec).unwrap_err().message.contains("'pool_id'"));
    let ok = with(spec, &["pool_id"], json!("pool-1"));
    assert_eq!(parse_create(&ok).unwrap().flavor, "custom.flavor.spec.code");
    let small = with(ok, &["custom_spec", "cpu"], json!(0.1));
    assert!(
        parse_create(&small)
            .unwrap_err()
            .message
            .contains("'custom_spec.cpu'")
    );
}

#[test]
fn updates_validate_only_the_fields_given() {
    assert!(parse_update(&json!({})).unwrap().name.is_none());
    let u = parse_update(&json!({"flavor": "modelarts.vm.cpu.8u"})).unwrap();
    assert!(u.changes_spec());
    for (body, field) in [
        (json!({"name": "bad name"}), "'name'"),
        (json!({"flavor": "nope"}), "'flavor'"),
        (json!({"storage_new_size": 5000}), "'storage_new_size'"),
        (
            json!({"flavor": "modelarts.vm.cpu.8u", "custom_spec": {"cpu": 1, "memory": 1024}}),
            "'flavor'",
        ),
    ] {
        assert!(
            parse_update(&body).unwrap_err().message.contains(field),
            "{field}"
        );
    }
}

#[test]
fn dynamic_mounts_need_a_data_subdirectory_and_an_efs_id_for_efs() {
    let ok = json!({"category": "OBS", "mount_path": "/data/in/", "uri": "obs://bucket/dir/"});
    assert!(parse_mount(&ok).is_ok());
    for (body, field) in [
        (
            json!({"category": "OBS", "mount_path": "/home/x", "uri": "obs://b/"}),
            "'mount_path'",
        ),
        (
            json!({"category": "OBS", "mount_path": "/data/", "uri": "obs://b/"}),
            "'mount_path'",
        ),
        (
            json!({"category": "EFS", "mount_path": "/data/x", "uri": "id.sfsturbo.internal:/x"}),
            "'efs_id'",
        ),
        (
            json!({"category": "OBS", "mount_path": "/data/x", "uri": "s3://b/"}),
            "'uri'",
        ),
        (
            json!({"category": "NFS", "mount_path": "/data/x", "uri": "obs://b/"}),
            "'category'",
        ),
    ] {
        assert!(parse_mount(&body).unwrap_err().message.contains(field), "{field}");
    }
}
