//! The shared-field traits the generic engine relies on, checked for every kind.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use modelarts_operator::api::common::{
    CloudSpec, CommonSpec, CommonStatus, DeletionPolicy, ManagementPolicy, PendingCreate, SecretRef,
};
use modelarts_operator::api::{LiteServerSpec, NotebookSpec, ResourcePoolSpec};
use modelarts_operator::api::{LiteServerStatus, NotebookStatus, ResourcePoolStatus};

fn cloud_spec() -> CloudSpec {
    CloudSpec {
        region: Some("cn-north-4".into()),
        project_id: Some("0123456789abcdef0123456789abcdef".into()),
        credentials_secret_ref: Some(SecretRef {
            name: "hwcloud".into(),
        }),
        tags: [("team".to_string(), "ml".to_string())].into(),
        deletion_policy: DeletionPolicy::Retain,
        resource_id: Some("abc-123".into()),
        management_policy: ManagementPolicy::ObserveOnly,
    }
}

/// Builds a spec of kind `S` from its kind-specific required fields plus the shared fields.
fn spec_with_cloud<S: serde::de::DeserializeOwned>(kind_fields: serde_json::Value) -> S {
    let mut value = serde_json::to_value(cloud_spec()).unwrap();
    value
        .as_object_mut()
        .unwrap()
        .extend(kind_fields.as_object().unwrap().clone());
    serde_json::from_value(value).unwrap()
}

fn assert_common_spec_reads_flattened_fields(spec: &impl CommonSpec) {
    assert_eq!(spec.region(), Some("cn-north-4"));
    assert_eq!(spec.project_id(), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(
        spec.credentials_secret_ref().map(|r| r.name.as_str()),
        Some("hwcloud")
    );
    assert_eq!(spec.tags().get("team").map(String::as_str), Some("ml"));
    assert_eq!(spec.deletion_policy(), DeletionPolicy::Retain);
    assert_eq!(spec.resource_id(), Some("abc-123"));
    assert_eq!(spec.management_policy(), ManagementPolicy::ObserveOnly);
}

#[test]
fn every_spec_exposes_its_shared_fields_through_common_spec() {
    let notebook: NotebookSpec = spec_with_cloud(serde_json::json!({
        "flavor": "modelarts.vm.cpu.2u", "image": {"id": "img"}, "volume": {"category": "EVS"}
    }));
    let pool: ResourcePoolSpec = spec_with_cloud(serde_json::json!({
        "scope": ["Train"], "resources": [{"flavor": "f", "count": 1}], "network": {"name": "n"}
    }));
    let server: LiteServerSpec = spec_with_cloud(serde_json::json!({
        "serverType": "ECS", "flavor": "f", "image": {"id": "img"},
        "network": {"vpcId": "v", "subnetId": "s", "securityGroupId": "g"},
        "login": {"keyPairName": "kp"}
    }));
    assert_common_spec_reads_flattened_fields(&notebook);
    assert_common_spec_reads_flattened_fields(&pool);
    assert_common_spec_reads_flattened_fields(&server);
}

#[test]
fn shared_spec_fields_default_to_delete_and_manage_when_omitted() {
    let spec: NotebookSpec = serde_json::from_value(serde_json::json!({
        "flavor": "modelarts.vm.cpu.2u", "image": {"id": "img"}, "volume": {"category": "EVS"}
    }))
    .unwrap();
    assert_eq!(spec.deletion_policy(), DeletionPolicy::Delete);
    assert_eq!(spec.management_policy(), ManagementPolicy::Manage);
    assert!(spec.tags().is_empty());
    assert_eq!(spec.region(), None);
}

fn assert_common_status_round_trips<S: CommonStatus + serde::Serialize>() {
    let mut status = S::default();
    status.set_cloud_id(Some("id-1".into()));
    status.set_cloud_state(Some("RUNNING".into()));
    status.set_managed_tag_keys(vec!["team".into()]);
    status.set_observed_generation(Some(3));
    status.set_last_sync_time(Some("2026-11-22T14:00:00Z".into()));
    let pending = PendingCreate {
        token: "tok".into(),
        requested_at: "2026-11-22T14:00:00Z".into(),
        name: "nb-1".into(),
        cloud_sent_ms: Some(1_795_000_000_000),
    };
    status.set_pending_create(Some(pending.clone()));
    status.conditions_mut().push(Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: "Available".into(),
        message: String::new(),
        last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
        observed_generation: Some(3),
    });

    assert_eq!(status.cloud_id(), Some("id-1"));
    assert_eq!(status.cloud_state(), Some("RUNNING"));
    assert_eq!(status.managed_tag_keys(), ["team".to_string()]);
    assert_eq!(status.observed_generation(), Some(3));
    assert_eq!(status.last_sync_time(), Some("2026-11-22T14:00:00Z"));
    assert_eq!(status.pending_create(), Some(&pending));
    assert_eq!(status.conditions().len(), 1);

    // The shared fields sit at the top level of the status, not under a nested key.
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["cloudId"], "id-1");
    assert_eq!(json["pendingCreate"]["requestedAt"], "2026-11-22T14:00:00Z");

    status.set_pending_create(None);
    assert_eq!(status.pending_create(), None);
}

#[test]
fn every_status_reads_back_what_common_status_writes_at_the_top_level() {
    assert_common_status_round_trips::<NotebookStatus>();
    assert_common_status_round_trips::<ResourcePoolStatus>();
    assert_common_status_round_trips::<LiteServerStatus>();
}
