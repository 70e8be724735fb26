//! The Apply side of the engine: observe, claim or create, converge tags and fields, report
//! readiness. Creating lives in `create`, ownership rules in `ownership`.
use super::{
    context::Context,
    create, identity,
    outcome::{Error, Result, Step},
    ownership,
    resource::{CloudResource, Cx, Readiness},
    status::StatusWriter,
    tags,
};
use crate::api::{
    common::{CloudScope, CommonSpec, CommonStatus, ManagementPolicy},
    conditions::reasons,
};
use kube::{ResourceExt, runtime::reflector::ObjectRef};
use std::time::Instant;

pub async fn run<R: CloudResource>(
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
    let scope = scope_of(&scoped.client);
    check_scope::<R>(status, &scope)?;
    let resolved = match obj.resolve(ctx).await? {
        Ok(resolved) => resolved,
        Err(step) => return Ok(step),
    };
    let cx = Cx {
        cloud: &scoped.client,
        ctx,
        resolved: &resolved,
    };

    let recorded = identity::recorded(obj, status);
    if let (Some(recorded), Some(asked)) = (&recorded, spec.resource_id())
        && recorded != asked
    {
        return Err(Error::InvalidSpec(format!(
            "spec.resourceId {asked} differs from the cloud resource {recorded} this object already manages: \
             a recorded cloud ID is never replaced; remove spec.resourceId, or create a new object to adopt {asked}"
        )));
    }
    let mut created = false;
    let remote = match recorded.clone().or(spec.resource_id().map(str::to_string)) {
        Some(id) => match lookup(obj, &cx, &id).await? {
            Some(remote) => remote,
            None if recorded.is_none() => {
                return Err(Error::CloudResourceMissing(format!(
                    "spec.resourceId {id} does not exist in ModelArts: fix the ID or remove it to create a new {}",
                    R::KIND
                )));
            }
            // Reads are eventually consistent: a resource this operator created or changed
            // moments ago may not be visible yet, and is not "deleted outside Kubernetes".
            None if recently_changed(obj, ctx, status) => {
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
        None => match create::confirm_or_create(obj, &cx, &scope, status, writer).await? {
            Ok(got) => {
                created = got.created;
                got.remote
            }
            Err(waiting) => return Ok(waiting),
        },
    };
    let id = R::remote_id(&remote);
    // An observer claims nothing: it neither records the ID as its own (so it is never a rival
    // of the object that manages the resource) nor is refused as one.
    if !observe_only
        && let Err(conflict) =
            ownership::check_conflict(obj, &remote, &id, recorded.as_deref() == Some(id.as_str()), ctx)
    {
        // A claim lost to another object that recorded the ID is let go, so the winner's
        // deletion is not blocked by this one. One the owner tag refuses is kept: the tag alone
        // decides deletes, and forgetting the ID (an object restored from a backup, with a new
        // UID) would make the next pass create a second resource.
        let tagged_for_other = matches!(
            obj.remote_tags(&remote).map(|t| tags::ownership(&t, &uid)),
            Some(tags::Ownership::Other(_))
        );
        if recorded.as_deref() == Some(id.as_str()) && !tagged_for_other {
            status.set_cloud_id(None);
            identity::forget(obj, ctx).await;
        }
        return Err(conflict);
    }
    if !observe_only && status.cloud_id() != Some(id.as_str()) {
        create::record::<R>(status, &id, &scope, false);
    }
    status
        .cloud_mut()
        .cloud_scope
        .get_or_insert_with(|| scope.clone());
    if !observe_only && !created && identity::missing(obj, &id) {
        identity::remember(obj, ctx, &id).await;
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
        let widened = tags::with_keys(status.managed_tag_keys(), spec.tags());
        if !plan.upsert.is_empty() && widened != status.managed_tag_keys() {
            // Remembered before the write: a write that lands but loses its answer still
            // leaves keys this object must clean up when they leave the spec.
            status.set_managed_tag_keys(widened);
            writer.write(status).await?;
        }
        // Marked before and after each call: a listing taken while a (rate-limited) tag
        // write is on its way may not show it, and must not be read as fresh afterwards.
        if !plan.remove.is_empty() {
            changing(ctx, &uid, &id);
            let removed = obj.remove_tags(&cx, &id, &plan.remove).await;
            changing(ctx, &uid, &id);
            removed?;
        }
        if !plan.upsert.is_empty() {
            changing(ctx, &uid, &id);
            let added = obj.add_tags(&cx, &id, &plan.upsert).await;
            changing(ctx, &uid, &id);
            added?;
        }
        // The first tags of a resource just created are part of its Created Event.
        if !plan.is_empty() && !created {
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
        // Guarded: a copy that lags behind an earlier call's record must not send it again.
        if obj.before_update(&remote, &changes, status) {
            writer.write_guarded(status).await?;
        }
        // Marked before the call, not after its answer: a lost answer must not let a stale
        // read (or snapshot entry) send the same non-idempotent call again.
        changing(ctx, &uid, &id);
        let step = obj.update(&cx, &remote, &changes, status).await;
        changing(ctx, &uid, &id);
        let step = step?;
        ctx.events
            .normal(&obj.object_ref(&()), "Updating", "Update", format!("{changes:?}"))
            .await;
        return Ok(step);
    }
    let readiness = obj.readiness(&remote);
    // The create's answer names a transitional state, and the ID is stored in the annotation:
    // the state that follows comes from the next listing, and status is written once, then.
    if created
        && matches!(readiness, Readiness::Progressing { .. })
        && R::READS_FROM_LISTING.is_some()
        && defer_to_listing(obj, ctx, &id)
    {
        return Err(Error::Deferred);
    }
    Ok(match readiness {
        Readiness::Ready(message) => Step::Ready { message },
        Readiness::Progressing { reason, message } => Step::Waiting { reason, message },
        Readiness::Failed { reason, message } => Step::CloudFailed { reason, message },
    })
}

/// True when the object should wait for the poller's next listing rather than read alone
/// (`engine::demand`): for kinds whose listing is as good as a GET, when enough objects wait.
fn defer_to_listing<R: CloudResource>(obj: &R, ctx: &Context<R>, id: &str) -> bool {
    let Some(page) = R::READS_FROM_LISTING else {
        return false;
    };
    // A full listing is as long as the cloud's list of this kind: about one resource per
    // cached object until the snapshot holds them (after a restart it starts empty).
    let cached = ctx.store.as_ref().map_or(0, |store| store.len());
    let full = ctx.snapshot.len().max(cached).div_ceil(page.max(1)).max(1);
    // An object made since this process started names a resource made since (the newest
    // pages); an older one may name any, and the snapshot starts empty on a restart.
    let made_since_start = obj
        .meta()
        .creation_timestamp
        .as_ref()
        .is_some_and(|t| create::made_after_start(ctx, t));
    let pages = ctx.snapshot.pages_to(id, full, made_since_start);
    let uid = obj.uid().unwrap_or_default();
    ctx.demand.defer(&uid, ObjectRef::from_obj(obj), id, pages)
}

/// Records that the operator is changing `id` now: snapshot entries and reads from before do
/// not describe it any more.
pub fn changing<R: CloudResource>(ctx: &Context<R>, uid: &str, id: &str) {
    ctx.touch(uid);
    ctx.snapshot.mutated(id);
}

pub fn scope_of(cloud: &crate::cloud::ModelArtsClient) -> CloudScope {
    CloudScope {
        region: cloud.region().to_string(),
        project_id: cloud.project_id().to_string(),
    }
}

/// The credentials now in effect must reach the region and project the resource was recorded
/// in; elsewhere the resource is invisible, and invisible is not gone.
pub fn check_scope<R: CloudResource>(status: &R::Status, scope: &CloudScope) -> Result<()> {
    match &status.cloud().cloud_scope {
        Some(recorded) if recorded != scope => Err(Error::ScopeChanged(format!(
            "the cloud resource lives in region {} project {}, but this object's credentials now point at region {} \
                 project {}: restore spec.region/spec.projectId or the credentials Secret's region/projectId; nothing is \
                 created, changed or deleted meanwhile",
            recorded.region, recorded.project_id, scope.region, scope.project_id
        ))),
        _ => Ok(()),
    }
}

/// True while a read that misses the resource may just be lagging: the operator created it (as
/// status records, so this survives a restart) or changed it within the create grace.
pub fn recently_changed<R: CloudResource>(obj: &R, ctx: &Context<R>, status: &R::Status) -> bool {
    let grace = ctx.config.create_grace;
    let touched = ctx
        .last_touched(&obj.uid().unwrap_or_default())
        .is_some_and(|t| t.elapsed() < grace);
    let created = status
        .cloud()
        .created_at
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .is_some_and(|t| jiff::Timestamp::now().duration_since(t).unsigned_abs() < grace);
    touched || created
}

/// Reads the cloud resource, from a fresh snapshot entry when there is one; a GET's settled
/// answer goes into the snapshot, so the reconcile its own status write triggers needs no second GET.
async fn lookup<R: CloudResource>(obj: &R, cx: &Cx<'_, R>, id: &str) -> Result<Option<R::Remote>> {
    let uid = obj.uid().unwrap_or_default();
    let ctx = cx.ctx;
    let reader = reader_key(obj);
    if let Some(remote) = ctx
        .snapshot
        .fresh(id, ctx.config.snapshot_max_age, ctx.last_touched(&uid), reader)
        // A transitional state is only as good as its age: once the waiting interval has
        // passed it is read again (from the next listing, or alone), not reused until a poll.
        .filter(|remote| {
            !matches!(obj.readiness(remote), Readiness::Progressing { .. })
                || ctx
                    .snapshot
                    .listed_at(id)
                    .is_some_and(|at| at.elapsed() < ctx.config.waiting)
        })
    {
        // The listing stood in for this object's own read: like a GET's answer, it serves
        // this object as it is now, and any edit to the object earns a new read.
        if ctx.demand.done(&uid)
            && let Some(listed_at) = ctx.snapshot.listed_at(id)
        {
            ctx.snapshot.observed(id, remote.clone(), listed_at, reader);
        }
        return Ok(Some(remote));
    }
    if defer_to_listing(obj, ctx, id) {
        return Err(Error::Deferred);
    }
    tracing::debug!(
        kind = R::KIND,
        object = %obj.name_any(),
        entry = ?ctx.snapshot.listed_at(id).map(|at| at.elapsed()),
        touched = ?ctx.last_touched(&uid).map(|t| t.elapsed()),
        "reading alone"
    );
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

/// Identifies an object as the user last changed it (UID, generation, annotations but the
/// operator's own), not its status: the reconcile its own writes trigger matches, a user's
/// edit does not.
fn reader_key<R: CloudResource>(obj: &R) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    obj.meta().uid.hash(&mut h);
    obj.meta().generation.hash(&mut h);
    if let Some(annotations) = &obj.meta().annotations {
        for (k, v) in annotations {
            if k != identity::CLOUD_ID_ANNOTATION {
                (k, v).hash(&mut h);
            }
        }
    }
    h.finish()
}
