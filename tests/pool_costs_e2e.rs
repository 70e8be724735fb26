//! What ResourcePools cost from apply to Ready (issue 12, items 2 and 3): the floor is the
//! create and the tag write; the state after the create comes from the poller's listing (two
//! calls however many pools), not a pool GET and a tag GET each.
mod pool_support;
mod support;

use kube::{Api, api::ListParams};
use modelarts_emulator::DEFAULT_PROJECT_ID as PROJECT;
use modelarts_operator::api::resource_pool::ResourcePool;
use pool_support::{pool, ready};
use serde_json::json;
use std::time::Duration;

/// Failed while pools read their state after the create alone: a pool GET and a tag GET each
/// (4.00 calls and 6.82 kube writes per pool in the 1,000-pool scale bench), and a status
/// write for the create's transitional answer before the one for Ready.
#[tokio::test]
async fn many_pools_read_their_state_after_the_create_from_shared_listings() {
    const N: usize = 40;
    let env = support::Env::start_with(|c| c.poll_interval = Duration::from_secs(3600)).await;
    // Applied after the start (past the clock slack): no search by owner tag before a create.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = env.kube.resource_version();
    let api: Api<ResourcePool> = env.api();
    let apply = (0..N).map(|i| {
        let api = api.clone();
        async move {
            api.create(&Default::default(), &pool(&format!("pool-{i:02}"), json!({})))
                .await
                .expect("pool applied");
        }
    });
    futures::future::join_all(apply).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let items = api.list(&ListParams::default()).await.expect("listed").items;
        let done = items.iter().filter(|p| ready(p)).count();
        if done == N {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "only {done} of {N} Ready");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Whatever the reconciles that follow Ready would still write lands within this.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(env.cloud.pool_count(PROJECT), N, "one cloud pool per object");
    let calls = env.cloud.call_counts();
    let count = |route: &str| calls.get(route).copied().unwrap_or(0) as usize;
    assert_eq!(
        count("POST /v2/{project_id}/pools"),
        N,
        "one create each: {calls:?}"
    );
    assert_eq!(
        count("POST /v1/{project_id}/pools/{pool_name}/tags/create"),
        N,
        "{calls:?}"
    );
    let reads = count("GET /v2/{project_id}/pools/{pool_name}")
        + count("GET /v1/{project_id}/pools/{pool_name}/tags");
    let listings =
        count("GET /v2/{project_id}/pools") + count("POST /v1/{project_id}/pools/resource-instances/filter");
    // Issue 12's bound, 2.2 calls per object, create and tag write included.
    assert!(
        reads + listings <= N / 5,
        "{reads} reads by name and {listings} listing calls for {N} pools: {calls:?}"
    );
    // The test's own creates aside: finalizer, pending-create marker, cloud-ID annotation,
    // Created Event and Ready status.
    let writes = env.kube.resource_version() - before - N as u64;
    assert!(
        writes <= 5 * N as u64,
        "{writes} Kubernetes writes by the operator for {N} pools, Events included"
    );
}
