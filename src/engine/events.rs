//! Kubernetes Events: Normal for each cloud mutation, Warning (reason = error category) for failures.
use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1::Event as K8sEvent},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
};
use kube::{
    Api,
    api::PostParams,
    runtime::events::{Event, EventType, Recorder, Reporter},
};

#[derive(Clone)]
pub struct Events {
    /// Warnings go through kube's Recorder, which folds repeats into a series. It keeps every
    /// Event it published for minutes and rescans them all on each publish under one lock,
    /// which showed up at 10,000 notebooks in peak RSS and time to Ready (benches/README.md);
    /// Normal events mark one-off cloud mutations, so they are created directly, uncached.
    recorder: Recorder,
    client: kube::Client,
    reporter: Reporter,
}

impl Events {
    pub fn new(client: kube::Client, controller: &str) -> Self {
        let reporter = Reporter {
            controller: controller.to_string(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter.clone()),
            client,
            reporter,
        }
    }

    pub async fn normal(&self, object: &ObjectReference, reason: &str, action: &str, note: String) {
        // The same Event the Recorder would create for a first occurrence.
        let now = jiff::Timestamp::now();
        let controller = self.reporter.controller.clone();
        let event = K8sEvent {
            action: Some(action.to_string()),
            reason: Some(reason.to_string()),
            note: Some(super::conditions::truncate(note, 1024)),
            event_time: Some(MicroTime(now)),
            regarding: Some(object.clone()),
            metadata: ObjectMeta {
                namespace: object.namespace.clone(),
                name: Some(format!(
                    "{}.{:x}",
                    object.name.as_deref().unwrap_or(&controller),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_instance: Some(self.reporter.instance.clone().unwrap_or(controller.clone())),
            reporting_controller: Some(controller),
            type_: Some("Normal".into()),
            ..Default::default()
        };
        let api: Api<K8sEvent> = Api::namespaced(
            self.client.clone(),
            object.namespace.as_deref().unwrap_or("default"),
        );
        // An Event is best effort: failing to publish one must not fail the reconcile.
        if let Err(err) = api.create(&PostParams::default(), &event).await {
            tracing::debug!(%err, reason, "could not publish event");
        }
    }

    pub async fn warning(&self, object: &ObjectReference, reason: &str, action: &str, note: String) {
        self.publish(object, EventType::Warning, reason, action, note)
            .await;
    }

    async fn publish(
        &self,
        object: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(super::conditions::truncate(note, 1024)),
            action: action.to_string(),
            secondary: None,
        };
        // An Event is best effort: failing to publish one must not fail the reconcile.
        if let Err(err) = self.recorder.publish(&event, object).await {
            tracing::debug!(%err, reason, "could not publish event");
        }
    }
}
