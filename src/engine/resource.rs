//! The per-kind trait: what the engine needs from Notebook, ResourcePool and LiteServer.
//! Pure functions (`diff`, `status_from`, `readiness`) are separate from IO (`observe`, `create`,
//! `update`, `delete`), so each kind's logic is unit-tested without a client.
use super::{
    context::Context,
    outcome::{Result, Step},
};
use crate::{
    api::common::{CommonSpec, CommonStatus, PendingCreate, Tags},
    cloud::ModelArtsClient,
};
use kube::{Resource, core::NamespaceResourceScope};
use serde::{Serialize, de::DeserializeOwned};
use std::{collections::HashSet, fmt::Debug, future::Future, ops::ControlFlow};

/// How the cloud state compares with what the spec asks for, once no change is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready(String),
    Progressing { reason: &'static str, message: String },
    Failed { reason: String, message: String },
}

/// What one reconcile may use: the cloud client for the object's credentials scope, the engine
/// context, and whatever the kind resolved from the cluster beforehand (a pool ID, a password).
pub struct Cx<'a, R: CloudResource> {
    pub cloud: &'a ModelArtsClient,
    pub ctx: &'a Context<R>,
    pub resolved: &'a R::Resolved,
}

pub trait CloudResource:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Spec: CommonSpec + Send + Sync;
    type Status: CommonStatus + Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync;
    /// The cloud-side view, as observed.
    type Remote: super::pack::Pack + Debug + Send + Sync + 'static;
    /// One field-level difference between spec and cloud.
    type Change: Debug + Send + Sync;
    /// Facts from the cluster the kind needs (resolved before any cloud call).
    type Resolved: Default + Send + Sync;

    /// Kind name for metrics, events and logs.
    const KIND: &'static str;
    /// Objects per page of [`CloudResource::list_pages`] when a listing returns the same view a
    /// GET does (tags included), so reads of many objects can come from one listing
    /// (`engine::demand`); `None` where it does not.
    const READS_FROM_LISTING: Option<usize> = None;

    fn spec(&self) -> &Self::Spec;
    fn status(&self) -> Option<&Self::Status>;

    // ---- pure ----
    fn remote_id(remote: &Self::Remote) -> String;
    /// The cloud resource's tags, or `None` when this resource has no tag API.
    fn remote_tags(&self, remote: &Self::Remote) -> Option<Tags>;
    fn cloud_state(remote: &Self::Remote) -> String;
    /// When the cloud made the resource, by the cloud's clock (epoch milliseconds), if it says.
    fn created_at_ms(remote: &Self::Remote) -> Option<i64>;
    /// Field-level differences between the spec and the cloud (tags excluded: the engine
    /// manages those). Empty means up to date.
    fn diff(
        &self,
        resolved: &Self::Resolved,
        remote: &Self::Remote,
        status: &Self::Status,
    ) -> Vec<Self::Change>;
    /// Readiness once `diff` is empty.
    fn readiness(&self, remote: &Self::Remote) -> Readiness;
    /// Copies observations from the cloud into status (never from the spec).
    fn status_from(&self, remote: &Self::Remote, status: &mut Self::Status);
    /// Why the kind will not manage this cloud resource at all (e.g. a yearly/monthly pool the
    /// API cannot change or delete); checked before anything is changed, in Manage mode only.
    fn refusal(&self, _remote: &Self::Remote) -> Option<String> {
        None
    }
    /// Records in `status` what a non-idempotent change is about to do (e.g. a pending
    /// scale-up); true when status changed and must be written before the call is sent.
    fn before_update(
        &self,
        _remote: &Self::Remote,
        _changes: &[Self::Change],
        _status: &mut Self::Status,
    ) -> bool {
        false
    }
    /// The name the cloud resource gets; also what an uncertain create is looked up by.
    fn cloud_name(&self) -> String;

    // ---- IO ----
    /// Reads what the kind needs from the cluster; a `Waiting` step when a dependency is not
    /// ready yet (for example the ResourcePool a Notebook runs on).
    fn resolve(
        &self,
        ctx: &Context<Self>,
    ) -> impl Future<Output = Result<Result<Self::Resolved, Step>>> + Send;
    /// Reads the cloud resource by ID; `None` when it does not exist.
    fn observe(
        &self,
        cx: &Cx<'_, Self>,
        id: &str,
    ) -> impl Future<Output = Result<Option<Self::Remote>>> + Send;
    /// After an uncertain create: every live cloud resource that may be what that create made
    /// (this name, or this object's owner tag), with its tags where the kind has them. The
    /// engine (`create::pick`) decides which, if any, it made.
    fn find_created(
        &self,
        cx: &Cx<'_, Self>,
        pending: &PendingCreate,
    ) -> impl Future<Output = Result<Vec<Self::Remote>>> + Send;
    /// A resource carrying this object's owner tag, where the kind's API can filter by tag
    /// (looked for before a first create of an object that may have lost its status).
    fn find_owned(&self, _cx: &Cx<'_, Self>) -> impl Future<Output = Result<Option<Self::Remote>>> + Send {
        async { Ok(None) }
    }
    fn create(&self, cx: &Cx<'_, Self>) -> impl Future<Output = Result<Self::Remote>> + Send;
    /// Applies (part of) the changes; returns `Waiting` while a multi-step choreography runs.
    /// May record what it did in `status` (e.g. that the operator stopped the resource).
    fn update(
        &self,
        cx: &Cx<'_, Self>,
        remote: &Self::Remote,
        changes: &[Self::Change],
        status: &mut Self::Status,
    ) -> impl Future<Output = Result<Step>> + Send;
    /// Starts or continues deletion (stopping first where the API needs it). Returns `Ready`
    /// with a note when it sent a mutating call, `Waiting` when it only waits; either way the
    /// engine keeps the finalizer until `observe` finds nothing.
    fn delete(&self, cx: &Cx<'_, Self>, remote: &Self::Remote) -> impl Future<Output = Result<Step>> + Send;
    fn add_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> impl Future<Output = Result<()>> + Send;
    fn remove_tags(
        &self,
        cx: &Cx<'_, Self>,
        id: &str,
        tags: &Tags,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The cloud resources of this kind in the client's scope that the drift poller watches:
    /// those carrying the owner tag, and those an object names in `named` (its recorded ID or
    /// spec.resourceId: adoptions not tagged yet, ObserveOnly objects, untagged kinds). Handed to
    /// `on_page` a page at a time as they are read, so the poller indexes each page and drops
    /// it instead of holding the whole listing beside the snapshot. An error after some pages
    /// leaves those pages delivered. `on_page` may end the listing early (`Break`); returns
    /// whether the listing was complete.
    fn list_pages(
        cloud: &ModelArtsClient,
        named: &HashSet<&str>,
        on_page: &mut (dyn FnMut(Vec<Self::Remote>) -> ControlFlow<()> + Send),
    ) -> impl Future<Output = Result<bool>> + Send;
}
