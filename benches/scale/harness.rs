//! The bench's side of the wire: emulator processes, the "kubectl" that applies and watches
//! Notebooks, the emulator control API, and the process's memory figures.
use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, PostParams},
    core::Request,
};
use modelarts_operator::{
    cloud::Credentials,
    runtime::credentials::{OperatorCredentials, Source},
};
use serde::Deserialize;
use std::{collections::BTreeMap, path::Path, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub const SECRET: &str = "modelarts-credentials";

/// The kind a run applies: each has its manifest, its plural, its steady cloud state and the
/// console edit used for the drift phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchKind {
    Notebook,
    Pool,
    LiteServer,
}

impl BenchKind {
    pub fn plural(self) -> &'static str {
        match self {
            BenchKind::Notebook => "notebooks",
            BenchKind::Pool => "resourcepools",
            BenchKind::LiteServer => "liteservers",
        }
    }

    /// The cloud state a corrected object is back in.
    pub fn steady_state(self) -> &'static str {
        match self {
            BenchKind::Pool => "Running",
            BenchKind::Notebook | BenchKind::LiteServer => "RUNNING",
        }
    }

    /// The route whose call shows the operator noticed the drift.
    pub fn correction_route(self) -> &'static str {
        match self {
            BenchKind::Notebook => "POST /v1/{project_id}/notebooks/{id}/start",
            BenchKind::Pool => "PATCH /v2/{project_id}/pools/{pool_name}",
            BenchKind::LiteServer => "PUT /v1/{project_id}/dev-servers/{id}/start",
        }
    }

    /// Object `i` of a run, in namespace `ns`.
    pub fn manifest(self, i: usize, ns: &str) -> serde_json::Value {
        let net = serde_json::json!({"vpcId": UUID, "subnetId": UUID, "securityGroupId": UUID});
        match self {
            BenchKind::Notebook => serde_json::json!({
                "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
                "metadata": {"name": format!("nb-{i:05}"), "namespace": ns},
                "spec": {"flavor": "modelarts.vm.cpu.2u", "image": {"id": NOTEBOOK_IMAGE},
                         "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5},
                         "tags": {"team": "scale"}}
            }),
            BenchKind::Pool => serde_json::json!({
                "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "ResourcePool",
                "metadata": {"name": format!("pool-{i:05}"), "namespace": ns},
                "spec": {"type": "Dedicate", "scope": ["Train"], "network": {"name": "network-default-0000"},
                         "resources": [{"flavor": POOL_FLAVOR, "count": 1}], "tags": {"team": "scale"}}
            }),
            BenchKind::LiteServer => serde_json::json!({
                "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "LiteServer",
                "metadata": {"name": format!("ls-{i:05}"), "namespace": ns},
                "spec": {"serverType": "ECS", "flavor": "modelarts.ecs.gpu.t4.8u32g", "image": {"id": ECS_IMAGE},
                         "network": net, "login": {"keyPairName": "kp-1"}}
            }),
        }
    }

    /// The object names a run creates.
    pub fn name(self, i: usize) -> String {
        match self {
            BenchKind::Notebook => format!("nb-{i:05}"),
            BenchKind::Pool => format!("pool-{i:05}"),
            BenchKind::LiteServer => format!("ls-{i:05}"),
        }
    }
}

const NOTEBOOK_IMAGE: &str = "e1a07296-22a8-4f05-8bc8-e936c8e54090";
const POOL_FLAVOR: &str = "modelarts.vm.cpu.16u64g.d";
const ECS_IMAGE: &str = "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e";
const UUID: &str = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f";
const PROJECT: &str = modelarts_emulator::DEFAULT_PROJECT_ID;

/// An emulator child process; killed when dropped.
pub struct Emulator {
    pub url: String,
    _child: Child,
}

impl Emulator {
    /// Starts `binary` and waits for its first stdout line, which ends with its URL.
    pub async fn spawn(binary: &Path, args: &[&str]) -> Result<Emulator, String> {
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} ({e}); build it first: cargo build --release -p kube-emulator -p modelarts-emulator --bins",
                    binary.display()
                )
            })?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .map_err(|_| format!("{} did not start in 30 s", binary.display()))?
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} exited before listening", binary.display()))?;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| format!("no URL in {line:?}"))?
            .to_string();
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Emulator { url, _child: child })
    }
}

pub fn static_credentials() -> OperatorCredentials {
    OperatorCredentials::Static(Source {
        credentials: Credentials::ak_sk(modelarts_emulator::DEFAULT_AK, modelarts_emulator::DEFAULT_SK),
        region: Some(modelarts_emulator::DEFAULT_REGION.into()),
        project_id: Some(PROJECT.into()),
    })
}

/// The bench's own kube client (its own connection pool, apart from the operator's).
pub struct Kube {
    client: Client,
    plural: &'static str,
}

#[derive(Deserialize)]
struct MiniList {
    metadata: MiniListMeta,
    items: Vec<MiniNotebook>,
}

#[derive(Deserialize)]
struct MiniListMeta {
    #[serde(rename = "continue", default)]
    continue_: Option<String>,
    #[serde(rename = "resourceVersion", default)]
    resource_version: Option<String>,
}

/// Only what the bench reads, so its own memory stays out of the operator's figure.
#[derive(Deserialize)]
struct MiniNotebook {
    metadata: MiniMeta,
    #[serde(default)]
    status: Option<MiniStatus>,
}

#[derive(Deserialize)]
struct MiniMeta {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MiniStatus {
    #[serde(default)]
    cloud_id: Option<String>,
    #[serde(default)]
    cloud_state: Option<String>,
    #[serde(default)]
    conditions: Vec<MiniCondition>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MiniCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    #[serde(default)]
    last_transition_time: Option<String>,
}

impl MiniNotebook {
    fn ready(&self) -> Option<&MiniCondition> {
        self.status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready" && c.status == "True")
    }
}

pub struct Readiness {
    pub ready: usize,
}

const NOTEBOOKS: &str = "/apis/modelarts.operator.dev/v1alpha1/namespaces";

impl Kube {
    pub async fn connect(url: &str, kind: BenchKind) -> Result<Kube, String> {
        let uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let client = Client::try_from(kube::Config::new(uri)).map_err(|e| e.to_string())?;
        Ok(Kube {
            client,
            plural: kind.plural(),
        })
    }

    /// CRDs (Established), the namespace, and the credentials Secret.
    pub async fn prepare(&self, ns: &str, secret: bool) -> Result<(), String> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for crd in modelarts_operator::api::crds() {
            crds.create(&PostParams::default(), &crd)
                .await
                .map_err(|e| e.to_string())?;
            let name = crd.name_any();
            for _ in 0..200 {
                let got = crds.get(&name).await.map_err(|e| e.to_string())?;
                let established = got
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                if established {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(ns.into());
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .map_err(|e| e.to_string())?;
        if secret {
            let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
            let mut s = Secret::default();
            s.metadata.name = Some(SECRET.into());
            s.string_data = Some(
                [
                    ("accessKey", modelarts_emulator::DEFAULT_AK),
                    ("secretKey", modelarts_emulator::DEFAULT_SK),
                    ("region", modelarts_emulator::DEFAULT_REGION),
                    ("projectId", PROJECT),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            );
            secrets
                .create(&PostParams::default(), &s)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub async fn create(&self, ns: &str, obj: serde_json::Value) -> Result<(), String> {
        let pp = PostParams {
            field_manager: Some("scale-bench".into()),
            ..Default::default()
        };
        let body = serde_json::to_vec(&obj).map_err(|e| e.to_string())?;
        let req = Request::new(format!("{NOTEBOOKS}/{ns}/{}", self.plural))
            .create(&pp, body)
            .map_err(|e| e.to_string())?;
        self.client
            .request::<serde_json::Value>(req)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    async fn page(&self, ns: &str, token: Option<String>, limit: u32) -> Result<MiniList, String> {
        let mut lp = ListParams::default().limit(limit);
        if let Some(token) = token {
            lp = lp.continue_token(&token);
        }
        let req = Request::new(format!("{NOTEBOOKS}/{ns}/{}", self.plural))
            .list(&lp)
            .map_err(|e| e.to_string())?;
        self.client
            .request::<MiniList>(req)
            .await
            .map_err(|e| e.to_string())
    }

    /// Visits every Notebook in `ns`, 500 at a time.
    async fn each(&self, ns: &str, mut f: impl FnMut(&MiniNotebook)) -> Result<(), String> {
        let mut token = None;
        loop {
            let page = self.page(ns, token, 500).await?;
            page.items.iter().for_each(&mut f);
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() {
                return Ok(());
            }
        }
    }

    pub async fn readiness(&self, ns: &str) -> Result<Readiness, String> {
        let mut ready = 0;
        self.each(ns, |nb| ready += usize::from(nb.ready().is_some()))
            .await?;
        Ok(Readiness { ready })
    }

    /// The cluster's global resourceVersion, which counts every write (kube-emulator).
    pub async fn resource_version(&self) -> Result<u64, String> {
        let page = self.page("default", None, 1).await?;
        page.metadata
            .resource_version
            .and_then(|rv| rv.parse().ok())
            .ok_or_else(|| "list without resourceVersion".to_string())
    }

    pub async fn cloud_ids(&self, ns: &str, names: &[String]) -> Result<Vec<String>, String> {
        let wanted: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut ids = Vec::new();
        self.each(ns, |nb| {
            if wanted.contains(nb.metadata.name.as_str())
                && let Some(id) = nb.status.as_ref().and_then(|s| s.cloud_id.clone())
            {
                ids.push(id);
            }
        })
        .await?;
        if ids.len() != names.len() {
            return Err(format!(
                "{} of {} drift targets have a cloud ID",
                ids.len(),
                names.len()
            ));
        }
        Ok(ids)
    }

    /// The names among `pending` not yet Ready=True and RUNNING with a Ready transition after
    /// `since` (the Ready condition flips to False when the operator notices the stop).
    pub async fn not_yet_corrected(
        &self,
        ns: &str,
        pending: Vec<String>,
        since: jiff::Timestamp,
        steady: &str,
    ) -> Result<Vec<String>, String> {
        // Condition times have second precision: compare with the drift's second.
        let since = since.as_second();
        let mut left = Vec::new();
        for name in pending {
            let req = Request::new(format!("{NOTEBOOKS}/{ns}/{}", self.plural))
                .get(&name, &Default::default())
                .map_err(|e| e.to_string())?;
            let nb: MiniNotebook = self.client.request(req).await.map_err(|e| e.to_string())?;
            let running = nb.status.as_ref().and_then(|s| s.cloud_state.as_deref()) == Some(steady);
            let flipped = nb
                .ready()
                .and_then(|c| c.last_transition_time.as_deref())
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .is_some_and(|t| t.as_second() >= since);
            if !(running && flipped) {
                left.push(name);
            }
        }
        Ok(left)
    }
}

/// modelarts-emulator's control API (unsigned, `/_emulator/...`).
pub struct Cloud {
    pub base: String,
    http: reqwest::Client,
}

impl Cloud {
    pub fn new(base: String) -> Cloud {
        Cloud {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// Per-route call counters, e.g. `"GET /v1/{project_id}/notebooks": 12`.
    pub async fn calls(&self) -> Result<BTreeMap<String, u64>, String> {
        self.http
            .get(format!("{}/_emulator/calls", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())
    }

    /// Requests the emulator's quota answered 429 so far (`/_emulator/quota`).
    pub async fn throttled(&self) -> Result<u64, String> {
        let v: serde_json::Value = self
            .http
            .get(format!("{}/_emulator/quota", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        v["throttled"]
            .as_u64()
            .ok_or_else(|| format!("/_emulator/quota: no throttled count in {v}"))
    }

    /// Every resource the cloud stores (`/_emulator/projects/{pid}/inventory`): eventually
    /// consistent ones included, no read counted; a supernode's nodes carry `parent`.
    pub async fn inventory(&self) -> Result<Vec<CloudItem>, String> {
        #[derive(Deserialize)]
        struct Inventory {
            items: Vec<CloudItem>,
        }
        let url = format!("{}/_emulator/projects/{PROJECT}/inventory", self.base);
        let resp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("inventory: {}", resp.status()));
        }
        let inventory: Inventory = resp.json().await.map_err(|e| e.to_string())?;
        Ok(inventory.items)
    }

    /// What a user does in the console behind the operator's back: stop a notebook or a Lite
    /// Server, or scale a pool to 2 nodes.
    pub async fn console_edit(&self, kind: BenchKind, id: &str) -> Result<(), String> {
        let base = format!("{}/_emulator/projects/{PROJECT}", self.base);
        let request = match kind {
            BenchKind::Notebook => self
                .http
                .post(format!("{base}/notebooks/{id}/action"))
                .json(&serde_json::json!({"action": "stop"})),
            BenchKind::LiteServer => self
                .http
                .post(format!("{base}/dev-servers/{id}/action"))
                .json(&serde_json::json!({"action": "stop"})),
            BenchKind::Pool => self
                .http
                .put(format!("{base}/pools/{id}/nodes"))
                .json(&serde_json::json!({"flavor": POOL_FLAVOR, "count": 2})),
        };
        let resp = request.send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("console edit {id}: {}", resp.status()))
        }
    }
}

/// One stored cloud resource, as the emulator's inventory lists it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CloudItem {
    /// `notebooks`, `pools`, `dev-servers` or `hyperinstances`.
    pub kind: String,
    pub id: String,
    pub name: String,
    pub status: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The supernode a dev-server is a node of.
    #[serde(default)]
    pub parent: Option<String>,
}

impl CloudItem {
    /// The inventory kind holding what one object of `kind` creates.
    pub fn kind_of(kind: BenchKind) -> &'static str {
        match kind {
            BenchKind::Notebook => "notebooks",
            BenchKind::Pool => "pools",
            BenchKind::LiteServer => "dev-servers",
        }
    }
}

/// The cloud's create calls (every `POST` of a create route), by inventory kind.
pub fn create_calls(calls: &BTreeMap<String, u64>) -> BTreeMap<&'static str, u64> {
    [
        ("notebooks", "POST /v1/{project_id}/notebooks"),
        ("pools", "POST /v2/{project_id}/pools"),
        ("dev-servers", "POST /v1/{project_id}/dev-servers"),
    ]
    .into_iter()
    .map(|(kind, route)| (kind, calls.get(route).copied().unwrap_or(0)))
    .collect()
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Peak resident set size of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` 5), so the peak excludes setup.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
