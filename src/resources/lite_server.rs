//! The LiteServer kind on the generic engine: ECS/BMS dev-servers and HPS supernodes
//! (hyperinstances) against the ModelArts dev-server API; the pure logic lives in
//! `lite_server::plan`.
//!
//! ECS/BMS servers have no tag API, so ownership rests on the in-cluster cloud ID check and an
//! uncertain create is found by name and creation time. Supernodes carry the ownership tag
//! through the hyperinstance tag API. PRE_PAID (yearly/monthly) resources are never deleted:
//! ModelArts releases them only by unsubscribing, so deletion stops with a terminal condition
//! that says so and keeps the finalizer until the server is gone or the policy is `Retain`.
pub mod plan;

use crate::{
    api::{
        common::{CommonStatus, PendingCreate, Tags},
        conditions::reasons,
        lite_server::{LiteServer, LiteServerSpec, LiteServerStatus, ScaleDownRecord, ServerType},
    },
    cloud::{
        ModelArtsClient,
        lite_servers::{Hyperinstance, ScaleDownRequest, Server, ServerFilter},
        notebooks::Tag,
    },
    engine::{
        context::Context,
        outcome::{Error, Result, Step},
        resource::{CloudResource, Cx, Readiness},
        tags::{Ownership, ownership},
    },
};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Resource, ResourceExt};
use plan::{Change, Remote, Supernode};
use std::fmt;

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
/// Slack between the operator's clock and the cloud's when matching an uncertain create.
const CLOCK_SLACK_MS: i64 = 60_000;

fn tag_list(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::new(k, v)).collect()
}

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

impl LiteServer {
    /// True when another LiteServer in the cluster already records this cloud ID.
    fn claimed_by_other(&self, ctx: &Context<Self>, id: &str) -> bool {
        let uid = self.uid();
        ctx.store.as_ref().is_some_and(|store| {
            store
                .state()
                .iter()
                .any(|o| o.uid() != uid && o.status.as_ref().and_then(|s| s.cloud_id()) == Some(id))
        })
    }

    async fn observe_supernode(&self, cloud: &ModelArtsClient, id: &str) -> Result<Option<Remote>> {
        let hyper = match cloud.show_hyperinstance(id).await {
            Ok(h) if h.status == "TERMINATED" => return Ok(None),
            Ok(h) => h,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(Error::cloud("hyperinstances.show")(e)),
        };
        let tags = match cloud.list_hyperinstance_tags(id).await {
            Ok(tags) => tags_of(tags),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(Error::cloud("hyperinstances.tags.show")(e)),
        };
        Ok(Some(Remote::Supernode(Supernode { hyper, tags })))
    }

    /// Reads the password Secret; `Err(step)` waits for it to appear or be fixed.
    async fn read_password(
        &self,
        ctx: &Context<Self>,
    ) -> Result<std::result::Result<Option<Password>, Step>> {
        let Some(secret_ref) = &self.spec.login.password_secret_ref else {
            return Ok(Ok(None));
        };
        let waiting = |message: String| {
            Ok(Err(Step::Waiting {
                reason: reasons::WAITING_FOR_SECRET,
                message,
            }))
        };
        let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &self.namespace().unwrap_or_default());
        let Some(secret) = api.get_opt(&secret_ref.name).await? else {
            return waiting(format!(
                "spec.login.passwordSecretRef: Secret {} does not exist in this namespace",
                secret_ref.name
            ));
        };
        let value = secret
            .data
            .as_ref()
            .and_then(|d| d.get(&secret_ref.key))
            .map(|b| String::from_utf8(b.0.clone()));
        match value {
            Some(Ok(pw)) if (8..=26).contains(&pw.chars().count()) => Ok(Ok(Some(Password(pw)))),
            Some(Ok(_)) => waiting(format!(
                "spec.login.passwordSecretRef: the value of key {} in Secret {} must be 8 to 26 characters",
                secret_ref.key, secret_ref.name
            )),
            Some(Err(_)) => waiting(format!(
                "spec.login.passwordSecretRef: the value of key {} in Secret {} is not UTF-8 text",
                secret_ref.key, secret_ref.name
            )),
            None => waiting(format!(
                "spec.login.passwordSecretRef: Secret {} has no key {}",
                secret_ref.name, secret_ref.key
            )),
        }
    }

    fn validate(&self) -> Result<()> {
        for (field, value) in [
            ("spec.rebootRequestedAt", &self.spec.reboot_requested_at),
            ("spec.reinstallRequestedAt", &self.spec.reinstall_requested_at),
        ] {
            if let Some(v) = value
                && v.parse::<jiff::Timestamp>().is_err()
            {
                return Err(Error::InvalidSpec(format!(
                    "{field} {v:?} is not an RFC 3339 timestamp (e.g. 2026-11-22T15:00:00Z)"
                )));
            }
        }
        if is_hps(self) && self.spec.login.password_secret_ref.is_some() {
            return Err(Error::InvalidSpec(
                "spec.login.passwordSecretRef is not allowed for serverType HPS: supernodes accept only key pairs"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn find_server(
        &self,
        cx: &Cx<'_, Self>,
        pending: &PendingCreate,
        sent_ms: i64,
    ) -> Result<Option<Remote>> {
        let all = cx
            .cloud
            .list_all_servers(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("servers.list"))?;
        let mut found: Vec<Server> = all
            .into_iter()
            .filter(|s| s.name == pending.name && !is_child(s))
            .filter(|s| !matches!(s.status.as_str(), "DELETING" | "DELETED"))
            .filter(|s| s.create_at.is_none_or(|c| c + CLOCK_SLACK_MS >= sent_ms))
            .filter(|s| !self.claimed_by_other(cx.ctx, &s.id))
            .collect();
        found.sort_by_key(|s| s.create_at.unwrap_or(i64::MAX));
        Ok(found.into_iter().next().map(Remote::Server))
    }

    async fn find_supernode(
        &self,
        cx: &Cx<'_, Self>,
        pending: &PendingCreate,
        sent_ms: i64,
    ) -> Result<Option<Remote>> {
        let all = cx
            .cloud
            .list_all_hyperinstances(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("hyperinstances.list"))?;
        let mut found: Vec<Hyperinstance> = all
            .into_iter()
            .filter(|h| h.name.as_deref() == Some(pending.name.as_str()))
            .filter(|h| !matches!(h.status.as_str(), "TERMINATING" | "TERMINATED"))
            .filter(|h| h.create_at.is_none_or(|c| c + CLOCK_SLACK_MS >= sent_ms))
            .filter(|h| !self.claimed_by_other(cx.ctx, &h.id))
            .collect();
        found.sort_by_key(|h| h.create_at.unwrap_or(i64::MAX));
        let uid = self.uid().unwrap_or_default();
        for h in found {
            if let Some(remote) = self.observe_supernode(cx.cloud, &h.id).await?
                && let Remote::Supernode(sn) = &remote
                && !matches!(ownership(&sn.tags, &uid), Ownership::Other(_))
            {
                return Ok(Some(remote));
            }
        }
        Ok(None)
    }

    /// Starts or stops a supernode: the whole hyperinstance when every node can take the action,
    /// else only the nodes that differ (someone started or stopped single nodes in the console).
    async fn supernode_power(
        &self,
        cloud: &ModelArtsClient,
        h: &Hyperinstance,
        start: bool,
    ) -> Result<String> {
        let nodes = plan::nodes(h);
        let (from, verb) = if start {
            ("STOPPED", "starting")
        } else {
            ("RUNNING", "stopping")
        };
        if nodes.iter().all(|n| n.status == from) {
            if start {
                cloud.start_hyperinstance(&h.id).await
            } else {
                cloud.stop_hyperinstance(&h.id).await
            }
            .map_err(Error::cloud(if start {
                "hyperinstances.start"
            } else {
                "hyperinstances.stop"
            }))?;
            return Ok(format!("{verb} supernode {}", h.id));
        }
        let mut ids = Vec::new();
        for n in nodes.iter().filter(|n| n.status == from) {
            if start {
                cloud
                    .start_server(&n.id, None)
                    .await
                    .map_err(Error::cloud("servers.start"))?;
            } else {
                cloud
                    .stop_server(&n.id)
                    .await
                    .map_err(Error::cloud("servers.stop"))?;
            }
            ids.push(n.id.as_str());
        }
        Ok(format!("{verb} nodes {} of supernode {}", ids.join(", "), h.id))
    }

    /// Applies one cloud change; returns what it did, for the Waiting message.
    async fn apply_change(
        &self,
        cx: &Cx<'_, Self>,
        remote: &Remote,
        change: &Change,
        status: &mut LiteServerStatus,
    ) -> Result<String> {
        let cloud = cx.cloud;
        let password = cx.resolved.password();
        let now = || jiff::Timestamp::now().to_string();
        Ok(match (change, remote) {
            (Change::Rename(name), Remote::Server(s)) => {
                cloud
                    .rename_server(&s.id, name)
                    .await
                    .map_err(Error::cloud("servers.rename"))?;
                format!("renamed server {} to {name}", s.id)
            }
            (Change::StopForOs(what), _) => {
                match remote {
                    Remote::Server(s) => {
                        cloud
                            .stop_server(&s.id)
                            .await
                            .map_err(Error::cloud("servers.stop"))?;
                    }
                    Remote::Supernode(sn) => {
                        self.supernode_power(cloud, &sn.hyper, false).await?;
                    }
                }
                status.stopped_for_update = true;
                format!("stopping to change the OS ({what}): ModelArts changes it only while stopped")
            }
            (Change::ChangeOs { image_id, reinstall }, _) => {
                let request = plan::os_request(self, Some(image_id.clone()), password);
                match remote {
                    Remote::Server(s) => cloud
                        .change_server_os(&s.id, &request)
                        .await
                        .map(drop)
                        .map_err(Error::cloud("servers.changeos"))?,
                    Remote::Supernode(sn) => cloud
                        .change_hyperinstance_os(&sn.hyper.id, &request)
                        .await
                        .map(drop)
                        .map_err(Error::cloud("hyperinstances.changeos"))?,
                }
                if let Some(at) = reinstall {
                    status.last_reinstall_requested_at = Some(at.clone());
                }
                format!("changing the OS to image {image_id}")
            }
            (Change::Reinstall { requested_at }, Remote::Server(s)) => {
                let request = plan::os_request(self, None, password);
                cloud
                    .reinstall_server_os(&s.id, &request)
                    .await
                    .map_err(Error::cloud("servers.reinstallos"))?;
                status.last_reinstall_requested_at = Some(requested_at.clone());
                format!("reinstalling the OS (reinstallRequestedAt {requested_at})")
            }
            (Change::Start, Remote::Server(s)) => {
                cloud
                    .start_server(&s.id, None)
                    .await
                    .map_err(Error::cloud("servers.start"))?;
                if status.stopped_for_update {
                    "starting again after the OS change".into()
                } else {
                    "starting".into()
                }
            }
            (Change::Stop, Remote::Server(s)) => {
                cloud
                    .stop_server(&s.id)
                    .await
                    .map_err(Error::cloud("servers.stop"))?;
                "stopping (desiredState: Stopped)".into()
            }
            (Change::Start, Remote::Supernode(sn)) => self.supernode_power(cloud, &sn.hyper, true).await?,
            (Change::Stop, Remote::Supernode(sn)) => self.supernode_power(cloud, &sn.hyper, false).await?,
            (Change::Reboot { requested_at }, _) => {
                // Supernodes have no reboot API of their own: each node is rebooted.
                let ids: Vec<&str> = match remote {
                    Remote::Server(s) => vec![s.id.as_str()],
                    Remote::Supernode(sn) => plan::nodes(&sn.hyper).iter().map(|n| n.id.as_str()).collect(),
                };
                for id in &ids {
                    cloud
                        .reboot_server(id)
                        .await
                        .map_err(Error::cloud("servers.reboot"))?;
                }
                status.last_reboot_requested_at = Some(requested_at.clone());
                format!("rebooting {} (rebootRequestedAt {requested_at})", ids.join(", "))
            }
            (Change::SkipReboot { requested_at }, _) => {
                status.last_reboot_requested_at = Some(requested_at.clone());
                format!("rebootRequestedAt {requested_at} needs no reboot: the server is stopped or starting")
            }
            (Change::ScaleUp { flavor }, Remote::Supernode(sn)) => {
                cloud
                    .scale_up_hyperinstance(&sn.hyper.id, &plan::scale_up_request(self, flavor))
                    .await
                    .map_err(Error::cloud("hyperinstances.scale_up"))?;
                format!("adding a {flavor} node to supernode {}", sn.hyper.id)
            }
            (Change::ScaleDown { flavor, server_ids }, Remote::Supernode(sn)) => {
                let request = ScaleDownRequest {
                    id: Some(sn.hyper.id.clone()),
                    flavor: Some(flavor.clone()),
                    server_ids: server_ids.clone(),
                    resource_flavor: None,
                };
                cloud
                    .scale_down_hyperinstance(&sn.hyper.id, &request)
                    .await
                    .map_err(Error::cloud("hyperinstances.scale_down"))?;
                status.last_scale_down = Some(ScaleDownRecord {
                    flavor: flavor.clone(),
                    server_ids: server_ids.clone(),
                    requested_at: now(),
                });
                let message = format!(
                    "removing {flavor} nodes {} from supernode {} (newest first, then by ID)",
                    server_ids.join(", "),
                    sn.hyper.id
                );
                cx.ctx
                    .events
                    .normal(&self.object_ref(&()), "ScalingDown", "Scale", message.clone())
                    .await;
                message
            }
            (change, _) => {
                return Err(Error::InvalidSpec(format!(
                    "{change:?} does not apply to a {:?} Lite Server",
                    self.spec.server_type
                )));
            }
        })
    }
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

    async fn find_created(&self, cx: &Cx<'_, Self>, pending: &PendingCreate) -> Result<Option<Remote>> {
        // The create body takes no tags, so an unconfirmed create is found by its exact name,
        // made no earlier than the create was sent, and not claimed by another object.
        let sent_ms = pending
            .requested_at
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0);
        if is_hps(self) {
            self.find_supernode(cx, pending, sent_ms).await
        } else {
            self.find_server(cx, pending, sent_ms).await
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
                name: Some(server.name.clone()),
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
        if plan::is_prepaid(self, remote) {
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
                message: format!("Lite Server {id} is {state}; waiting before deleting"),
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
            .create_hyperinstance_tags(id, &tag_list(tags))
            .await
            .map_err(Error::cloud("hyperinstances.tags.create"))
    }

    async fn remove_tags(&self, cx: &Cx<'_, Self>, id: &str, tags: &Tags) -> Result<()> {
        cx.cloud
            .delete_hyperinstance_tags(id, &tag_list(tags))
            .await
            .map_err(Error::cloud("hyperinstances.tags.delete"))
    }

    async fn list_all(cloud: &ModelArtsClient) -> Result<Vec<Remote>> {
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
        Ok(all)
    }
}
