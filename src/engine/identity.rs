//! The cloud ID kept where a status wipe or a backup restored without status cannot lose it: an
//! annotation on the object (as Crossplane's external-name), beside `status.cloudId`.
use super::{context::Context, resource::CloudResource};
use crate::api::common::CommonStatus;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};

/// Annotation holding the ID of the cloud resource this object created or adopted.
pub const CLOUD_ID_ANNOTATION: &str = "modelarts.operator.dev/cloud-id";

/// The cloud ID this object recorded: in status, else in its annotation.
pub fn recorded<R: CloudResource>(obj: &R, status: &R::Status) -> Option<String> {
    status
        .cloud_id()
        .map(str::to_string)
        .or_else(|| obj.annotations().get(CLOUD_ID_ANNOTATION).cloned())
}

/// Stamps the annotation; true when it was written. Best effort: status holds the ID too, and
/// a failed write is retried by the next reconcile (see [`missing`]).
pub async fn remember<R: CloudResource>(obj: &R, ctx: &Context<R>, id: &str) -> bool {
    set(obj, ctx, Some(id)).await
}

/// Removes the annotation (this object lost a claim to another).
pub async fn forget<R: CloudResource>(obj: &R, ctx: &Context<R>) {
    if obj.annotations().contains_key(CLOUD_ID_ANNOTATION) {
        set(obj, ctx, None).await;
    }
}

/// True when the annotation does not hold `id` yet.
pub fn missing<R: CloudResource>(obj: &R, id: &str) -> bool {
    obj.annotations().get(CLOUD_ID_ANNOTATION).map(String::as_str) != Some(id)
}

async fn set<R: CloudResource>(obj: &R, ctx: &Context<R>, id: Option<&str>) -> bool {
    let api: Api<R> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let body = serde_json::json!({"metadata": {"annotations": {CLOUD_ID_ANNOTATION: id}}});
    match api
        .patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&body))
        .await
    {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(kind = R::KIND, object = %obj.name_any(), error = %err, "could not record the cloud ID annotation");
            false
        }
    }
}
