//! Leader election on a coordination.k8s.io Lease, fenced.
//!
//! `kube-lease-manager` campaigns for and renews the Lease. Its state channel alone is not a
//! safe fence: it stays `true` while renewals fail, and a paused process resumes believing it
//! still leads. So the leader also re-reads the Lease every `renew_before / 4` and keeps a
//! deadline on the monotonic clock (which keeps running while the process is stopped):
//! `sent + (renewTime + duration - wall clock at sent) - renew_before / 2`. A mutating cloud
//! request checks that deadline right before it is sent ([`crate::cloud::gate::Fence`]), so a
//! leader that was paused past its lease, or could not renew it, sends nothing once another
//! replica may have taken over, even before it notices the loss. Half of `renew_before` is the
//! clock skew tolerated between nodes. On a loss the controllers are aborted and the replica
//! campaigns again.
use super::{
    operator::{self, OperatorConfig},
    server::{Health, Role},
};
use crate::{cloud::gate::Fence, engine::metrics::Metrics};
use clap::Args;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseParams};
use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[derive(Args, Debug, Clone)]
pub struct LeaderArgs {
    /// Run the controllers only while holding the leader Lease (needed with more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "modelarts-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (in a pod: its own namespace, from POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// How long a lease lasts without renewal; a standby takes over at most this long (plus up
    /// to a second) after the leader dies.
    #[arg(long, default_value_t = 15)]
    pub lease_duration_seconds: u64,
    /// Renew this many seconds before the lease would expire; half of it is the clock skew
    /// tolerated between nodes. Must be less than --lease-duration-seconds.
    #[arg(long, default_value_t = 5)]
    pub lease_renew_before_seconds: u64,
    /// Identity written into the Lease (in a pod: its name, from POD_NAME); default host-pid.
    #[arg(long, env = "POD_NAME")]
    pub lease_identity: Option<String>,
}

impl LeaderArgs {
    /// Checks the flags the lease manager would otherwise panic on.
    pub fn validate(&self) -> Result<(), String> {
        if self.lease_duration_seconds < 2 {
            return Err(format!(
                "--lease-duration-seconds must be at least 2, got {}",
                self.lease_duration_seconds
            ));
        }
        if self.lease_renew_before_seconds == 0
            || self.lease_renew_before_seconds >= self.lease_duration_seconds
        {
            return Err(format!(
                "--lease-renew-before-seconds must be between 1 and --lease-duration-seconds - 1 ({}), got {}",
                self.lease_duration_seconds - 1,
                self.lease_renew_before_seconds
            ));
        }
        if self.lease_name.is_empty() || self.lease_namespace.is_empty() {
            return Err("--lease-name and --lease-namespace must not be empty".into());
        }
        Ok(())
    }

    fn identity(&self) -> String {
        self.lease_identity
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "modelarts-operator".into());
                format!("{host}-{}", std::process::id())
            })
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(self.lease_duration_seconds)
    }

    /// Kept off the deadline for clock skew between nodes.
    fn margin(&self) -> Duration {
        Duration::from_secs(self.lease_renew_before_seconds) / 2
    }

    /// How often the leader re-reads the Lease: often enough that a renewal is seen before the
    /// previous deadline passes (renewals come `renew_before` ahead of expiry).
    fn check_every(&self) -> Duration {
        (Duration::from_secs(self.lease_renew_before_seconds) / 4).max(Duration::from_millis(250))
    }
}

/// The deadline after which this replica sends no mutating cloud request.
#[derive(Default)]
pub struct LeaseFence {
    valid_until: Mutex<Option<Instant>>,
}

impl LeaseFence {
    fn set(&self, until: Option<Instant>) {
        *self.valid_until.lock().unwrap_or_else(|e| e.into_inner()) = until;
    }

    fn valid(&self) -> bool {
        self.valid_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|t| Instant::now() < t)
    }
}

impl Fence for LeaseFence {
    fn check(&self) -> Result<(), String> {
        if self.valid() {
            Ok(())
        } else {
            Err("this replica does not hold a valid leader lease".into())
        }
    }
}

/// Reads the Lease and returns the new fence deadline: `None` when another identity holds it.
async fn confirm(
    api: &Api<Lease>,
    args: &LeaderArgs,
    identity: &str,
) -> Result<Option<Instant>, kube::Error> {
    let sent = Instant::now();
    let wall = jiff::Timestamp::now();
    let lease = api.get(&args.lease_name).await?;
    let Some(spec) = lease.spec else { return Ok(None) };
    if spec.holder_identity.as_deref() != Some(identity) {
        return Ok(None);
    }
    let Some(renewed) = spec.renew_time else {
        return Ok(None);
    };
    let seconds = spec
        .lease_duration_seconds
        .map(|s| u64::try_from(s).unwrap_or(0))
        .unwrap_or(args.lease_duration_seconds)
        .min(args.lease_duration_seconds);
    let expires = renewed.0 + jiff::SignedDuration::from_secs(seconds as i64);
    let left = wall.duration_until(expires);
    let left = Duration::try_from(left)
        .unwrap_or(Duration::ZERO)
        .min(args.duration());
    Ok(Some(sent + left.saturating_sub(args.margin())))
}

/// Campaigns for the Lease and runs the controllers only while it is held, until `shutdown`.
pub async fn run(
    client: kube::Client,
    args: LeaderArgs,
    config: OperatorConfig,
    metrics: Metrics,
    health: Health,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    args.validate()?;
    let identity = args.identity();
    let params = LeaseParams::new(
        identity.clone(),
        args.lease_duration_seconds,
        args.lease_renew_before_seconds,
    );
    let manager = LeaseManager::new(
        client.clone(),
        args.lease_name.clone(),
        args.lease_namespace.clone(),
        params,
        LeaseCreateMode::AutoCreate,
    )
    .await
    .map_err(|e| {
        format!(
            "leader election: cannot use Lease {}/{}: {e}",
            args.lease_namespace, args.lease_name
        )
    })?;
    let (mut leading, task) = manager.watch().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &args.lease_namespace);
    let fence = Arc::new(LeaseFence::default());
    let mut config = config;
    config.fence = Some(fence.clone());
    health.set_role(Role::Standby);
    tracing::info!(%identity, lease = %args.lease_name, namespace = %args.lease_namespace, "campaigning for the leader lease");
    tokio::pin!(shutdown);

    'campaign: loop {
        // Leading per the lease manager, and confirmed by a read of the Lease.
        loop {
            tokio::select! {
                _ = &mut shutdown => break 'campaign,
                changed = leading.wait_for(|l| *l) => if changed.is_err() {
                    return Err("leader election: the lease manager stopped".into());
                },
            }
            match confirm(&leases, &args, &identity).await {
                Ok(until) => fence.set(until),
                Err(e) => tracing::warn!(error = %e, "cannot read the leader Lease"),
            }
            if fence.valid() {
                break;
            }
            tokio::time::sleep(args.check_every()).await;
        }
        tracing::info!(%identity, "became the leader: starting the controllers");
        metrics.leader.set(1);
        let handle = operator::start(client.clone(), config.clone(), metrics.clone());
        health.set_role(Role::Leader);
        let mut tick = tokio::time::interval(args.check_every());
        let why = loop {
            tokio::select! {
                _ = &mut shutdown => {
                    tracing::info!("shutting down: finishing in-flight reconciles");
                    health.set_role(Role::Starting);
                    handle.shutdown().await;
                    metrics.leader.set(0);
                    break 'campaign;
                }
                changed = leading.changed() => if changed.is_err() || !*leading.borrow() {
                    break "another replica holds the lease";
                },
                _ = tick.tick() => {
                    match confirm(&leases, &args, &identity).await {
                        Ok(until) => fence.set(until),
                        Err(e) => tracing::warn!(error = %e, "cannot read the leader Lease; the fence expires unless a read succeeds"),
                    }
                    if !fence.valid() {
                        break "the lease was not renewed in time";
                    }
                }
            }
        };
        fence.set(None);
        handle.abort();
        metrics.leader.set(0);
        health.set_role(Role::Standby);
        tracing::error!(
            reason = why,
            "lost the leader lease: controllers stopped, no cloud mutation leaves this replica"
        );
    }
    fence.set(None);
    // Closing the channel makes the manager release the Lease, so a standby takes over at once.
    drop(leading);
    match tokio::time::timeout(Duration::from_secs(5), task).await {
        Ok(Ok(Ok(_))) => tracing::info!("leader lease released"),
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "could not release the leader lease"),
        _ => tracing::warn!("the lease manager did not stop in time"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        leader: LeaderArgs,
    }

    fn parse(args: &[&str]) -> LeaderArgs {
        Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .expect("flags parse")
            .leader
    }

    #[test]
    fn renew_before_must_be_shorter_than_the_lease() {
        let err = parse(&[
            "--lease-duration-seconds",
            "5",
            "--lease-renew-before-seconds",
            "5",
        ])
        .validate()
        .expect_err("refused");
        assert!(err.contains("--lease-renew-before-seconds"), "{err}");
        assert!(parse(&[]).validate().is_ok());
    }

    #[test]
    fn a_fence_without_a_deadline_or_past_it_refuses() {
        let fence = LeaseFence::default();
        assert!(fence.check().is_err(), "never confirmed");
        fence.set(Some(Instant::now() + Duration::from_secs(60)));
        assert!(fence.check().is_ok());
        fence.set(Some(Instant::now()));
        assert!(fence.check().is_err(), "deadline reached");
    }
}
