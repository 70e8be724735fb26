//! Who may change or delete a cloud resource, in one place. Proof of ownership is this object's
//! owner tag on the resource, or, where the resource carries no owner tag (a kind without a tag
//! API, or a create whose tag write has not happened yet), the cloud ID this object itself
//! recorded with no other object claiming it. `spec.resourceId` alone proves nothing.
use super::{
    context::Context,
    outcome::{Error, Result},
    resource::CloudResource,
    tags::{self, OWNER_TAG, Ownership},
};
use crate::api::common::CommonStatus;
use kube::ResourceExt;
use std::sync::Arc;

/// Another object of this kind that records `id` as its cloud resource.
pub fn claimed_by_other<R: CloudResource>(obj: &R, ctx: &Context<R>, id: &str) -> Option<Arc<R>> {
    let store = ctx.store.as_ref()?;
    let uid = obj.meta().uid.as_deref();
    // Runs on every reconcile over the whole cache: `find` borrows in place and the cloud ID,
    // which rarely matches, is compared first.
    store.find(|other| {
        other.status().and_then(|s| s.cloud_id()) == Some(id) && other.meta().uid.as_deref() != uid
    })
}

/// Whether `a` wins a claim over `b`: the older object, the UID breaking a tie within one
/// second, so two objects claiming one resource at the same moment agree on one winner.
fn wins<R: CloudResource>(a: &R, b: &R) -> bool {
    let key = |o: &R| (o.meta().creation_timestamp.clone(), o.meta().uid.clone());
    key(a) < key(b)
}

/// Refuses to manage a cloud resource another object owns. The owner tag decides where the
/// resource has one; otherwise the objects recording the ID do (the older one wins).
pub fn check_conflict<R: CloudResource>(
    obj: &R,
    remote: &R::Remote,
    id: &str,
    ctx: &Context<R>,
) -> Result<()> {
    let uid = obj.uid().unwrap_or_default();
    match obj.remote_tags(remote).map(|t| tags::ownership(&t, &uid)) {
        Some(Ownership::Ours) => return Ok(()),
        Some(Ownership::Other(owner)) => {
            return Err(Error::ManagementConflict(format!(
                "{} {id} is managed by another object (tag {OWNER_TAG}={owner}); this object will not change it: \
                 remove spec.resourceId or point it at another resource",
                R::KIND
            )));
        }
        Some(Ownership::Unclaimed) | None => {}
    }
    let Some(store) = &ctx.store else { return Ok(()) };
    let rival = store.find(|other| {
        other.status().and_then(|s| s.cloud_id()) == Some(id)
            && other.meta().uid.as_deref() != Some(uid.as_str())
            && wins(other, obj)
    });
    match rival {
        Some(other) => Err(Error::ManagementConflict(format!(
            "{} {id} is already managed by {}/{}; this object will not change it: remove spec.resourceId or \
             point it at another resource",
            R::KIND,
            other.namespace().unwrap_or_default(),
            other.name_any()
        ))),
        None => Ok(()),
    }
}

/// Whether this object may delete (or untag) `remote`, which it recorded as `id`.
pub fn may_delete<R: CloudResource>(
    obj: &R,
    ctx: &Context<R>,
    remote: &R::Remote,
    id: &str,
) -> Result<(), String> {
    let uid = obj.uid().unwrap_or_default();
    match obj.remote_tags(remote).map(|t| tags::ownership(&t, &uid)) {
        Some(Ownership::Ours) => Ok(()),
        Some(Ownership::Other(owner)) => {
            Err(format!("it is owned by another object (tag {OWNER_TAG}={owner})"))
        }
        Some(Ownership::Unclaimed) | None => match claimed_by_other(obj, ctx, id) {
            Some(other) => Err(format!(
                "{}/{} claims it too",
                other.namespace().unwrap_or_default(),
                other.name_any()
            )),
            None if ctx.store.is_none() => Err("the cluster cache is not ready".into()),
            None => Ok(()),
        },
    }
}
