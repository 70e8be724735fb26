//! Transition rules: every field ModelArts cannot change after creation carries a `self == oldSelf`
//! style rule whose message names the field, and updates that change such a field are refused
//! while ordinary updates pass.
mod schema_support;

use schema_support::{cel_errors, example, nodes_with_rules, patched, rules_at, schema_of};
use serde_json::json;

/// (kind, schema node holding the rule, JSON field name) for every immutable field.
const IMMUTABLE: &[(&str, &str, &str)] = &[
    ("Notebook", "spec", "region"),
    ("Notebook", "spec", "projectId"),
    ("Notebook", "spec", "resourceId"),
    ("Notebook", "spec", "workspaceId"),
    ("Notebook", "spec", "poolRef"),
    ("Notebook", "spec", "poolId"),
    ("Notebook", "spec.volume", "category"),
    ("Notebook", "spec.volume", "ownership"),
    ("Notebook", "spec.volume", "uri"),
    ("ResourcePool", "spec", "region"),
    ("ResourcePool", "spec", "projectId"),
    ("ResourcePool", "spec", "resourceId"),
    ("ResourcePool", "spec", "workspaceId"),
    ("ResourcePool", "spec", "type"),
    ("ResourcePool", "spec", "network"),
    ("ResourcePool", "spec", "displayName"),
    ("LiteServer", "spec", "region"),
    ("LiteServer", "spec", "projectId"),
    ("LiteServer", "spec", "resourceId"),
    ("LiteServer", "spec", "serverType"),
    ("LiteServer", "spec", "flavor"),
    ("LiteServer", "spec", "arch"),
    ("LiteServer", "spec", "network"),
    ("LiteServer", "spec", "availabilityZone"),
    ("LiteServer", "spec", "rootVolume"),
    ("LiteServer", "spec", "dataVolume"),
    ("LiteServer", "spec", "hpsClusterId"),
    ("LiteServer", "spec", "chargingMode"),
];

#[test]
fn every_immutable_field_carries_a_transition_rule_whose_message_names_it() {
    let mut missing = Vec::new();
    for &(kind, at, field) in IMMUTABLE {
        let path = format!("{at}.{field}");
        let rules = rules_at(&schema_of(kind), at);
        let found = rules.iter().any(|(rule, message)| {
            rule.contains(&format!("self.{field} == oldSelf.{field}"))
                && message.starts_with(&format!("{path} is immutable: "))
                && message.len() > path.len() + 30 // and says what to do instead
        });
        if !found {
            missing.push(format!("{kind} {path}: rules at {at} are {rules:#?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "fields without a transition rule:\n{}",
        missing.join("\n")
    );
}

#[test]
fn optional_immutable_fields_cannot_be_added_or_removed_either() {
    // A rule on the field itself would not run when the field disappears, so these sit on the parent.
    for &(kind, at, field) in IMMUTABLE {
        let schema = schema_of(kind);
        let required = schema_support::node(&schema, at)["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|f| f == field));
        let has_default = !schema_support::node(&schema, &format!("{at}.{field}"))["default"].is_null();
        if required || has_default {
            continue;
        }
        let presence = format!("has(self.{field}) == has(oldSelf.{field})");
        assert!(
            rules_at(&schema, at)
                .iter()
                .any(|(rule, _)| rule.contains(&presence)),
            "{kind} {at}.{field} is optional but its rule does not pin its presence"
        );
    }
}

/// An update from `base` to `base + patch` that must be refused, or allowed when `says` is None.
struct Update {
    reason: &'static str,
    kind: &'static str,
    file: &'static str,
    patch: serde_json::Value,
    says: Option<&'static str>,
}

fn updates() -> Vec<Update> {
    let nb = |reason, patch, says| Update {
        reason,
        kind: "Notebook",
        file: "notebook.yaml",
        patch,
        says,
    };
    let pool = |reason, patch, says| Update {
        reason,
        kind: "ResourcePool",
        file: "resource-pool.yaml",
        patch,
        says,
    };
    let ecs = |reason, patch, says| Update {
        reason,
        kind: "LiteServer",
        file: "lite-server-ecs.yaml",
        patch,
        says,
    };
    let hps = |reason, patch, says| Update {
        reason,
        kind: "LiteServer",
        file: "lite-server-hps.yaml",
        patch,
        says,
    };
    vec![
        nb(
            "moving a notebook to another region",
            json!({"spec": {"region": "cn-east-3"}}),
            Some("spec.region is immutable"),
        ),
        nb(
            "dropping a notebook's region",
            json!({"spec": {"region": null}}),
            Some("spec.region is immutable"),
        ),
        nb(
            "pinning a project after creation",
            json!({"spec": {"projectId": "0123456789abcdef0123456789abcdef"}}),
            Some("spec.projectId is immutable"),
        ),
        nb(
            "switching the workspace",
            json!({"spec": {"workspaceId": "0"}}),
            Some("spec.workspaceId is immutable"),
        ),
        nb(
            "moving the notebook onto a pool",
            json!({"spec": {"poolId": "pool-1"}}),
            Some("spec.poolId is immutable"),
        ),
        nb(
            "changing the volume category",
            json!({"spec": {"volume": {"category": "EFS", "capacity": null}}}),
            Some("spec.volume.category is immutable"),
        ),
        nb(
            "shrinking the EVS volume",
            json!({"spec": {"volume": {"capacity": 10}}}),
            Some("spec.volume.capacity can only grow"),
        ),
        nb(
            "adopting a different instance",
            json!({"spec": {"resourceId": "other"}}),
            Some("spec.resourceId is immutable"),
        ),
        nb(
            "growing the EVS volume",
            json!({"spec": {"volume": {"capacity": 100}}}),
            None,
        ),
        nb(
            "switching the flavor and stopping",
            json!({"spec": {"flavor": "modelarts.vm.cpu.2u", "desiredState": "Stopped"}}),
            None,
        ),
        nb(
            "retagging and remounting",
            json!({"spec": {"tags": {"team": "other"}, "storageMounts": null}}),
            None,
        ),
        pool(
            "changing the pool type",
            json!({"spec": {"type": "Logical"}}),
            Some("spec.type is immutable"),
        ),
        pool(
            "changing the pool network",
            json!({"spec": {"network": {"name": "other"}}}),
            Some("spec.network is immutable"),
        ),
        pool(
            "renaming the pool in ModelArts",
            json!({"spec": {"displayName": "other-name"}}),
            Some("spec.displayName is immutable"),
        ),
        pool(
            "adding a flavor and scaling the first one to zero",
            json!({"spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 0}, {"flavor": "modelarts.vm.cpu.16u64g.d", "count": 1}]}}),
            None,
        ),
        pool(
            "scaling out and enabling inference",
            json!({"spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 4}], "scope": ["Train", "Infer", "Notebook"]}}),
            None,
        ),
        ecs(
            "changing the server type",
            json!({"spec": {"serverType": "BMS"}}),
            Some("spec.serverType is immutable"),
        ),
        ecs(
            "changing the flavor",
            json!({"spec": {"flavor": "bigger"}}),
            Some("spec.flavor is immutable"),
        ),
        ecs(
            "changing the subnet",
            json!({"spec": {"network": {"subnetId": "other"}}}),
            Some("spec.network is immutable"),
        ),
        ecs(
            "changing the availability zone",
            json!({"spec": {"availabilityZone": "cn-north-4b"}}),
            Some("spec.availabilityZone is immutable"),
        ),
        ecs(
            "resizing the root volume",
            json!({"spec": {"rootVolume": {"size": 300}}}),
            Some("spec.rootVolume is immutable"),
        ),
        ecs(
            "removing the data volume",
            json!({"spec": {"dataVolume": null}}),
            Some("spec.dataVolume is immutable"),
        ),
        ecs(
            "changing the architecture",
            json!({"spec": {"arch": "ARM"}}),
            Some("spec.arch is immutable"),
        ),
        ecs(
            "renaming, rebooting and reinstalling",
            json!({"spec": {"name": "dev-box-02", "rebootRequestedAt": "2026-11-23T09:00:00Z", "reinstallRequestedAt": "2026-11-23T09:00:00Z"}}),
            None,
        ),
        hps(
            "moving a supernode to another HPS cluster",
            json!({"spec": {"hpsClusterId": "other"}}),
            Some("spec.hpsClusterId is immutable"),
        ),
        hps(
            "scaling a supernode and retagging it",
            json!({"spec": {"nodes": [{"flavor": "modelarts.lite.hps.ascend.snt9b.8xlarge", "count": 6}], "tags": {"team": "x"}}}),
            None,
        ),
    ]
}

#[test]
fn updates_to_immutable_fields_are_refused_and_other_updates_pass() {
    let mut failures = Vec::new();
    for update in updates() {
        let old = example(update.file);
        let new = patched(&old, update.patch);
        let errors = cel_errors(update.kind, &new, Some(&old));
        let ok = match update.says {
            Some(says) => errors.iter().any(|e| e.contains(says)),
            None => errors.is_empty(),
        };
        if !ok {
            failures.push(format!(
                "{}: expected {:?}, got {errors:#?}",
                update.reason, update.says
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_cel_rule_compiles_and_stays_within_the_cost_budget() {
    // kube-cel's estimate is a coarse heuristic (and its scope check does not know comprehension
    // variables such as `k` in `self.all(k, ...)`), so only cost overruns are held against a rule.
    use kube::core::cel::{ScopeContext, WarningKind, analyze_rule, compile_schema};
    let mut problems = Vec::new();
    for kind in ["Notebook", "ResourcePool", "LiteServer"] {
        for (path, node) in nodes_with_rules(&schema_of(kind)) {
            let compiled = compile_schema(&node);
            for err in compiled.compilation_errors() {
                problems.push(format!("{kind} {path}: {err:?}"));
            }
            for (rule, message) in rules_at(&node, "") {
                assert!(
                    message.contains("spec."),
                    "{kind} {path}: message of `{rule}` names no field"
                );
                for warning in analyze_rule(&rule, &compiled, ScopeContext::CrdValidation) {
                    if warning.kind == WarningKind::CostExceeded {
                        problems.push(format!("{kind} {path}: `{rule}`: {}", warning.message));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_logical_pool_keeps_its_max_count_but_may_change_its_count() {
    let old = patched(
        &example("resource-pool.yaml"),
        json!({"spec": {"type": "Logical", "network": null, "resources": [{"flavor": "f", "count": 1, "maxCount": 4}]}}),
    );
    let rescaled = patched(
        &old,
        json!({"spec": {"resources": [{"flavor": "f", "count": 3, "maxCount": 4}]}}),
    );
    assert_eq!(
        cel_errors("ResourcePool", &rescaled, Some(&old)),
        Vec::<String>::new()
    );

    let raised = patched(
        &old,
        json!({"spec": {"resources": [{"flavor": "f", "count": 1, "maxCount": 8}]}}),
    );
    let errors = cel_errors("ResourcePool", &raised, Some(&old));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("spec.resources[].maxCount is immutable")),
        "raising maxCount was not refused: {errors:#?}"
    );
}
