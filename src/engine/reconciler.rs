//! The generic reconcile: finalizer, ownership, crash-safe create, tags, update, status, events.
use super::{
    backoff::jittered,
    conditions::{self, State},
    context::Context,
    outcome::{Class, Error, Result, Step},
    resource::{CloudResource, Cx, Readiness},
    status::StatusWriter,
    tags::{self, OWNER_TAG, Ownership},
};
use crate::api::{
    common::{CommonSpec, CommonStatus, ManagementPolicy, PendingCreate},
    conditions::{READY, SYNCED, reasons},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
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
    let mut writer = StatusWriter::<R>::new(api.clone(), obj.name_any(), &status);

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
                FinalizerEvent::Apply(o) => apply(o.as_ref(), ctx, status, writer).await?,
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
            ctx.close_gate(&uid, generation, wait, status.cloud_state().map(str::to_string));
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
    refresh_sync_time(&mut status, &writer, &ctx, &now);
    writer.write(&status).await?;
    ctx.metrics.reconciled(R::KIND, outcome, started.elapsed());
    Ok(action)
}

/// For the controller's `error_policy`: only status-write failures get here.
pub fn error_policy<R: CloudResource>(obj: Arc<R>, err: &Error, ctx: Arc<Context<R>>) -> Action {
    tracing::warn!(kind = R::KIND, object = %obj.name_any(), error = %err, "status write failed");
    Action::requeue(ctx.backoff.next(&obj.uid().unwrap_or_default()))
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

/// Moves `lastSyncTime` only when status changes anyway or it is older than half the resync
/// interval: bumping it on every pass would make every reconcile trigger the next one.
fn refresh_sync_time<R: CloudResource>(
    status: &mut R::Status,
    writer: &StatusWriter<R>,
    ctx: &Context<R>,
    now: &Time,
) {
    let stale = status
        .last_sync_time()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_none_or(|t| now.0.duration_since(t).unsigned_abs() >= ctx.config.resync / 2);
    if stale || writer.differs(status) {
        status.set_last_sync_time(Some(now.0.to_string()));
    }
}

/// The Apply side: observe, claim or create, converge tags and fields, report readiness.
async fn apply<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    status: &mut R::Status,
    writer: &mut StatusWriter<R>,
) -> Result<Step> {
    let spec = obj.spec();
    let uid = obj.uid().unwrap_or_default();
    let observe_only = spec.management_policy() == ManagementPolicy::ObserveOnly;
    let namespace = obj.namespace().unwrap_or_default();
    let scoped = ctx.clouds.for_object(&namespace, spec).await?;
    let resolved = match obj.resolve(ctx).await? {
        Ok(resolved) => resolved,
        Err(step) => return Ok(step),
    };
    let cx = Cx {
        cloud: &scoped.client,
        ctx,
        resolved: &resolved,
    };

    let remote = match status.cloud_id().or(spec.resource_id()).map(str::to_string) {
        Some(id) => match lookup(obj, &cx, &id).await? {
            Some(remote) => remote,
            None if spec.resource_id() == Some(id.as_str()) && status.cloud_id() != Some(id.as_str()) => {
                return Err(Error::CloudResourceMissing(format!(
                    "spec.resourceId {id} does not exist in ModelArts: fix the ID or remove it to create a new {}",
                    R::KIND
                )));
            }
            // Reads are eventually consistent: a resource this operator created or changed
            // moments ago may not be visible yet, and is not "deleted outside Kubernetes".
            None if ctx
                .last_touched(&uid)
                .is_some_and(|t| t.elapsed() < ctx.config.create_grace) =>
            {
                return Ok(Step::Waiting {
                    reason: reasons::PROGRESSING,
                    message: format!(
                        "{} {id} is not visible in ModelArts yet (reads are eventually consistent); looking again",
                        R::KIND
                    ),
                });
            }
            None => {
                return Err(Error::CloudResourceMissing(format!(
                    "{} {id} no longer exists in ModelArts (deleted outside Kubernetes); the operator never \
                     recreates it on its own: delete and re-apply this object to create a new one",
                    R::KIND
                )));
            }
        },
        None if observe_only => {
            return Err(Error::InvalidSpec(
                "managementPolicy ObserveOnly needs spec.resourceId: the operator never creates in this mode"
                    .into(),
            ));
        }
        None => match confirm_or_create(obj, &cx, status, writer).await? {
            Ok(remote) => remote,
            Err(waiting) => return Ok(waiting),
        },
    };
    let id = R::remote_id(&remote);
    check_conflict(obj, &remote, &id, ctx)?;
    if status.cloud_id() != Some(id.as_str()) {
        status.set_cloud_id(Some(id.clone()));
    }
    status.set_cloud_state(Some(R::cloud_state(&remote)));
    obj.status_from(&remote, status);
    if observe_only {
        return Ok(match obj.readiness(&remote) {
            Readiness::Ready(message) => Step::Observed { message },
            Readiness::Progressing { reason, message } => Step::Waiting { reason, message },
            Readiness::Failed { reason, message } => Step::CloudFailed { reason, message },
        });
    }

    // Checked before the ownership tag is stamped: a resource the kind refuses is not claimed.
    if let Some(message) = obj.refusal(&remote) {
        return Err(Error::Refused {
            reason: reasons::UNSUPPORTED,
            message,
        });
    }

    if let Some(remote_tags) = obj.remote_tags(&remote) {
        let plan = tags::plan(spec.tags(), Some(&uid), status.managed_tag_keys(), &remote_tags);
        if !plan.remove.is_empty() {
            obj.remove_tags(&cx, &id, &plan.remove).await?;
            ctx.touch(&uid);
            ctx.snapshot.mutated(&id);
        }
        if !plan.upsert.is_empty() {
            obj.add_tags(&cx, &id, &plan.upsert).await?;
            ctx.touch(&uid);
            ctx.snapshot.mutated(&id);
        }
        if !plan.is_empty() {
            let keys: Vec<_> = plan.upsert.keys().chain(plan.remove.keys()).cloned().collect();
            ctx.events
                .normal(
                    &obj.object_ref(&()),
                    "TagsUpdated",
                    "Tag",
                    format!("tags set or removed: {}", keys.join(", ")),
                )
                .await;
        }
        status.set_managed_tag_keys(plan.managed);
    }

    let changes = obj.diff(&resolved, &remote, status);
    if !changes.is_empty() {
        tracing::info!(kind = R::KIND, object = %obj.name_any(), ?changes, "updating cloud resource");
        let step = obj.update(&cx, &remote, &changes, status).await?;
        ctx.touch(&uid);
        ctx.snapshot.mutated(&id);
        ctx.events
            .normal(&obj.object_ref(&()), "Updating", "Update", format!("{changes:?}"))
            .await;
        return Ok(step);
    }
    Ok(match obj.readiness(&remote) {
        Readiness::Ready(message) => Step::Ready { message },
        Readiness::Progressing { reason, message } => Step::Waiting { reason, message },
        Readiness::Failed { reason, message } => Step::CloudFailed { reason, message },
    })
}

/// Reads the cloud resource, from a fresh snapshot entry when there is one; a GET's settled
/// answer goes into the snapshot, so the reconcile its status write triggers needs no second GET.
async fn lookup<R: CloudResource>(obj: &R, cx: &Cx<'_, R>, id: &str) -> Result<Option<R::Remote>> {
    let uid = obj.uid().unwrap_or_default();
    let ctx = cx.ctx;
    let reader = reader_key(obj);
    if let Some(remote) = ctx
        .snapshot
        .fresh(id, ctx.config.snapshot_max_age, ctx.last_touched(&uid), reader)
    {
        return Ok(Some(remote));
    }
    let read_at = Instant::now();
    let remote = obj.observe(cx, id).await?;
    // Only a settled state is kept: a transitional one must be read again on the next
    // (short) waiting requeue, not at the poller's pace.
    if let Some(remote) = &remote
        && !matches!(obj.readiness(remote), Readiness::Progressing { .. })
    {
        ctx.snapshot.observed(id, remote.clone(), read_at, reader);
    }
    Ok(remote)
}

/// Identifies an object as the user last changed it (UID, generation, annotations), not its
/// status: the reconcile its own status write triggers matches, a user's edit does not.
fn reader_key<R: CloudResource>(obj: &R) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().uid.hash(&mut h);
    obj.meta().generation.hash(&mut h);
    obj.meta().annotations.hash(&mut h);
    h.finish()
}

/// Finds the resource an earlier, unconfirmed create made, or creates one. `Err(step)` means
/// "wait": an earlier create may still surface, and creating now could duplicate it.
async fn confirm_or_create<R: CloudResource>(
    obj: &R,
    cx: &Cx<'_, R>,
    status: &mut R::Status,
    writer: &mut StatusWriter<R>,
) -> Result<Result<R::Remote, Step>> {
    if let Some(pending) = status.pending_create().cloned() {
        if let Some(remote) = obj.find_created(cx, &pending).await? {
            status.set_cloud_id(Some(R::remote_id(&remote)));
            status.set_pending_create(None);
            writer.write(status).await?;
            return Ok(Ok(remote));
        }
        if pending.is_recent(cx.ctx.config.create_grace) {
            return Ok(Err(Step::Waiting {
                reason: reasons::CREATING,
                message: format!(
                    "confirming whether the create sent at {} succeeded before trying again",
                    pending.requested_at
                ),
            }));
        }
        tracing::info!(kind = R::KIND, object = %obj.name_any(), "earlier create never surfaced; creating again");
    }
    let pending = PendingCreate {
        token: uuid::Uuid::new_v4().to_string(),
        requested_at: jiff::Timestamp::now().to_string(),
        name: obj.cloud_name(),
    };
    status.set_pending_create(Some(pending));
    // The marker must be stored before the create is sent, or a crash right after could leak.
    writer.write(status).await?;
    cx.ctx.touch(&obj.uid().unwrap_or_default());
    match obj.create(cx).await {
        Ok(remote) => {
            let id = R::remote_id(&remote);
            status.set_cloud_id(Some(id.clone()));
            status.set_pending_create(None);
            writer.write(status).await?;
            cx.ctx
                .events
                .normal(
                    &obj.object_ref(&()),
                    "Created",
                    "Create",
                    format!("created {} {id}", R::KIND),
                )
                .await;
            Ok(Ok(remote))
        }
        Err(err) => {
            if err.surely_not_applied() {
                status.set_pending_create(None);
            }
            Err(err)
        }
    }
}

/// Refuses to manage a cloud resource another object owns (by tag, or by the cluster's cache).
fn check_conflict<R: CloudResource>(obj: &R, remote: &R::Remote, id: &str, ctx: &Context<R>) -> Result<()> {
    let uid = obj.uid().unwrap_or_default();
    if let Some(remote_tags) = obj.remote_tags(remote)
        && let Ownership::Other(owner) = tags::ownership(&remote_tags, &uid)
    {
        return Err(Error::ManagementConflict(format!(
            "{} {id} is managed by another object (tag {OWNER_TAG}={owner}); this object will not change it",
            R::KIND
        )));
    }
    let Some(store) = &ctx.store else { return Ok(()) };
    let mine_recorded = obj.status().and_then(|s| s.cloud_id()) == Some(id);
    // Runs on every reconcile over the whole cache: `find` borrows in place (no copy of the
    // cache, no String per object) and the cloud ID, which rarely matches, is compared first.
    let rival = store.find(|other| {
        other.status().and_then(|s| s.cloud_id()) == Some(id)
            && other.meta().uid.as_deref() != Some(uid.as_str())
            && (!mine_recorded || other.meta().creation_timestamp < obj.meta().creation_timestamp)
    });
    match rival {
        Some(other) => Err(Error::ManagementConflict(format!(
            "{} {id} is already managed by {}/{}; this object will not change it",
            R::KIND,
            other.namespace().unwrap_or_default(),
            other.name_any()
        ))),
        None => Ok(()),
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
