//! `modelarts-operator run`: the production entry point.
use super::{
    credentials::{OperatorCredentials, ResolverConfig},
    leader,
    operator::{self, OperatorConfig},
    server::{self, Health, Role},
};
use crate::{
    api::notebook::Notebook,
    engine::{context::EngineConfig, metrics::Metrics},
};
use clap::{Args, ValueEnum};
use kube::{Api, api::ListParams};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Kubeconfig to use; otherwise KUBECONFIG, ~/.kube/config or the in-cluster service account.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Operator-wide credentials Secret, NAMESPACE/NAME, with keys accessKey, secretKey and
    /// optionally securityToken, projectId, region. Without it, HUAWEICLOUD_SDK_AK/_SK are used.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub credentials_secret: Option<String>,
    /// Default region for objects that name none.
    #[arg(long, env = "HUAWEICLOUD_SDK_REGION")]
    pub region: Option<String>,
    /// Default project ID for objects that name none.
    #[arg(long, env = "HUAWEICLOUD_SDK_PROJECT_ID")]
    pub project_id: Option<String>,
    /// ModelArts base URL for every region (e.g. the emulator); default https://modelarts.{region}.myhuaweicloud.com.
    #[arg(long, value_name = "URL")]
    pub modelarts_endpoint: Option<String>,
    /// Reconciles of each kind running at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Steady-state resync interval in seconds (jittered; per object: annotation modelarts.operator.dev/resync-seconds).
    #[arg(long, default_value_t = 600)]
    pub resync_seconds: u64,
    /// Interval of the cloud-side drift poll in seconds (jittered ±25%). Each poll lists every
    /// notebook in pages of 200, so at rest the cloud sees about 3600/poll × N/200 reads an hour
    /// (0.4 per object at 45 s) and a change made outside Kubernetes is noticed within
    /// 1.25 × poll seconds (56 s at the default of 45, chosen to stay under a minute).
    #[arg(long, default_value_t = 45)]
    pub poll_seconds: u64,
    /// Requeue interval while a cloud resource is in a transitional state, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub waiting_millis: u64,
    /// How long a create whose answer was lost is looked for before it is sent again, and how
    /// long after a create or change a read that misses the resource is waited for (seconds).
    /// Longer is safer against slow, eventually consistent reads; shorter converges sooner.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=3600))]
    pub create_grace_seconds: u64,
    /// Client-side ModelArts request rate per credentials scope (requests per second).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Burst allowed above the rate.
    #[arg(long, default_value_t = 40)]
    pub burst: u32,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Watch only these namespaces (comma-separated), e.g. with the chart's namespaced RBAC;
    /// default: the whole cluster.
    #[arg(long, value_delimiter = ',', value_name = "NS,...")]
    pub watch_namespaces: Vec<String>,
    /// When a CRD itself is being deleted, still delete the cloud resources of its objects
    /// (per their deletionPolicy). Off: those objects are released and the cloud keeps them.
    #[arg(long)]
    pub delete_cloud_resources_on_crd_deletion: bool,
    #[command(flatten)]
    pub leader: super::leader::LeaderArgs,
}

impl RunArgs {
    /// Where the operator-wide credentials come from: `--credentials-secret`, else the SDK
    /// environment variables.
    pub fn operator_credentials(&self) -> Result<OperatorCredentials, String> {
        match &self.credentials_secret {
            Some(s) => match s.split_once('/') {
                Some((namespace, name)) if !namespace.is_empty() && !name.is_empty() => {
                    Ok(OperatorCredentials::Secret {
                        namespace: namespace.into(),
                        name: name.into(),
                    })
                }
                _ => Err(format!("--credentials-secret must be NAMESPACE/NAME, got {s:?}")),
            },
            None => Ok(OperatorCredentials::from_env()),
        }
    }

    /// The operator's settings from these flags; shared with the scale benchmark so it
    /// measures exactly the defaults `run` ships with.
    pub fn operator_config(&self, operator: OperatorCredentials) -> OperatorConfig {
        OperatorConfig {
            resolver: ResolverConfig {
                operator,
                default_region: self.region.clone(),
                default_project_id: self.project_id.clone(),
                endpoint: self.modelarts_endpoint.clone(),
                secret_ttl: Duration::from_secs(30),
                rate: self.rate,
                burst: self.burst,
            },
            engine: EngineConfig {
                resync: Duration::from_secs(self.resync_seconds.max(1)),
                waiting: Duration::from_millis(self.waiting_millis.max(10)),
                create_grace: Duration::from_secs(self.create_grace_seconds),
                delete_on_crd_deletion: self.delete_cloud_resources_on_crd_deletion,
                ..EngineConfig::default()
            },
            concurrency: self.concurrency.max(1),
            poll_interval: Duration::from_secs(self.poll_seconds.max(1)),
            fence: None,
            namespaces: self
                .watch_namespaces
                .iter()
                .filter(|n| !n.is_empty())
                .cloned()
                .collect(),
        }
    }
}

pub fn init_logging(format: LogFormat) {
    init_logging_with(format, "info,kube=warn,hyper=warn");
}

/// Logging with `default` as the filter unless RUST_LOG says otherwise.
pub fn init_logging_with(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub async fn kube_client(kubeconfig: Option<&PathBuf>) -> Result<kube::Client, String> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| e.to_string())?
        }
        None => kube::Config::infer().await.map_err(|e| e.to_string())?,
    };
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

/// Checks that the CRDs are served. Only a 404 means "not installed"; anything else (the API
/// server restarting, a network blip) is retried with backoff for about two minutes.
async fn check_crds(client: &kube::Client, namespaces: &[String]) -> Result<(), String> {
    let notebooks: Api<Notebook> = match namespaces.first() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut delay = std::time::Duration::from_millis(500);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match notebooks.list(&ListParams::default().limit(1)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(format!(
                    "the Notebook CRD is not installed ({}); install the CRDs first: modelarts-operator crds | kubectl apply -f -",
                    s.message
                ));
            }
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(format!("cannot reach the Kubernetes API to list Notebooks: {e}"));
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?delay, "cannot list Notebooks yet; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(15));
            }
        }
    }
}

pub async fn run(args: RunArgs) -> Result<(), String> {
    init_logging(args.log_format);
    args.leader.validate()?;
    let client = kube_client(args.kubeconfig.as_ref()).await?;
    let config = args.operator_config(args.operator_credentials()?);
    // Signals are listened for from here on: as PID 1 in a container, a SIGTERM that arrives
    // while the start is still retrying would otherwise be ignored until the kubelet kills.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    tokio::select! {
        checked = check_crds(&client, &config.namespaces) => checked?,
        _ = stopped() => {
            tracing::info!("shutting down before the start completed");
            return Ok(());
        }
    }
    let metrics = Metrics::default();
    let health = Health::default();
    super::memory::spawn_trimmer();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("listen {}: {e}", args.listen))?;
    let app = server::router(metrics.clone(), health.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    tracing::info!(listen = %args.listen, "modelarts-operator running");
    let result = if args.leader.leader_elect {
        leader::run(client, args.leader.clone(), config, metrics, health, stopped()).await
    } else {
        let handle = operator::start(client, config, metrics.clone());
        metrics.leader.set(1);
        health.set_role(Role::Leader);
        stopped().await;
        tracing::info!("shutting down: finishing in-flight reconciles");
        health.set_role(Role::Starting);
        handle.shutdown().await;
        Ok(())
    };
    server.abort();
    result
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
