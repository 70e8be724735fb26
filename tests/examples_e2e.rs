//! `kubectl apply -k deploy/examples` on a fresh cluster (kube-emulator) with the operator
//! against modelarts-emulator: every object becomes Ready with exactly one cloud resource, every
//! printer column reads right in `kubectl get -o wide`, and the unfilled Secret template says
//! which key still holds a placeholder. kubectl runs synchronously, so the tests use a
//! multi-threaded runtime: the in-process API server keeps serving while kubectl waits.
mod support;

use kube::Api;
use modelarts_operator::{
    api::{LiteServer, Notebook, ResourcePool},
    cloud::{
        ClientConfig, Credentials, ModelArtsClient,
        lite_servers::ServerFilter,
        notebooks::{CreateNotebookRequest, NotebookFilter, VolumeMount},
        pools::PoolFilter,
    },
};
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};
use support::{Env, condition};

const NS: &str = "ml-team";
const T: Duration = Duration::from_secs(60);

fn kubectl() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples")
}

/// A scratch directory with the emulator's kubeconfig and, when `keys` is given, an overlay
/// that fills the Secret template with them (kustomize refuses absolute paths to a base, so the
/// overlay names deploy/examples relative to itself).
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(env: &Env, name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("modelarts-examples-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("overlay")).expect("scratch dir");
        env.kube
            .write_kubeconfig(dir.join("kubeconfig"))
            .expect("kubeconfig written");
        Scratch { dir }
    }

    fn overlay(&self, keys: &[(&str, &str)]) -> PathBuf {
        let overlay = self.dir.join("overlay");
        let depth = overlay.components().count() - 1;
        let base = format!(
            "{}{}",
            "../".repeat(depth),
            examples_dir().to_string_lossy().trim_start_matches('/')
        );
        let data: Vec<String> = keys.iter().map(|(k, v)| format!("{k}: \"{v}\"")).collect();
        let text = format!(
            "resources:\n  - {base}\npatches:\n  - target: {{kind: Secret, name: hwcloud-credentials}}\n    \
             patch: |-\n      apiVersion: v1\n      kind: Secret\n      metadata: {{name: hwcloud-credentials}}\n      \
             stringData: {{{}}}\n",
            data.join(", ")
        );
        std::fs::write(overlay.join("kustomization.yaml"), text).expect("overlay written");
        overlay
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = Command::new(kubectl())
            .arg("--kubeconfig")
            .arg(self.dir.join("kubeconfig"))
            .args(args)
            .output()
            .expect("kubectl runs");
        assert!(
            out.status.success(),
            "kubectl {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_ready<K: serde::Serialize>(obj: &K) -> bool {
    let v = serde_json::to_value(obj).expect("serialises");
    v["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

async fn wait_ready<K>(env: &Env, name: &str) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize,
{
    let api: Api<K> = Api::namespaced(env.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let obj = api.get_opt(name).await.expect("get succeeds");
        if let Some(obj) = &obj
            && is_ready(obj)
        {
            return obj.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} not Ready after {T:?}: {obj:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn cloud(env: &Env) -> ModelArtsClient {
    let config = ClientConfig::new(
        modelarts_emulator::DEFAULT_REGION,
        modelarts_emulator::DEFAULT_PROJECT_ID,
    )
    .with_endpoint(env.cloud.base_url());
    ModelArtsClient::new(
        config,
        Credentials::ak_sk(modelarts_emulator::DEFAULT_AK, modelarts_emulator::DEFAULT_SK),
    )
    .expect("client")
}

/// Cloud IDs per family: (notebooks, pools, dev-servers that are not supernode children, hyperinstances).
async fn cloud_ids(client: &ModelArtsClient) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let mut notebooks: Vec<String> = client
        .list_all_notebooks(&NotebookFilter::default(), 50)
        .await
        .expect("notebooks")
        .into_iter()
        .map(|n| n.id)
        .collect();
    let mut pools: Vec<String> = client
        .list_pools(&PoolFilter::default())
        .await
        .expect("pools")
        .into_iter()
        .map(|p| p.metadata.name)
        .collect();
    let hypers = client
        .list_all_hyperinstances(&ServerFilter::default(), 50)
        .await
        .expect("hyperinstances");
    let children: Vec<String> = hypers
        .iter()
        .flat_map(|h| h.servers.iter().map(|s| s.id.clone()))
        .collect();
    let mut servers: Vec<String> = client
        .list_all_servers(&ServerFilter::default(), 50)
        .await
        .expect("servers")
        .into_iter()
        .filter(|s| !children.contains(&s.id) && s.category.as_deref() != Some("HPS"))
        .map(|s| s.id)
        .collect();
    let mut hypers: Vec<String> = hypers.into_iter().map(|h| h.id).collect();
    for ids in [&mut notebooks, &mut pools, &mut servers, &mut hypers] {
        ids.sort();
    }
    (notebooks, pools, servers, hypers)
}

fn json<K: serde::Serialize>(obj: &K) -> Value {
    serde_json::to_value(obj).expect("serialises")
}

fn cloud_id<K: serde::Serialize>(obj: &K) -> String {
    serde_json::to_value(obj).expect("serialises")["status"]["cloudId"]
        .as_str()
        .expect("status.cloudId")
        .to_string()
}

/// The value a printer column's JSONPath selects: `.a.b` or the conditions filter.
fn select(obj: &Value, path: &str) -> Option<String> {
    let value = if let Some(rest) = path.strip_prefix(".status.conditions[?(@.type==\"") {
        let type_ = rest.split('"').next().unwrap_or_default();
        obj["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)?
            .get(rest.rsplit_once(")].").map(|(_, f)| f).unwrap_or("status"))?
            .clone()
    } else {
        path.trim_start_matches('.')
            .split('.')
            .try_fold(obj, |v, k| v.get(k))?
            .clone()
    };
    match value {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `kubectl get <plural> -o wide` for every object of a kind, each cell checked against the
/// object's JSON through the CRD's own column definitions.
fn check_columns(scratch: &Scratch, plural: &str, objects: &[Value], allowed_empty: &[(&str, &str)]) {
    let crd = modelarts_operator::api::crds()
        .into_iter()
        .find(|c| c.spec.names.plural == plural)
        .expect("CRD of the kind");
    let columns = crd.spec.versions[0]
        .additional_printer_columns
        .clone()
        .expect("printer columns");
    let out = scratch.kubectl(&["get", plural, "-n", NS, "-o", "wide"]);
    let mut lines = out.lines();
    let header_line = lines.next().expect("header");
    let header: Vec<&str> = header_line.split_whitespace().collect();
    let mut expected_header = vec!["NAME".to_string()];
    expected_header.extend(columns.iter().map(|c| c.name.to_uppercase()));
    assert_eq!(header, expected_header, "{plural}: -o wide shows every column");
    // kubectl aligns cells under their header; an empty cell is blank, so cut by position.
    let starts: Vec<usize> = header
        .iter()
        .map(|h| {
            header_line
                .find(&format!("{h} "))
                .or_else(|| header_line.rfind(h))
                .expect("header offset")
        })
        .collect();
    let rows: Vec<Vec<&str>> = lines
        .map(|line| {
            (0..starts.len())
                .map(|i| {
                    let end = starts.get(i + 1).copied().unwrap_or(line.len()).min(line.len());
                    line.get(starts[i].min(end)..end).unwrap_or("").trim()
                })
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), objects.len(), "{plural}: one row per object\n{out}");
    let now = jiff::Timestamp::now();
    for obj in objects {
        let name = obj["metadata"]["name"].as_str().expect("name");
        let row = rows
            .iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{plural}/{name} has a row\n{out}"));
        for (column, cell) in columns.iter().zip(&row[1..]) {
            let at = format!("{plural}/{name} column {}", column.name);
            match select(obj, &column.json_path) {
                None => assert!(
                    cell.is_empty() && allowed_empty.contains(&(name, column.name.as_str())),
                    "{at} is empty ({cell}) for a Ready object\n{out}"
                ),
                Some(value) if column.type_ == "date" => {
                    // kubectl prints a date column as the age since then: only past times read right.
                    let when: jiff::Timestamp = value.parse().expect("a date column holds a timestamp");
                    assert!(
                        when <= now,
                        "{at} holds a future time {value}, which kubectl prints as 0s"
                    );
                    let age = cell.starts_with(|c: char| c.is_ascii_digit())
                        && cell.ends_with(|c: char| c.is_ascii_alphabetic())
                        && cell.chars().all(|c| c.is_ascii_alphanumeric());
                    assert!(age, "{at} reads as an age (5s, 2m3s), got {cell}");
                }
                Some(value) => assert_eq!(*cell, value, "{at}\n{out}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_apply_k_of_the_examples_brings_every_object_to_ready_with_one_cloud_resource_each() {
    let env = Env::start_with(|c| c.engine.waiting = Duration::from_millis(200)).await;
    let client = cloud(&env);
    // Someone else's notebook in the same project: nothing the examples do may touch it.
    let foreign = client
        .create_notebook(&CreateNotebookRequest {
            name: "someone-elses".into(),
            image_id: support::IMAGE.into(),
            flavor: Some("modelarts.vm.cpu.2u".into()),
            volume: VolumeMount {
                category: "EVS".into(),
                ownership: "MANAGED".into(),
                capacity: Some(5),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .expect("foreign notebook created");

    let scratch = Scratch::new(&env, "ready");
    let overlay = scratch.overlay(&[
        ("accessKey", modelarts_emulator::DEFAULT_AK),
        ("secretKey", modelarts_emulator::DEFAULT_SK),
        ("projectId", modelarts_emulator::DEFAULT_PROJECT_ID),
    ]);
    let applied = scratch.kubectl(&["apply", "-k", &overlay.to_string_lossy()]);
    for line in [
        "namespace/ml-team created",
        "secret/hwcloud-credentials created",
        "resourcepool.modelarts.operator.dev/gpu-pool created",
        "notebook.modelarts.operator.dev/research-notebook created",
        "notebook.modelarts.operator.dev/pool-notebook created",
        "liteserver.modelarts.operator.dev/dev-box created",
        "liteserver.modelarts.operator.dev/training-supernode created",
    ] {
        assert!(applied.contains(line), "{line} missing from:\n{applied}");
    }

    let pool: ResourcePool = wait_ready(&env, "gpu-pool").await;
    let notebooks: Vec<Notebook> = vec![
        wait_ready(&env, "research-notebook").await,
        wait_ready(&env, "pool-notebook").await,
    ];
    let ecs: LiteServer = wait_ready(&env, "dev-box").await;
    let hps: LiteServer = wait_ready(&env, "training-supernode").await;

    // Count the cloud: exactly one resource per object, and the foreign notebook still there.
    let (cloud_notebooks, pools, servers, hypers) = cloud_ids(&client).await;
    let mut expected_notebooks: Vec<String> = notebooks.iter().map(cloud_id).collect();
    expected_notebooks.push(foreign.id.clone());
    expected_notebooks.sort();
    assert_eq!(cloud_notebooks, expected_notebooks);
    assert_eq!(pools, vec![cloud_id(&pool)]);
    assert_eq!(servers, vec![cloud_id(&ecs)]);
    assert_eq!(hypers, vec![cloud_id(&hps)]);
    let still = client.show_notebook(&foreign.id).await.expect("foreign notebook");
    assert_eq!((still.name.as_str(), still.tags.len()), ("someone-elses", 0));

    // Every printer column of every kind, as kubectl prints it, against the live object.
    check_columns(&scratch, "resourcepools", &[json(&pool)], &[]);
    let nb_values: Vec<Value> = notebooks.iter().map(json).collect();
    check_columns(&scratch, "notebooks", &nb_values, &[]);
    // An ECS server is not a supernode: it has no child-node count.
    check_columns(
        &scratch,
        "liteservers",
        &[json(&ecs), json(&hps)],
        &[("dev-box", "Nodes")],
    );
    let lease = notebooks[0]
        .status
        .as_ref()
        .and_then(|s| s.lease_expires_at.clone())
        .expect("a running notebook with auto-stop shows its lease");
    let lease: jiff::Timestamp = lease.parse().expect("RFC 3339");
    assert!(lease > jiff::Timestamp::now(), "the lease ends in the future");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_unfilled_secret_template_names_the_key_that_still_holds_a_placeholder() {
    let env = Env::start_with(|c| c.engine.waiting = Duration::from_millis(200)).await;
    let scratch = Scratch::new(&env, "placeholder");
    scratch.kubectl(&["apply", "-k", &examples_dir().to_string_lossy()]);
    let api: Api<Notebook> = Api::namespaced(env.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + T;
    let message = loop {
        let nb = api.get("research-notebook").await.expect("notebook");
        let ready = nb
            .status
            .as_ref()
            .and_then(|s| condition(&s.cloud.conditions, "Ready").cloned());
        if let Some(c) = ready.filter(|c| c.reason == "CredentialsError") {
            break c.message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no CredentialsError: {:?}",
            nb.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        message.contains("accessKey") && message.contains("REPLACE_WITH_YOUR_ACCESS_KEY"),
        "{message}"
    );
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks"),
        0,
        "nothing is created with placeholder keys"
    );
    assert_eq!(
        env.cloud.notebook_count(modelarts_emulator::DEFAULT_PROJECT_ID),
        0
    );
}
