//! The drift poller: per kind, lists every cloud resource of that kind in each credentials scope
//! on a jittered interval, refreshes the snapshot, and wakes only the objects whose cloud
//! resource changed. Cloud reads per object then fall with page size, not with object count.
use super::{
    apply::scope_of,
    backoff::jittered,
    cache::Cached,
    context::{Context, ScopedClient},
    demand::Wanted,
    identity::CLOUD_ID_ANNOTATION,
    key::Key,
    resource::CloudResource,
    snapshot::Listing,
};
use crate::api::{
    common::{CommonSpec, CommonStatus},
    conditions::READY,
};
use futures::{SinkExt, channel::mpsc::Sender};
use kube::{
    ResourceExt,
    runtime::reflector::{ObjectRef, Store},
};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    ops::ControlFlow,
    sync::Arc,
    time::{Duration, Instant},
};

/// Runs forever (until the task is dropped), polling every `interval` with jitter.
pub async fn run<R: CloudResource>(
    ctx: Arc<Context<R>>,
    store: Store<Cached<R>>,
    mut wake: Sender<ObjectRef<R>>,
    interval: Duration,
) {
    let mut listed_by_scope: HashMap<String, Vec<Key>> = HashMap::new();
    ctx.demand.serve();
    let mut next_poll = tokio::time::Instant::now() + jittered(interval);
    loop {
        // On its interval, or sooner when reconciles wait for a listing (`demand`). Releasing
        // waiters lists nothing, so it does not move the next poll.
        let wanted = tokio::select! {
            _ = tokio::time::sleep_until(next_poll) => None,
            wanted = ctx.demand.wanted() => Some(wanted),
        };
        if wanted == Some(Wanted::Release) {
            for obj in ctx.demand.release() {
                if wake.send(obj).await.is_err() {
                    return;
                }
            }
            continue;
        }
        // A listing on demand ends once it showed every waiter's resource; other scopes and
        // later pages wait for the poll, which lists all of them: only a full listing moves it.
        let (mut sought, farthest) = match wanted {
            Some(Wanted::List) => ctx.demand.sought(),
            _ => (HashSet::new(), 0),
        };
        let seeking = !sought.is_empty();
        // Pages a listing for them may read: as far as the farthest waiter, and one page per
        // page of waiters, plus two for creates since; a waiter not shown by then reads alone.
        let per_page = R::READS_FROM_LISTING.unwrap_or(usize::MAX).max(1);
        let budget = farthest.max(sought.len().div_ceil(per_page)) + 2;
        if !seeking {
            next_poll = tokio::time::Instant::now() + jittered(interval);
        }
        let started = ctx.demand.started();
        // Each entry is decoded in turn and dropped once read: the poll never holds the
        // whole kind decoded.
        let entries = store.state();
        let mut ready = ReadyCounts::default();
        let mut scopes: BTreeMap<String, Arc<ScopedClient>> = BTreeMap::new();
        let mut moved = Vec::new();
        // Several objects can name one resource (its owner, ObserveOnly viewers, rivals in
        // ManagementConflict): each is woken, so none hides another's drift.
        let mut by_id: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        for (at, entry) in entries.iter().enumerate() {
            let obj = match entry.decode() {
                Ok(obj) => obj,
                Err(err) => {
                    tracing::warn!(kind = R::KIND, object = %entry.name_any(), error = %err, "cache entry unreadable");
                    continue;
                }
            };
            ready.count(&obj);
            let namespace = obj.namespace().unwrap_or_default();
            if let Ok(scoped) = ctx.clouds.for_object(&namespace, obj.spec()).await {
                // A Secret or flag now pointing elsewhere changes nothing in the object: wake
                // it, so it reports the changed scope instead of waiting for its resync.
                let recorded = obj.status().and_then(|s| s.cloud().cloud_scope.as_ref());
                if recorded.is_some_and(|r| *r != scope_of(&scoped.client)) {
                    moved.push(ObjectRef::from_obj(&obj));
                }
                scopes.entry(scoped.key.clone()).or_insert(scoped);
            }
            // ObserveOnly objects and objects in ManagementConflict record no cloud ID (or not
            // yet): their spec.resourceId names the resource whose drift they report.
            let status_id = obj.status().and_then(|s| s.cloud_id());
            let annotated = obj.annotations().get(CLOUD_ID_ANNOTATION).map(String::as_str);
            for id in [status_id, annotated, obj.spec().resource_id()]
                .into_iter()
                .flatten()
            {
                let woken = by_id.entry(Box::from(id)).or_default();
                if woken.last() != Some(&at) {
                    woken.push(at);
                }
            }
        }
        ready.record(&ctx);
        for obj in moved {
            if wake.send(obj).await.is_err() {
                return;
            }
        }
        let named: HashSet<&str> = by_id.keys().map(|id| &**id).collect();
        for (key, scoped) in scopes {
            if seeking && sought.is_empty() {
                break;
            }
            // Each page goes into the snapshot as it arrives: the poll holds one page, not the
            // whole listing beside the snapshot it replaces.
            let mut listing = Listing::new(Instant::now());
            let mut pages = 0usize;
            let listed = R::list_pages(&scoped.client, &named, &mut |page| {
                pages += 1;
                let page: Vec<(String, R::Remote)> =
                    page.into_iter().map(|r| (R::remote_id(&r), r)).collect();
                for (id, _) in &page {
                    sought.remove(id);
                }
                ctx.snapshot.page(&mut listing, page);
                if seeking && (sought.is_empty() || pages >= budget) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await;
            let previous = listed_by_scope.remove(&key).unwrap_or_default();
            let (changed, ids) = match listed {
                Ok(true) => ctx.snapshot.finish(listing, &previous),
                // Its pages are in the snapshot and their changes still wake their objects.
                Ok(false) => listing.abandon(&previous),
                Err(err) => {
                    tracing::warn!(kind = R::KIND, scope = %key, error = %err, "drift poll failed");
                    listing.abandon(&previous)
                }
            };
            listed_by_scope.insert(key, ids);
            if changed.is_empty() {
                continue;
            }
            for id in &changed {
                for &at in by_id.get(id.as_str()).into_iter().flatten() {
                    // Waits while the channel is full rather than dropping the wake-up: after a
                    // burst, one poll can find more changed objects than the channel holds, and
                    // a dropped wake-up is drift left unnoticed until the next resync.
                    let key = ObjectRef::new(&entries[at].name_any())
                        .within(&entries[at].namespace().unwrap_or_default());
                    if wake.send(key).await.is_err() {
                        return;
                    }
                }
            }
            tracing::debug!(
                kind = R::KIND,
                changed = changed.len(),
                "drift poll found changes"
            );
        }
        for obj in ctx.demand.finished(started) {
            if wake.send(obj).await.is_err() {
                return;
            }
        }
    }
}

/// Objects by their `Ready` status, for the gauge.
#[derive(Default)]
struct ReadyCounts {
    ready: i64,
    not_ready: i64,
    unknown: i64,
}

impl ReadyCounts {
    fn count<R: CloudResource>(&mut self, obj: &R) {
        let ready = obj
            .status()
            .and_then(|s| super::conditions::get(s.conditions(), READY))
            .map(|c| c.status.as_str());
        match ready {
            Some("True") => self.ready += 1,
            Some("False") => self.not_ready += 1,
            _ => self.unknown += 1,
        }
    }

    fn record<R: CloudResource>(&self, ctx: &Context<R>) {
        for (ready, n) in [
            ("True", self.ready),
            ("False", self.not_ready),
            ("Unknown", self.unknown),
        ] {
            ctx.metrics
                .objects
                .get_or_create(&super::metrics::ReadyLabels {
                    kind: R::KIND.into(),
                    ready: ready.into(),
                })
                .set(n);
        }
    }
}
