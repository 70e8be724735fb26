//! kube-emulator: a loopback Kubernetes API server with the semantics controllers and kubectl
//! depend on (see the crate README for what is and is not implemented).
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_emulator::StartError> {
//! let server = kube_emulator::KubeEmulator::start().await?;
//! let client = server.client();
//! server.faults().fail_next("create", "configmaps", 500, 1);
//! # drop(client); Ok(()) }
//! ```

mod apply;
mod auth;
mod builtin_rules;
mod builtins;
mod cel;
mod crd;
mod crd_lifecycle;
mod discovery;
mod error;
mod events;
mod faults;
mod gc;
mod handlers;
mod health;
mod http;
mod kinds;
mod list_types;
mod meta;
mod namespaces;
mod objects;
mod openapi;
mod patch;
mod protobuf;
mod registry;
mod rules;
mod schema;
mod selectors;
mod server;
mod smp;
mod store;
mod table;
mod watch;

use std::net::SocketAddr;
use std::path::Path;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::ApiError;
pub use faults::{FailRule, Faults};
pub use server::Options;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build a kube client for {url}: {source}")]
    Client { url: String, source: kube::Error },
}

impl StartError {
    pub fn category(&self) -> &'static str {
        match self {
            StartError::Bind { .. } => "bind",
            StartError::Client { .. } => "client",
        }
    }
}

/// A running server; it stops when dropped or on [`KubeEmulator::shutdown`].
pub struct KubeEmulator {
    addr: SocketAddr,
    app: server::App,
    client: kube::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl KubeEmulator {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start() -> Result<Self, StartError> {
        Self::start_with(Options::default(), SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_with(options: Options, addr: SocketAddr) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let url = format!("http://{addr}");
        let client = make_client(&url)?;
        let app = server::App::new(options);
        let router = server::router(app.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "kube-emulator server stopped");
            }
        });
        Ok(Self {
            addr,
            app,
            client,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client over plain HTTP, default namespace `default`.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig_yaml(&self.url())
    }

    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml())
    }

    /// Fault hooks: fail requests, add latency, close watches.
    pub fn faults(&self) -> Faults {
        self.app.faults.clone()
    }

    /// Drops watch history as etcd compaction would; older resourceVersions then get 410 Expired.
    pub fn compact_history(&self) {
        self.app.lock().compact();
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.app.lock().rv
    }

    /// Closes open watches, stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        self.app.faults.close_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Keep-alive connections may linger; do not wait for them for long.
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for KubeEmulator {
    fn drop(&mut self) {
        self.app.faults.close_watches();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn make_client(url: &str) -> Result<kube::Client, StartError> {
    let err = |source| StartError::Client {
        url: url.to_string(),
        source,
    };
    let uri = url
        .parse()
        .map_err(|e: axum::http::uri::InvalidUri| err(kube::Error::Service(Box::new(e))))?;
    kube::Client::try_from(kube::Config::new(uri)).map_err(err)
}

/// A kubeconfig for kubectl and the operator: one cluster, no credentials, namespace `default`.
pub fn kubeconfig_yaml(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: {url}\n\
         contexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: kube-emulator\n    namespace: default\n\
         current-context: kube-emulator\nusers:\n- name: kube-emulator\n  user: {{}}\n"
    )
}

impl KubeEmulator {
    /// A bound token for the ServiceAccount `namespace/name` (which must exist), valid for an
    /// hour, as `kubectl create token` would get it.
    pub fn service_account_token(&self, namespace: &str, name: &str) -> Option<String> {
        let state = self.app.lock();
        auth::token::mint(
            &state,
            namespace,
            name,
            &serde_json::json!([auth::token::ISSUER]),
            3600,
        )
        .map(|(token, _)| token)
    }

    /// A kubeconfig that authenticates as the ServiceAccount `namespace/name`: requests are then
    /// authorized by RBAC exactly as the apiserver would authorize that ServiceAccount.
    pub fn service_account_kubeconfig_yaml(&self, namespace: &str, name: &str) -> Option<String> {
        let token = self.service_account_token(namespace, name)?;
        Some(service_account_kubeconfig(&self.url(), namespace, name, &token))
    }

    /// A kube client that authenticates as the ServiceAccount `namespace/name`, default
    /// namespace `namespace`; `None` when the ServiceAccount does not exist.
    pub async fn service_account_client(&self, namespace: &str, name: &str) -> Option<kube::Client> {
        let yaml = self.service_account_kubeconfig_yaml(namespace, name)?;
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).ok()?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .ok()?;
        kube::Client::try_from(config).ok()
    }
}

/// A kubeconfig with a bearer token for a ServiceAccount.
pub fn service_account_kubeconfig(url: &str, namespace: &str, name: &str, token: &str) -> String {
    let user = format!("system:serviceaccount:{namespace}:{name}");
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: {url}\n\
         contexts:\n- name: {user}\n  context:\n    cluster: kube-emulator\n    user: {user}\n    namespace: {namespace}\n\
         current-context: {user}\nusers:\n- name: {user}\n  user:\n    token: {token}\n"
    )
}
