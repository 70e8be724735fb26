//! Counting the cloud, independently of the operator: the emulator's inventory against the
//! objects in the cluster and the "user's" resources seeded before the run.
use super::{cluster::Seen, harness::CloudItem, objects::Kind};
use modelarts_operator::engine::tags::OWNER_TAG;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The numbers a run reports; every one must be 0.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// Cloud resources beyond the first for one live object.
    pub duplicates: usize,
    /// Cloud resources no live object accounts for.
    pub leaked: usize,
    /// Seeded resources (a person's own, or another owner's) that are gone.
    pub wrongly_deleted: usize,
    /// Seeded resources still there but with other tags or another state.
    pub touched: usize,
    /// Live objects not Ready on exactly their one resource; objects that never went away.
    pub unconverged: usize,
    /// What each count is made of (first lines only).
    pub details: Vec<String>,
}

impl Tally {
    fn note(&mut self, line: String) {
        if self.details.len() < 40 {
            self.details.push(line);
        }
    }
}

/// The settled state a seed is recorded in and must stay in.
pub fn steady(item: &CloudItem) -> bool {
    matches!(item.status.as_str(), "RUNNING" | "Running" | "ACTIVE")
}

/// Resources an object could have made: top-level (not a supernode's node), not a seed.
fn made<'a>(inventory: &'a [CloudItem], seeds: &HashSet<&str>) -> Vec<&'a CloudItem> {
    inventory
        .iter()
        .filter(|i| i.parent.is_none() && !seeds.contains(i.id.as_str()))
        .collect()
}

/// Seeds gone (wrongly deleted) or changed (touched).
pub fn check_seeds(tally: &mut Tally, seeds: &[CloudItem], inventory: &[CloudItem]) {
    let by_id: HashMap<(&str, &str), &CloudItem> = inventory
        .iter()
        .map(|i| ((i.kind.as_str(), i.id.as_str()), i))
        .collect();
    for seed in seeds {
        match by_id.get(&(seed.kind.as_str(), seed.id.as_str())) {
            None => {
                tally.wrongly_deleted += 1;
                tally.note(format!(
                    "wrongly deleted: seeded {} {} ({}, tags {:?})",
                    seed.kind, seed.name, seed.id, seed.tags
                ));
            }
            Some(now) if now.tags != seed.tags || now.status != seed.status => {
                tally.touched += 1;
                tally.note(format!(
                    "touched: seeded {} {} ({}): {} {:?} -> {} {:?}",
                    seed.kind, seed.name, seed.id, seed.status, seed.tags, now.status, now.tags
                ));
            }
            Some(_) => {}
        }
    }
}

/// After convergence: each live object holds exactly one resource and is Ready on it; no
/// resource is left for a deleted object or an earlier incarnation.
pub fn checkpoint(
    slots: &[(Kind, String)],
    live: &HashMap<(Kind, String), Seen>,
    inventory: &[CloudItem],
    seeds: &[CloudItem],
) -> Tally {
    let mut tally = Tally::default();
    let seed_ids: HashSet<&str> = seeds.iter().map(|s| s.id.as_str()).collect();
    let mut by_slot: BTreeMap<(&str, &str), Vec<&CloudItem>> = BTreeMap::new();
    for item in made(inventory, &seed_ids) {
        by_slot
            .entry((item.kind.as_str(), item.name.as_str()))
            .or_default()
            .push(item);
    }
    for (kind, name) in slots {
        let found = by_slot
            .remove(&(kind.cloud_kind(), name.as_str()))
            .unwrap_or_default();
        let Some(object) = live.get(&(*kind, name.clone())) else {
            if !found.is_empty() {
                tally.leaked += found.len();
                tally.note(format!(
                    "leaked: {} resource(s) named {name} with no object: {:?}",
                    found.len(),
                    ids(&found)
                ));
            }
            continue;
        };
        // A resource tagged for another UID is an earlier incarnation's: left behind.
        let (earlier, mine): (Vec<&CloudItem>, Vec<&CloudItem>) = found
            .iter()
            .partition(|i| kind.tagged() && i.tags.get(OWNER_TAG).is_some_and(|uid| *uid != object.uid));
        if !earlier.is_empty() {
            tally.leaked += earlier.len();
            tally.note(format!(
                "leaked: {name} holds {} resource(s) of an earlier incarnation: {:?}",
                earlier.len(),
                ids(&earlier)
            ));
        }
        if mine.len() > 1 {
            tally.duplicates += mine.len() - 1;
            tally.note(format!(
                "duplicates: {name} ({}) has {} resources: {:?}",
                object.uid,
                mine.len(),
                ids(&mine)
            ));
        }
        let on_its_resource = mine.len() == 1 && object.cloud_id.as_deref() == Some(mine[0].id.as_str());
        if let Some(id) = object.cloud_id.as_deref().filter(|id| seed_ids.contains(id)) {
            tally.note(format!(
                "{name} ({}) records a seeded resource as its own: {id}",
                object.uid
            ));
        }
        if !(object.ready && !object.deleting && on_its_resource) {
            tally.unconverged += 1;
            tally.note(format!(
                "unconverged: {name}: {} resource(s) of its own, cloudId {:?}, {}{}",
                mine.len(),
                object.cloud_id,
                object.why,
                if object.deleting { ", deleting" } else { "" }
            ));
        }
    }
    for ((kind, name), items) in by_slot {
        tally.leaked += items.len();
        tally.note(format!(
            "leaked: {} {kind} named {name}, no such object ever: {:?}",
            items.len(),
            ids(&items)
        ));
    }
    tally
}

/// After everything was deleted: nothing but the seeds is left, and no object is stuck.
pub fn after_deletion(remaining: &[Seen], inventory: &[CloudItem], seeds: &[CloudItem]) -> Tally {
    let mut tally = Tally::default();
    let seed_ids: HashSet<&str> = seeds.iter().map(|s| s.id.as_str()).collect();
    for item in made(inventory, &seed_ids) {
        tally.leaked += 1;
        tally.note(format!(
            "leaked after deletion: {} {} ({}, {}, tags {:?})",
            item.kind, item.name, item.id, item.status, item.tags
        ));
    }
    for object in remaining {
        tally.unconverged += 1;
        tally.note(format!("not deleted: {} ({})", object.name, object.why));
    }
    check_seeds(&mut tally, seeds, inventory);
    tally
}

fn ids(items: &[&CloudItem]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}
