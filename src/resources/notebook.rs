//! The Notebook kind on the generic engine: IO against the ModelArts notebook API; the pure
//! logic lives in `notebook::plan`.
pub mod plan;

use crate::{
    api::{
        common::{CommonStatus, PendingCreate, Tags},
        conditions::{READY, reasons},
        notebook::{Notebook, NotebookSpec, NotebookStatus},
        resource_pool::ResourcePool,
    },
    cloud::{
        ModelArtsClient,
        notebooks::{LeaseRequest, Notebook as Remote, NotebookFilter, StartOptions, Tag},
    },
    engine::{
        conditions,
        context::Context,
        outcome::{Error, Result, Step},
        pack::{self, Pack},
        resource::{CloudResource, Cx, Readiness},
        tags::{OWNER_TAG, Ownership, ownership},
    },
};
use kube::{Api, ResourceExt};
use plan::Change;
use std::{collections::HashSet, ops::ControlFlow};

/// What a Notebook needs from the cluster: the cloud ID of the pool it runs on.
#[derive(Default, Debug, Clone)]
pub struct Resolved {
    pub pool_id: Option<String>,
}

const PAGE: u32 = 200;

fn now_ms() -> i64 {
    crate::cloud::clock::now_ms()
}

/// Notebooks come by the thousand: the snapshot keeps each as compressed JSON (`engine::pack`).
impl Pack for Remote {
    fn text(&self) -> Option<Vec<u8>> {
        pack::json_text(self)
    }
    fn from_text(text: &[u8]) -> Option<Self> {
        pack::from_json(text)
    }
}

impl CloudResource for Notebook {
    type Spec = NotebookSpec;
    type Status = NotebookStatus;
    type Remote = Remote;
    type Change = Change;
    type Resolved = Resolved;
    const KIND: &'static str = "Notebook";
    // The listing carries each notebook's tags and state, as `show` does.
    const READS_FROM_LISTING: Option<usize> = Some(PAGE as usize);

    fn spec(&self) -> &NotebookSpec {
        &self.spec
    }
    fn status(&self) -> Option<&NotebookStatus> {
        self.status.as_ref()
    }
    fn remote_id(remote: &Remote) -> String {
        remote.id.clone()
    }
    fn remote_tags(&self, remote: &Remote) -> Option<Tags> {
        Some(
            remote
                .tags
                .iter()
                .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                .collect(),
        )
    }
    fn created_at_ms(remote: &Remote) -> Option<i64> {
        remote.lease.as_ref().and_then(|l| l.create_at)
    }
    fn cloud_state(remote: &Remote) -> String {
        remote.status.clone()
    }
    fn diff(&self, _resolved: &Resolved, remote: &Remote, _status: &NotebookStatus) -> Vec<Change> {
        plan::diff(self, remote, now_ms())
    }
    fn readiness(&self, remote: &Remote) -> Readiness {
        plan::readiness(self, remote)
    }
    fn status_from(&self, remote: &Remote, status: &mut NotebookStatus) {
        plan::status_from(remote, status);
        if remote.status == "RUNNING" && self.spec.desired_state == crate::api::common::DesiredState::Running
        {
            status.stopped_for_update = false;
        }
    }
    fn cloud_name(&self) -> String {
        plan::cloud_name(self)
    }

    async fn resolve(&self, ctx: &Context<Self>) -> Result<std::result::Result<Resolved, Step>> {
        if let Some(id) = &self.spec.pool_id {
            return Ok(Ok(Resolved {
                pool_id: Some(id.clone()),
            }));
        }
        let Some(pool_ref) = &self.spec.pool_ref else {
            return Ok(Ok(Resolved::default()));
        };
        let api: Api<ResourcePool> = Api::namespaced(ctx.kube.clone(), &self.namespace().unwrap_or_default());
        let waiting = |message: String| {
            Ok(Err(Step::Waiting {
                reason: reasons::WAITING_FOR_POOL,
                message,
            }))
        };
        let Some(pool) = api.get_opt(&pool_ref.name).await? else {
            return waiting(format!(
                "ResourcePool {} does not exist in this namespace yet",
                pool_ref.name
            ));
        };
        let status = pool.status.as_ref();
        let ready = status
            .and_then(|s| conditions::get(s.conditions(), READY))
            .is_some_and(|c| c.status == "True");
        // Once the notebook exists in the cloud it only needs the pool's ID: a pool that is
        // scaling (Ready=False for a while) must not make its running notebooks wait.
        let created = self.status.as_ref().is_some_and(|s| s.cloud_id().is_some());
        match status.and_then(|s| s.cloud_id()) {
            Some(id) if ready || created => Ok(Ok(Resolved {
                pool_id: Some(id.to_string()),
            })),
            _ => waiting(format!(
                "waiting for ResourcePool {} (spec.poolRef) to be Ready; the notebook is created on it then",
                pool_ref.name
            )),
        }
    }

    async fn observe(&self, cx: &Cx<'_, Self>, id: &str) -> Result<Option<Remote>> {
        match cx.cloud.show_notebook(id).await {
            Ok(nb) if nb.status == "DELETED" => Ok(None),
            Ok(nb) => Ok(Some(nb)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(Error::cloud("notebooks.show")(e)),
        }
    }

    async fn find_created(&self, cx: &Cx<'_, Self>, pending: &PendingCreate) -> Result<Vec<Remote>> {
        // Notebook create takes no tags: candidates are the live notebooks of the exact name
        // (the name filter is fuzzy); the engine tells which, if any, this create made.
        let filter = NotebookFilter {
            name: Some(pending.name.clone()),
            ..Default::default()
        };
        let found = cx
            .cloud
            .list_all_notebooks(&filter, PAGE)
            .await
            .map_err(Error::cloud("notebooks.list"))?;
        Ok(found
            .into_iter()
            .filter(|nb| nb.name == pending.name && !matches!(nb.status.as_str(), "DELETED" | "DELETING"))
            .collect())
    }

    async fn find_owned(&self, cx: &Cx<'_, Self>) -> Result<Option<Remote>> {
        let filter = NotebookFilter {
            tags: vec![(OWNER_TAG.to_string(), self.uid().unwrap_or_default())],
            ..Default::default()
        };
        let found = cx
            .cloud
            .list_all_notebooks(&filter, PAGE)
            .await
            .map_err(Error::cloud("notebooks.list"))?;
        let uid = self.uid().unwrap_or_default();
        Ok(found.into_iter().find(|nb| {
            nb.status != "DELETED"
                && ownership(&self.remote_tags(nb).unwrap_or_default(), &uid) == Ownership::Ours
        }))
    }

    async fn create(&self, cx: &Cx<'_, Self>) -> Result<Remote> {
        let request = plan::create_request(self, cx.resolved.pool_id.clone());
        cx.cloud
            .create_notebook(&request)
            .await
            .map_err(Error::cloud("notebooks.create"))
    }

    async fn update(
        &self,
        cx: &Cx<'_, Self>,
        remote: &Remote,
        changes: &[Change],
        status: &mut NotebookStatus,
    ) -> Result<Step> {
        let id = remote.id.as_str();
        let cloud = cx.cloud;
        let Some(change) = changes.first() else {
            return Ok(Step::Waiting {
                reason: reasons::UPDATING,
                message: "nothing to do".into(),
            });
        };
        let message = match change {
            Change::StopForUpdate(what) => {
                cloud
                    .stop_notebook(id)
                    .await
                    .map_err(Error::cloud("notebooks.stop"))?;
                status.stopped_for_update = true;
                format!("stopping to change {what} (ModelArts changes it only while stopped)")
            }
            Change::Update(request) => {
                cloud
                    .update_notebook(id, request)
                    .await
                    .map_err(Error::cloud("notebooks.update"))?;
                "updated notebook fields".to_string()
            }
            Change::Start => {
                let (duration, kind, _) = plan::desired_lease(&self.spec);
                let options = StartOptions {
                    duration_ms: Some(duration),
                    auto_stop_type: Some(kind),
                };
                cloud
                    .start_notebook(id, &options)
                    .await
                    .map_err(Error::cloud("notebooks.start"))?;
                if status.stopped_for_update {
                    "starting again after the update"
                } else {
                    "starting"
                }
                .to_string()
            }
            Change::Stop => {
                cloud
                    .stop_notebook(id)
                    .await
                    .map_err(Error::cloud("notebooks.stop"))?;
                "stopping (desiredState: Stopped)".to_string()
            }
            Change::RenewLease { duration_ms, kind } => {
                let body = LeaseRequest {
                    duration: Some(*duration_ms),
                    lease_type: Some(kind.clone()),
                };
                cloud
                    .renew_notebook_lease(id, None, &body)
                    .await
                    .map_err(Error::cloud("notebooks.lease.renew"))?;
                format!("auto-stop lease set to {} minutes ({kind})", duration_ms / 60_000)
            }
            Change::Mount(m) => {
                cloud
                    .mount_notebook_storage(id, &plan::mount_request(m))
                    .await
                    .map_err(Error::cloud("notebooks.storage.mount"))?;
                format!("mounting {} at {}", m.uri, m.mount_path)
            }
            Change::Unmount { mount_path } => {
                let mounts = cloud
                    .list_notebook_storage(id)
                    .await
                    .map_err(Error::cloud("notebooks.storage.list"))?;
                let trim = |p: &str| p.trim_end_matches('/').to_string();
                if let Some(storage_id) = mounts
                    .data
                    .iter()
                    .find(|d| d.mount_path.as_deref().map(trim) == Some(trim(mount_path)))
                    .and_then(|d| d.id.clone())
                {
                    cloud
                        .unmount_notebook_storage(id, &storage_id)
                        .await
                        .map_err(Error::cloud("notebooks.storage.unmount"))?;
                }
                format!("unmounting {mount_path}")
            }
        };
        Ok(Step::Waiting {
            reason: reasons::UPDATING,
            message,
        })
    }

    async fn delete(&self, cx: &Cx<'_, Self>, remote: &Remote) -> Result<Step> {
        let id = remote.id.as_str();
        match remote.status.as_str() {
            // ModelArts refuses to delete a running notebook (ModelArts.6304): stop it first.
            "RUNNING" => {
                cx.cloud
                    .stop_notebook(id)
                    .await
                    .map_err(Error::cloud("notebooks.stop"))?;
                Ok(Step::Ready {
                    message: format!("stopping notebook {id} before deleting it"),
                })
            }
            "DELETING" | "INIT" | "CREATING" | "STARTING" | "STOPPING" | "SNAPSHOTTING" => {
                Ok(Step::Waiting {
                    reason: reasons::DELETING,
                    message: format!(
                        "notebook {id} is {}; the operator deletes it once that finishes",
                        remote.status
                    ),
                })
            }
            _ => match cx.cloud.delete_notebook(id).await {
                Ok(_) => Ok(Step::Ready {
                    message: format!("deleting notebook {id}"),
                }),
                Err(e) if e.is_not_found() => Ok(Step::Waiting {
                    reason: reasons::DELETING,
                    message: "gone".into(),
                }),
                Err(e) => Err(Error::cloud("notebooks.delete")(e)),
            },
        }
    }

    async fn add_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        let ws = self.spec.workspace_id.as_deref();
        cx.cloud
            .create_notebook_tags(id, &Tag::list(tags), ws)
            .await
            .map_err(Error::cloud("notebooks.tags.create"))
    }

    async fn remove_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        let ws = self.spec.workspace_id.as_deref();
        cx.cloud
            .delete_notebook_tags(id, &Tag::list(tags), ws)
            .await
            .map_err(Error::cloud("notebooks.tags.delete"))
    }

    async fn list_pages(
        cloud: &ModelArtsClient,
        named: &HashSet<&str>,
        on_page: &mut (dyn FnMut(Vec<Remote>) -> ControlFlow<()> + Send),
    ) -> Result<bool> {
        // Only notebooks this operator owns or an object names matter for drift; keeping just
        // those keeps the snapshot small.
        let filter = NotebookFilter::default();
        cloud
            .for_each_notebook_page(&filter, PAGE, |mut page| {
                page.retain(|nb| {
                    named.contains(nb.id.as_str()) || nb.tags.iter().any(|t| t.key == OWNER_TAG)
                });
                on_page(page)
            })
            .await
            .map_err(Error::cloud("notebooks.list"))
    }
}
