//! `modelarts-operator demo`: the whole product on one machine. Starts kube-emulator and
//! modelarts-emulator in-process, installs the CRDs, applies the embedded examples, runs the
//! controllers and prints each resource converging. Stand-ins only: nothing reaches a real cloud.
use super::{
    credentials::{OperatorCredentials, Source},
    operator::{self, OperatorConfig},
};
use crate::{
    api::{LiteServer, Notebook, ResourcePool},
    cloud::Credentials,
    engine::metrics::Metrics,
};
use clap::Args;
use k8s_openapi::{
    NamespaceResourceScope,
    api::core::v1::{Namespace, Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    apimachinery::pkg::apis::meta::v1::Condition,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use std::{collections::BTreeMap, fmt::Debug, path::PathBuf, time::Duration};

/// The examples `demo` applies, embedded so the demo runs from any directory: the files of
/// `deploy/examples/kustomization.yaml`, in its order (a test keeps the two in step).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "namespace.yaml",
        include_str!("../../deploy/examples/namespace.yaml"),
    ),
    (
        "credentials-secret.yaml",
        include_str!("../../deploy/examples/credentials-secret.yaml"),
    ),
    (
        "resource-pool.yaml",
        include_str!("../../deploy/examples/resource-pool.yaml"),
    ),
    (
        "notebook.yaml",
        include_str!("../../deploy/examples/notebook.yaml"),
    ),
    (
        "notebook-on-pool.yaml",
        include_str!("../../deploy/examples/notebook-on-pool.yaml"),
    ),
    (
        "lite-server-ecs.yaml",
        include_str!("../../deploy/examples/lite-server-ecs.yaml"),
    ),
    (
        "lite-server-hps.yaml",
        include_str!("../../deploy/examples/lite-server-hps.yaml"),
    ),
];

/// Name of the credentials Secret the examples reference; the demo fills it with the emulator's keys.
const CREDENTIALS_SECRET: &str = "hwcloud-credentials";

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where to write the kubeconfig for kubectl.
    #[arg(long, default_value = "modelarts-demo.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Address of the Kubernetes stand-in (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub kube_listen: std::net::SocketAddr,
    /// How long the emulated cloud takes per transition, in milliseconds (0 = immediate).
    #[arg(long, default_value_t = 1500)]
    pub transition_millis: u64,
    /// Exit 0 once every example is Ready (non-zero after --timeout-seconds) instead of running
    /// until Ctrl-C: for scripts and CI.
    #[arg(long)]
    pub exit_when_ready: bool,
    /// With --exit-when-ready: give up after this long.
    #[arg(long, default_value_t = 180)]
    pub timeout_seconds: u64,
}

/// One applied example, for the live view.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    kind: &'static str,
    name: String,
    state: String,
    ready: String,
    note: String,
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    // The live view says what happens; logs only for trouble (RUST_LOG=info for more).
    super::run::init_logging_with(super::run::LogFormat::Text, "warn");
    let kube = kube_emulator::KubeEmulator::start_with(Default::default(), args.kube_listen)
        .await
        .map_err(|e| format!("kube-emulator: {e}"))?;
    kube.write_kubeconfig(&args.kubeconfig)
        .map_err(|e| format!("writing {}: {e}", args.kubeconfig.display()))?;
    let cloud = modelarts_emulator::spawn(modelarts_emulator::EmulatorConfig::default())
        .await
        .map_err(|e| format!("modelarts-emulator: {e}"))?;
    let progression = match args.transition_millis {
        0 => modelarts_emulator::Progression::Immediate,
        millis => modelarts_emulator::Progression::AfterDuration { millis },
    };
    cloud.set_all_progression(progression);
    println!("modelarts-operator demo: everything below runs on loopback stand-ins, not a real cloud.");
    println!("  Kubernetes stand-in : {}", kube.url());
    println!("  ModelArts stand-in  : {}", cloud.base_url());
    println!(
        "  Use kubectl         : kubectl --kubeconfig {} get modelarts -A",
        args.kubeconfig.display()
    );

    let client = kube.client();
    install_crds(&client).await?;
    let applied = apply_examples(&client).await?;
    println!(
        "  Applied             : {}",
        applied
            .iter()
            .map(|(k, n)| format!("{k}/{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Try: kubectl --kubeconfig {} -n ml-team edit notebook research-notebook",
        args.kubeconfig.display()
    );
    println!();

    let credentials = OperatorCredentials::Static(Source {
        credentials: Credentials::ak_sk(modelarts_emulator::DEFAULT_AK, modelarts_emulator::DEFAULT_SK),
        region: Some(modelarts_emulator::DEFAULT_REGION.into()),
        project_id: Some(modelarts_emulator::DEFAULT_PROJECT_ID.into()),
    });
    let mut config = OperatorConfig::for_local(cloud.base_url(), credentials);
    config.engine.waiting = Duration::from_millis(500);
    let handle = operator::start(client.clone(), config, Metrics::default());

    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_seconds);
    let mut shown: BTreeMap<(String, String), Row> = BTreeMap::new();
    let result = loop {
        let rows = snapshot(&client).await;
        for row in &rows {
            let key = (row.kind.to_string(), row.name.clone());
            if shown.get(&key) != Some(row) {
                println!(
                    "{:<12} {:<22} state={:<12} ready={:<7} {}",
                    row.kind, row.name, row.state, row.ready, row.note
                );
                shown.insert(key, row.clone());
            }
        }
        let managed: Vec<&Row> = rows
            .iter()
            .filter(|r| operator::KINDS.contains(&r.kind))
            .collect();
        if args.exit_when_ready {
            if !managed.is_empty() && managed.iter().all(|r| r.ready == "True") {
                println!("all {} managed examples are Ready", managed.len());
                break Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                break Err(format!(
                    "not every example was Ready after {} s",
                    args.timeout_seconds
                ));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            _ = super::run::shutdown_signal() => break Ok(()),
        }
    };
    handle.shutdown().await;
    kube.shutdown().await;
    result
}

async fn install_crds(client: &Client) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crate::api::crds() {
        api.patch(
            &crd.name_any(),
            &PatchParams::apply("modelarts-demo").force(),
            &Patch::Apply(&crd),
        )
        .await
        .map_err(|e| format!("installing CRD {}: {e}", crd.name_any()))?;
    }
    for crd in crate::api::crds() {
        for _ in 0..100 {
            let got = api.get(&crd.name_any()).await.map_err(|e| e.to_string())?;
            let established = got
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// Applies every embedded example, creating its namespace and a credentials Secret holding the
/// emulator's keys first. Returns (kind, name) of what was applied.
async fn apply_examples(client: &Client) -> Result<Vec<(String, String)>, String> {
    let mut applied = Vec::new();
    for (file, text) in EXAMPLES {
        for doc in serde_yaml::Deserializer::from_str(text) {
            let value = serde_json::Value::deserialize_yaml(doc).map_err(|e| format!("{file}: {e}"))?;
            if value.is_null() {
                continue;
            }
            let kind = value["kind"].as_str().unwrap_or_default().to_string();
            let namespace = match kind.as_str() {
                "Namespace" => value["metadata"]["name"].as_str(),
                _ => value["metadata"]["namespace"].as_str(),
            }
            .unwrap_or("default")
            .to_string();
            prepare_namespace(client, &namespace).await?;
            let name = match kind.as_str() {
                // Made by prepare_namespace: the namespace, and the credentials Secret holding
                // the stand-in's keys in place of the template's placeholders.
                "Namespace" => namespace.clone(),
                "Secret" if value["metadata"]["name"] == CREDENTIALS_SECRET => CREDENTIALS_SECRET.to_string(),
                "Notebook" => apply::<Notebook>(client, &namespace, value, file).await?,
                "ResourcePool" => apply::<ResourcePool>(client, &namespace, value, file).await?,
                "LiteServer" => apply::<LiteServer>(client, &namespace, value, file).await?,
                "Secret" => apply::<Secret>(client, &namespace, value, file).await?,
                other => return Err(format!("{file}: the demo does not apply kind {other:?}")),
            };
            applied.push((kind, name));
        }
    }
    Ok(applied)
}

trait DeserializeYaml: Sized {
    fn deserialize_yaml(doc: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error>;
}

impl DeserializeYaml for serde_json::Value {
    fn deserialize_yaml(doc: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error> {
        serde::Deserialize::deserialize(doc)
    }
}

async fn apply<K>(
    client: &Client,
    namespace: &str,
    value: serde_json::Value,
    file: &str,
) -> Result<String, String>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let obj: K = serde_json::from_value(value).map_err(|e| format!("{file}: {e}"))?;
    let name = obj.name_any();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.patch(
        &name,
        &PatchParams::apply("modelarts-demo").force(),
        &Patch::Apply(&obj),
    )
    .await
    .map_err(|e| format!("{file}: applying {name}: {e}"))?;
    Ok(name)
}

async fn prepare_namespace(client: &Client, namespace: &str) -> Result<(), String> {
    let ns: Api<Namespace> = Api::all(client.clone());
    let mut object = Namespace::default();
    object.metadata.name = Some(namespace.to_string());
    ns.patch(
        namespace,
        &PatchParams::apply("modelarts-demo").force(),
        &Patch::Apply(&object),
    )
    .await
    .map_err(|e| format!("namespace {namespace}: {e}"))?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut secret = Secret::default();
    secret.metadata.name = Some(CREDENTIALS_SECRET.into());
    secret.string_data = Some(
        [
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", modelarts_emulator::DEFAULT_SK),
            ("projectId", modelarts_emulator::DEFAULT_PROJECT_ID),
            ("region", modelarts_emulator::DEFAULT_REGION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    secrets
        .patch(
            CREDENTIALS_SECRET,
            &PatchParams::apply("modelarts-demo").force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(|e| format!("credentials Secret in {namespace}: {e}"))?;
    Ok(())
}

/// The current row of every object of the three kinds.
async fn snapshot(client: &Client) -> Vec<Row> {
    let mut rows = Vec::new();
    rows.extend(
        rows_of::<Notebook>(client, "Notebook", |o| {
            o.status
                .as_ref()
                .map(|s| (&s.cloud.cloud_state, &s.cloud.conditions))
        })
        .await,
    );
    rows.extend(
        rows_of::<ResourcePool>(client, "ResourcePool", |o| {
            o.status
                .as_ref()
                .map(|s| (&s.cloud.cloud_state, &s.cloud.conditions))
        })
        .await,
    );
    rows.extend(
        rows_of::<LiteServer>(client, "LiteServer", |o| {
            o.status
                .as_ref()
                .map(|s| (&s.cloud.cloud_state, &s.cloud.conditions))
        })
        .await,
    );
    rows
}

async fn rows_of<K>(
    client: &Client,
    kind: &'static str,
    view: impl Fn(&K) -> Option<(&Option<String>, &Vec<Condition>)>,
) -> Vec<Row>
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    let api: Api<K> = Api::all(client.clone());
    let Ok(list) = api.list(&Default::default()).await else {
        return Vec::new();
    };
    list.items
        .iter()
        .map(|obj| {
            let (state, conditions) = view(obj).map(|(s, c)| (s.clone(), c.clone())).unwrap_or_default();
            let ready = conditions.iter().find(|c| c.type_ == "Ready");
            Row {
                kind,
                name: format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
                state: state.unwrap_or_else(|| "-".into()),
                ready: ready.map(|c| c.status.clone()).unwrap_or_else(|| "-".into()),
                note: ready
                    .map(|c| format!("{}: {}", c.reason, c.message))
                    .unwrap_or_default(),
            }
        })
        .collect()
}
