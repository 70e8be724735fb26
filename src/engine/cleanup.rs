//! The Cleanup side of the engine: honour managementPolicy and deletionPolicy, delete only what
//! this object provably owns (see `ownership`), and hold the finalizer until the cloud resource
//! is really gone: a read that misses a resource created or changed moments ago is not proof.
use super::{
    apply::{changing, check_scope, recently_changed, scope_of},
    context::Context,
    create::{self, Found},
    identity,
    outcome::{Error, Result, Step},
    ownership,
    resource::{CloudResource, Cx, Readiness},
    status::StatusWriter,
    tags::{self, OWNER_TAG, Ownership},
};
use crate::api::{
    common::{CommonSpec, CommonStatus, DeletionPolicy, ManagementPolicy, Tags},
    conditions::reasons,
};
use kube::ResourceExt;

pub async fn run<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    status: &mut R::Status,
    writer: &mut StatusWriter<R>,
) -> Result<Step> {
    if let Some(released) = super::crd_deletion::release_if_crd_deleted(obj, ctx).await? {
        return Ok(released);
    }
    let spec = obj.spec();
    if spec.management_policy() == ManagementPolicy::ObserveOnly {
        return Ok(Step::Ready {
            message: "observe-only: the cloud resource was left untouched".into(),
        });
    }
    let uid = obj.uid().unwrap_or_default();
    let namespace = obj.namespace().unwrap_or_default();
    let scoped = ctx.clouds.for_cleanup(&namespace, spec).await?;
    let scope = scope_of(&scoped.client);
    check_scope::<R>(status, &scope)?;
    let resolved = R::Resolved::default();
    let cx = Cx {
        cloud: &scoped.client,
        ctx,
        resolved: &resolved,
    };

    // Only what this object recorded (its own create, or an adoption it won) is considered:
    // spec.resourceId alone never licenses a delete.
    let id = match identity::recorded(obj, status) {
        Some(id) => id,
        None => match status.pending_create().cloned() {
            // A create may have happened just before the delete: find it rather than leak it.
            Some(pending) => match create::find(obj, &cx, &pending).await? {
                Found::Made(remote) => {
                    let id = R::remote_id(&remote);
                    create::record::<R>(status, &id, &scope, true);
                    writer.write(status).await?;
                    id
                }
                Found::Uncertain(ids) => return Err(waiting(create::uncertain(&pending, &ids, true))),
                Found::Nothing if pending.is_recent(ctx.config.create_grace) => {
                    return Err(Error::Waiting {
                        reason: reasons::DELETING,
                        message: "confirming whether the last create succeeded before letting go".into(),
                    });
                }
                Found::Nothing => {
                    return Ok(Step::Ready {
                        message: "nothing was created in the cloud".into(),
                    });
                }
            },
            None => {
                return Ok(Step::Ready {
                    message: "nothing was created or adopted in the cloud".into(),
                });
            }
        },
    };
    let Some(remote) = obj.observe(&cx, &id).await? else {
        // Before this object asked for the delete, a miss right after a create or change may
        // be a lagging read; after it, a miss is the delete done.
        if status.cloud().delete_requested_at.is_none() && recently_changed(obj, ctx, status) {
            return Err(Error::Waiting {
                reason: reasons::DELETING,
                message: format!(
                    "{} {id} is not visible yet (reads are eventually consistent); waiting before letting go",
                    R::KIND
                ),
            });
        }
        return Ok(Step::Ready {
            message: format!("{} {id} is gone", R::KIND),
        });
    };
    if let Err(why) = ownership::may_delete(obj, ctx, &remote, &id) {
        tracing::info!(kind = R::KIND, object = %obj.name_any(), %why, "cloud resource not provably ours; left alone");
        return Ok(Step::Ready {
            message: format!("{} {id} left alone: {why}", R::KIND),
        });
    }
    match spec.deletion_policy() {
        DeletionPolicy::Retain => {
            if let Some(t) = obj.remote_tags(&remote)
                && tags::ownership(&t, &uid) == Ownership::Ours
            {
                let owner: Tags = [(OWNER_TAG.to_string(), uid.clone())].into();
                changing(ctx, &uid, &id);
                obj.remove_tags(&cx, &id, &owner).await?;
            }
            ctx.events
                .normal(
                    &obj.object_ref(&()),
                    "Retained",
                    "Delete",
                    format!("{} {id} kept (deletionPolicy: Retain)", R::KIND),
                )
                .await;
            Ok(Step::Ready {
                message: format!("{} {id} retained", R::KIND),
            })
        }
        DeletionPolicy::Delete => {
            let failed = match obj.readiness(&remote) {
                Readiness::Failed { reason, message } => Some((reason, message)),
                _ => None,
            };
            if status.cloud().delete_requested_at.is_none() {
                // Stored before the call, so it holds after a lost answer or a restart too.
                status.cloud_mut().delete_requested_at = Some(jiff::Timestamp::now().to_string());
                writer.write(status).await?;
            }
            changing(ctx, &uid, &id);
            let step = obj.delete(&cx, &remote).await?;
            // A resource in a failed state (a delete the cloud failed, an ERROR) is asked again
            // with per-object backoff and one aggregated Warning, not every few seconds.
            if let Some((state, message)) = failed {
                return Err(Error::CloudFailed {
                    state,
                    message: format!("{message}; asked ModelArts to delete it again, retrying with backoff"),
                });
            }
            Err(match step {
                Step::Ready { message } => {
                    ctx.events
                        .normal(&obj.object_ref(&()), "Deleting", "Delete", message.clone())
                        .await;
                    Error::Waiting {
                        reason: reasons::DELETING,
                        message,
                    }
                }
                // A deletion the cloud reports as failed is retried with backoff, not every
                // few seconds: it rarely heals by itself.
                Step::CloudFailed { reason, message } => Error::Refused {
                    reason: reasons::CLOUD_FAILED,
                    message: format!("{reason}: {message}"),
                },
                other => waiting(other),
            })
        }
    }
}

fn waiting(step: Step) -> Error {
    match step {
        Step::Waiting { reason, message } => Error::Waiting { reason, message },
        Step::Ready { message } | Step::Observed { message } => Error::Waiting {
            reason: reasons::DELETING,
            message,
        },
        Step::CloudFailed { reason, message } => Error::Waiting {
            reason: reasons::DELETING,
            message: format!("{reason}: {message}"),
        },
    }
}
