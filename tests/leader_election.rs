//! Two `modelarts-operator run --leader-elect` processes against one cluster (kube-emulator)
//! and one cloud (modelarts-emulator). Each process signs with its own access key, so the
//! emulator's request log tells whose request every cloud call was.
mod support;

use k8s_openapi::api::{coordination::v1::Lease, core::v1::Namespace};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
};
use kube_emulator::KubeEmulator;
use modelarts_emulator::{Credential, EmulatorConfig, EmulatorHandle, Progression};
use modelarts_operator::api::Notebook;
use serde_json::json;
use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const NS: &str = "ha";
const LEASE: &str = "modelarts-operator";
const LEASE_SECONDS: u64 = 6;

struct Cluster {
    _kube: KubeEmulator,
    cloud: EmulatorHandle,
    client: Client,
    dir: PathBuf,
}

struct Replica {
    name: &'static str,
    ak: String,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = signal(self.child.id(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Replica {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn signal(pid: u32, sig: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn cluster(test: &str) -> Cluster {
    let kube = KubeEmulator::start().await.expect("kube-emulator starts");
    let credentials = ["A", "B"]
        .iter()
        .map(|r| Credential {
            ak: format!("AK{r}LEADERTEST0000000"),
            sk: format!("SK{r}"),
            security_token: None,
        })
        .collect();
    let cloud = modelarts_emulator::spawn(EmulatorConfig {
        credentials,
        request_log_capacity: 100_000,
        ..EmulatorConfig::default()
    })
    .await
    .expect("modelarts-emulator starts");
    cloud.set_all_progression(Progression::Immediate);
    let client = kube.client();
    support::install_crds(&client).await;
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(NS.into());
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("namespace created");
    let dir = std::env::temp_dir().join(format!("leader-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    kube.write_kubeconfig(dir.join("kubeconfig")).expect("kubeconfig");
    Cluster {
        _kube: kube,
        cloud,
        client,
        dir,
    }
}

impl Cluster {
    fn replica(&self, name: &'static str) -> Replica {
        self.replica_with(name, &[])
    }

    fn replica_with(&self, name: &'static str, extra: &[&str]) -> Replica {
        let ak = format!("AK{name}LEADERTEST0000000");
        let port = free_port();
        let log = self.dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
            .args([
                "run",
                "--leader-elect",
                "--lease-namespace",
                NS,
                "--lease-identity",
                name,
            ])
            .args(["--lease-duration-seconds", &LEASE_SECONDS.to_string()])
            .args(["--lease-renew-before-seconds", "2"])
            .arg("--kubeconfig")
            .arg(self.dir.join("kubeconfig"))
            .args(["--modelarts-endpoint", &self.cloud.base_url()])
            .args(["--region", modelarts_emulator::DEFAULT_REGION])
            .args(["--project-id", modelarts_emulator::DEFAULT_PROJECT_ID])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--poll-seconds", "2", "--waiting-millis", "300"])
            .args(extra)
            .env("HUAWEICLOUD_SDK_AK", &ak)
            .env("HUAWEICLOUD_SDK_SK", format!("SK{name}"))
            .env("RUST_LOG", "info,kube=warn")
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("operator starts");
        Replica {
            name,
            ak,
            child,
            port,
            log,
        }
    }

    async fn holder(&self) -> Option<String> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), NS);
        let lease = leases.get_opt(LEASE).await.ok()??;
        lease.spec?.holder_identity
    }

    async fn wait_holder(&self, name: &str, timeout: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if self.holder().await.as_deref() == Some(name) {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name} did not become the leader within {timeout:?}");
    }

    /// Cloud mutations (anything but GET) signed with `ak`.
    fn mutations_by(&self, ak: &str) -> Vec<String> {
        self.cloud
            .control()
            .request_log()
            .into_iter()
            .filter(|e| e.method != "GET" && e.access_key.as_deref() == Some(ak))
            .map(|e| format!("{} {} -> {}", e.method, e.path, e.status))
            .collect()
    }

    async fn apply_notebook(&self, name: &str) {
        let nb: Notebook = serde_json::from_value(json!({
            "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"flavor": "modelarts.vm.cpu.2u", "image": {"id": support::IMAGE},
                     "volume": {"category": "EVS", "ownership": "MANAGED"}}
        }))
        .expect("notebook");
        Api::<Notebook>::namespaced(self.client.clone(), NS)
            .patch(name, &PatchParams::apply("ha-test").force(), &Patch::Apply(&nb))
            .await
            .expect("apply");
    }

    async fn wait_ready(&self, name: &str, timeout: Duration) {
        let api = Api::<Notebook>::namespaced(self.client.clone(), NS);
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(nb) = api.get(name).await
                && support::condition(
                    nb.status.as_ref().map(|s| &s.cloud.conditions[..]).unwrap_or(&[]),
                    "Ready",
                )
                .is_some_and(|c| c.status == "True")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("Notebook {name} not Ready within {timeout:?}");
    }

    fn notebooks_in_cloud(&self) -> usize {
        self.cloud
            .control()
            .notebook_count(modelarts_emulator::DEFAULT_PROJECT_ID)
    }
}

async fn leader_status(replica: &Replica) -> u16 {
    match reqwest::get(format!("http://127.0.0.1:{}/readyz/leader", replica.port)).await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_of_two_replicas_reconciles_and_a_killed_leader_is_replaced_within_the_lease() {
    let cluster = cluster("kill").await;
    let mut a = cluster.replica("A");
    cluster.wait_holder("A", Duration::from_secs(20)).await;
    let b = cluster.replica("B");
    cluster.apply_notebook("nb-one").await;
    cluster.wait_ready("nb-one", Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(leader_status(&a).await, 200, "A leads");
    assert_eq!(leader_status(&b).await, 503, "B stands by");
    assert!(
        !cluster.mutations_by(&a.ak).is_empty(),
        "the leader created the notebook"
    );
    assert_eq!(
        cluster.mutations_by(&b.ak),
        Vec::<String>::new(),
        "the standby changed nothing"
    );
    assert_eq!(cluster.notebooks_in_cloud(), 1);

    a.child.kill().expect("SIGKILL A");
    let killed = Instant::now();
    cluster
        .wait_holder("B", Duration::from_secs(LEASE_SECONDS * 3))
        .await;
    let takeover = killed.elapsed();
    eprintln!("takeover after SIGKILL: {takeover:?} (lease {LEASE_SECONDS} s)");
    assert!(
        takeover <= Duration::from_secs(LEASE_SECONDS) + Duration::from_millis(1500),
        "B took over after {takeover:?}; the lease lasts {LEASE_SECONDS} s (+ the lease manager's random wait of at most 1 s)"
    );
    cluster.apply_notebook("nb-two").await;
    cluster.wait_ready("nb-two", Duration::from_secs(30)).await;
    assert!(
        !cluster.mutations_by(&b.ak).is_empty(),
        "the new leader reconciles"
    );
    assert_eq!(cluster.notebooks_in_cloud(), 2, "exactly one notebook per object");
    assert!(!mentions_403(&b.log_text()), "{}", b.log_text());
    let _ = b.name;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_paused_past_its_lease_sends_no_cloud_mutation_when_it_resumes() {
    let cluster = cluster("stop").await;
    // A slow token bucket keeps A's creates queued: when A resumes, they are due at once, before
    // A has re-read its Lease. Only the fence stops them.
    let a = cluster.replica_with("A", &["--rate", "0.5", "--burst", "1"]);
    cluster.wait_holder("A", Duration::from_secs(20)).await;
    let b = cluster.replica("B");
    let names: Vec<String> = (1..=5).map(|i| format!("nb-queued-{i}")).collect();
    for name in &names {
        cluster.apply_notebook(name).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    signal(a.child.id(), "STOP").expect("SIGSTOP A");
    let by_a_before = cluster.mutations_by(&a.ak);
    let stopped = Instant::now();
    cluster
        .wait_holder("B", Duration::from_secs(LEASE_SECONDS * 3))
        .await;
    eprintln!(
        "B took over {:?} after A was stopped; A had sent {} mutations",
        stopped.elapsed(),
        by_a_before.len()
    );
    signal(a.child.id(), "CONT").expect("SIGCONT A");
    tokio::time::sleep(Duration::from_secs(4)).await;

    let by_a_after = cluster.mutations_by(&a.ak);
    assert_eq!(
        by_a_after[by_a_before.len()..].to_vec(),
        Vec::<String>::new(),
        "the resumed old leader mutated the cloud; its log:\n{}",
        a.log_text()
    );
    assert!(
        a.log_text().contains("lost the leader lease"),
        "A noticed it lost the lease:\n{}",
        a.log_text()
    );
    assert_eq!(leader_status(&a).await, 503, "A stands by");
    assert_eq!(leader_status(&b).await, 200, "B leads");
    let cloud_names: Vec<String> = cluster
        .cloud
        .control()
        .request_log()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/notebooks") && e.status < 300)
        .map(|e| e.request_id)
        .collect();
    assert!(
        cloud_names.len() <= names.len() && cluster.notebooks_in_cloud() <= names.len(),
        "never more than one notebook per object: {} creates",
        cloud_names.len()
    );
}

/// A 403 in the log, not the digits inside a longer number (the listen port 127.0.0.1:40367 made
/// this check fail once).
fn mentions_403(log: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    log.match_indices("403")
        .any(|(i, _)| !digit(log[..i].chars().next_back()) && !digit(log[i + 3..].chars().next()))
}

#[test]
fn a_port_number_is_not_a_403() {
    assert!(!mentions_403("listen=127.0.0.1:40367 port 14030"));
    assert!(mentions_403("status: 403, Forbidden"));
}
