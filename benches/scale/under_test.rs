//! The operator a scale run measures. By default `modelarts-operator run` as a separate process
//! with the flags the bench was given, so peak RSS is that process's `VmHWM` alone; with
//! `--in-process` the operator runs inside the bench (`operator::start` with the same
//! `RunArgs::operator_config`), which adds the kube writes by kind (a client layer) but counts
//! the bench's own client in the RSS.
use crate::{
    child::Operator,
    harness::{SECRET, peak_rss_kib, reset_peak_rss, rss_kib},
    kube_writes::KubeWrites,
};
use modelarts_operator::{
    engine::metrics::Metrics,
    runtime::{
        credentials::OperatorCredentials,
        operator::{self, OperatorHandle},
        run::RunArgs,
    },
};
use std::{collections::BTreeMap, path::Path, time::Duration};

pub enum UnderTest {
    InProcess {
        handle: OperatorHandle,
        writes: KubeWrites,
        metrics: Metrics,
    },
    Child {
        operator: Operator,
        metrics_url: String,
        /// The highest VmHWM of the processes stopped so far (a restart starts a new one).
        earlier_peak_kib: u64,
    },
}

/// Memory of the operator: its peak (VmHWM) and its current RSS (VmRSS), in KiB.
pub struct Memory {
    pub peak_kib: u64,
    pub rss_kib: u64,
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The `run` command line for `args` (leader election off: one replica).
fn run_argv(args: &RunArgs, listen: &str) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    let mut flag = |name: &str, value: String| {
        argv.push(format!("--{name}"));
        argv.push(value);
    };
    let path = |p: &Path| p.to_string_lossy().into_owned();
    if let Some(p) = &args.kubeconfig {
        flag("kubeconfig", path(p));
    }
    for (name, value) in [
        ("credentials-secret", &args.credentials_secret),
        ("region", &args.region),
        ("project-id", &args.project_id),
        ("modelarts-endpoint", &args.modelarts_endpoint),
    ] {
        if let Some(v) = value {
            flag(name, v.clone());
        }
    }
    flag("concurrency", args.concurrency.to_string());
    flag("resync-seconds", args.resync_seconds.to_string());
    flag("poll-seconds", args.poll_seconds.to_string());
    flag("waiting-millis", args.waiting_millis.to_string());
    flag("create-grace-seconds", args.create_grace_seconds.to_string());
    flag("rate", args.rate.to_string());
    flag("burst", args.burst.to_string());
    flag("listen", listen.to_string());
    if !args.watch_namespaces.is_empty() {
        flag("watch-namespaces", args.watch_namespaces.join(","));
    }
    if args.delete_cloud_resources_on_crd_deletion {
        argv.push("--delete-cloud-resources-on-crd-deletion".into());
    }
    argv
}

/// A loopback port nobody listens on right now, for the child's /metrics.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

pub struct ChildSettings<'a> {
    pub binary: &'a Path,
    pub wrapper: Vec<String>,
    pub log: std::path::PathBuf,
    /// Static credentials go to the child as the SDK's environment variables.
    pub envs: Vec<(String, String)>,
}

impl UnderTest {
    pub async fn start_in_process(
        args: &RunArgs,
        credentials: OperatorCredentials,
        kubeconfig: &Path,
    ) -> Result<UnderTest, String> {
        let writes = KubeWrites::default();
        let client = writes.client(kubeconfig).await?;
        let metrics = Metrics::default();
        reset_peak_rss();
        let handle = operator::start(client, args.operator_config(credentials), metrics.clone());
        Ok(UnderTest::InProcess {
            handle,
            writes,
            metrics,
        })
    }

    pub fn start_child(args: &RunArgs, settings: ChildSettings<'_>) -> Result<UnderTest, String> {
        let listen = format!("127.0.0.1:{}", free_port()?);
        let mut operator = Operator::new(settings.binary, run_argv(args, &listen), settings.log);
        // Warnings only, as in-process (RUST_LOG for the child: MODELARTS_BENCH_OPERATOR_LOG).
        operator.log_filter = std::env::var("MODELARTS_BENCH_OPERATOR_LOG").unwrap_or_else(|_| "warn".into());
        operator.envs = settings.envs;
        operator.wrapper = settings.wrapper;
        operator.start()?;
        Ok(UnderTest::Child {
            operator,
            metrics_url: format!("http://{listen}/metrics"),
            earlier_peak_kib: 0,
        })
    }

    pub fn describe(&self) -> String {
        match self {
            UnderTest::InProcess { .. } => {
                "in the bench process (RSS includes the bench's own client)".into()
            }
            UnderTest::Child { operator, .. } => format!(
                "a separate `modelarts-operator run` process (pid {}, log {})",
                operator
                    .pid()
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "?".into()),
                operator.log.display()
            ),
        }
    }

    /// The operator's memory now; for a child, the highest peak of every process so far.
    pub fn memory(&self) -> Memory {
        match self {
            UnderTest::InProcess { .. } => Memory {
                peak_kib: peak_rss_kib(),
                rss_kib: rss_kib(),
            },
            UnderTest::Child {
                operator,
                earlier_peak_kib,
                ..
            } => {
                let pid = operator.pid();
                let read = |field| pid.and_then(|p| status_kib(p, field)).unwrap_or(0);
                Memory {
                    peak_kib: read("VmHWM:").max(*earlier_peak_kib),
                    rss_kib: read("VmRSS:"),
                }
            }
        }
    }

    /// The operator's kube writes by kind, where the bench can count them (in-process only).
    pub fn writes(&self) -> Option<BTreeMap<String, u64>> {
        match self {
            UnderTest::InProcess { writes, .. } => Some(writes.snapshot()),
            UnderTest::Child { .. } => None,
        }
    }

    /// The operator's metrics in the Prometheus text format.
    pub async fn metrics(&self) -> Result<String, String> {
        match self {
            UnderTest::InProcess { metrics, .. } => Ok(metrics.encode()),
            UnderTest::Child { metrics_url, .. } => reqwest::get(metrics_url)
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Stops the operator: in-flight reconciles finish (SIGTERM for a child, as a kubelet
    /// does). Returns the child's peak so far, so a restarted one can report the higher.
    pub async fn shutdown(self) -> u64 {
        let peak = self.memory().peak_kib;
        match self {
            UnderTest::InProcess { handle, .. } => handle.shutdown().await,
            UnderTest::Child { mut operator, .. } => operator.terminate(Duration::from_secs(60)).await,
        }
        peak
    }

    /// A new operator like this one (the restart phase): same flags, a fresh process.
    pub async fn restart(
        self,
        args: &RunArgs,
        credentials: OperatorCredentials,
        kubeconfig: &Path,
        child: Option<ChildSettings<'_>>,
    ) -> Result<UnderTest, String> {
        let in_process = matches!(self, UnderTest::InProcess { .. });
        let peak = self.shutdown().await;
        match child {
            Some(settings) if !in_process => {
                let mut next = UnderTest::start_child(args, settings)?;
                if let UnderTest::Child { earlier_peak_kib, .. } = &mut next {
                    *earlier_peak_kib = peak;
                }
                Ok(next)
            }
            _ => UnderTest::start_in_process(args, credentials, kubeconfig).await,
        }
    }
}

/// Environment for `--static-credentials` in a child: the official SDK's variables.
pub fn static_credentials_env() -> Vec<(String, String)> {
    [
        ("HUAWEICLOUD_SDK_AK", modelarts_emulator::DEFAULT_AK),
        ("HUAWEICLOUD_SDK_SK", modelarts_emulator::DEFAULT_SK),
        ("HUAWEICLOUD_SDK_REGION", modelarts_emulator::DEFAULT_REGION),
        (
            "HUAWEICLOUD_SDK_PROJECT_ID",
            modelarts_emulator::DEFAULT_PROJECT_ID,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The credentials Secret flag value the bench prepares.
pub fn secret_flag(ns: &str) -> String {
    format!("{ns}/{SECRET}")
}
