//! A CRD generated the way the operator generates its own (kube-derive + schemars 1, with
//! `x-kubernetes-validations`), driven through kube-rs: defaults, enums, optional fields, maps and
//! the CEL rule shapes the operator uses, including a transition rule.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use kube_emulator::KubeEmulator;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug)]
#[kube(
    group = "modelarts.test.dev",
    version = "v1alpha1",
    kind = "Notebook",
    namespaced,
    status = "NotebookStatus"
)]
#[x_kube(validation = Rule::new("has(self.flavor) != has(self.poolId)").message("set exactly one of flavor or poolId"))]
#[serde(rename_all = "camelCase")]
pub struct NotebookSpec {
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z]+-[a-z]+-[0-9]+$')").message("region must look like cn-north-4"))]
    region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flavor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pool_id: Option<String>,
    #[serde(default = "default_storage")]
    storage: Storage,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("self.all(k, k.size() <= 16)").message("tag keys are at most 16 characters"))]
    tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("self.size() <= 3").message("at most 3 endpoints"))]
    endpoints: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, schemars::JsonSchema)]
pub enum Storage {
    Evs,
    Efs,
}

fn default_storage() -> Storage {
    Storage::Evs
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotebookStatus {
    observed_generation: Option<i64>,
    phase: Option<String>,
}

fn spec(region: &str) -> NotebookSpec {
    NotebookSpec {
        region: region.into(),
        flavor: Some("modelarts.vm.cpu.2u".into()),
        pool_id: None,
        storage: Storage::Evs,
        tags: BTreeMap::new(),
        endpoints: vec![],
    }
}

async fn setup() -> (KubeEmulator, Api<Notebook>) {
    let server = KubeEmulator::start().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &Notebook::crd())
        .await
        .expect("the derived CRD is accepted");
    let api = Api::namespaced(server.client(), "default");
    (server, api)
}

fn message(err: kube::Error) -> String {
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 422, "{s:?}");
            s.message
        }
        other => panic!("expected a 422, got {other:?}"),
    }
}

#[tokio::test]
async fn a_valid_derived_resource_is_created_with_its_enum_and_optional_fields() {
    let (_server, api) = setup().await;
    let nb = api
        .create(&PostParams::default(), &Notebook::new("nb", spec("cn-north-4")))
        .await
        .unwrap();
    assert_eq!(nb.spec.storage, Storage::Evs);
    assert_eq!(nb.spec.flavor.as_deref(), Some("modelarts.vm.cpu.2u"));
}

#[tokio::test]
async fn derived_cel_rules_refuse_bad_objects_with_the_rules_message() {
    let (_server, api) = setup().await;
    let cases = [
        (
            {
                let mut s = spec("cn-north-4");
                s.pool_id = Some("p".into());
                s
            },
            "spec: Invalid value: \"object\": set exactly one of flavor or poolId",
        ),
        (
            spec("Mars"),
            "spec.region: Invalid value: \"string\": region must look like cn-north-4",
        ),
        (
            {
                let mut s = spec("cn-north-4");
                s.tags.insert("a-very-long-tag-key".into(), "x".into());
                s
            },
            "spec.tags: Invalid value: \"object\": tag keys are at most 16 characters",
        ),
        (
            {
                let mut s = spec("cn-north-4");
                s.endpoints = vec!["a".into(), "b".into(), "c".into(), "d".into()];
                s
            },
            "spec.endpoints: Invalid value: \"array\": at most 3 endpoints",
        ),
    ];
    for (i, (bad, want)) in cases.into_iter().enumerate() {
        let err = api
            .create(&PostParams::default(), &Notebook::new(&format!("bad{i}"), bad))
            .await
            .unwrap_err();
        assert_eq!(
            message(err),
            format!("Notebook.modelarts.test.dev \"bad{i}\" is invalid: {want}")
        );
    }
}

#[tokio::test]
async fn a_derived_enum_refuses_an_unknown_variant() {
    let (_server, api) = setup().await;
    api.create(&PostParams::default(), &Notebook::new("nb", spec("cn-north-4")))
        .await
        .unwrap();
    let err = api
        .patch(
            "nb",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"storage": "Tape"}})),
        )
        .await
        .unwrap_err();
    let msg = message(err);
    assert!(msg.contains("spec.storage: Unsupported value: \"Tape\""), "{msg}");
}

#[tokio::test]
async fn the_immutable_region_rule_allows_other_changes_but_refuses_a_new_region() {
    let (_server, api) = setup().await;
    api.create(&PostParams::default(), &Notebook::new("nb", spec("cn-north-4")))
        .await
        .unwrap();
    api.patch(
        "nb",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"flavor": "bigger"}})),
    )
    .await
    .unwrap();
    let err = api
        .patch(
            "nb",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"region": "cn-south-1"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        message(err),
        "Notebook.modelarts.test.dev \"nb\" is invalid: spec.region: Invalid value: \"string\": region is immutable"
    );
}

#[tokio::test]
async fn server_side_apply_of_a_derived_resource_with_status_works_through_kube() {
    let (_server, api) = setup().await;
    let pp = PatchParams::apply("test-manager");
    let nb = Notebook::new("nb", spec("cn-north-4"));
    api.patch("nb", &pp, &Patch::Apply(&nb)).await.unwrap();
    let status = json!({"apiVersion": "modelarts.test.dev/v1alpha1", "kind": "Notebook", "status": {"phase": "Running", "observedGeneration": 1}});
    let got = api.patch_status("nb", &pp, &Patch::Apply(&status)).await.unwrap();
    assert_eq!(got.status.unwrap().phase.as_deref(), Some("Running"));
}
