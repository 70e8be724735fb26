use super::*;
use crate::progression::ProgressionSettings;
use crate::state::Settings;
use serde_json::json;

const NOW: i64 = 1_800_000_000_000;

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

use crate::progression::Progression;

fn create(nbs: &mut Notebooks, s: &Settings, name: &str, seq: u64) -> String {
    let body = json!({"name": name, "image_id": crate::catalog::IMAGE_PYTORCH_CPU, "flavor": "modelarts.vm.cpu.2u",
                      "volume": {"category": "EVS", "ownership": "MANAGED"}});
    let v = nbs.create(requests::parse_create(&body).unwrap(), seq, &ctx(s));
    assert_eq!(v["status"], "CREATING", "create answers in CREATING");
    v["id"].as_str().unwrap().to_string()
}

fn q(s: &str) -> Query {
    Query::parse(Some(s))
}

#[test]
fn a_created_notebook_becomes_running_and_renders_the_sdk_fields() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let v = nbs.show(&id, &ctx(&s)).unwrap();
    assert_eq!(v["status"], "RUNNING");
    assert_eq!(v["image"]["id"], crate::catalog::IMAGE_PYTORCH_CPU);
    assert_eq!(v["volume"]["capacity"], 5, "EVS defaults to 5 GB");
    assert_eq!(v["lease"]["duration"], 3_600_000);
    assert_eq!(v["action_progress"].as_array().unwrap().len(), 4);
    assert!(v["url"].as_str().unwrap().contains(&id));
}

#[test]
fn unknown_ids_are_not_found_with_the_notebook_code() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let e = nbs.show("missing", &ctx(&s)).unwrap_err();
    assert_eq!((e.status.as_u16(), e.code.as_str()), (404, "ModelArts.6309"));
}

#[test]
fn a_deleted_notebook_disappears_after_deleting() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    nbs.show(&id, &ctx(&s)).unwrap();
    assert_eq!(nbs.delete(&id, &ctx(&s)).unwrap_err().code, "ModelArts.6304");
    nbs.stop(&id, &ctx(&s)).unwrap();
    assert_eq!(nbs.delete(&id, &ctx(&s)).unwrap()["status"], "DELETING");
    assert_eq!(nbs.show(&id, &ctx(&s)).unwrap_err().status.as_u16(), 404);
    assert!(nbs.is_empty());
}

#[test]
fn lists_page_by_offset_and_limit_newest_first() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    for i in 1..=25 {
        create(&mut nbs, &s, &format!("nb-{i:02}"), i);
    }
    let page = nbs.list(&q("offset=20&limit=10"), &ctx(&s)).unwrap();
    assert_eq!(
        (
            page["total"].as_u64(),
            page["pages"].as_u64(),
            page["current"].as_u64()
        ),
        (Some(25), Some(3), Some(2))
    );
    let names: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["nb-05", "nb-04", "nb-03", "nb-02", "nb-01"]);
    let asc = nbs
        .list(&q("limit=2&sort_dir=ASC&sort_key=name"), &ctx(&s))
        .unwrap();
    assert_eq!(asc["data"][0]["name"], "nb-01");
    assert_eq!(
        nbs.list(&q("sort_key=flavor"), &ctx(&s)).unwrap_err().code,
        "ModelArts.6303"
    );
    assert!(
        nbs.list(&q("limit=0"), &ctx(&s))
            .unwrap_err()
            .message
            .contains("'limit'")
    );
}

#[test]
fn lists_filter_by_fuzzy_name_status_and_tags() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let a = create(&mut nbs, &s, "train-Alpha", 1);
    let b = create(&mut nbs, &s, "train-beta", 2);
    create(&mut nbs, &s, "other", 3);
    nbs.list(&q(""), &ctx(&s)).unwrap();
    nbs.stop(&b, &ctx(&s)).unwrap();
    nbs.add_tags(
        &a,
        vec![
            ("owner".into(), Some("k8s/uid 1".into())),
            ("env".into(), Some("dev".into())),
        ],
        &ctx(&s),
    )
    .unwrap();
    let count =
        |nbs: &mut Notebooks, query: &str| nbs.list(&q(query), &ctx(&s)).unwrap()["total"].as_u64().unwrap();
    assert_eq!(
        count(&mut nbs, "name=TRAIN"),
        2,
        "name is a case-insensitive substring"
    );
    assert_eq!(count(&mut nbs, "status=STOPPED"), 1);
    assert_eq!(count(&mut nbs, "tags=owner%7Ck8s%2Fuid%201"), 1);
    assert_eq!(
        count(&mut nbs, "tags=owner%7Ck8s%2Fuid%201%2Cenv%7Cprod"),
        0,
        "all tag pairs must match"
    );
    assert_eq!(count(&mut nbs, &format!("id={a}")), 1);
    assert!(
        nbs.list(&q("status=SLEEPING"), &ctx(&s))
            .unwrap_err()
            .message
            .contains("'status'")
    );
    assert!(
        nbs.list(&q("tags=novalue"), &ctx(&s))
            .unwrap_err()
            .message
            .contains("'tags'")
    );
}

#[test]
fn tags_are_overwritten_by_key_removed_by_key_and_aggregated() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let a = create(&mut nbs, &s, "a", 1);
    let b = create(&mut nbs, &s, "b", 2);
    let c = ctx(&s);
    nbs.add_tags(&a, vec![("env".into(), Some("dev".into()))], &c)
        .unwrap();
    nbs.add_tags(&a, vec![("env".into(), Some("prod".into()))], &c)
        .unwrap();
    nbs.add_tags(
        &b,
        vec![("env".into(), Some("dev".into())), ("team".into(), None)],
        &c,
    )
    .unwrap();
    assert_eq!(
        nbs.show(&a, &c).unwrap()["tags"],
        json!([{"key": "env", "value": "prod"}])
    );
    assert_eq!(
        nbs.aggregate_tags(None),
        json!({"tags": [{"key": "env", "values": ["prod", "dev"]}, {"key": "team", "values": [""]}]})
    );
    nbs.remove_tags(
        &b,
        &[("env".into(), Some("other".into())), ("missing".into(), None)],
        &c,
    )
    .unwrap();
    assert_eq!(
        nbs.show(&b, &c).unwrap()["tags"].as_array().unwrap().len(),
        2,
        "a value mismatch keeps the tag"
    );
    nbs.remove_tags(&b, &[("env".into(), None)], &c).unwrap();
    assert_eq!(
        nbs.show(&b, &c).unwrap()["tags"],
        json!([{"key": "team", "value": ""}])
    );
}

#[test]
fn changing_the_flavor_of_a_running_notebook_is_refused_but_renaming_works() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let c = ctx(&s);
    nbs.show(&id, &c).unwrap();
    let flavor = requests::parse_update(&json!({"flavor": "modelarts.vm.cpu.8u"})).unwrap();
    assert_eq!(nbs.update(&id, flavor, &c).unwrap_err().code, "ModelArts.6307");
    let image = requests::parse_update(&json!({"image_id": crate::catalog::IMAGE_TENSORFLOW_CPU})).unwrap();
    assert_eq!(nbs.update(&id, image, &c).unwrap_err().code, "ModelArts.6307");
    let rename = requests::parse_update(&json!({"name": "renamed", "storage_new_size": 20})).unwrap();
    let v = nbs.update(&id, rename, &c).unwrap();
    assert_eq!(
        (v["name"].as_str(), v["volume"]["capacity"].as_i64()),
        (Some("renamed"), Some(20))
    );
    let shrink = requests::parse_update(&json!({"storage_new_size": 10})).unwrap();
    assert!(
        nbs.update(&id, shrink, &c)
            .unwrap_err()
            .message
            .contains("'storage_new_size'")
    );
    nbs.stop(&id, &c).unwrap();
    nbs.show(&id, &c).unwrap();
    let flavor = requests::parse_update(&json!({"flavor": "modelarts.vm.cpu.8u"})).unwrap();
    assert_eq!(
        nbs.update(&id, flavor, &c).unwrap()["flavor"],
        "modelarts.vm.cpu.8u"
    );
    let gpu_on_ascend = requests::parse_update(&json!({"flavor": "modelarts.bm.npu.arm.8snt9b3.d"})).unwrap();
    assert!(
        nbs.update(&id, gpu_on_ascend, &c)
            .unwrap_err()
            .message
            .contains("'flavor'")
    );
}

#[test]
fn storage_mounts_walk_mounting_mounted_unmounting_and_leave_the_list() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let c = ctx(&s);
    let mount = || {
        requests::parse_mount(&json!({"category": "OBS", "mount_path": "/data/in/", "uri": "obs://b/d/"}))
            .unwrap()
    };
    nbs.show(&id, &c).unwrap();
    nbs.stop(&id, &c).unwrap();
    assert_eq!(
        nbs.mount(&id, mount(), &c).unwrap_err().code,
        "ModelArts.6307",
        "needs RUNNING"
    );
    nbs.start(&id, None, None, &c).unwrap();
    nbs.show(&id, &c).unwrap();
    let m = nbs.mount(&id, mount(), &c).unwrap();
    assert_eq!(m["status"], "MOUNTING");
    let sid = m["id"].as_str().unwrap().to_string();
    assert!(
        nbs.mount(&id, mount(), &c)
            .unwrap_err()
            .message
            .contains("'mount_path'"),
        "same path twice"
    );
    assert_eq!(nbs.show_storage(&id, &sid, &c).unwrap()["status"], "MOUNTED");
    assert_eq!(nbs.list_storage(&id, &c).unwrap()["total"], 1);
    assert_eq!(nbs.unmount(&id, &sid, &c).unwrap()["status"], "UNMOUNTING");
    assert_eq!(nbs.list_storage(&id, &c).unwrap()["total"], 0);
    assert_eq!(
        nbs.show_storage(&id, &sid, &c).unwrap_err().code,
        "ModelArts.6310"
    );
}

#[test]
fn an_eventually_consistent_notebook_is_missing_from_the_first_reads() {
    let mut s = settings(Progression::Immediate);
    s.hidden_reads.insert(Family::Notebooks, 2);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let c = ctx(&s);
    assert_eq!(nbs.show(&id, &c).unwrap_err().status.as_u16(), 404);
    assert_eq!(nbs.list(&q(""), &c).unwrap()["total"], 0);
    assert_eq!(nbs.show(&id, &c).unwrap()["id"], id.as_str());
}

#[test]
fn switchable_flavors_exclude_the_current_one_and_incompatible_ones() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let v = nbs.switchable_flavors(&id, &q(""), &ctx(&s)).unwrap();
    let ids: Vec<&str> = v["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"modelarts.vm.cpu.8u"));
    assert!(!ids.contains(&"modelarts.vm.cpu.2u"), "not the current flavor");
    assert!(!ids.iter().any(|f| f.contains("npu")), "not another architecture");
    assert_eq!(v["data"], v["flavors"]);
}

#[test]
fn lease_show_and_renew_need_a_running_notebook() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let c = ctx(&s);
    nbs.show(&id, &c).unwrap();
    assert_eq!(nbs.show_lease(&id, &c).unwrap()["duration"], 3_600_000);
    assert_eq!(
        nbs.renew_lease(&id, 3_600_000, "TIMING", &c).unwrap()["duration"],
        7_200_000
    );
    nbs.stop(&id, &c).unwrap();
    assert_eq!(nbs.show_lease(&id, &c).unwrap_err().code, "ModelArts.6307");
}

#[test]
fn storage_that_is_still_unmounting_cannot_be_unmounted_again() {
    let s = settings(Progression::AfterReads { reads: 0 });
    let slow = settings(Progression::AfterDuration { millis: 10_000 });
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    nbs.show(&id, &ctx(&s)).unwrap();
    let req = requests::parse_mount(&json!({"category": "OBS", "mount_path": "/data/x", "uri": "obs://b/"}))
        .unwrap();
    let sid = nbs.mount(&id, req, &ctx(&s)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    nbs.show(&id, &ctx(&s)).unwrap();
    nbs.unmount(&id, &sid, &ctx(&slow)).unwrap();
    assert_eq!(
        nbs.unmount(&id, &sid, &ctx(&slow)).unwrap_err().code,
        "ModelArts.6307"
    );
}

#[test]
fn saving_an_image_snapshots_the_notebook_and_adds_a_private_image() {
    let s = settings(Progression::Immediate);
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &s, "nb", 1);
    let c = ctx(&s);
    nbs.show(&id, &c).unwrap();
    let req = || {
        images::parse_image_request(&json!({"name": "my-image", "namespace": "team", "tag": "v1"})).unwrap()
    };
    let img = nbs.create_image(&id, req(), &c).unwrap();
    assert_eq!(
        (img["status"].as_str(), img["origin"].as_str()),
        (Some("CREATING"), Some("IMAGE_SAVE"))
    );
    assert!(img["swr_path"].as_str().unwrap().ends_with("/team/my-image:v1"));
    assert_eq!(
        nbs.show(&id, &c).unwrap()["status"],
        "RUNNING",
        "SNAPSHOTTING completes"
    );
    assert_eq!(nbs.saved_images(&c)[0]["status"], "ACTIVE");
    nbs.stop(&id, &c).unwrap();
    assert_eq!(
        nbs.create_image(&id, req(), &c).unwrap_err().code,
        "ModelArts.6307",
        "needs RUNNING"
    );
}

#[test]
fn saved_image_names_follow_the_documented_pattern() {
    for (body, field) in [
        (json!({"name": "Upper", "namespace": "n"}), "'name'"),
        (json!({"name": "-lead", "namespace": "n"}), "'name'"),
        (json!({"name": "ok"}), "'namespace'"),
        (json!({"name": "ok", "namespace": "n", "tag": ""}), "'tag'"),
    ] {
        let e = images::parse_image_request(&body).err().expect("must fail");
        assert!(e.message.contains(field), "'{}' should name {field}", e.message);
    }
}

#[test]
fn a_snapshotting_notebook_cannot_be_saved_again() {
    let fast = settings(Progression::Immediate);
    let slow = settings(Progression::AfterDuration { millis: 60_000 });
    let mut nbs = Notebooks::default();
    let id = create(&mut nbs, &fast, "nb", 1);
    nbs.show(&id, &ctx(&fast)).unwrap();
    let req = || images::parse_image_request(&json!({"name": "img", "namespace": "team"})).unwrap();
    nbs.create_image(&id, req(), &ctx(&slow)).unwrap();
    assert_eq!(nbs.show(&id, &ctx(&slow)).unwrap()["status"], "SNAPSHOTTING");
    assert_eq!(
        nbs.create_image(&id, req(), &ctx(&slow)).unwrap_err().code,
        "ModelArts.6307"
    );
}
