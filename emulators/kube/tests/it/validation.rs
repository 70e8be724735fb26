//! Custom resources are validated like a real apiserver: structural schema, pruning, defaults and
//! CEL rules (including transition rules), with 422 Invalid messages in the apiserver's wording.

use crate::common::{Api, WIDGETS, widget};
use serde_json::{Value, json};

async fn refused(api: &Api, spec: Value) -> String {
    let (code, s) = api.post(WIDGETS, widget("bad", spec)).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["reason"], "Invalid");
    s["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn schema_violations_are_422_with_field_path_and_the_apiservers_message() {
    let api = Api::start().await;
    api.widget_crd().await;
    let prefix = "Widget.test.emulator.dev \"bad\" is invalid: ";
    let cases = [
        (json!({"zone": "z"}), "spec.size: Required value"),
        (
            json!({"size": "two", "zone": "z"}),
            "spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"",
        ),
        (
            json!({"size": 11, "zone": "z"}),
            "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
        ),
        (
            json!({"size": 0, "zone": "z"}),
            "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
        ),
        (
            json!({"size": 1, "region": "Mars"}),
            "spec.region: Invalid value: \"Mars\": spec.region in body should match '^[a-z]+-[a-z]+-[0-9]+$'",
        ),
        (
            json!({"size": 1, "zone": "z", "tier": "huge"}),
            "spec.tier: Unsupported value: \"huge\": supported values: \"small\", \"large\"",
        ),
        (
            json!({"size": 1, "zone": "zzzzzzzzzzzzz"}),
            "spec.zone: Too long: may not be longer than 12",
        ),
        (
            json!({"size": 1, "zone": "z", "ports": [1, 2, 3]}),
            "spec.ports: Too many: 3: must have at most 2 items",
        ),
        (
            json!({"size": 1, "zone": "z", "tags": {"a": "1", "b": "2", "c": "3", "d": "4"}}),
            "spec.tags: Too many: 4: must have at most 3 items",
        ),
    ];
    for (spec, want) in cases {
        assert_eq!(
            refused(&api, spec.clone()).await,
            format!("{prefix}{want}"),
            "spec {spec}"
        );
    }
}

#[tokio::test]
async fn several_violations_are_listed_together() {
    let api = Api::start().await;
    api.widget_crd().await;
    let msg = refused(&api, json!({"size": 20, "zone": "z", "tier": "huge"})).await;
    assert!(
        msg.contains(": [spec.size: Invalid value: 20") && msg.contains(", spec.tier: Unsupported value"),
        "{msg}"
    );
}

#[tokio::test]
async fn cel_rules_are_enforced_with_their_message() {
    let api = Api::start().await;
    api.widget_crd().await;
    let msg = refused(&api, json!({"size": 1})).await;
    assert_eq!(
        msg,
        "Widget.test.emulator.dev \"bad\" is invalid: spec: Invalid value: \"object\": exactly one of zone or region must be set"
    );
    let msg = refused(
        &api,
        json!({"size": 1, "zone": "z", "tags": {"muchtoolong": "x"}}),
    )
    .await;
    assert!(
        msg.ends_with("spec.tags: Invalid value: \"object\": tag keys are at most 8 characters"),
        "{msg}"
    );
}

#[tokio::test]
async fn transition_rules_run_only_on_update_and_compare_with_old_self() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "region": "cn-north-4"}))
        .await;
    let (code, s) = api
        .merge(&format!("{WIDGETS}/a"), json!({"spec": {"region": "cn-south-1"}}))
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .ends_with("spec: Invalid value: \"object\": region is immutable")
    );
    let (code, _) = api
        .merge(&format!("{WIDGETS}/a"), json!({"spec": {"size": 2}}))
        .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn unknown_fields_are_pruned_unless_preserved() {
    let api = Api::start().await;
    api.widget_crd().await;
    let mut body = widget(
        "a",
        json!({"size": 1, "zone": "z", "bogus": 1, "extra": {"anything": {"goes": true}}}),
    );
    body["topLevelJunk"] = json!(true);
    let (code, w) = api.post(WIDGETS, body).await;
    assert_eq!(code, 201, "{w}");
    assert!(w["spec"].get("bogus").is_none());
    assert_eq!(w["spec"]["extra"], json!({"anything": {"goes": true}}));
    assert!(w.get("topLevelJunk").is_none());
}

#[tokio::test]
async fn strict_field_validation_refuses_unknown_fields_with_a_400() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, s) = api
        .post(
            &format!("{WIDGETS}?fieldValidation=Strict"),
            widget("a", json!({"size": 1, "zone": "z", "bogus": 1})),
        )
        .await;
    assert_eq!(code, 400);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("strict decoding error: unknown field \"spec.bogus\""),
        "{s}"
    );
}

#[tokio::test]
async fn defaults_are_applied_on_create() {
    let api = Api::start().await;
    api.widget_crd().await;
    let w = api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    assert_eq!(w["spec"]["tier"], "small");
}

#[tokio::test]
async fn one_of_and_any_of_constraints_are_enforced() {
    let api = Api::start().await;
    let mut crd = crate::common::widget_crd();
    let spec = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["oneOf"] = json!([{"required": ["zone"]}, {"required": ["region"]}]);
    spec["properties"]["ports"]["anyOf"] = json!([{"minItems": 2}, {"maxItems": 0}]);
    spec["x-kubernetes-validations"] = json!([]);
    assert_eq!(
        api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            .await
            .0,
        201
    );
    let msg = refused(&api, json!({"size": 1, "zone": "z", "region": "a-b-1"})).await;
    assert!(
        msg.contains("spec in body must validate one and only one schema (oneOf)"),
        "{msg}"
    );
    let msg = refused(&api, json!({"size": 1, "zone": "z", "ports": [1]})).await;
    assert!(
        msg.contains("spec.ports in body must validate at least one schema (anyOf)"),
        "{msg}"
    );
    api.create_widget("ok", json!({"size": 1, "zone": "z", "ports": [1, 2]}))
        .await;
}

#[tokio::test]
async fn invalid_causes_carry_the_field_and_a_message_without_the_field_prefix() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (_, s) = api
        .post(WIDGETS, widget("bad", json!({"size": 11, "zone": "z"})))
        .await;
    let cause = &s["details"]["causes"][0];
    assert_eq!(cause["field"], "spec.size");
    assert_eq!(cause["reason"], "FieldValueInvalid");
    assert_eq!(
        cause["message"],
        "Invalid value: 11: spec.size in body should be less than or equal to 10"
    );
    assert_eq!(s["details"]["kind"], "Widget");
    assert_eq!(s["details"]["name"], "bad");
}

#[tokio::test]
async fn a_null_for_a_non_nullable_field_is_dropped_and_then_defaulted() {
    let api = Api::start().await;
    api.widget_crd().await;
    let w = api
        .create_widget("a", json!({"size": 1, "zone": "z", "tier": null, "region": null}))
        .await;
    assert_eq!(w["spec"]["tier"], "small");
    assert!(w["spec"].get("region").is_none());
}

#[tokio::test]
async fn a_crd_with_a_rule_that_does_not_compile_is_refused_at_creation() {
    let api = Api::start().await;
    let mut crd = crate::common::widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] =
        json!([{"rule": "self.size >", "message": "broken"}]);
    let (code, s) = api
        .post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        .await;
    assert_eq!(code, 422, "{s}");
    let msg = s["message"].as_str().unwrap();
    assert!(msg.contains("spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: \"self.size >\": compilation failed"), "{msg}");
}

#[tokio::test]
async fn a_message_expression_gives_the_violation_message() {
    let api = Api::start().await;
    let mut crd = crate::common::widget_crd();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = json!([{"rule": "self.size < 5", "messageExpression": "'size ' + string(self.size) + ' must be below 5'"}]);
    assert_eq!(
        api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
            .await
            .0,
        201
    );
    let msg = refused(&api, json!({"size": 7})).await;
    assert!(
        msg.ends_with("spec: Invalid value: \"object\": size 7 must be below 5"),
        "{msg}"
    );
}
