//! The CRD deletion defender: when the CustomResourceDefinition of a kind is itself being
//! deleted, the API server deletes every object of the kind, and running each one's cleanup
//! would delete every cloud resource the operator manages: almost never what someone
//! uninstalling or reinstalling CRDs meant (Config Connector's deletion defender guards the same).
//! So such objects are released: the finalizer goes, the cloud resource stays as it is, unless
//! the operator runs with `--delete-cloud-resources-on-crd-deletion`.
use super::{
    context::Context,
    outcome::{Result, Step},
    resource::CloudResource,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Resource, ResourceExt};

/// `Some(step)` when the object must be released rather than cleaned up.
pub async fn release_if_crd_deleted<R: CloudResource>(obj: &R, ctx: &Context<R>) -> Result<Option<Step>> {
    if ctx.config.delete_on_crd_deletion {
        return Ok(None);
    }
    let name = format!("{}.{}", R::plural(&()), R::group(&()));
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.kube.clone());
    // Gone already (read after the API server removed it) counts as being deleted.
    let deleting = match crds.get_opt(&name).await? {
        Some(crd) => crd.meta().deletion_timestamp.is_some(),
        None => true,
    };
    if !deleting {
        return Ok(None);
    }
    tracing::warn!(kind = R::KIND, object = %obj.name_any(), crd = %name, "CRD is being deleted: releasing the object, its cloud resource is kept");
    ctx.events
        .normal(
            &obj.object_ref(&()),
            "Released",
            "Delete",
            format!("CRD {name} is being deleted: the cloud resource is kept (--delete-cloud-resources-on-crd-deletion is off)"),
        )
        .await;
    Ok(Some(Step::Ready {
        message: format!("released: CRD {name} is being deleted; the cloud resource was left in place"),
    }))
}
