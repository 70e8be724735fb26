//! ResourcePool end to end: the real operator against kube-emulator and modelarts-emulator.
//! Lifecycle, scaling, tags, and notebooks on a pool; faults and drift are in
//! `resource_pool_faults_e2e.rs`.
mod pool_support;
mod schema_support;
mod support;

use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Family, Kind, Progression};
use modelarts_operator::{
    api::{notebook::Notebook, resource_pool::ResourcePool},
    engine::tags::OWNER_TAG,
};
use pool_support::{
    CPU_FLAVOR, LOGICAL_FLAVOR, T, cloud_id, cloud_pool, cloud_tags, cond, counts, env, pool, ready,
};
use serde_json::json;
use std::time::Duration;

const CREATE: &str = "/v2/{project_id}/pools";
const PATCH: &str = "/v2/{project_id}/pools/{pool_name}";

#[tokio::test]
async fn a_pool_is_created_with_its_display_name_and_owner_tag_and_becomes_ready() {
    let env = env().await;
    env.apply(&pool(
        "pool-a",
        json!({"spec": {"displayName": "team-pool", "description": "GPU for the team"}}),
    ))
    .await;
    let p = env.wait_for::<ResourcePool>("pool-a", T, "Ready", ready).await;
    let id = cloud_id(&p);
    assert!(
        id.starts_with("pool-"),
        "the server-generated name is the ID: {id}"
    );
    let cloud = cloud_pool(&env, &id).await.expect("cloud pool exists");
    assert_eq!(cloud["metadata"]["labels"]["os.modelarts/name"], "team-pool");
    assert_eq!(
        cloud["metadata"]["annotations"]["os.modelarts/description"],
        "GPU for the team"
    );
    assert_eq!(cloud["metadata"]["annotations"]["os.modelarts/billing.mode"], "0");
    assert_eq!(cloud["spec"]["type"], "Dedicate");
    assert_eq!(cloud["spec"]["network"]["name"], "network-default-0000");
    assert_eq!(cloud["status"]["phase"], "Running");
    let tags = cloud_tags(&env, &id).await;
    assert_eq!(
        tags.get(OWNER_TAG),
        p.metadata.uid.as_ref(),
        "owner tag via the v1 tag API"
    );
    let status = p.status.expect("status");
    assert_eq!(status.cloud.cloud_state.as_deref(), Some("Running"));
    assert_eq!((status.available_nodes, status.desired_nodes), (Some(1), Some(1)));
    assert_eq!(counts(&status, CPU_FLAVOR), (1, 0, 0, 0));
    assert!(status.cloud.pending_create.is_none());
    assert_eq!(env.calls("POST", CREATE), 1, "exactly one create");
}

#[tokio::test]
async fn scaling_out_and_in_patches_the_pool_and_status_counts_follow_until_they_match() {
    let env = env().await;
    // Each node state stays visible for a few reads, so the intermediate counts can be seen.
    env.cloud
        .set_progression(Family::Pools, Progression::AfterReads { reads: 4 });
    env.apply(&pool("pool-scale", json!({}))).await;
    let id = cloud_id(
        &env.wait_for::<ResourcePool>("pool-scale", T, "Ready", ready)
            .await,
    );

    env.merge_patch::<ResourcePool>(
        "pool-scale",
        json!({"spec": {"resources": [{"flavor": CPU_FLAVOR, "count": 3}]}}),
    )
    .await;
    env.wait_for::<ResourcePool>("pool-scale", T, "nodes creating", |p| {
        p.status.as_ref().is_some_and(|s| counts(s, CPU_FLAVOR).1 > 0)
            && cond(p, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "Scaling")
    })
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-scale", T, "scaled out", ready)
        .await;
    let status = p.status.expect("status");
    assert_eq!(counts(&status, CPU_FLAVOR), (3, 0, 0, 0));
    assert_eq!((status.available_nodes, status.desired_nodes), (Some(3), Some(3)));
    assert_eq!(
        cloud_pool(&env, &id).await.expect("exists")["spec"]["resources"][0]["count"],
        3
    );
    // The client sends application/merge-patch+json, signed with UNSIGNED-PAYLOAD: accepted.
    assert_eq!(env.calls("PATCH", PATCH), 1, "one patch for the scale-out");

    env.merge_patch::<ResourcePool>(
        "pool-scale",
        json!({"spec": {"resources": [{"flavor": CPU_FLAVOR, "count": 1}]}}),
    )
    .await;
    env.wait_for::<ResourcePool>("pool-scale", T, "nodes deleting", |p| {
        p.status.as_ref().is_some_and(|s| counts(s, CPU_FLAVOR).2 > 0)
    })
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-scale", T, "scaled in", ready)
        .await;
    let status = p.status.expect("status");
    assert_eq!(counts(&status, CPU_FLAVOR), (1, 0, 0, 0));
    assert_eq!(status.available_nodes, Some(1));
    assert_eq!(env.calls("PATCH", PATCH), 2, "one patch for the scale-in");
}

#[tokio::test]
async fn a_flavor_added_gets_nodes_and_a_flavor_removed_is_scaled_to_zero() {
    let env = env().await;
    env.apply(&pool("pool-flavors", json!({}))).await;
    let id = cloud_id(
        &env.wait_for::<ResourcePool>("pool-flavors", T, "Ready", ready)
            .await,
    );
    let gpu = "modelarts.vm.gpu.tnt004";
    env.merge_patch::<ResourcePool>(
        "pool-flavors",
        json!({"spec": {"resources": [{"flavor": CPU_FLAVOR, "count": 1}, {"flavor": gpu, "count": 2}]}}),
    )
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-flavors", T, "GPU flavor added", |p| {
            ready(p) && p.status.as_ref().is_some_and(|s| counts(s, gpu).0 == 2)
        })
        .await;
    assert_eq!(p.status.expect("status").available_nodes, Some(3));
    env.merge_patch::<ResourcePool>(
        "pool-flavors",
        json!({"spec": {"resources": [{"flavor": gpu, "count": 2}]}}),
    )
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-flavors", T, "CPU flavor removed", |p| {
            ready(p) && p.status.as_ref().is_some_and(|s| s.available_nodes == Some(2))
        })
        .await;
    let status = p.status.expect("status");
    assert_eq!(counts(&status, CPU_FLAVOR), (0, 0, 0, 0), "no CPU nodes left");
    let cloud = cloud_pool(&env, &id).await.expect("exists");
    let flavors: Vec<&str> = cloud["spec"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["flavor"].as_str())
        .collect();
    assert_eq!(flavors, vec![gpu]);
}

#[tokio::test]
async fn a_count_above_max_count_is_refused_by_the_schema_and_never_reaches_the_cloud() {
    let env = env().await;
    let logical = json!({"spec": {"type": "Logical", "network": null,
        "resources": [{"flavor": LOGICAL_FLAVOR, "count": 1, "maxCount": 2}]}});
    env.apply(&pool("pool-max", logical)).await;
    let p = env.wait_for::<ResourcePool>("pool-max", T, "Ready", ready).await;
    let id = cloud_id(&p);

    // The API server (kube-emulator evaluates the CRD's CEL rules) refuses the change, naming
    // the rule; the operator's own check for apiservers without CEL is unit-tested in plan_tests.
    let api: kube::Api<ResourcePool> = env.api();
    let refused = api
        .patch(
            "pool-max",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"spec": {"resources": [{"flavor": LOGICAL_FLAVOR, "count": 3, "maxCount": 2}]}}),
            ),
        )
        .await
        .expect_err("count > maxCount is refused");
    match refused {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status.message.contains("must not exceed maxCount"),
                "{}",
                status.message
            );
        }
        other => panic!("unexpected error {other}"),
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.calls("PATCH", PATCH), 0, "nothing sent to the cloud");
    assert_eq!(
        cloud_pool(&env, &id).await.expect("exists")["spec"]["resources"][0]["count"],
        1
    );
}

#[tokio::test]
async fn pool_tags_are_added_changed_and_removed_and_a_foreign_tag_survives() {
    let env = env().await;
    env.apply(&pool(
        "pool-tags",
        json!({"spec": {"tags": {"team": "ml", "env": "dev"}}}),
    ))
    .await;
    let id = cloud_id(&env.wait_for::<ResourcePool>("pool-tags", T, "Ready", ready).await);
    assert_eq!(
        cloud_tags(&env, &id).await.get("team").map(String::as_str),
        Some("ml")
    );
    env.cloud
        .add_tags(PROJECT, Kind::Pool, &id, &[("cost-center", "42")])
        .expect("console adds a tag");
    env.merge_patch::<ResourcePool>(
        "pool-tags",
        json!({"spec": {"tags": {"team": "cv", "env": null, "owner": "ana"}}}),
    )
    .await;
    env.wait_for::<ResourcePool>("pool-tags", T, "tags converged", |p| {
        ready(p)
            && p.status
                .as_ref()
                .is_some_and(|s| s.cloud.managed_tag_keys == vec!["owner", "team"])
    })
    .await;
    let tags = cloud_tags(&env, &id).await;
    assert_eq!(tags.get("team").map(String::as_str), Some("cv"), "changed");
    assert_eq!(tags.get("owner").map(String::as_str), Some("ana"), "added");
    assert_eq!(tags.get("env"), None, "removed");
    assert_eq!(
        tags.get("cost-center").map(String::as_str),
        Some("42"),
        "foreign tag kept"
    );
    assert!(tags.contains_key(OWNER_TAG), "owner tag kept");
}

#[tokio::test]
async fn description_and_scope_changes_are_patched_in_place() {
    let env = env().await;
    env.apply(&pool("pool-edit", json!({"spec": {"description": "first"}})))
        .await;
    let id = cloud_id(&env.wait_for::<ResourcePool>("pool-edit", T, "Ready", ready).await);
    env.merge_patch::<ResourcePool>(
        "pool-edit",
        json!({"spec": {"description": "second", "scope": ["Train", "Infer", "Notebook"]}}),
    )
    .await;
    env.wait_for::<ResourcePool>("pool-edit", T, "scope applied", |p| {
        ready(p) && p.status.as_ref().is_some_and(|s| s.scope.len() == 3)
    })
    .await;
    let cloud = cloud_pool(&env, &id).await.expect("exists");
    assert_eq!(
        cloud["metadata"]["annotations"]["os.modelarts/description"],
        "second"
    );
    assert_eq!(cloud["spec"]["scope"], json!(["Infer", "Notebook", "Train"]));
    assert_eq!(env.calls("PATCH", PATCH), 1, "one patch carries both");
    assert_eq!(env.calls("POST", CREATE), 1, "updated in place, not recreated");
}

#[tokio::test]
async fn a_notebook_waits_for_its_pool_through_pool_ref_and_runs_on_it() {
    let env = env().await;
    // The notebook comes first: it waits for the pool instead of failing.
    env.apply(&pool_support::notebook_on("nb-on-pool", "pool-nb"))
        .await;
    env.wait_for::<Notebook>("nb-on-pool", T, "WaitingForPool", |nb| {
        nb.status
            .as_ref()
            .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
            .is_some_and(|c| c.reason == "WaitingForPool")
    })
    .await;
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks"),
        0,
        "nothing created yet"
    );
    env.apply(&pool("pool-nb", json!({}))).await;
    let pool_id = cloud_id(&env.wait_for::<ResourcePool>("pool-nb", T, "Ready", ready).await);
    let nb = env
        .wait_for::<Notebook>("nb-on-pool", T, "notebook Ready", |nb| {
            nb.status
                .as_ref()
                .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
                .is_some_and(|c| c.status == "True")
        })
        .await;
    let nb_id = nb
        .status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("ID");
    let cloud = pool_support::cloud_notebook(&env, &nb_id)
        .await
        .expect("notebook exists");
    assert_eq!(cloud["pool"]["id"], pool_id.as_str(), "runs on the pool");
    assert_eq!(
        nb.status.expect("status").pool_id.as_deref(),
        Some(pool_id.as_str())
    );
}

#[tokio::test]
async fn deleting_a_pool_waits_while_a_notebook_uses_it_and_names_the_notebook() {
    let env = env().await;
    env.apply(&pool("pool-busy", json!({}))).await;
    let pool_id = cloud_id(&env.wait_for::<ResourcePool>("pool-busy", T, "Ready", ready).await);
    env.apply(&pool_support::notebook_on("nb-busy", "pool-busy"))
        .await;
    env.wait_for::<Notebook>("nb-busy", T, "notebook Ready", |nb| {
        nb.status
            .as_ref()
            .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
            .is_some_and(|c| c.status == "True")
    })
    .await;

    env.delete::<ResourcePool>("pool-busy").await;
    let p = env
        .wait_for::<ResourcePool>("pool-busy", T, "InUse", |p| {
            cond(p, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "InUse")
        })
        .await;
    let (_, _, message) = cond(&p, "Ready").expect("Ready");
    assert!(message.contains("e2e/nb-busy"), "names the notebook: {message}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        cloud_pool(&env, &pool_id).await.is_some(),
        "the pool is kept meanwhile"
    );
    assert_eq!(env.calls("DELETE", PATCH), 0, "no delete sent while in use");

    env.delete::<Notebook>("nb-busy").await;
    env.wait_gone::<Notebook>("nb-busy", T).await;
    env.wait_gone::<ResourcePool>("pool-busy", T).await;
    assert!(
        cloud_pool(&env, &pool_id).await.is_none(),
        "the pool is deleted afterwards"
    );
}

#[tokio::test]
async fn an_existing_pool_is_adopted_by_resource_id_without_a_create() {
    let env = env().await;
    env.apply(&pool("pool-orig", json!({"spec": {"deletionPolicy": "Retain"}})))
        .await;
    let id = cloud_id(&env.wait_for::<ResourcePool>("pool-orig", T, "Ready", ready).await);
    env.delete::<ResourcePool>("pool-orig").await;
    env.wait_gone::<ResourcePool>("pool-orig", T).await;
    assert!(!cloud_tags(&env, &id).await.contains_key(OWNER_TAG), "released");
    env.apply(&pool(
        "pool-adopt",
        json!({"spec": {"resourceId": id, "displayName": "pool-orig", "tags": {"adopted": "yes"}}}),
    ))
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-adopt", T, "Ready", ready)
        .await;
    assert_eq!(cloud_id(&p), id);
    assert_eq!(env.calls("POST", CREATE), 1, "only the original create");
    let tags = cloud_tags(&env, &id).await;
    assert_eq!(tags.get(OWNER_TAG), p.metadata.uid.as_ref(), "claimed");
    assert_eq!(tags.get("adopted").map(String::as_str), Some("yes"));
}

#[tokio::test]
async fn the_pool_example_and_the_notebook_on_it_converge_against_the_emulator() {
    let env = env().await;
    env.put_secret(
        "hwcloud-credentials",
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", modelarts_emulator::DEFAULT_SK),
        ],
    )
    .await;
    // The committed manifests as they are, moved into the test namespace.
    let in_ns = |file: &str| {
        let mut manifest = schema_support::example(file);
        manifest["metadata"]["namespace"] = json!(support::NS);
        manifest
    };
    let nb: Notebook = serde_json::from_value(in_ns("notebook-on-pool.yaml")).expect("Notebook");
    let p: ResourcePool = serde_json::from_value(in_ns("resource-pool.yaml")).expect("ResourcePool");
    let pool_name = p.metadata.name.clone().expect("name");
    env.apply(&nb).await;
    env.apply(&p).await;
    let p = env
        .wait_for::<ResourcePool>(&pool_name, T, "pool Ready", ready)
        .await;
    assert_eq!(p.status.as_ref().and_then(|s| s.available_nodes), Some(2));
    let nb_name = nb.metadata.name.clone().expect("name");
    let nb = env
        .wait_for::<Notebook>(&nb_name, T, "notebook Ready", |nb| {
            nb.status
                .as_ref()
                .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
                .is_some_and(|c| c.status == "True")
        })
        .await;
    assert_eq!(nb.status.and_then(|s| s.pool_id), Some(cloud_id(&p)));
}

#[tokio::test]
async fn a_notebook_running_on_a_pool_stays_ready_while_the_pool_scales() {
    let env = env().await;
    env.apply(&pool("pool-grow", json!({}))).await;
    env.wait_for::<ResourcePool>("pool-grow", T, "Ready", ready).await;
    env.apply(&pool_support::notebook_on("nb-grow", "pool-grow"))
        .await;
    let nb_ready = |nb: &Notebook| {
        nb.status
            .as_ref()
            .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
            .is_some_and(|c| c.status == "True")
    };
    env.wait_for::<Notebook>("nb-grow", T, "notebook Ready", nb_ready)
        .await;
    // New nodes stay Creating for a while, so the pool is Ready=False (Scaling) for seconds.
    env.cloud
        .set_progression(Family::Pools, Progression::AfterReads { reads: 30 });
    env.merge_patch::<ResourcePool>(
        "pool-grow",
        json!({"spec": {"resources": [{"flavor": CPU_FLAVOR, "count": 2}]}}),
    )
    .await;
    env.wait_for::<ResourcePool>("pool-grow", T, "Scaling", |p| {
        cond(p, "Ready").is_some_and(|(_, r, _)| r == "Scaling")
    })
    .await;
    // A notebook reconcile while the pool scales (here forced by an annotation) keeps it Ready.
    env.merge_patch::<Notebook>("nb-grow", json!({"metadata": {"annotations": {"e2e/poke": "1"}}}))
        .await;
    for _ in 0..10 {
        let nb = env.api::<Notebook>().get("nb-grow").await.expect("get");
        assert!(
            nb_ready(&nb),
            "the notebook must not wait for a scaling pool: {:?}",
            nb.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let p = env.api::<ResourcePool>().get("pool-grow").await.expect("get");
    assert!(
        cond(&p, "Ready").is_some_and(|(_, r, _)| r == "Scaling"),
        "the pool was still scaling throughout"
    );
    env.wait_for::<ResourcePool>("pool-grow", Duration::from_secs(60), "scaled", ready)
        .await;
}
