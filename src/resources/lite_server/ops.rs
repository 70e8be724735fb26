//! The cloud operations behind LiteServer's trait methods: lookups by name and time, the login
//! Secret, supernode power, and applying one planned change.
use super::{
    Password, is_child, is_hps,
    plan::{self, Change, Remote, Supernode},
    tags_of,
};
use crate::{
    api::{
        common::PendingCreate,
        conditions::reasons,
        lite_server::{LiteServer, LiteServerStatus, ScaleDownRecord},
    },
    cloud::{
        ModelArtsClient,
        lite_servers::{Hyperinstance, ScaleDownRequest, ServerFilter},
    },
    engine::{
        context::Context,
        outcome::{Error, Result, Step},
        resource::Cx,
    },
};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Resource, ResourceExt};

const PAGE: u32 = super::PAGE;

impl LiteServer {
    pub(super) async fn observe_supernode(
        &self,
        cloud: &ModelArtsClient,
        id: &str,
    ) -> Result<Option<Remote>> {
        let hyper = match cloud.show_hyperinstance(id).await {
            Ok(h) if h.status == "TERMINATED" => return Ok(None),
            Ok(h) => h,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(Error::cloud("hyperinstances.show")(e)),
        };
        let tags = match cloud.list_hyperinstance_tags(id).await {
            Ok(tags) => tags_of(tags),
            // The supernode was just read: a tag read that misses it proves nothing (it may be
            // lagging); the supernode is gone only when a read of it says so.
            Err(e) if e.is_not_found() => {
                return match cloud.show_hyperinstance(id).await {
                    Ok(h) if h.status == "TERMINATED" => Ok(None),
                    Err(e) if e.is_not_found() => Ok(None),
                    _ => Err(Error::Waiting {
                        reason: reasons::PROGRESSING,
                        message: format!(
                            "the tags of supernode {id} cannot be read yet (not found right after it was read); reading again"
                        ),
                    }),
                };
            }
            Err(e) => return Err(Error::cloud("hyperinstances.tags.show")(e)),
        };
        Ok(Some(Remote::Supernode(Supernode { hyper, tags })))
    }

    /// Reads the password Secret; `Err(step)` waits for it to appear or be fixed.
    pub(super) async fn read_password(
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

    pub(super) fn validate(&self) -> Result<()> {
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

    pub(super) async fn find_server(
        &self,
        cx: &Cx<'_, Self>,
        pending: &PendingCreate,
    ) -> Result<Vec<Remote>> {
        let all = cx
            .cloud
            .list_all_servers(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("servers.list"))?;
        Ok(all
            .into_iter()
            .filter(|s| s.name == pending.name && !is_child(s))
            .filter(|s| !matches!(s.status.as_str(), "DELETING" | "DELETED"))
            .map(Remote::Server)
            .collect())
    }

    pub(super) async fn find_supernode(
        &self,
        cx: &Cx<'_, Self>,
        pending: &PendingCreate,
    ) -> Result<Vec<Remote>> {
        let all = cx
            .cloud
            .list_all_hyperinstances(&ServerFilter::default(), PAGE)
            .await
            .map_err(Error::cloud("hyperinstances.list"))?;
        let mut candidates = Vec::new();
        for h in all
            .into_iter()
            .filter(|h| h.name.as_deref() == Some(pending.name.as_str()))
            .filter(|h| !matches!(h.status.as_str(), "TERMINATING" | "TERMINATED"))
        {
            if let Some(remote) = self.observe_supernode(cx.cloud, &h.id).await? {
                candidates.push(remote);
            }
        }
        Ok(candidates)
    }

    /// Starts or stops a supernode: the whole hyperinstance when every node can take the action,
    /// else only the nodes that differ (someone started or stopped single nodes in the console).
    pub(super) async fn supernode_power(
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
    pub(super) async fn apply_change(
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
                for (i, id) in ids.iter().enumerate() {
                    if let Err(e) = cloud.reboot_server(id).await {
                        // Once any node took the reboot, the trigger counts as handled: a retry
                        // would reboot those nodes a second time.
                        if i > 0 {
                            status.last_reboot_requested_at = Some(requested_at.clone());
                        }
                        return Err(Error::cloud("servers.reboot")(e));
                    }
                }
                status.last_reboot_requested_at = Some(requested_at.clone());
                format!("rebooting {} (rebootRequestedAt {requested_at})", ids.join(", "))
            }
            (Change::SkipReboot { requested_at }, _) => {
                status.last_reboot_requested_at = Some(requested_at.clone());
                format!("rebootRequestedAt {requested_at} needs no reboot: the server is stopped or starting")
            }
            (Change::ScaleUp { flavor }, Remote::Supernode(sn)) => {
                if let Err(e) = cloud
                    .scale_up_hyperinstance(&sn.hyper.id, &plan::scale_up_request(self, flavor))
                    .await
                {
                    // Only a 5xx or a lost answer may have added the node; any other refusal
                    // certainly did not, so the next read may ask again.
                    if e.kind() != crate::cloud::ErrorKind::Transient {
                        status.pending_scale_up = None;
                    }
                    return Err(Error::cloud("hyperinstances.scale_up")(e));
                }
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
