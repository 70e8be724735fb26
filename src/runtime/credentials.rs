//! Resolves the ModelArts client for an object: AK/SK from the object's own Secret
//! (`spec.credentialsSecretRef`, same namespace only), else the operator-wide Secret or the SDK
//! environment variables. Secrets are re-read after a short TTL, so a rotated Secret takes
//! effect without a restart; one client (and token bucket) per credentials scope is cached.
use crate::{
    api::common::CommonSpec,
    cloud::{
        CONNECT_TIMEOUT, CallObserver, ClientConfig, Credentials, HttpPools, ModelArtsClient, gate::Fence,
    },
    engine::{
        context::{CloudResolver, ScopedClient},
        outcome::{Error, Result},
        ratelimit::RateLimiters,
    },
};
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// What a credentials Secret (or the environment) provides.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    pub credentials: Credentials,
    pub region: Option<String>,
    pub project_id: Option<String>,
}

/// Where the operator-wide credentials come from.
#[derive(Clone)]
pub enum OperatorCredentials {
    Secret { namespace: String, name: String },
    Static(Source),
    None,
}

impl OperatorCredentials {
    /// The official SDKs' variables: HUAWEICLOUD_SDK_AK, _SK, _PROJECT_ID (and _SECURITY_TOKEN).
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        match (var("HUAWEICLOUD_SDK_AK"), var("HUAWEICLOUD_SDK_SK")) {
            (Some(ak), Some(sk)) => OperatorCredentials::Static(Source {
                credentials: match var("HUAWEICLOUD_SDK_SECURITY_TOKEN") {
                    Some(token) => Credentials::temporary(ak, sk, token),
                    None => Credentials::ak_sk(ak, sk),
                },
                region: var("HUAWEICLOUD_SDK_REGION"),
                project_id: var("HUAWEICLOUD_SDK_PROJECT_ID"),
            }),
            _ => OperatorCredentials::None,
        }
    }
}

/// Operator-wide settings for building clients.
#[derive(Clone)]
pub struct ResolverConfig {
    pub operator: OperatorCredentials,
    pub default_region: Option<String>,
    pub default_project_id: Option<String>,
    /// Base URL override for every region (the emulator).
    pub endpoint: Option<String>,
    pub secret_ttl: Duration,
    /// Client-side rate limit per credentials scope.
    pub rate: f64,
    pub burst: u32,
}

pub struct Resolver {
    kube: kube::Client,
    config: ResolverConfig,
    http: HttpPools,
    observer: Arc<dyn CallObserver>,
    limiters: RateLimiters,
    fence: Option<Arc<dyn Fence>>,
    secrets: Mutex<HashMap<(String, String), (Instant, Source)>>,
    clients: Mutex<HashMap<String, Arc<ScopedClient>>>,
}

impl Resolver {
    pub fn new(kube: kube::Client, config: ResolverConfig, observer: Arc<dyn CallObserver>) -> Self {
        let limiters = RateLimiters::new(config.rate, config.burst);
        Self {
            kube,
            config,
            http: HttpPools::new(CONNECT_TIMEOUT).expect("the TLS backend is built in"),
            observer,
            limiters,
            fence: None,
            secrets: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Report each credentials scope's effective request rate to `gauge`.
    pub fn with_rate_gauge(mut self, gauge: crate::engine::ratelimit::RateGauge) -> Self {
        self.limiters = self.limiters.with_gauge(gauge);
        self
    }

    /// Every client built from now on checks `fence` before each mutating request.
    pub fn with_fence(mut self, fence: Option<Arc<dyn Fence>>) -> Self {
        self.fence = fence;
        self
    }

    /// A region or project named by the operator-wide environment credentials.
    fn operator_default(&self, field: impl Fn(&Source) -> Option<String>) -> Option<String> {
        match &self.config.operator {
            OperatorCredentials::Static(source) => field(source),
            _ => None,
        }
    }

    /// `last_good`: a Secret that is gone may be stood in for by the last credentials read from
    /// it. Cleanup asks for that: a namespace being deleted takes its Secrets with it while its
    /// objects still wait to delete their cloud resources.
    async fn secret_source(&self, namespace: &str, name: &str, last_good: bool) -> Result<Source> {
        let key = (namespace.to_string(), name.to_string());
        {
            let cache = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, source)) = cache.get(&key)
                && at.elapsed() < self.config.secret_ttl
            {
                return Ok(source.clone());
            }
        }
        let api: Api<Secret> = Api::namespaced(self.kube.clone(), namespace);
        let secret = match api.get(name).await {
            Ok(secret) => secret,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                let cache = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
                if last_good && let Some((_, source)) = cache.get(&key) {
                    tracing::info!(%namespace, secret = %name, "Secret is gone; cleaning up with the last credentials read from it");
                    return Ok(source.clone());
                }
                return Err(Error::Credentials(format!(
                    "Secret {namespace}/{name} not found: create it with accessKey and secretKey, or fix spec.credentialsSecretRef"
                )));
            }
            Err(other) => return Err(Error::Kube(other)),
        };
        let source = parse_secret(&secret)
            .map_err(|rule| Error::Credentials(format!("Secret {namespace}/{name}: {rule}")))?;
        let mut cache = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(key, (Instant::now(), source.clone()));
        Ok(source)
    }

    async fn resolve(
        &self,
        namespace: &str,
        spec: &(dyn CommonSpec + Send + Sync),
        last_good: bool,
    ) -> Result<Arc<ScopedClient>> {
        let (origin, source) = match spec.credentials_secret_ref() {
            Some(r) => (
                format!("secret:{namespace}/{}", r.name),
                self.secret_source(namespace, &r.name, last_good).await?,
            ),
            None => match &self.config.operator {
                OperatorCredentials::Secret { namespace, name } => (
                    format!("secret:{namespace}/{name}"),
                    self.secret_source(namespace, name, last_good).await?,
                ),
                OperatorCredentials::Static(source) => ("operator".to_string(), source.clone()),
                OperatorCredentials::None => {
                    return Err(Error::Credentials(
                        "no credentials: set spec.credentialsSecretRef or start the operator with \
                         --credentials-secret or HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK"
                            .into(),
                    ));
                }
            },
        };
        let region = spec
            .region()
            .map(str::to_string)
            .or(source.region.clone())
            .or(self.config.default_region.clone())
            .or(self.operator_default(|s| s.region.clone()))
            .ok_or_else(|| {
                Error::Credentials("no region: set spec.region, the Secret's region key or --region".into())
            })?;
        let project_id = spec
            .project_id()
            .map(str::to_string)
            .or(source.project_id.clone())
            .or(self.config.default_project_id.clone())
            .or(self.operator_default(|s| s.project_id.clone()))
            .ok_or_else(|| {
                Error::Credentials(
                    "no project ID: set spec.projectId, the Secret's projectId key or --project-id".into(),
                )
            })?;
        let key = format!("{origin}@{region}/{project_id}");
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = clients.get(&key) {
            // A rotated Secret swaps the credentials in place: no restart, no new pool.
            if existing.client.credentials().current() != source.credentials {
                existing.client.credentials().replace(source.credentials.clone());
            }
            return Ok(existing.clone());
        }
        let mut config = ClientConfig::new(region, project_id);
        if let Some(endpoint) = &self.config.endpoint {
            config = config.with_endpoint(endpoint.clone());
        }
        let mut client =
            ModelArtsClient::with_http_client(config, source.credentials.clone(), self.http.clone())
                .map_err(|e| Error::Credentials(e.to_string()))?
                .with_observer(self.observer.clone())
                .with_gate(self.limiters.for_scope(&scope_hash(&key)));
        if let Some(fence) = &self.fence {
            client = client.with_fence(fence.clone());
        }
        let scoped = Arc::new(ScopedClient {
            key: scope_hash(&key),
            client,
        });
        clients.insert(key, scoped.clone());
        Ok(scoped)
    }
}

impl CloudResolver for Resolver {
    fn for_object<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a (dyn CommonSpec + Send + Sync),
    ) -> BoxFuture<'a, Result<Arc<ScopedClient>>> {
        Box::pin(self.resolve(namespace, spec, false))
    }

    fn for_cleanup<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a (dyn CommonSpec + Send + Sync),
    ) -> BoxFuture<'a, Result<Arc<ScopedClient>>> {
        Box::pin(self.resolve(namespace, spec, true))
    }
}

/// Scope keys appear in logs: hash them so no access key is ever printed.
fn scope_hash(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

/// How the values of `deploy/examples/credentials-secret.yaml` start until a user fills them in.
pub const PLACEHOLDER_PREFIX: &str = "REPLACE_WITH_";

/// Reads `accessKey`, `secretKey` and the optional `securityToken`, `projectId`, `region`.
pub fn parse_secret(secret: &Secret) -> std::result::Result<Source, String> {
    let data = secret.data.clone().unwrap_or_default();
    let get = |k: &str| {
        data.get(k)
            .map(|v| String::from_utf8(v.0.clone()).map(|s| s.trim().to_string()))
            .transpose()
            .map_err(|_| format!("key {k} is not UTF-8"))
            .map(|v| v.filter(|s| !s.is_empty()))
            .and_then(|v| match v {
                Some(s) if s.starts_with(PLACEHOLDER_PREFIX) => Err(format!(
                    "key {k} still holds the template's placeholder {s}: replace it with your own value"
                )),
                other => Ok(other),
            })
    };
    let ak = get("accessKey")?.ok_or("missing key accessKey")?;
    let sk = get("secretKey")?.ok_or("missing key secretKey")?;
    let credentials = match get("securityToken")? {
        Some(token) => Credentials::temporary(ak, sk, token),
        None => Credentials::ak_sk(ak, sk),
    };
    Ok(Source {
        credentials,
        region: get("region")?,
        project_id: get("projectId")?,
    })
}
