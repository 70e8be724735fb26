//! Crash-safe create, the engine's first safety rule in one place: a create is licensed only by
//! a pending-create marker written onto the object's latest version, and an uncertain create is
//! resolved only by finding what it made (never a resource that existed before, never one that
//! another object claims); when that cannot be told, nothing is created or adopted.
use super::ownership::claimed_by_other;
use super::{
    context::Context,
    outcome::{Result, Step},
    resource::{CloudResource, Cx},
    status::StatusWriter,
    tags::{self, Ownership},
};
use crate::api::{
    common::{CloudScope, CommonSpec, CommonStatus, PendingCreate},
    conditions::reasons,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

/// The cloud's clock is read from `Date` headers (one-second resolution, two seconds of noise):
/// a resource made this long before the create was sent may still be its answer.
const CLOCK_SLACK_MS: i64 = 3_000;

/// What the lookup after an uncertain create found.
#[derive(Debug, PartialEq)]
pub enum Found<T> {
    /// The resource the create made.
    Made(T),
    /// Several resources may be it (their IDs), or one that cannot be told apart from a
    /// resource that existed before.
    Uncertain(Vec<String>),
    Nothing,
}

/// Which of `candidates` (same name, not being deleted) the create `pending` made.
pub fn pick<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    pending: &PendingCreate,
    candidates: Vec<R::Remote>,
) -> Found<R::Remote> {
    let uid = obj.uid().unwrap_or_default();
    let owner = |r: &R::Remote| obj.remote_tags(r).map(|t| tags::ownership(&t, &uid));
    let (ours, rest): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|r| owner(r) == Some(Ownership::Ours));
    if ours.len() == 1 {
        return Found::Made(ours.into_iter().next().expect("one"));
    }
    if ours.len() > 1 {
        return Found::Uncertain(ours.iter().map(R::remote_id).collect());
    }
    let sent_local_ms = pending
        .requested_at
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or(i64::MAX);
    let sent_ms = pending.cloud_sent_ms.unwrap_or(sent_local_ms);
    let mut made = Vec::new();
    let mut unclear = Vec::new();
    for remote in rest {
        let id = R::remote_id(&remote);
        if matches!(owner(&remote), Some(Ownership::Other(_))) || claimed_by_other(obj, ctx, &id).is_some() {
            continue;
        }
        if listed_before(ctx, &id, sent_local_ms) {
            continue;
        }
        match R::created_at_ms(&remote) {
            Some(at) if at + CLOCK_SLACK_MS < sent_ms => {}
            Some(_) => made.push(remote),
            None => unclear.push(id),
        }
    }
    match (made.len(), unclear.is_empty()) {
        (0, true) => Found::Nothing,
        (1, true) => Found::Made(made.pop().expect("one")),
        _ => {
            let mut ids: Vec<String> = made.iter().map(R::remote_id).collect();
            ids.extend(unclear);
            Found::Uncertain(ids)
        }
    }
}

/// True when a listing or read that started before `sent_local_ms` already showed `id`: it
/// existed before the create was sent, so the create did not make it.
fn listed_before<R: CloudResource>(ctx: &Context<R>, id: &str, sent_local_ms: i64) -> bool {
    let Some(listed_at) = ctx.snapshot.listed_at(id) else {
        return false;
    };
    let listed_ms = jiff::Timestamp::now().as_millisecond() - listed_at.elapsed().as_millis() as i64;
    listed_ms + 1_000 < sent_local_ms
}

/// Looks up what the create `pending` made and resolves it (see [`pick`]).
pub async fn find<R: CloudResource>(
    obj: &R,
    cx: &Cx<'_, R>,
    pending: &PendingCreate,
) -> Result<Found<R::Remote>> {
    let candidates = obj.find_created(cx, pending).await?;
    Ok(pick(obj, cx.ctx, pending, candidates))
}

/// The condition an uncertain create leaves the object in.
pub fn uncertain(pending: &PendingCreate, ids: &[String], deleting: bool) -> Step {
    let then = if deleting {
        "the finalizer stays until one is visible alone or spec.resourceId names it"
    } else {
        "nothing is created or adopted until one is visible alone or spec.resourceId names it"
    };
    Step::Waiting {
        reason: reasons::CREATE_UNCERTAIN,
        message: format!(
            "the create sent at {} may have made any of {}, which cannot be told apart from resources that existed before; {then}",
            pending.requested_at,
            ids.join(", ")
        ),
    }
}

/// Records `id` as this object's cloud resource, made by its own create (`created`) or found.
pub fn record<R: CloudResource>(status: &mut R::Status, id: &str, scope: &CloudScope, created: bool) {
    status.set_cloud_id(Some(id.to_string()));
    status.set_pending_create(None);
    let cloud = status.cloud_mut();
    cloud.cloud_scope.get_or_insert_with(|| scope.clone());
    if created || cloud.created_at.is_none() {
        cloud.created_at = Some(jiff::Timestamp::now().to_string());
    }
}

/// What [`confirm_or_create`] got.
pub struct Got<T> {
    pub remote: T,
    /// Made by this reconcile's own create, and its ID already stored in the object's
    /// annotation: status (still carrying the marker) may be written later.
    pub created: bool,
}

/// Finds the resource an earlier, unconfirmed create made, or creates one. `Err(step)` means
/// "wait": an earlier create may still surface, and creating now could duplicate it.
pub async fn confirm_or_create<R: CloudResource>(
    obj: &R,
    cx: &Cx<'_, R>,
    scope: &CloudScope,
    status: &mut R::Status,
    writer: &mut StatusWriter<R>,
) -> Result<Result<Got<R::Remote>, Step>> {
    let uid = obj.uid().unwrap_or_default();
    let found = |remote| {
        Ok(Ok(Got {
            remote,
            created: false,
        }))
    };
    if let Some(pending) = status.pending_create().cloned() {
        // This process saw that create answered and stored its ID in the object since: the
        // copy predates that write (the cache lags), so it is not an uncertain create and
        // nothing is decided on it; the watch brings the newer copy.
        if let Some(id) = cx.ctx.created_by(&uid, &pending.token) {
            return Err(super::outcome::Error::Stale(format!(
                "this copy still shows the create of {id} as pending"
            )));
        }
        match find(obj, cx, &pending).await? {
            Found::Made(remote) => {
                record::<R>(status, &R::remote_id(&remote), scope, true);
                writer.write(status).await?;
                return found(remote);
            }
            Found::Uncertain(ids) => return Ok(Err(uncertain(&pending, &ids, false))),
            Found::Nothing if pending.is_recent(cx.ctx.config.create_grace) => {
                return Ok(Err(Step::Waiting {
                    reason: reasons::CREATING,
                    message: format!(
                        "confirming whether the create sent at {} succeeded before trying again",
                        pending.requested_at
                    ),
                }));
            }
            Found::Nothing => {
                tracing::info!(kind = R::KIND, object = %obj.name_any(), "earlier create never surfaced; creating again");
            }
        }
    } else if let Some(remote) = owned_elsewhere(obj, cx).await? {
        // The status was lost (wiped, or restored without it) after a create: the resource
        // carrying this object's owner tag is its own.
        record::<R>(status, &R::remote_id(&remote), scope, false);
        writer.write(status).await?;
        return found(remote);
    }
    let pending = PendingCreate {
        token: uuid::Uuid::new_v4().to_string(),
        requested_at: jiff::Timestamp::now().to_string(),
        name: obj.cloud_name(),
        cloud_sent_ms: Some(crate::cloud::clock::now_ms()),
    };
    let token = pending.token.clone();
    status.set_pending_create(Some(pending));
    // The tag keys the first tag write will set are recorded with the marker: a tag write whose
    // answer is lost is then still cleaned up when a key leaves the spec.
    status.set_managed_tag_keys(tags::with_keys(status.managed_tag_keys(), obj.spec().tags()));
    // The marker must be stored before the create is sent, or a crash right after could leak;
    // it is written only onto the version this decision was made on, so a lagging cache copy
    // (one that does not show an earlier create yet) gets a conflict instead of creating again.
    writer.write_guarded(status).await?;
    cx.ctx.touch(&uid);
    match obj.create(cx).await {
        // A success that names no resource is as uncertain as a lost answer: the marker stays
        // and the lookup finds what the create made.
        Ok(remote) if R::remote_id(&remote).is_empty() => Ok(Err(Step::Waiting {
            reason: reasons::CREATING,
            message: "the create was accepted but its answer named no ID; finding what it made before anything else".into(),
        })),
        Ok(remote) => {
            let id = R::remote_id(&remote);
            record::<R>(status, &id, scope, true);
            // The ID is stored at once, in the annotation (one write, which also keeps it
            // through a status wipe); status, with the marker cleared, follows with the state
            // the reconcile ends in. A failed annotation write is made up for by writing
            // status now, so the ID is always stored before anything else is sent.
            let created = super::identity::remember(obj, cx.ctx, &id).await;
            if created {
                cx.ctx.created(&uid, &token, &id);
            } else {
                writer.write(status).await?;
                cx.ctx.created(&uid, &token, &id);
            }
            cx.ctx
                .events
                .normal(&obj.object_ref(&()), "Created", "Create", format!("created {} {id}", R::KIND))
                .await;
            Ok(Ok(Got { remote, created }))
        }
        Err(err) => {
            if err.surely_not_applied() {
                status.set_pending_create(None);
            }
            Err(err)
        }
    }
}

/// Whether an object made at `t` was made after this controller started, so no earlier
/// operator can have created for it. The slack covers the apiserver's clock running ahead of ours.
pub(super) fn made_after_start<R: CloudResource>(ctx: &Context<R>, t: &Time) -> bool {
    t.0.as_millisecond() > ctx.started_ms + CLOCK_SLACK_MS
}

/// Before a first create of an object that may have lived before (older than the create
/// grace, and made before this controller started): a resource carrying its owner tag, where
/// the kind's API can filter by tag. An object made after the start can only have resources
/// this process created, and those it records (marker, cloud ID) before anything else.
async fn owned_elsewhere<R: CloudResource>(obj: &R, cx: &Cx<'_, R>) -> Result<Option<R::Remote>> {
    let young = obj.meta().creation_timestamp.as_ref().is_none_or(|t| {
        made_after_start(cx.ctx, t)
            || jiff::Timestamp::now().duration_since(t.0).unsigned_abs() < cx.ctx.config.create_grace
    });
    if young {
        return Ok(None);
    }
    obj.find_owned(cx).await
}
