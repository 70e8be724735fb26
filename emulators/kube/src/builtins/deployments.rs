//! A minimal deployment controller. There is no kubelet, so no Pod is ever created or run; the
//! emulator assumes every replica runs elsewhere (as the operator does in tests: outside the
//! emulator) and is ready at once. On each Deployment change it keeps one ReplicaSet per pod
//! template (`<name>-<pod-template-hash>`, owned by the Deployment, old ones scaled to 0 and pruned
//! to `revisionHistoryLimit`), sets the `deployment.kubernetes.io/revision` annotations, and
//! writes the status a real controller reports once all pods are available, so `kubectl rollout
//! status`, `helm install --wait` (kstatus) and `kubectl wait --for=condition=Available` finish.
//! ReplicaSets get the matching status too. Switch it off with `Options::workload_controllers`.

use serde_json::{Value, json};

use crate::objects::{self, Part, WriteOpts};
use crate::registry::ResourceDef;
use crate::store::State;

const REVISION: &str = "deployment.kubernetes.io/revision";

/// `rand.SafeEncodeString` of the FNV-1a hash of the template, as the pod-template-hash label.
pub fn template_hash(template: &Value) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut hash: u32 = 0x811c9dc5;
    for b in template.to_string().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x01000193);
    }
    hash.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

fn def(state: &State, plural: &str) -> Option<std::sync::Arc<ResourceDef>> {
    state.registry.get("apps", "v1", plural)
}

fn owned_by(object: &Value, uid: &Value) -> bool {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == *uid && r["controller"] == true)
}

fn revision(object: &Value) -> i64 {
    object["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Brings the Deployment's ReplicaSets and status in line with its spec.
pub fn reconcile(state: &mut State, deployment: &Value) {
    if !state.workload_controllers || crate::meta::is_deleting(deployment) {
        return;
    }
    let (Some(rs_def), Some(dep_def)) = (def(state, "replicasets"), def(state, "deployments")) else {
        return;
    };
    let ns = deployment["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = deployment["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let uid = deployment["metadata"]["uid"].clone();
    let spec = &deployment["spec"];
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let hash = template_hash(&spec["template"]);
    let new_name = format!("{name}-{hash}");
    let mut owned: Vec<Value> = state
        .objects
        .get(&rs_def.storage_key())
        .map(|m| {
            m.iter()
                .filter(|((o_ns, _), o)| *o_ns == ns && owned_by(o, &uid))
                .map(|(_, o)| (**o).clone())
                .collect()
        })
        .unwrap_or_default();
    owned.sort_by_key(revision);
    let paused = spec["paused"].as_bool() == Some(true);
    let opts = WriteOpts::default();
    let max_old = owned
        .iter()
        .filter(|r| r["metadata"]["name"] != new_name.as_str())
        .map(revision)
        .max()
        .unwrap_or(0);
    let existing = owned
        .iter()
        .find(|r| r["metadata"]["name"] == new_name.as_str())
        .cloned();
    let current_revision = match &existing {
        Some(rs) if revision(rs) > max_old => revision(rs),
        _ => max_old + 1,
    };
    if !paused {
        let mut rs = existing
            .clone()
            .unwrap_or_else(|| new_replica_set(deployment, &new_name, &hash));
        rs["spec"]["replicas"] = json!(replicas);
        rs["metadata"]["annotations"][REVISION] = json!(current_revision.to_string());
        rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(replicas.to_string());
        let result = match existing {
            Some(old) => objects::finish_update(state, &rs_def, old, rs, Part::Main, &opts),
            None => objects::create(state, &rs_def, Some(&ns), rs, &opts),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, deployment = %name, "deployment controller could not write its ReplicaSet");
            return;
        }
        // Old ReplicaSets are scaled to zero; beyond revisionHistoryLimit they are deleted.
        let limit = spec["revisionHistoryLimit"].as_i64().unwrap_or(10).max(0) as usize;
        let old: Vec<&Value> = owned
            .iter()
            .filter(|r| r["metadata"]["name"] != new_name.as_str())
            .collect();
        let doomed = old.len().saturating_sub(limit);
        for (i, rs) in old.into_iter().enumerate() {
            let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default().to_string();
            if i < doomed {
                let _ = objects::delete(state, &rs_def, Some(&ns), &rs_name, &Value::Null, &opts);
            } else if rs["spec"]["replicas"] != 0 {
                let mut scaled = rs.clone();
                scaled["spec"]["replicas"] = json!(0);
                let _ = objects::finish_update(state, &rs_def, rs.clone(), scaled, Part::Main, &opts);
            }
        }
    }
    let Ok(live) = objects::current(state, &dep_def, Some(&ns), &name) else {
        return;
    };
    let mut updated = live.clone();
    if !paused {
        updated["metadata"]["annotations"][REVISION] = json!(current_revision.to_string());
        if updated != live {
            if objects::finish_update(state, &dep_def, live, updated, Part::Main, &opts).is_err() {
                return;
            }
            // The write above re-entered this controller, which may have written status already.
            let Ok(latest) = objects::current(state, &dep_def, Some(&ns), &name) else {
                return;
            };
            updated = latest;
        }
    }
    let status = deployment_status(&updated, &new_name, paused);
    if updated["status"] != status {
        let mut with_status = updated.clone();
        with_status["status"] = status;
        let _ = objects::finish_update(state, &dep_def, updated, with_status, Part::Status, &opts);
    }
}

fn new_replica_set(deployment: &Value, name: &str, hash: &str) -> Value {
    let meta = &deployment["metadata"];
    let spec = &deployment["spec"];
    let mut labels = spec["template"]["metadata"]["labels"].clone();
    if !labels.is_object() {
        labels = json!({});
    }
    labels["pod-template-hash"] = json!(hash);
    let mut template = spec["template"].clone();
    template["metadata"]["labels"] = labels.clone();
    let mut selector = spec["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"deployment.kubernetes.io/max-replicas": max_replicas(spec).to_string()},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"], "uid": meta["uid"],
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {"selector": selector, "template": template, "minReadySeconds": spec["minReadySeconds"].as_i64().unwrap_or(0)},
    })
}

fn max_replicas(spec: &Value) -> i64 {
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let surge = &spec["strategy"]["rollingUpdate"]["maxSurge"];
    let extra = match (surge.as_i64(), surge.as_str().and_then(|s| s.strip_suffix('%'))) {
        (Some(n), _) => n,
        (None, Some(pct)) => (replicas * pct.parse::<i64>().unwrap_or(0) + 99) / 100,
        _ => 0,
    };
    replicas + extra
}

fn condition(old: &Value, type_: &str, status: &str, reason: &str, message: &str) -> Value {
    let now = crate::meta::now_rfc3339();
    let previous = old["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .cloned();
    let unchanged = previous
        .as_ref()
        .is_some_and(|p| p["status"] == status && p["reason"] == reason);
    let transition = match &previous {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    let update = match &previous {
        Some(p) if unchanged => p["lastUpdateTime"].clone(),
        _ => json!(now),
    };
    json!({"type": type_, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition,
           "reason": reason, "message": message})
}

/// What the deployment controller reports once every replica of the new ReplicaSet is available.
fn deployment_status(deployment: &Value, rs_name: &str, paused: bool) -> Value {
    let old = &deployment["status"];
    let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
    let mut status = json!({"observedGeneration": deployment["metadata"]["generation"]});
    if replicas > 0 {
        for field in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            status[field] = json!(replicas);
        }
    }
    let progressing = if paused {
        condition(
            old,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
        )
    } else {
        condition(
            old,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        )
    };
    status["conditions"] = json!([
        condition(
            old,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability."
        ),
        progressing,
    ]);
    status
}

/// A ReplicaSet's status with all its replicas assumed running and ready elsewhere.
pub fn reconcile_replica_set(state: &mut State, rs: &Value) {
    if !state.workload_controllers || crate::meta::is_deleting(rs) {
        return;
    }
    let Some(rs_def) = def(state, "replicasets") else {
        return;
    };
    let replicas = rs["spec"]["replicas"].as_i64().unwrap_or(1);
    let mut status = json!({"replicas": replicas, "observedGeneration": rs["metadata"]["generation"]});
    if replicas > 0 {
        for field in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
            status[field] = json!(replicas);
        }
    }
    if rs["status"] != status {
        let mut with_status = rs.clone();
        with_status["status"] = status;
        let _ = objects::finish_update(
            state,
            &rs_def,
            rs.clone(),
            with_status,
            Part::Status,
            &WriteOpts::default(),
        );
    }
}

/// The disruption controller's status for each PodDisruptionBudget of a namespace, counting the
/// replicas of matching ReplicaSets as healthy pods (they are assumed to run elsewhere).
pub fn reconcile_pdbs(state: &mut State, ns: &str) {
    if !state.workload_controllers {
        return;
    }
    let Some(pdb_def) = state.registry.get("policy", "v1", "poddisruptionbudgets") else {
        return;
    };
    let in_ns = |key: &str| -> Vec<Value> {
        state
            .objects
            .get(key)
            .map(|m| {
                m.iter()
                    .filter(|((o_ns, _), _)| o_ns == ns)
                    .map(|(_, o)| (**o).clone())
                    .collect()
            })
            .unwrap_or_default()
    };
    let replica_sets = in_ns("apps/replicasets");
    for pdb in in_ns(&pdb_def.storage_key()) {
        if crate::meta::is_deleting(&pdb) {
            continue;
        }
        let selector = &pdb["spec"]["selector"];
        let expected: i64 = replica_sets
            .iter()
            .filter(|rs| super::selector::matches(selector, &rs["spec"]["template"]["metadata"]["labels"]))
            .map(|rs| rs["status"]["readyReplicas"].as_i64().unwrap_or(0))
            .sum();
        let scaled = |v: &Value| match (v.as_i64(), v.as_str().and_then(|s| s.strip_suffix('%'))) {
            (Some(n), _) => n,
            (None, Some(pct)) => (expected * pct.parse::<i64>().unwrap_or(0) + 99) / 100,
            _ => 0,
        };
        let spec = &pdb["spec"];
        let desired = if !spec["maxUnavailable"].is_null() {
            (expected - scaled(&spec["maxUnavailable"])).max(0)
        } else if !spec["minAvailable"].is_null() {
            scaled(&spec["minAvailable"])
        } else {
            0
        };
        let allowed = (expected - desired).max(0);
        let generation = pdb["metadata"]["generation"].clone();
        let (cond_status, reason) = if allowed > 0 {
            ("True", "SufficientPods")
        } else {
            ("False", "InsufficientPods")
        };
        let old_cond = pdb["status"]["conditions"][0].clone();
        let transition = if old_cond["status"] == cond_status {
            old_cond["lastTransitionTime"].clone()
        } else {
            json!(crate::meta::now_rfc3339())
        };
        let status = json!({
            "observedGeneration": generation, "disruptionsAllowed": allowed, "currentHealthy": expected,
            "desiredHealthy": desired, "expectedPods": expected,
            "conditions": [{"type": "DisruptionAllowed", "status": cond_status, "reason": reason, "message": "",
                            "observedGeneration": generation, "lastTransitionTime": transition}],
        });
        if pdb["status"] != status {
            let mut with_status = pdb.clone();
            with_status["status"] = status;
            let _ = objects::finish_update(
                state,
                &pdb_def,
                pdb,
                with_status,
                Part::Status,
                &WriteOpts::default(),
            );
        }
    }
}
