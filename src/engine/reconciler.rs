//! The generic reconcile: finalizer, ownership, crash-safe create, tags, update, status, events.
use super::{
    backoff::jittered,
    conditions::{self, State},
    context::Context,
    outcome::{Class, Error, Result, Step},
    resource::CloudResource,
    status::StatusWriter,
};
use crate::api::{
    common::{CommonSpec, CommonStatus, ManagementPolicy},
    conditions::{READY, SYNCED, reasons},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::{
    ResourceExt,
    api::Api,
    runtime::{
        controller::Action,
        finalizer::{Event as FinalizerEvent, finalizer},
    },
};
use std::{sync::Arc, time::Instant};

/// Finalizer shared by every kind.
pub const FINALIZER: &str = "modelarts.operator.dev/finalizer";
/// `"true"` stops all cloud calls for the object until removed.
pub const PAUSED_ANNOTATION: &str = "modelarts.operator.dev/paused";
/// Per-object steady-state resync interval in seconds, overriding the operator's default.
pub const RESYNC_ANNOTATION: &str = "modelarts.operator.dev/resync-seconds";

/// Reconciles one object; every handled failure is written to status and turned into a
/// requeue here, so `Err` only reaches the controller when status itself cannot be written.
pub async fn reconcile<R: CloudResource>(obj: Arc<R>, ctx: Arc<Context<R>>) -> Result<Action> {
    let started = Instant::now();
    let uid = obj.uid().unwrap_or_default();
    let generation = obj.meta().generation;
    let deleting = obj.meta().deletion_timestamp.is_some();
    let api: Api<R> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let mut status = obj.status().cloned().unwrap_or_default();
    let mut writer = StatusWriter::<R>::new(api.clone(), obj.name_any(), &status, obj.resource_version());

    if let Some(wait) = ctx.gate_remaining(&uid, generation, status.cloud_id()) {
        return Ok(Action::requeue(wait));
    }
    if obj
        .annotations()
        .get(PAUSED_ANNOTATION)
        .is_some_and(|v| v == "true")
    {
        let now = now();
        conditions::set(
            status.conditions_mut(),
            SYNCED,
            State::False,
            reasons::PAUSED,
            format!("{PAUSED_ANNOTATION} is \"true\": no cloud calls until it is removed"),
            generation,
            &now,
        );
        conditions::set_progress(status.conditions_mut(), "paused", generation, &now);
        status.set_observed_generation(generation);
        writer.write(&status).await?;
        ctx.metrics.reconciled(R::KIND, "paused", started.elapsed());
        return Ok(Action::await_change());
    }

    let mut step = None;
    let mut cleaned_up = false;
    let result = {
        let (status, writer, step, cleaned_up, ctx) =
            (&mut status, &mut writer, &mut step, &mut cleaned_up, &ctx);
        finalizer(&api, FINALIZER, obj.clone(), |event| async move {
            let done = match event {
                FinalizerEvent::Apply(o) => super::apply::run(o.as_ref(), ctx, status, writer).await?,
                FinalizerEvent::Cleanup(o) => {
                    let done = cleanup(o.as_ref(), ctx, status, writer).await?;
                    *cleaned_up = true;
                    done
                }
            };
            *step = Some(done);
            Ok::<_, Error>(Action::await_change())
        })
        .await
        .map_err(Error::from_finalizer)
    };

    let now = now();
    let (action, outcome) = match (result, step) {
        // The finalizer was just added; its watch event brings us back.
        (Ok(action), None) => return Ok(action),
        (Ok(_), Some(_)) if cleaned_up => {
            ctx.forget(&uid);
            ctx.metrics.reconciled(R::KIND, "deleted", started.elapsed());
            return Ok(Action::await_change());
        }
        (Ok(_), Some(step)) => {
            ctx.backoff.reset(&uid);
            ctx.open_gate(&uid);
            let wait = step_conditions::<R>(&obj, &ctx, &mut status, &step, generation, &now);
            (Action::requeue(wait), step_outcome(&step))
        }
        // This copy of the object was outdated (the cache lags the API server): nothing was
        // decided on it and nothing is written from it; the watch brings the newer copy.
        (Err(Error::Stale(message)), _) => {
            tracing::debug!(kind = R::KIND, object = %obj.name_any(), %message, "stale copy; reconciling the newer one");
            ctx.metrics.reconciled(R::KIND, "stale", started.elapsed());
            return Ok(Action::requeue(ctx.config.waiting));
        }
        // Waiting for the poller's listing, which wakes it: nothing to write meanwhile.
        (Err(Error::Deferred), _) => {
            ctx.metrics.reconciled(R::KIND, "deferred", started.elapsed());
            return Ok(Action::requeue(ctx.config.waiting));
        }
        (Err(Error::Waiting { reason, message }), _) => {
            let step = Step::Waiting { reason, message };
            let wait = step_conditions::<R>(&obj, &ctx, &mut status, &step, generation, &now);
            (Action::requeue(wait), "waiting")
        }
        (Err(err), _) => {
            let wait = match err.class() {
                Class::Terminal => jittered(ctx.config.terminal),
                Class::Retryable => ctx.backoff.next(&uid),
                Class::Throttled(after) => ctx.backoff.next(&uid).max(after.unwrap_or_default()),
            };
            // A conflict is settled in the cloud (an owner tag removed, a rival gone), which the
            // drift poller's wake-up brings; a closed gate would hold that wake-up back.
            if !matches!(err, Error::ManagementConflict(_)) {
                ctx.close_gate(&uid, generation, wait, status.cloud_state().map(str::to_string));
            }
            tracing::warn!(kind = R::KIND, object = %obj.name_any(), category = err.category(), error = %err, retry_in = ?wait, "reconcile failed");
            let message = err.to_string();
            conditions::set(
                status.conditions_mut(),
                SYNCED,
                State::False,
                err.category(),
                &message,
                generation,
                &now,
            );
            let ready_reason = if deleting {
                reasons::DELETING
            } else {
                err.category()
            };
            conditions::set(
                status.conditions_mut(),
                READY,
                State::False,
                ready_reason,
                message.clone(),
                generation,
                &now,
            );
            let action = if deleting { "Delete" } else { "Reconcile" };
            ctx.events
                .warning(&obj.object_ref(&()), err.category(), action, message)
                .await;
            let outcome = if err.class() == Class::Terminal {
                "terminal"
            } else {
                "retry"
            };
            (Action::requeue(wait), outcome)
        }
    };
    conditions::set_progress(status.conditions_mut(), outcome, generation, &now);
    status.set_observed_generation(generation);
    refresh_sync_time(&mut status, &writer, &now);
    writer.write(&status).await?;
    ctx.metrics.reconciled(R::KIND, outcome, started.elapsed());
    Ok(action)
}

/// For the controller's `error_policy`: only status-write failures get here.
pub fn error_policy<R: CloudResource>(obj: &ObjectMeta, err: &Error, ctx: &Context<R>) -> Action {
    let name = obj.name.as_deref().unwrap_or_default();
    tracing::warn!(kind = R::KIND, object = %name, error = %err, "status write failed");
    Action::requeue(ctx.backoff.next(obj.uid.as_deref().unwrap_or_default()))
}

fn now() -> Time {
    Time(jiff::Timestamp::now())
}

fn step_outcome(step: &Step) -> &'static str {
    match step {
        Step::Ready { .. } => "ready",
        Step::Waiting { .. } => "waiting",
        Step::CloudFailed { .. } => "cloud_failed",
        Step::Observed { .. } => "observed",
    }
}

/// Sets Ready and Synced from a successful step and returns when to look again.
fn step_conditions<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    status: &mut R::Status,
    step: &Step,
    generation: Option<i64>,
    now: &Time,
) -> std::time::Duration {
    let observe_only = obj.spec().management_policy() == ManagementPolicy::ObserveOnly;
    let (synced_reason, synced_message) = if observe_only {
        (
            reasons::OBSERVE_ONLY,
            "observed only (managementPolicy: ObserveOnly): nothing is changed in the cloud",
        )
    } else {
        (
            reasons::SYNCED,
            "the cloud resource matches the spec or is converging to it",
        )
    };
    let conds = status.conditions_mut();
    conditions::set(
        conds,
        SYNCED,
        State::True,
        synced_reason,
        synced_message,
        generation,
        now,
    );
    match step {
        Step::Ready { message } | Step::Observed { message } => {
            conditions::set(
                conds,
                READY,
                State::True,
                reasons::AVAILABLE,
                message.clone(),
                generation,
                now,
            );
            jittered(resync_interval(obj, ctx))
        }
        Step::Waiting { reason, message } => {
            conditions::set(
                conds,
                READY,
                State::False,
                reason,
                message.clone(),
                generation,
                now,
            );
            ctx.config.waiting
        }
        Step::CloudFailed { reason, message } => {
            conditions::set(
                conds,
                READY,
                State::False,
                reasons::CLOUD_FAILED,
                format!("{reason}: {message}"),
                generation,
                now,
            );
            jittered(ctx.config.terminal.min(resync_interval(obj, ctx)))
        }
    }
}

fn resync_interval<R: CloudResource>(obj: &R, ctx: &Context<R>) -> std::time::Duration {
    obj.annotations()
        .get(RESYNC_ANNOTATION)
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .unwrap_or(ctx.config.resync)
}

/// Moves `lastSyncTime` only with a status write made anyway: a pass that finds nothing new
/// writes nothing, so objects at rest (and a restart) cost no Kubernetes write.
fn refresh_sync_time<R: CloudResource>(status: &mut R::Status, writer: &StatusWriter<R>, now: &Time) {
    if writer.differs(status) {
        status.set_last_sync_time(Some(now.0.to_string()));
    }
}

/// The Cleanup side: honour deletionPolicy and managementPolicy, wait until really gone.
async fn cleanup<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    status: &mut R::Status,
    writer: &mut StatusWriter<R>,
) -> Result<Step> {
    super::cleanup::run(obj, ctx, status, writer).await
}

/// `Controller::run` spawns each reconcile, so its future must be `Send` for every kind.
#[allow(dead_code)]
fn reconcile_future_is_send<R: CloudResource>(obj: Arc<R>, ctx: Arc<Context<R>>) {
    fn is_send<T: Send>(_: T) {}
    is_send(reconcile(obj, ctx));
}
