//! Who may change or delete a cloud resource, in one place. Proof of ownership is this object's
//! owner tag on the resource, or, where the resource carries no owner tag (a kind without a tag
//! API, or a create whose tag write has not happened yet), the cloud ID this object itself
//! recorded with no other object claiming it. `spec.resourceId` alone proves nothing.
use super::{
    cache::Cached,
    context::Context,
    key::Key,
    outcome::{Error, Result},
    resource::CloudResource,
    tags::{self, OWNER_TAG, Ownership},
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use std::sync::Arc;

/// Another object of this kind that records `id` as its cloud resource.
pub fn claimed_by_other<R: CloudResource>(obj: &R, ctx: &Context<R>, id: &str) -> Option<Arc<Cached<R>>> {
    let store = ctx.store.as_ref()?;
    let uid = obj.meta().uid.as_deref().map(Key::new);
    // Runs on every reconcile over the whole cache: `find` borrows in place and the cloud ID,
    // which rarely matches, is compared first, without decoding the entry.
    store.find(|other| other.cloud_id() == Some(id) && other.object_uid() != uid.as_ref())
}

/// Whether `other`, which records the cloud ID, keeps it against `obj`. A recorded claim always
/// beats one that only names the ID (`spec.resourceId`), whatever the objects' ages. When both
/// recorded it (two adoptions that did not see each other), the older object wins and the UID
/// breaks a tie within one second, so both agree on one winner.
pub fn rival_keeps(other: &ObjectMeta, obj: &ObjectMeta, obj_recorded: bool) -> bool {
    let key = |o: &ObjectMeta| (o.creation_timestamp.clone(), o.uid.clone());
    !obj_recorded || key(other) < key(obj)
}

/// Refuses to manage a cloud resource another object owns. The owner tag decides where the
/// resource has one; otherwise the objects recording the ID do (see [`rival_keeps`]).
/// `recorded` says whether this object itself recorded `id`.
pub fn check_conflict<R: CloudResource>(
    obj: &R,
    remote: &R::Remote,
    id: &str,
    recorded: bool,
    ctx: &Context<R>,
) -> Result<()> {
    let uid = obj.uid().unwrap_or_default();
    match obj.remote_tags(remote).map(|t| tags::ownership(&t, &uid)) {
        Some(Ownership::Ours) => return Ok(()),
        Some(Ownership::Other(owner)) => {
            return Err(Error::ManagementConflict(format!(
                "{} {id} is managed by another object (tag {OWNER_TAG}={owner}); this object will not change or \
                 delete it: remove spec.resourceId or point it at another resource; if this object was restored \
                 from a backup of that one, remove the tag in the console to hand the resource over",
                R::KIND
            )));
        }
        Some(Ownership::Unclaimed) | None => {}
    }
    let Some(store) = &ctx.store else { return Ok(()) };
    let key = Key::new(&uid);
    let rival = store.find(|other| {
        other.cloud_id() == Some(id)
            && other.object_uid() != Some(&key)
            && rival_keeps(&other.identity(), obj.meta(), recorded)
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

#[cfg(test)]
mod tests {
    use super::rival_keeps;
    use crate::api::notebook::Notebook;
    use serde_json::json;

    /// Two objects made within one second (timestamps have second resolution).
    fn nb(name: &str, uid: &str) -> Notebook {
        serde_json::from_value(json!({
            "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
            "metadata": {"name": name, "namespace": "ns", "uid": uid, "creationTimestamp": "2026-12-02T01:00:00Z"},
            "spec": {"flavor": "f", "image": {"id": "i"}, "volume": {"category": "EVS"}}
        }))
        .expect("valid Notebook")
    }

    #[test]
    fn a_recorded_claim_beats_a_newcomer_naming_the_id_even_with_a_smaller_uid() {
        // Before, the tie at one second went to the smaller UID: a newcomer that only named the
        // ID in spec.resourceId took a Lite Server its owner had recorded, and stopped it.
        let owner = nb("first-claim", "ffff");
        let newcomer = nb("second-claim", "0000");
        assert!(rival_keeps(&owner.metadata, &newcomer.metadata, false));
    }

    #[test]
    fn two_recorded_claims_in_one_second_agree_on_one_winner() {
        let a = nb("a", "0000");
        let b = nb("b", "ffff");
        assert!(rival_keeps(&a.metadata, &b.metadata, true), "b yields to a");
        assert!(
            !rival_keeps(&b.metadata, &a.metadata, true),
            "a keeps it against b"
        );
    }
}
