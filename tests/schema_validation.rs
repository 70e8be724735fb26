//! Invalid manifests are refused by the generated schema with a message naming the field, and the
//! examples pass. Structural checks via `jsonschema`, CEL via kube's evaluator (see schema_support).
mod schema_support;

use schema_support::{admission_errors, example, patched};
use serde_json::{Value, json};

const NOTEBOOK: (&str, &str) = ("Notebook", "notebook.yaml");
const POOL: (&str, &str) = ("ResourcePool", "resource-pool.yaml");
const ECS: (&str, &str) = ("LiteServer", "lite-server-ecs.yaml");
const HPS: (&str, &str) = ("LiteServer", "lite-server-hps.yaml");
const NOTEBOOK_ON_POOL: (&str, &str) = ("Notebook", "notebook-on-pool.yaml");

#[test]
fn every_example_manifest_is_accepted_on_create_and_on_a_no_op_update() {
    for (kind, file) in [NOTEBOOK, POOL, ECS, HPS, NOTEBOOK_ON_POOL] {
        let manifest = example(file);
        assert_eq!(
            admission_errors(kind, &manifest, None),
            Vec::<String>::new(),
            "{file} on create"
        );
        assert_eq!(
            admission_errors(kind, &manifest, Some(&manifest)),
            Vec::<String>::new(),
            "{file} on update"
        );
    }
}

/// One invalid manifest: the example `base` with `patch` merged in must be refused with an error
/// naming `field` (and containing `says`). Rules on the whole object report no path (`field` "");
/// their messages name the fields themselves.
struct Refused {
    reason: &'static str,
    base: (&'static str, &'static str),
    patch: Value,
    field: &'static str,
    says: &'static str,
}

fn refused_cases() -> Vec<Refused> {
    let long_key = "k".repeat(129);
    let many_tags: serde_json::Map<String, Value> = (0..21).map(|i| (format!("t{i}"), json!("v"))).collect();
    vec![
        Refused {
            reason: "a volume category outside the enum",
            base: NOTEBOOK,
            patch: json!({"spec": {"volume": {"category": "NFS"}}}),
            field: "spec.volume.category",
            says: "NFS",
        },
        Refused {
            reason: "a server type outside the enum",
            base: ECS,
            patch: json!({"spec": {"serverType": "VM"}}),
            field: "spec.serverType",
            says: "VM",
        },
        Refused {
            reason: "a pool scope outside the enum",
            base: POOL,
            patch: json!({"spec": {"scope": ["Batch"]}}),
            field: "spec.scope.0",
            says: "Batch",
        },
        Refused {
            reason: "an auto-stop type outside the enum",
            base: NOTEBOOK,
            patch: json!({"spec": {"autoStop": {"type": "NEVER"}}}),
            field: "spec.autoStop.type",
            says: "NEVER",
        },
        Refused {
            reason: "a tag key with the reserved _sys_ prefix",
            base: NOTEBOOK,
            patch: json!({"spec": {"tags": {"_sys_owner": "x"}}}),
            field: "spec.tags",
            says: "_sys_",
        },
        Refused {
            reason: "a tag key with a leading space",
            base: POOL,
            patch: json!({"spec": {"tags": {" team": "x"}}}),
            field: "spec.tags",
            says: "space",
        },
        Refused {
            reason: "a tag key longer than 128 characters",
            base: NOTEBOOK,
            patch: json!({"spec": {"tags": {long_key: "x"}}}),
            field: "spec.tags",
            says: "128",
        },
        Refused {
            reason: "a tag value with a character ModelArts refuses",
            base: NOTEBOOK,
            patch: json!({"spec": {"tags": {"team": "ml#1"}}}),
            field: "spec.tags",
            says: "values may contain only",
        },
        Refused {
            reason: "a tag value longer than 255 characters",
            base: HPS,
            patch: json!({"spec": {"tags": {"team": "v".repeat(256)}}}),
            field: "spec.tags.team",
            says: "longer",
        },
        Refused {
            reason: "more than 20 tags",
            base: NOTEBOOK,
            patch: json!({"spec": {"tags": many_tags}}),
            field: "spec.tags",
            says: "more than 20",
        },
        Refused {
            reason: "an auto-stop duration above 72 hours",
            base: NOTEBOOK,
            patch: json!({"spec": {"autoStop": {"duration": "73h"}}}),
            field: "spec.autoStop",
            says: "between 1h and 72h",
        },
        Refused {
            reason: "an auto-stop duration below one hour",
            base: NOTEBOOK,
            patch: json!({"spec": {"autoStop": {"duration": "30m"}}}),
            field: "spec.autoStop",
            says: "between 1h and 72h",
        },
        Refused {
            reason: "an auto-stop duration that is not a duration",
            base: NOTEBOOK,
            patch: json!({"spec": {"autoStop": {"duration": "4 hours"}}}),
            field: "spec.autoStop.duration",
            says: "does not match",
        },
        Refused {
            reason: "an EVS capacity above 4096 GB",
            base: NOTEBOOK,
            patch: json!({"spec": {"volume": {"capacity": 5000}}}),
            field: "spec.volume.capacity",
            says: "4096",
        },
        Refused {
            reason: "a root volume below 100 GB",
            base: ECS,
            patch: json!({"spec": {"rootVolume": {"size": 50}}}),
            field: "spec.rootVolume.size",
            says: "100",
        },
        Refused {
            reason: "a notebook without a flavor",
            base: NOTEBOOK,
            patch: json!({"spec": {"flavor": null}}),
            field: "spec",
            says: "flavor",
        },
        Refused {
            reason: "a Lite Server without a network",
            base: ECS,
            patch: json!({"spec": {"network": null}}),
            field: "spec",
            says: "network",
        },
        Refused {
            reason: "a pool without resources",
            base: POOL,
            patch: json!({"spec": {"resources": null}}),
            field: "spec",
            says: "resources",
        },
        Refused {
            reason: "both poolRef and poolId",
            base: NOTEBOOK,
            patch: json!({"spec": {"poolRef": {"name": "gpu-pool"}, "poolId": "pool-1"}}),
            field: "spec",
            says: "spec.poolRef and spec.poolId are mutually exclusive",
        },
        Refused {
            reason: "both a key pair and a password Secret",
            base: ECS,
            patch: json!({"spec": {"login": {"passwordSecretRef": {"name": "s", "key": "password"}}}}),
            field: "spec.login",
            says: "exactly one of keyPairName or passwordSecretRef",
        },
        Refused {
            reason: "neither a key pair nor a password Secret",
            base: ECS,
            patch: json!({"spec": {"login": {"keyPairName": null}}}),
            field: "spec.login",
            says: "exactly one of keyPairName or passwordSecretRef",
        },
        Refused {
            reason: "a password login on a supernode",
            base: HPS,
            patch: json!({"spec": {"login": {"keyPairName": null, "passwordSecretRef": {"name": "s", "key": "p"}}}}),
            field: "spec",
            says: "supernodes accept only key pairs",
        },
        Refused {
            reason: "a supernode without an HPS cluster",
            base: HPS,
            patch: json!({"spec": {"hpsClusterId": null}}),
            field: "spec",
            says: "spec.hpsClusterId is required for serverType HPS",
        },
        Refused {
            reason: "an HPS cluster on an ECS server",
            base: ECS,
            patch: json!({"spec": {"hpsClusterId": "c-1"}}),
            field: "spec",
            says: "spec.hpsClusterId is required for serverType HPS and not allowed otherwise",
        },
        Refused {
            reason: "tags on an ECS server",
            base: ECS,
            patch: json!({"spec": {"tags": {"team": "ml"}}}),
            field: "spec",
            says: "only HPS supernodes have a tag API",
        },
        Refused {
            reason: "per-flavor nodes on an ECS server",
            base: ECS,
            patch: json!({"spec": {"nodes": [{"flavor": "f", "count": 2}]}}),
            field: "spec",
            says: "spec.nodes applies to serverType HPS only",
        },
        Refused {
            reason: "a yearly/monthly server that is not adopted",
            base: ECS,
            patch: json!({"spec": {"chargingMode": "PRE_PAID"}}),
            field: "spec",
            says: "PRE_PAID is only allowed with spec.resourceId",
        },
        Refused {
            reason: "a Logical pool count above maxCount",
            base: POOL,
            patch: json!({"spec": {"type": "Logical", "network": null, "resources": [{"flavor": "f", "count": 3, "maxCount": 2}]}}),
            field: "spec.resources[0]",
            says: "must not exceed maxCount",
        },
        Refused {
            reason: "a pool whose every flavor is scaled to zero",
            base: POOL,
            patch: json!({"spec": {"resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 0}]}}),
            field: "spec",
            says: "at least one flavor needs a count above 0",
        },
        Refused {
            reason: "a maxCount on a Dedicate pool",
            base: POOL,
            patch: json!({"spec": {"resources": [{"flavor": "f", "count": 2, "maxCount": 2}]}}),
            field: "spec",
            says: "spec.resources[].maxCount applies to Logical pools only",
        },
        Refused {
            reason: "a notebook named with a dot and no display name",
            base: NOTEBOOK,
            patch: json!({"metadata": {"name": "research.notebook"}, "spec": {"displayName": null}}),
            field: "",
            says: "metadata.name is not a valid ModelArts notebook name",
        },
        Refused {
            reason: "a pool named with a dot and no display name",
            base: POOL,
            patch: json!({"metadata": {"name": "gpu.pool"}, "spec": {"displayName": null}}),
            field: "",
            says: "metadata.name is not a valid ModelArts pool name",
        },
        Refused {
            reason: "a server whose metadata.name is too long to be its name",
            base: ECS,
            patch: json!({"metadata": {"name": "x".repeat(65)}, "spec": {"name": null}}),
            field: "",
            says: "metadata.name is longer than the 64 characters",
        },
        Refused {
            reason: "a Dedicate pool without a network",
            base: POOL,
            patch: json!({"spec": {"network": null}}),
            field: "spec",
            says: "spec.network is required for Dedicate pools",
        },
        Refused {
            reason: "a server name with a space",
            base: ECS,
            patch: json!({"spec": {"name": "dev box"}}),
            field: "spec.name",
            says: "does not match",
        },
        Refused {
            reason: "a notebook display name with a dot",
            base: NOTEBOOK,
            patch: json!({"spec": {"displayName": "my.notebook"}}),
            field: "spec.displayName",
            says: "does not match",
        },
        Refused {
            reason: "a storage mount outside /data/",
            base: NOTEBOOK,
            patch: json!({"spec": {"storageMounts": [{"category": "OBS", "uri": "obs://b/", "mountPath": "/home/x"}]}}),
            field: "spec.storageMounts.0.mountPath",
            says: "does not match",
        },
        Refused {
            reason: "an EFS mount without its file system ID",
            base: NOTEBOOK,
            patch: json!({"spec": {"storageMounts": [{"category": "EFS", "uri": "x.sfsturbo.internal:/d", "mountPath": "/data/d"}]}}),
            field: "spec.storageMounts[0]",
            says: "efsId is required",
        },
        Refused {
            reason: "a dedicated EVS volume",
            base: NOTEBOOK,
            patch: json!({"spec": {"volume": {"ownership": "DEDICATED", "uri": "x"}}}),
            field: "spec.volume",
            says: "DEDICATED is only possible with category EFS",
        },
        Refused {
            reason: "an OBS volume without a DEW secret",
            base: NOTEBOOK,
            patch: json!({"spec": {"volume": {"category": "OBS", "capacity": null}}}),
            field: "spec.volume",
            says: "dewSecretName is required",
        },
        Refused {
            reason: "a malformed region",
            base: POOL,
            patch: json!({"spec": {"region": "North China"}}),
            field: "spec.region",
            says: "does not match",
        },
        Refused {
            reason: "a reboot trigger that is not a timestamp",
            base: ECS,
            patch: json!({"spec": {"rebootRequestedAt": "yesterday"}}),
            field: "spec.rebootRequestedAt",
            says: "date-time",
        },
    ]
}

#[test]
fn invalid_manifests_are_refused_with_an_error_naming_the_field() {
    let mut failures = Vec::new();
    for case in refused_cases() {
        let (kind, file) = case.base;
        let manifest = patched(&example(file), case.patch);
        let errors = admission_errors(kind, &manifest, None);
        let named = errors.iter().any(|e| {
            (case.field.is_empty() || e.starts_with(&format!("{}:", case.field))) && e.contains(case.says)
        });
        if !named {
            failures.push(format!(
                "{}: expected `{}: …{}…`, got {errors:#?}",
                case.reason, case.field, case.says
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_notebook_display_name_may_contain_chinese_characters() {
    let manifest = patched(
        &example(NOTEBOOK.1),
        json!({"spec": {"displayName": "实验-notebook_1"}}),
    );
    assert_eq!(
        admission_errors("Notebook", &manifest, None),
        Vec::<String>::new()
    );
}

#[test]
fn a_lite_server_may_log_in_with_a_password_read_from_a_secret() {
    let manifest = patched(
        &example(ECS.1),
        json!({"spec": {"login": {"keyPairName": null, "passwordSecretRef": {"name": "root-pw", "key": "password"}}}}),
    );
    assert_eq!(
        admission_errors("LiteServer", &manifest, None),
        Vec::<String>::new()
    );
}

#[test]
fn a_fully_populated_status_written_by_the_operator_passes_the_schema() {
    let status = json!({
        "cloudId": "nb-1", "cloudState": "RUNNING",
        "endpoints": {"url": "https://example.invalid/lab", "ips": ["192.0.2.10"], "ssh": ["192.0.2.10:22"]},
        "managedTagKeys": ["team"],
        "pendingCreate": {"token": "t", "requestedAt": "2026-11-22T14:00:00Z", "name": "nb"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "Available", "message": "",
                        "lastTransitionTime": "2026-11-22T14:00:00Z", "observedGeneration": 1}],
        "observedGeneration": 1, "lastSyncTime": "2026-11-22T14:00:00Z",
    });
    let cases = [
        (
            NOTEBOOK,
            json!({"leaseExpiresAt": "2026-11-22T18:00:00Z", "poolId": "pool-1", "stoppedForUpdate": true,
                          "storageMounts": [{"id": "s1", "mountPath": "/data/x", "status": "MOUNTED"}]}),
        ),
        (
            POOL,
            json!({"availableNodes": 2, "desiredNodes": 2, "message": "ok",
                      "resources": [{"flavor": "f", "available": 2, "creating": 0, "deleting": 0, "abnormal": 0}],
                      "scope": [{"scopeType": "Train", "state": "Enabled"}]}),
        ),
        (
            HPS,
            json!({"childServers": [{"id": "c1", "status": "RUNNING"}], "nodeCount": 1,
                     "lastRebootRequestedAt": "2026-11-22T09:00:00Z", "underlyingServerId": "ecs-1"}),
        ),
    ];
    for ((kind, file), extra) in cases {
        let manifest = patched(&example(file), json!({"status": patched(&status, extra)}));
        assert_eq!(
            schema_support::structural_errors(kind, &manifest),
            Vec::<String>::new(),
            "{kind} status"
        );
        // The typed status reads the same document back.
        let typed = match kind {
            "Notebook" => serde_json::from_value::<modelarts_operator::api::Notebook>(manifest).map(|_| ()),
            "ResourcePool" => {
                serde_json::from_value::<modelarts_operator::api::ResourcePool>(manifest).map(|_| ())
            }
            _ => serde_json::from_value::<modelarts_operator::api::LiteServer>(manifest).map(|_| ()),
        };
        assert!(typed.is_ok(), "{kind}: {typed:?}");
    }
}
