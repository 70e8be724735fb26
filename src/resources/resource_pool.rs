//! The ResourcePool kind on the generic engine: IO against the v2 pool API and the v1 pool tag
//! APIs; the pure logic lives in `resource_pool::plan`.
pub mod plan;

use crate::{
    api::{
        common::{CommonStatus, PendingCreate, Tags},
        conditions::reasons,
        notebook::Notebook,
        resource_pool::{ResourcePool, ResourcePoolSpec, ResourcePoolStatus},
    },
    cloud::{
        ErrorKind, ModelArtsClient, Tag,
        pools::{LABEL_NAME, Pool, PoolFilter, TagFilter, TagFilterRequest, TagValues},
    },
    engine::{
        context::Context,
        outcome::{Error, Result, Step},
        resource::{CloudResource, Cx, Readiness},
        tags::{OWNER_TAG, Ownership, ownership},
    },
};
use kube::{Api, ResourceExt, api::ListParams};
use plan::{Change, Remote};
use std::{collections::HashSet, ops::ControlFlow};

/// Largest page the tag filter API serves (seed 003).
const FILTER_PAGE: u32 = 1000;

/// `{key, values[]}` as the v1 tag API reports it: one value per key on pools.
fn tags_of(values: Vec<TagValues>) -> Tags {
    values
        .into_iter()
        .map(|t| (t.key, t.values.into_iter().next().unwrap_or_default()))
        .collect()
}

fn created_ms(pool: &Pool) -> Option<i64> {
    pool.metadata
        .creation_timestamp
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond())
}

impl ResourcePool {
    async fn tags(&self, cloud: &ModelArtsClient, id: &str) -> Result<Option<Tags>> {
        match cloud.show_pool_tags(id).await {
            Ok(t) => Ok(Some(tags_of(t))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(Error::cloud("pools.tags.show")(e)),
        }
    }

    /// Notebooks of the pool's namespace that run (or are being created) on this pool.
    /// Listed in that namespace only: a `poolRef` names a pool of the Notebook's own namespace,
    /// and with `--watch-namespaces` the operator may list Notebooks only there (a cluster-wide
    /// list is refused with 403). A `poolId` user in another namespace is not seen here; the
    /// cloud itself refuses to delete a pool other resources depend on.
    async fn notebooks_using(&self, ctx: &Context<Self>, pool_id: &str) -> Result<Vec<String>> {
        let namespace = self.namespace().unwrap_or_default();
        let name = self.name_any();
        let here: Api<Notebook> = Api::namespaced(ctx.kube.clone(), &namespace);
        let users = here
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|nb| {
                let by_ref = nb.spec.pool_ref.as_ref().is_some_and(|r| r.name == name);
                let by_id = nb.spec.pool_id.as_deref() == Some(pool_id);
                let status = nb.status.as_ref();
                // A notebook that never got to the cloud does not use the pool.
                let in_cloud = status.is_some_and(|s| s.cloud_id().is_some() || s.pending_create().is_some());
                (by_ref || by_id) && in_cloud
            })
            .map(|nb| format!("{}/{}", nb.namespace().unwrap_or_default(), nb.name_any()))
            .collect();
        Ok(users)
    }
}

impl CloudResource for ResourcePool {
    type Spec = ResourcePoolSpec;
    type Status = ResourcePoolStatus;
    type Remote = Remote;
    type Change = Change;
    type Resolved = ();
    const KIND: &'static str = "ResourcePool";
    // The listing is the pool list and the owner-tag filter, which brings the tags along: two
    // calls however many pools, one "page". A pool just created carries our owner tag, so its
    // entry is what a pool GET and a tag GET would say.
    const READS_FROM_LISTING: Option<usize> = Some(usize::MAX);

    fn spec(&self) -> &ResourcePoolSpec {
        &self.spec
    }
    fn status(&self) -> Option<&ResourcePoolStatus> {
        self.status.as_ref()
    }
    fn remote_id(remote: &Remote) -> String {
        remote.pool.metadata.name.clone()
    }
    fn remote_tags(&self, remote: &Remote) -> Option<Tags> {
        Some(remote.tags.clone())
    }
    fn created_at_ms(remote: &Remote) -> Option<i64> {
        created_ms(&remote.pool)
    }
    fn cloud_state(remote: &Remote) -> String {
        remote.pool.status.phase.clone().unwrap_or_default()
    }
    fn diff(&self, _resolved: &(), remote: &Remote, _status: &ResourcePoolStatus) -> Vec<Change> {
        plan::diff(self, remote)
    }
    fn readiness(&self, remote: &Remote) -> Readiness {
        plan::readiness(self, remote)
    }
    fn status_from(&self, remote: &Remote, status: &mut ResourcePoolStatus) {
        plan::status_from(self, remote, status);
    }
    fn refusal(&self, remote: &Remote) -> Option<String> {
        plan::refusal(remote)
    }
    fn cloud_name(&self) -> String {
        plan::cloud_name(self)
    }

    async fn resolve(&self, _ctx: &Context<Self>) -> Result<std::result::Result<(), Step>> {
        plan::validate(self).map_err(Error::InvalidSpec)?;
        Ok(Ok(()))
    }

    async fn observe(&self, cx: &Cx<'_, Self>, id: &str) -> Result<Option<Remote>> {
        let pool = match cx.cloud.show_pool(id).await {
            Ok(pool) => pool,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(Error::cloud("pools.show")(e)),
        };
        match self.tags(cx.cloud, id).await? {
            Some(tags) => Ok(Some(Remote { pool, tags })),
            // The pool was just read: a tag read that misses it proves nothing about the pool
            // (it may be lagging); the pool is gone only when a read of the pool says so.
            None => match cx.cloud.show_pool(id).await {
                Err(e) if e.is_not_found() => Ok(None),
                _ => Err(Error::Waiting {
                    reason: reasons::PROGRESSING,
                    message: format!(
                        "the tags of pool {id} cannot be read yet (not found right after the pool was read); reading again"
                    ),
                }),
            },
        }
    }

    async fn find_created(&self, cx: &Cx<'_, Self>, pending: &PendingCreate) -> Result<Vec<Remote>> {
        // Tagged already (the crash came after the ownership tag): the tag filter API finds it.
        if let Some(owned) = self.find_owned(cx).await? {
            return Ok(vec![owned]);
        }
        // Untagged: the create response was lost before the tag went on. Candidates carry the
        // display name label; the engine tells which, if any, this create made.
        let filter = PoolFilter {
            workspace_id: self.spec.workspace_id.clone(),
            label_selector: Some(format!("{LABEL_NAME}={}", pending.name)),
            status: None,
        };
        let pools: Vec<Pool> = cx
            .cloud
            .list_pools(&filter)
            .await
            .map_err(Error::cloud("pools.list"))?
            .into_iter()
            .filter(|p| p.metadata.labels.get(LABEL_NAME) == Some(&pending.name))
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let mut candidates = Vec::new();
        for pool in pools {
            let id = pool.metadata.name.clone();
            // A pool whose tags cannot be read now is still a candidate of unknown owner: it
            // is only skipped when it is gone.
            if let Some(remote) = self.observe(cx, &id).await? {
                candidates.push(remote);
            }
        }
        Ok(candidates)
    }

    async fn find_owned(&self, cx: &Cx<'_, Self>) -> Result<Option<Remote>> {
        let uid = self.uid().unwrap_or_default();
        let request = TagFilterRequest {
            tags: vec![TagFilter {
                key: OWNER_TAG.into(),
                values: vec![uid.clone()],
            }],
            matches: vec![],
        };
        let tagged = match cx
            .cloud
            .filter_pools_by_tags(&request, Some(FILTER_PAGE), None)
            .await
        {
            Ok(found) => found.resources,
            // Passing trouble is retried; a region without this (SDK-less) API falls back to
            // the label lookup of `find_created`, which finds tagged pools as well.
            Err(e) if matches!(e.kind(), ErrorKind::Transient | ErrorKind::Throttled) => {
                return Err(Error::cloud("pools.tags.filter")(e));
            }
            Err(e) => {
                tracing::info!(error = %e, "pool tag filter unavailable; finding the pool by its name label");
                Vec::new()
            }
        };
        for hit in tagged {
            if let Some(remote) = self.observe(cx, &hit.resource_id).await?
                && ownership(&remote.tags, &uid) == Ownership::Ours
            {
                return Ok(Some(remote));
            }
        }
        Ok(None)
    }

    async fn create(&self, cx: &Cx<'_, Self>) -> Result<Remote> {
        let pool = cx
            .cloud
            .create_pool(&plan::create_request(self))
            .await
            .map_err(Error::cloud("pools.create"))?;
        // Pool create takes no tags; the engine stamps the ownership tag right after.
        Ok(Remote {
            pool,
            tags: Tags::new(),
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_, Self>,
        remote: &Remote,
        changes: &[Change],
        _status: &mut ResourcePoolStatus,
    ) -> Result<Step> {
        let id = remote.pool.metadata.name.as_str();
        let what = plan::describe(changes);
        match cx.cloud.patch_pool(id, &plan::patch(changes)).await {
            Ok(_) => {}
            // A refusal (wrong phase, quota, a value the cloud rejects) will not pass by itself:
            // terminal until the spec or the pool's state changes (the engine's gate).
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Invalid
                        | ErrorKind::WrongState
                        | ErrorKind::QuotaExceeded
                        | ErrorKind::Conflict
                ) =>
            {
                return Err(Error::Refused {
                    reason: reasons::UPDATE_REFUSED,
                    message: format!(
                        "ModelArts refused to {what} on pool {id} while it is {}: {e}; retried when the spec \
                         or the pool's state changes",
                        remote
                            .pool
                            .status
                            .phase
                            .as_deref()
                            .unwrap_or("in an unknown phase")
                    ),
                });
            }
            Err(e) => return Err(Error::cloud("pools.patch")(e)),
        }
        let scaling = changes.iter().any(|c| matches!(c, Change::Scale(_)));
        Ok(Step::Waiting {
            reason: if scaling {
                reasons::SCALING
            } else {
                reasons::UPDATING
            },
            message: format!("requested {what}; waiting for ModelArts to apply it"),
        })
    }

    async fn delete(&self, cx: &Cx<'_, Self>, remote: &Remote) -> Result<Step> {
        let id = remote.pool.metadata.name.as_str();
        if let Some(why) = plan::refusal(remote) {
            return Err(Error::Refused {
                reason: reasons::UNSUPPORTED,
                message: format!("{why}; set deletionPolicy: Retain to let the object go"),
            });
        }
        let users = self.notebooks_using(cx.ctx, id).await?;
        if !users.is_empty() {
            return Ok(Step::Waiting {
                reason: reasons::IN_USE,
                message: format!(
                    "pool {id} is used by notebooks {}: delete them first; the pool is deleted once none is left",
                    users.join(", ")
                ),
            });
        }
        match remote.pool.status.phase.as_deref() {
            Some("Deleting") => {
                return Ok(Step::Waiting {
                    reason: reasons::DELETING,
                    message: format!("pool {id} is being deleted"),
                });
            }
            // ModelArts deletes pools only once they are created (Running, Abnormal or Error).
            Some("Creating") => {
                return Ok(Step::Waiting {
                    reason: reasons::DELETING,
                    message: format!("pool {id} is still being created; deleting it once that ends"),
                });
            }
            _ => {}
        }
        match cx.cloud.delete_pool(id).await {
            Ok(_) => Ok(Step::Ready {
                message: format!("deleting pool {id}"),
            }),
            Err(e) if e.is_not_found() => Ok(Step::Waiting {
                reason: reasons::DELETING,
                message: "gone".into(),
            }),
            Err(e) => Err(Error::cloud("pools.delete")(e)),
        }
    }

    async fn add_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        cx.cloud
            .create_pool_tags(id, &Tag::list(tags))
            .await
            .map_err(Error::cloud("pools.tags.create"))
    }

    async fn remove_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        cx.cloud
            .delete_pool_tags(id, &Tag::list(tags))
            .await
            .map_err(Error::cloud("pools.tags.delete"))
    }

    async fn list_pages(
        cloud: &ModelArtsClient,
        named: &HashSet<&str>,
        on_page: &mut (dyn FnMut(Vec<Remote>) -> ControlFlow<()> + Send),
    ) -> Result<bool> {
        // Two reads per poll however many pools: the (unpaged) pool list, and the tag filter
        // API for the pools this operator owns, which brings their tags along.
        let mut owned: std::collections::HashMap<String, Tags> = std::collections::HashMap::new();
        let request = TagFilterRequest {
            tags: vec![TagFilter {
                key: OWNER_TAG.into(),
                values: vec![],
            }],
            matches: vec![],
        };
        let mut offset = 0usize;
        loop {
            let page = cloud
                .filter_pools_by_tags(&request, Some(FILTER_PAGE), Some(offset as u32))
                .await
                .map_err(Error::cloud("pools.tags.filter"))?;
            let got = page.resources.len();
            offset += got;
            for r in page.resources {
                let tags = r
                    .tags
                    .into_iter()
                    .map(|t| (t.key, t.value.unwrap_or_default()))
                    .collect();
                owned.insert(r.resource_id, tags);
            }
            let total = page.total_count.unwrap_or(0).max(0) as usize;
            if got == 0 || offset >= total {
                break;
            }
        }
        if owned.is_empty() && named.is_empty() {
            return Ok(true);
        }
        let pools = cloud
            .list_pools(&PoolFilter::default())
            .await
            .map_err(Error::cloud("pools.list"))?;
        // Pools are few (one unpaged list): the whole listing is one page, whatever `on_page`
        // answers.
        let _ = on_page(
            pools
                .into_iter()
                .filter_map(|pool| {
                    // A named pool without the owner tag is not in the tag filter's answer: its
                    // tags are read when its object reconciles, so the entry carries none.
                    let tags = match owned.remove(&pool.metadata.name) {
                        Some(tags) => tags,
                        None if named.contains(pool.metadata.name.as_str()) => Tags::new(),
                        None => return None,
                    };
                    Some(Remote { pool, tags })
                })
                .collect(),
        );
        Ok(true)
    }
}
