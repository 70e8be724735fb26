//! The CRD deletion defender: objects of a CRD that is being deleted are released and their cloud
//! resources kept, unless the operator is told otherwise.
mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams},
};
use modelarts_operator::api::Notebook;
use serde_json::json;
use std::time::Duration;

const CRD: &str = "notebooks.modelarts.operator.dev";
const DELETE_ROUTE: &str = "/v1/{project_id}/notebooks/{id}";

fn notebook(name: &str) -> Notebook {
    serde_json::from_value(json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {"flavor": "modelarts.vm.cpu.2u", "image": {"id": support::IMAGE},
                 "volume": {"category": "EVS", "ownership": "MANAGED"}}
    }))
    .expect("notebook")
}

/// What the API server does on `kubectl delete crd`: the CRD stays, with a deletionTimestamp,
/// while every object of the kind is deleted (held here by a test finalizer, as the server's
/// own `customresourcecleanup` finalizer holds it), then it goes.
async fn delete_crd_and_its_objects(env: &support::Env, name: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    crds.patch(
        CRD,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["e2e.test/hold"]}})),
    )
    .await
    .expect("finalizer on the CRD");
    crds.delete(CRD, &DeleteParams::default())
        .await
        .expect("CRD delete accepted");
    let crd = crds
        .get(CRD)
        .await
        .expect("the CRD is still there while terminating");
    assert!(
        crd.metadata.deletion_timestamp.is_some(),
        "the CRD is terminating"
    );
    // The server's cleanup has already deleted the object (the emulator does it within the CRD
    // delete, as the apiserver's finalizer controller does soon after): a delete of our own
    // would race the operator's release and could find it gone.
    let notebooks: Api<Notebook> = env.api();
    if let Some(nb) = notebooks.get_opt(name).await.expect("notebook read") {
        assert!(
            nb.metadata.deletion_timestamp.is_some(),
            "the CRD's cleanup deleted the notebook"
        );
    }
    env.wait_gone::<Notebook>(name, Duration::from_secs(30)).await;
}

async fn ready(env: &support::Env, name: &str) {
    env.apply(&notebook(name)).await;
    env.wait_for::<Notebook>(name, Duration::from_secs(30), "Ready", |nb| {
        nb.status
            .as_ref()
            .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
            .is_some_and(|c| c.status == "True")
    })
    .await;
}

#[tokio::test]
async fn objects_of_a_crd_being_deleted_are_released_and_their_cloud_resources_kept() {
    let env = support::Env::start().await;
    ready(&env, "nb-crd-kept").await;
    assert_eq!(
        env.cloud.notebook_count(modelarts_emulator::DEFAULT_PROJECT_ID),
        1
    );
    delete_crd_and_its_objects(&env, "nb-crd-kept").await;
    assert_eq!(env.calls("DELETE", DELETE_ROUTE), 0, "no cloud delete was sent");
    assert_eq!(
        env.cloud.notebook_count(modelarts_emulator::DEFAULT_PROJECT_ID),
        1,
        "the cloud notebook outlives its released object"
    );
}

#[tokio::test]
async fn with_the_flag_objects_of_a_deleted_crd_delete_their_cloud_resources() {
    let env = support::Env::start_with(|c| c.engine.delete_on_crd_deletion = true).await;
    ready(&env, "nb-crd-deleted").await;
    delete_crd_and_its_objects(&env, "nb-crd-deleted").await;
    assert_eq!(
        env.calls("DELETE", DELETE_ROUTE),
        1,
        "deletionPolicy Delete applied"
    );
}
