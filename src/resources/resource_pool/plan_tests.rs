use super::*;
use crate::cloud::pools::{ObjectMeta, PoolResource, PoolSpec, PoolStatus, ResourceCounts, ScopeStatus};
use serde_json::json;

const CPU: &str = "modelarts.vm.cpu.16u64g.d";
const GPU: &str = "modelarts.vm.gpu.tnt004";

fn pool(spec: serde_json::Value) -> ResourcePool {
    let mut value = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "ResourcePool",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"type": "Dedicate", "scope": ["Train"], "network": {"name": "net"},
                 "resources": [{"flavor": CPU, "count": 2}]},
    });
    for (k, v) in spec.as_object().expect("object") {
        value["spec"][k] = v.clone();
    }
    serde_json::from_value(value).expect("valid ResourcePool")
}

fn count(flavor: &str, n: i64) -> FlavorCount {
    FlavorCount {
        flavor: flavor.into(),
        count: n,
        ..Default::default()
    }
}

/// A cloud pool in `phase` whose spec asks for `want` and whose nodes are as given.
fn remote(phase: &str, want: &[(&str, i64)], available: &[(&str, i64)], creating: &[(&str, i64)]) -> Remote {
    Remote {
        pool: Pool {
            metadata: ObjectMeta {
                name: "pool-1".into(),
                ..Default::default()
            },
            spec: PoolSpec {
                scope: vec!["Train".into()],
                resources: want
                    .iter()
                    .map(|(f, n)| PoolResource {
                        flavor: f.to_string(),
                        count: *n,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
            status: PoolStatus {
                phase: Some(phase.into()),
                resources: ResourceCounts {
                    available: available.iter().map(|(f, n)| count(f, *n)).collect(),
                    creating: creating.iter().map(|(f, n)| count(f, *n)).collect(),
                    ..Default::default()
                },
                scope: vec![ScopeStatus {
                    scope_type: "Train".into(),
                    state: Some("Enabled".into()),
                }],
                ..Default::default()
            },
            ..Default::default()
        },
        tags: Tags::new(),
    }
}

#[test]
fn the_create_body_is_kubernetes_shaped_pay_per_use_and_leaves_zero_counts_out() {
    let p = pool(json!({"displayName": "shown", "description": "d",
        "resources": [{"flavor": CPU, "count": 2, "azs": [{"az": "cn-north-4a", "count": 2}]}, {"flavor": GPU, "count": 0}]}));
    let body = serde_json::to_value(create_request(&p)).expect("JSON");
    assert_eq!(body["apiVersion"], "v2");
    assert_eq!(body["kind"], "Pool");
    assert_eq!(body["metadata"]["labels"]["os.modelarts/name"], "shown");
    assert_eq!(body["metadata"]["annotations"][BILLING_MODE], "0");
    assert_eq!(body["metadata"]["annotations"]["os.modelarts/description"], "d");
    assert_eq!(body["spec"]["type"], "Dedicate");
    assert_eq!(body["spec"]["scope"], json!(["Train"]));
    assert_eq!(body["spec"]["network"]["name"], "net");
    assert_eq!(
        body["spec"]["resources"],
        json!([{"flavor": CPU, "count": 2, "azs": [{"az": "cn-north-4a", "count": 2}]}])
    );
}

#[test]
fn the_display_name_defaults_to_the_object_name() {
    assert_eq!(cloud_name(&pool(json!({}))), "p");
}

#[test]
fn diffs_ask_for_exactly_what_differs() {
    struct Case {
        reason: &'static str,
        spec: serde_json::Value,
        remote: Remote,
        want: Vec<Change>,
    }
    let cases = [
        Case {
            reason: "matching counts need nothing",
            spec: json!({}),
            remote: remote("Running", &[(CPU, 2)], &[(CPU, 2)], &[]),
            want: vec![],
        },
        Case {
            reason: "a higher count scales out with the full list",
            spec: json!({"resources": [{"flavor": CPU, "count": 3}]}),
            remote: remote("Running", &[(CPU, 2)], &[(CPU, 2)], &[]),
            want: vec![Change::Scale(vec![PoolResourcePatch {
                flavor: CPU.into(),
                count: 3,
                azs: vec![],
            }])],
        },
        Case {
            reason: "a removed flavor is left out of the list (scaled to zero)",
            spec: json!({"resources": [{"flavor": GPU, "count": 1}, {"flavor": CPU, "count": 0}]}),
            remote: remote("Running", &[(CPU, 2), (GPU, 1)], &[(CPU, 2), (GPU, 1)], &[]),
            want: vec![Change::Scale(vec![PoolResourcePatch {
                flavor: GPU.into(),
                count: 1,
                azs: vec![],
            }])],
        },
        Case {
            reason: "scope and description are patched in place",
            spec: json!({"scope": ["Infer", "Train"], "description": "new"}),
            remote: remote("Running", &[(CPU, 2)], &[(CPU, 2)], &[]),
            want: vec![
                Change::Scope(vec!["Infer".into(), "Train".into()]),
                Change::Description("new".into()),
            ],
        },
        Case {
            reason: "a creating pool is not patched",
            spec: json!({"resources": [{"flavor": CPU, "count": 5}]}),
            remote: remote("Creating", &[(CPU, 2)], &[], &[(CPU, 2)]),
            want: vec![],
        },
        Case {
            reason: "a pool in Error is not patched",
            spec: json!({"resources": [{"flavor": CPU, "count": 5}]}),
            remote: remote("Error", &[(CPU, 2)], &[], &[]),
            want: vec![],
        },
    ];
    for case in cases {
        assert_eq!(diff(&pool(case.spec), &case.remote), case.want, "{}", case.reason);
    }
}

#[test]
fn one_merge_patch_carries_every_change() {
    let changes = [
        Change::Scale(vec![PoolResourcePatch {
            flavor: CPU.into(),
            count: 3,
            azs: vec![],
        }]),
        Change::Description("d".into()),
    ];
    let body = serde_json::to_value(patch(&changes)).expect("JSON");
    assert_eq!(
        body,
        json!({"metadata": {"annotations": {"os.modelarts/description": "d"}},
               "spec": {"resources": [{"flavor": CPU, "count": 3}]}})
    );
}

#[test]
fn ready_only_when_running_and_every_flavor_count_matches() {
    let p = pool(json!({}));
    let ready = readiness(&p, &remote("Running", &[(CPU, 2)], &[(CPU, 2)], &[]));
    assert!(matches!(ready, Readiness::Ready(_)), "{ready:?}");
    let scaling = readiness(&p, &remote("Running", &[(CPU, 2)], &[(CPU, 1)], &[(CPU, 1)]));
    assert!(
        matches!(&scaling, Readiness::Progressing { reason, message }
            if *reason == reasons::SCALING && message.contains("1/2 available, 1 creating")),
        "{scaling:?}"
    );
    let creating = readiness(&p, &remote("Creating", &[(CPU, 2)], &[], &[(CPU, 2)]));
    assert!(matches!(creating, Readiness::Progressing { reason, .. } if reason == reasons::CREATING));
    let abnormal = readiness(&p, &remote("Abnormal", &[(CPU, 2)], &[(CPU, 2)], &[]));
    assert!(matches!(abnormal, Readiness::Failed { reason, .. } if reason == "Abnormal"));
    let leftover = readiness(&p, &remote("Running", &[(CPU, 2)], &[(CPU, 2), (GPU, 1)], &[]));
    assert!(
        matches!(&leftover, Readiness::Progressing { message, .. } if message.contains(GPU)),
        "nodes of a removed flavor still count: {leftover:?}"
    );
}

#[test]
fn status_reports_counts_for_every_flavor_spec_or_cloud_names() {
    let p = pool(json!({"resources": [{"flavor": CPU, "count": 3}]}));
    let mut status = ResourcePoolStatus::default();
    status_from(
        &p,
        &remote("Running", &[(CPU, 3)], &[(CPU, 2), (GPU, 1)], &[(CPU, 1)]),
        &mut status,
    );
    assert_eq!(status.available_nodes, Some(3));
    assert_eq!(status.desired_nodes, Some(3));
    assert_eq!(
        status.resources,
        vec![
            PoolFlavorStatus {
                flavor: CPU.into(),
                available: 2,
                creating: 1,
                deleting: 0,
                abnormal: 0
            },
            PoolFlavorStatus {
                flavor: GPU.into(),
                available: 1,
                creating: 0,
                deleting: 0,
                abnormal: 0
            },
        ]
    );
    assert_eq!(status.scope[0].state, "Enabled");
}

#[test]
fn specs_the_schema_would_refuse_are_refused_naming_the_field() {
    let cases = [
        (
            json!({"type": "Logical", "resources": [{"flavor": CPU, "count": 3, "maxCount": 2}]}),
            "spec.resources[0].count",
        ),
        (
            json!({"resources": [{"flavor": CPU, "count": 1, "maxCount": 1}]}),
            "spec.resources[0].maxCount",
        ),
        (
            json!({"resources": [{"flavor": CPU, "count": 1}, {"flavor": CPU, "count": 2}]}),
            "spec.resources[1].flavor",
        ),
        (
            json!({"resources": [{"flavor": CPU, "count": 2, "azs": [{"az": "a", "count": 1}]}]}),
            "spec.resources[0].azs",
        ),
        (
            json!({"resources": [{"flavor": CPU, "count": 0}]}),
            "spec.resources",
        ),
    ];
    for (spec, field) in cases {
        let err = validate(&pool(spec.clone())).expect_err("refused");
        assert!(err.starts_with(field), "{spec}: {err}");
    }
    assert_eq!(validate(&pool(json!({}))), Ok(()));
}

#[test]
fn yearly_monthly_billing_is_refused_on_the_object_and_on_the_cloud_pool() {
    let mut p = pool(json!({}));
    p.metadata.annotations = Some([(BILLING_MODE.to_string(), "1".to_string())].into());
    let err = validate(&p).expect_err("refused");
    assert!(err.contains("yearly/monthly"), "{err}");
    let mut r = remote("Running", &[(CPU, 2)], &[(CPU, 2)], &[]);
    assert_eq!(refusal(&r), None);
    r.pool
        .metadata
        .annotations
        .insert(BILLING_MODE.into(), "1".into());
    assert!(refusal(&r).is_some_and(|m| m.contains("ObserveOnly")));
}
