//! The LiteServer kind on the generic engine: ECS/BMS dev-servers and HPS supernodes
//! (hyperinstances) against the ModelArts dev-server API; the pure logic lives in
//! `lite_server::plan`.
//!
//! ECS/BMS servers have no tag API, so ownership rests on the in-cluster cloud ID check and an
//! uncertain create is found by name and creation time. Supernodes carry the ownership tag
//! through the hyperinstance tag API. PRE_PAID (yearly/monthly) resources are never deleted:
//! ModelArts releases them only by unsubscribing, so deletion stops with a terminal condition
//! that says so and keeps the finalizer until the server is gone or the policy is `Retain`.
mod ops;
pub mod plan;

use crate::{
    api::{
        common::{CommonStatus, PendingCreate, Tags},
        conditions::reasons,
        lite_server::{LiteServer, LiteServerSpec, LiteServerStatus, ServerType},
    },
    cloud::{
        ModelArtsClient,
        lite_servers::{Hyperinstance, Server, ServerFilter},
        notebooks::Tag,
    },
    engine::{
        context::Context,
        outcome::{Error, Result, Step},
        resource::{CloudResource, Cx, Readiness},
    },
};
use plan::{Change, Remote, Supernode};
use std::{collections::HashSet, fmt, ops::ControlFlow};

/// What a LiteServer needs from the cluster: the login password, read from its Secret only when
/// a create or an OS change may need it, and never stored anywhere else.
#[derive(Default)]
pub struct Resolved {
    pub password: Option<Password>,
}

/// A password whose `Debug` never shows it.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Resolved {
    fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.0.as_str())
    }
}

const PAGE: u32 = 200;

fn tags_of(tags: Vec<Tag>) -> Tags {
    tags.into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect()
}

fn is_hps(ls: &LiteServer) -> bool {
    ls.spec.server_type == ServerType::Hps
}

/// A dev-server that is a supernode's child, listed among the servers but managed through it.
fn is_child(s: &Server) -> bool {
    s.server_hps.as_ref().and_then(|h| h.id.as_ref()).is_some() || s.category.as_deref() == Some("HPS")
}

impl CloudResource for LiteServer {
    type Spec = LiteServerSpec;
    type Status = LiteServerStatus;
    type Remote = Remote;
    type Change = Change;
    type Resolved = Resolved;
    const KIND: &'static str = "LiteServer";

    fn spec(&self) -> &LiteServerSpec {
        &self.spec
    }
    fn status(&self) -> Option<&LiteServerStatus> {
        self.status.as_ref()
    }
    fn remote_id(remote: &Remote) -> String {
        match remote {
            Remote::Server(s) => s.id.clone(),
            Remote::Supernode(sn) => sn.hyper.id.clone(),
        }
    }
    fn remote_tags(&self, remote: &Remote) -> Option<Tags> {
        match remote {
            Remote::Server(_) => None,
            Remote::Supernode(sn) => Some(sn.tags.clone()),
        }
    }
    fn created_at_ms(remote: &Remote) -> Option<i64> {
        match remote {
            Remote::Server(s) => s.create_at,
            Remote::Supernode(sn) => sn.hyper.create_at,
        }
    }
    fn cloud_state(remote: &Remote) -> String {
        plan::cloud_state(remote)
    }
    fn diff(&self, _resolved: &Resolved, remote: &Remote, status: &LiteServerStatus) -> Vec<Change> {
        plan::diff(self, remote, status)
    }
    fn readiness(&self, remote: &Remote) -> Readiness {
        plan::readiness(self, remote)
    }
    fn status_from(&self, remote: &Remote, status: &mut LiteServerStatus) {
        plan::status_from(self, remote, status);
    }
    fn before_update(&self, remote: &Remote, changes: &[Change], status: &mut LiteServerStatus) -> bool {
        plan::mark_scale_up(remote, changes, status)
    }
    fn cloud_name(&self) -> String {
        plan::cloud_name(self)
    }

    async fn resolve(&self, ctx: &Context<Self>) -> Result<std::result::Result<Resolved, Step>> {
        self.validate()?;
        let status = self.status.as_ref();
        let creating = status.and_then(|s| s.cloud_id()).is_none() && self.spec.cloud.resource_id.is_none();
        // An OS change (new image, or a reinstall trigger) sends the login again.
        let os_change = status.is_some_and(|s| {
            s.image_id.as_deref().is_some_and(|i| i != self.spec.image.id)
                || s.stopped_for_update
                || self.spec.reinstall_requested_at.is_some()
                    && self.spec.reinstall_requested_at != s.last_reinstall_requested_at
        });
        if !creating && !os_change {
            return Ok(Ok(Resolved::default()));
        }
        Ok(self
            .read_password(ctx)
            .await?
            .map(|password| Resolved { password }))
    }

    async fn observe(&self, cx: &Cx<'_, Self>, id: &str) -> Result<Option<Remote>> {
        if is_hps(self) {
            return self.observe_supernode(cx.cloud, id).await;
        }
        match cx.cloud.show_server(id).await {
            Ok(s) if s.status == "DELETED" => Ok(None),
            Ok(s) => Ok(Some(Remote::Server(s))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(Error::cloud("servers.show")(e)),
        }
    }

    async fn find_created(&self, cx: &Cx<'_, Self>, pending: &PendingCreate) -> Result<Vec<Remote>> {
        // The create body takes no tags: candidates are found by their exact name; the engine
        // tells which, if any, this create made.
        if is_hps(self) {
            self.find_supernode(cx, pending).await
        } else {
            self.find_server(cx, pending).await
        }
    }

    async fn create(&self, cx: &Cx<'_, Self>) -> Result<Remote> {
        let request = plan::create_request(self, cx.resolved.password());
        let server = cx
            .cloud
            .create_server(&request)
            .await
            .map_err(Error::cloud("servers.create"))?;
        if !is_hps(self) {
            return Ok(Remote::Server(server));
        }
        // An HPS create answers with its first node; the supernode is that node's parent. It is
        // built from the answer rather than read back, which eventual consistency may hide.
        let Some(hyper_id) = server.server_hps.as_ref().and_then(|h| h.id.clone()) else {
            // Treated as an uncertain outcome: the engine keeps its pending-create marker and
            // finds the supernode by name on the next pass, so nothing is created twice.
            return Err(Error::Cloud {
                op: "servers.create",
                source: crate::cloud::Error::decode(
                    "servers.create",
                    200,
                    None,
                    serde_json::Error::io(std::io::Error::other(
                        "the HPS create answer names no supernode (server_hps.id)",
                    )),
                ),
            });
        };
        Ok(Remote::Supernode(Supernode {
            hyper: Hyperinstance {
                id: hyper_id,
                name: Some(plan::cloud_name(self)),
                hps_cluster_id: self.spec.hps_cluster_id.clone(),
                status: "PROVISIONING".into(),
                create_at: server.create_at,
                servers: vec![server],
                ..Default::default()
            },
            tags: Tags::new(),
        }))
    }

    async fn update(
        &self,
        cx: &Cx<'_, Self>,
        remote: &Remote,
        changes: &[Change],
        status: &mut LiteServerStatus,
    ) -> Result<Step> {
        let mut done = Vec::new();
        for change in changes {
            done.push(self.apply_change(cx, remote, change, status).await?);
            // Record-only changes need no cloud call: go on to the next one in the same pass.
            if !matches!(change, Change::SkipReboot { .. }) {
                break;
            }
        }
        Ok(Step::Waiting {
            reason: reasons::UPDATING,
            message: done.join("; "),
        })
    }

    async fn delete(&self, cx: &Cx<'_, Self>, remote: &Remote) -> Result<Step> {
        let id = Self::remote_id(remote);
        if plan::delete_needs_unsubscribe(self, remote) {
            return Err(Error::InvalidSpec(format!(
                "spec.deletionPolicy Delete cannot delete PRE_PAID (yearly/monthly) Lite Server {id}: ModelArts \
                 releases it only by unsubscribing. Unsubscribe it in the Huawei Cloud console (Billing Center > \
                 Unsubscriptions) and this object goes once the server is gone, or set spec.deletionPolicy: Retain \
                 to keep the server and release this object now"
            )));
        }
        let waiting = |state: &str| {
            Ok(Step::Waiting {
                reason: reasons::DELETING,
                message: format!("Lite Server {id} is {state}; the operator deletes it once that finishes"),
            })
        };
        let result = match remote {
            Remote::Server(s) if plan::TRANSITIONAL.contains(&s.status.as_str()) => {
                return waiting(&s.status);
            }
            Remote::Server(s) => cx.cloud.delete_server(&s.id).await.map(drop),
            Remote::Supernode(sn) if sn.hyper.status == "TERMINATING" => return waiting("TERMINATING"),
            Remote::Supernode(sn) if sn.hyper.status != "ACTIVE" && sn.hyper.status != "ERROR" => {
                return waiting(&sn.hyper.status);
            }
            Remote::Supernode(sn) => cx.cloud.delete_hyperinstance(&sn.hyper.id).await.map(drop),
        };
        match result {
            Ok(()) => Ok(Step::Ready {
                message: format!("deleting Lite Server {id}"),
            }),
            Err(e) if e.is_not_found() => Ok(Step::Waiting {
                reason: reasons::DELETING,
                message: "gone".into(),
            }),
            Err(e) => Err(Error::cloud("servers.delete")(e)),
        }
    }

    async fn add_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        // The hyperinstance tag create refuses an existing key, so a changed value is deleted first.
        let current = cx
            .cloud
            .list_hyperinstance_tags(id)
            .await
            .map_err(Error::cloud("hyperinstances.tags.show"))?;
        let stale: Vec<Tag> = current
            .into_iter()
            .filter(|t| tags.contains_key(&t.key))
            .collect();
        if !stale.is_empty() {
            cx.cloud
                .delete_hyperinstance_tags(id, &stale)
                .await
                .map_err(Error::cloud("hyperinstances.tags.delete"))?;
        }
        cx.cloud
            .create_hyperinstance_tags(id, &Tag::list(tags))
            .await
            .map_err(Error::cloud("hyperinstances.tags.create"))
    }

    async fn remove_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        cx.cloud
            .delete_hyperinstance_tags(id, &Tag::list(tags))
            .await
            .map_err(Error::cloud("hyperinstances.tags.delete"))
    }

    async fn list_pages(
        cloud: &ModelArtsClient,
        _named: &HashSet<&str>,
        on_page: &mut (dyn FnMut(Vec<Remote>) -> ControlFlow<()> + Send),
    ) -> Result<bool> {
        // Every server: ECS and BMS servers carry no tags to tell ours apart.
        let servers = cloud
            .list_all_servers(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("servers.list"))?;
        let mut all: Vec<Remote> = servers
            .into_iter()
            .filter(|s| !is_child(s))
            .map(Remote::Server)
            .collect();
        let hypers = cloud
            .list_all_hyperinstances(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("hyperinstances.list"))?;
        // Hyperinstance objects carry no tags: one tag read per supernode, so a tag removed in
        // the console is seen. Supernodes are few, so this stays cheap.
        for hyper in hypers {
            let tags = match cloud.list_hyperinstance_tags(&hyper.id).await {
                Ok(tags) => tags_of(tags),
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(Error::cloud("hyperinstances.tags.show")(e)),
            };
            all.push(Remote::Supernode(Supernode { hyper, tags }));
        }
        // Servers and supernodes are few next to notebooks: the whole listing is one page.
        // One page is the whole listing, whatever `on_page` answers.
        let _ = on_page(all);
        Ok(true)
    }
}
