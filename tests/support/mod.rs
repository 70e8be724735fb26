//! End-to-end harness: the real operator (kube-runtime Controllers, finalizers, status patches)
//! against kube-emulator and modelarts-emulator, all in-process on loopback.
#![allow(dead_code)]

use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kube_emulator::KubeEmulator;
use modelarts_emulator::{EmulatorConfig, EmulatorHandle, Progression};
use modelarts_operator::{
    cloud::Credentials,
    engine::metrics::Metrics,
    runtime::{
        credentials::{OperatorCredentials, Source},
        operator::{self, OperatorConfig, OperatorHandle},
    },
};
use serde::{Serialize, de::DeserializeOwned};
use std::{fmt::Debug, time::Duration};

pub const NS: &str = "e2e";
pub const IMAGE: &str = "e1a07296-22a8-4f05-8bc8-e936c8e54090";

pub struct Env {
    pub kube: KubeEmulator,
    pub cloud: EmulatorHandle,
    pub client: Client,
    pub operator: Option<OperatorHandle>,
    pub metrics: Metrics,
}

pub fn operator_credentials() -> OperatorCredentials {
    OperatorCredentials::Static(Source {
        credentials: Credentials::ak_sk(modelarts_emulator::DEFAULT_AK, modelarts_emulator::DEFAULT_SK),
        region: Some(modelarts_emulator::DEFAULT_REGION.into()),
        project_id: Some(modelarts_emulator::DEFAULT_PROJECT_ID.into()),
    })
}

impl Env {
    /// Both emulators, the CRDs, a namespace, and a running operator.
    pub async fn start() -> Env {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut OperatorConfig)) -> Env {
        let env = Self::without_operator().await;
        env.with_operator(tune)
    }

    pub async fn without_operator() -> Env {
        let kube = KubeEmulator::start().await.expect("kube-emulator starts");
        let cloud = modelarts_emulator::spawn(EmulatorConfig::default())
            .await
            .expect("modelarts-emulator starts");
        cloud.set_all_progression(Progression::Immediate);
        let client = kube.client();
        install_crds(&client).await;
        let ns: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.metadata.name = Some(NS.into());
        ns.create(&PostParams::default(), &namespace)
            .await
            .expect("namespace created");
        Env {
            kube,
            cloud,
            client,
            operator: None,
            metrics: Metrics::default(),
        }
    }

    pub fn with_operator(mut self, tune: impl FnOnce(&mut OperatorConfig)) -> Env {
        let mut config = OperatorConfig::for_local(self.cloud.base_url(), operator_credentials());
        tune(&mut config);
        self.operator = Some(operator::start(self.client.clone(), config, self.metrics.clone()));
        self
    }

    pub async fn stop_operator(&mut self) {
        if let Some(op) = self.operator.take() {
            op.shutdown().await;
        }
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), NS)
    }

    pub async fn apply<K>(&self, obj: &K) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
    {
        let api: Api<K> = self.api();
        api.patch(
            &obj.name_any(),
            &PatchParams::apply("e2e-test").force(),
            &Patch::Apply(obj),
        )
        .await
        .expect("apply succeeds")
    }

    pub async fn merge_patch<K>(&self, name: &str, patch: serde_json::Value) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let api: Api<K> = self.api();
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("merge patch succeeds")
    }

    pub async fn delete<K>(&self, name: &str)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let api: Api<K> = self.api();
        api.delete(name, &DeleteParams::default())
            .await
            .expect("delete accepted");
    }

    /// Polls until `pred` holds for the object, or panics with its last state after `timeout`.
    pub async fn wait_for<K>(&self, name: &str, timeout: Duration, what: &str, pred: impl Fn(&K) -> bool) -> K
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let api: Api<K> = self.api();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let obj = api.get_opt(name).await.expect("get succeeds");
            if let Some(obj) = &obj
                && pred(obj)
            {
                return obj.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {obj:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls until the object is gone.
    pub async fn wait_gone<K>(&self, name: &str, timeout: Duration)
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned,
    {
        let api: Api<K> = self.api();
        let deadline = tokio::time::Instant::now() + timeout;
        while let Some(obj) = api.get_opt(name).await.expect("get succeeds") {
            if tokio::time::Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {name} to be gone; last seen: {obj:#?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn put_secret(&self, name: &str, data: &[(&str, &str)]) {
        let api: Api<Secret> = self.api();
        let mut secret = Secret::default();
        secret.metadata.name = Some(name.into());
        secret.string_data = Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        api.patch(
            name,
            &PatchParams::apply("e2e-test").force(),
            &Patch::Apply(&secret),
        )
        .await
        .expect("secret applied");
    }

    /// Sum of cloud calls whose emulator route (e.g. `POST /v1/{project_id}/notebooks`) matches.
    pub fn calls(&self, method: &str, template: &str) -> u64 {
        self.cloud.call_count(method, template)
    }
}

/// Installs the CRDs and waits until each is Established.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in modelarts_operator::api::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("CRD accepted");
        let name = crd.name_any();
        for _ in 0..100 {
            let got = crds.get(&name).await.expect("CRD readable");
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
}

pub fn condition<'a>(
    conditions: &'a [k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}
