//! The Cleanup side of the engine: honour managementPolicy and deletionPolicy, never delete what
//! another object owns, and hold the finalizer until the cloud resource is really gone.
use super::{
    context::Context,
    outcome::{Error, Result, Step},
    resource::{CloudResource, Cx},
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
    let scoped = ctx.clouds.for_object(&namespace, spec).await?;
    let resolved = R::Resolved::default();
    let cx = Cx {
        cloud: &scoped.client,
        ctx,
        resolved: &resolved,
    };

    let id = match status.cloud_id().or(spec.resource_id()) {
        Some(id) => id.to_string(),
        None => match status.pending_create().cloned() {
            // A create may have happened just before the delete: find it rather than leak it.
            Some(pending) => match obj.find_created(&cx, &pending).await? {
                Some(remote) => {
                    let id = R::remote_id(&remote);
                    status.set_cloud_id(Some(id.clone()));
                    status.set_pending_create(None);
                    writer.write(status).await?;
                    id
                }
                None if pending.is_recent(ctx.config.create_grace) => {
                    return Err(Error::Waiting {
                        reason: reasons::DELETING,
                        message: "confirming whether the last create succeeded before letting go".into(),
                    });
                }
                None => {
                    return Ok(Step::Ready {
                        message: "nothing was created in the cloud".into(),
                    });
                }
            },
            None => {
                return Ok(Step::Ready {
                    message: "nothing was created in the cloud".into(),
                });
            }
        },
    };
    let Some(remote) = obj.observe(&cx, &id).await? else {
        return Ok(Step::Ready {
            message: format!("{} {id} is gone", R::KIND),
        });
    };
    let remote_tags = obj.remote_tags(&remote);
    if let Some(t) = &remote_tags
        && let Ownership::Other(owner) = tags::ownership(t, &uid)
    {
        tracing::info!(kind = R::KIND, object = %obj.name_any(), %owner, "cloud resource owned by another object; left alone");
        return Ok(Step::Ready {
            message: format!("{} {id} is owned by another object; left alone", R::KIND),
        });
    }
    match spec.deletion_policy() {
        DeletionPolicy::Retain => {
            if let Some(t) = &remote_tags
                && tags::ownership(t, &uid) == Ownership::Ours
            {
                let owner: Tags = [(OWNER_TAG.to_string(), uid.clone())].into();
                obj.remove_tags(&cx, &id, &owner).await?;
                ctx.snapshot.mutated(&id);
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
            let step = obj.delete(&cx, &remote).await?;
            ctx.touch(&uid);
            ctx.snapshot.mutated(&id);
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
                Step::Waiting { reason, message } => Error::Waiting { reason, message },
                Step::CloudFailed { reason, message } => Error::Waiting {
                    reason: reasons::DELETING,
                    message: format!("{reason}: {message}"),
                },
                Step::Observed { message } => Error::Waiting {
                    reason: reasons::DELETING,
                    message,
                },
            })
        }
    }
}
