//! Tag ownership, pure: only keys in `spec.tags` plus the operator's ownership tag are managed;
//! the managed key set lives in status so a key removed from the spec is deleted in the cloud,
//! and tags anyone else added are never touched.
use crate::api::common::Tags;
use std::collections::{BTreeMap, BTreeSet};

/// Tag key stamped on every created or adopted cloud resource; its value is the CR's UID.
/// ModelArts tag keys allow letters, digits and `_ . : = + - @` (no `/`).
pub const OWNER_TAG: &str = "modelarts.operator.dev:owner";

/// Who, according to the cloud resource's tags, manages it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Tagged with this object's UID.
    Ours,
    /// No ownership tag: free to claim (adoption) or still being tagged after create.
    Unclaimed,
    /// Tagged by another object (its UID).
    Other(String),
}

pub fn ownership(remote: &Tags, uid: &str) -> Ownership {
    match remote.get(OWNER_TAG) {
        None => Ownership::Unclaimed,
        Some(v) if v == uid => Ownership::Ours,
        Some(v) => Ownership::Other(v.clone()),
    }
}

/// What to change in the cloud to make its tags match the spec.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TagPlan {
    /// Keys to create or overwrite, with their values.
    pub upsert: BTreeMap<String, String>,
    /// Keys to delete, with the value the cloud holds (some delete APIs want it).
    pub remove: BTreeMap<String, String>,
    /// The managed key set to remember in status once the plan is applied (spec keys only).
    pub managed: Vec<String>,
}

impl TagPlan {
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty() && self.remove.is_empty()
    }
}

/// The managed key set widened by the keys of `desired`: what status must hold before a tag
/// write is sent, so a key the write may have set is remembered even if its answer is lost.
pub fn with_keys(managed: &[String], desired: &Tags) -> Vec<String> {
    let keys: BTreeSet<&String> = managed.iter().chain(desired.keys()).collect();
    keys.into_iter().cloned().collect()
}

/// Plans the tag changes. `owner_uid` is `Some` when the ownership tag must be present.
pub fn plan(
    desired: &Tags,
    owner_uid: Option<&str>,
    previously_managed: &[String],
    remote: &Tags,
) -> TagPlan {
    let mut want = desired.clone();
    if let Some(uid) = owner_uid {
        want.insert(OWNER_TAG.to_string(), uid.to_string());
    }
    let upsert = want
        .iter()
        .filter(|(k, v)| remote.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = previously_managed
        .iter()
        .filter(|k| !desired.contains_key(*k) && k.as_str() != OWNER_TAG)
        .filter_map(|k| remote.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    let managed = desired
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    TagPlan {
        upsert,
        remove,
        managed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    struct Case {
        reason: &'static str,
        desired: Tags,
        managed: Vec<&'static str>,
        remote: Tags,
        upsert: Tags,
        remove: Tags,
    }

    #[test]
    fn tag_plans_touch_only_managed_keys() {
        let cases = [
            Case {
                reason: "a new spec tag and the owner tag are added",
                desired: tags(&[("team", "ml")]),
                managed: vec![],
                remote: tags(&[]),
                upsert: tags(&[("team", "ml"), (OWNER_TAG, "uid-1")]),
                remove: tags(&[]),
            },
            Case {
                reason: "a changed value is overwritten",
                desired: tags(&[("team", "cv")]),
                managed: vec!["team"],
                remote: tags(&[("team", "ml"), (OWNER_TAG, "uid-1")]),
                upsert: tags(&[("team", "cv")]),
                remove: tags(&[]),
            },
            Case {
                reason: "a key removed from the spec is deleted, a foreign key is kept",
                desired: tags(&[]),
                managed: vec!["team"],
                remote: tags(&[("team", "ml"), ("cost-center", "42"), (OWNER_TAG, "uid-1")]),
                upsert: tags(&[]),
                remove: tags(&[("team", "ml")]),
            },
            Case {
                reason: "a managed key someone already deleted needs no delete call",
                desired: tags(&[]),
                managed: vec!["team"],
                remote: tags(&[(OWNER_TAG, "uid-1")]),
                upsert: tags(&[]),
                remove: tags(&[]),
            },
            Case {
                reason: "a foreign key that the spec now names becomes managed and is overwritten",
                desired: tags(&[("cost-center", "7")]),
                managed: vec![],
                remote: tags(&[("cost-center", "42"), (OWNER_TAG, "uid-1")]),
                upsert: tags(&[("cost-center", "7")]),
                remove: tags(&[]),
            },
        ];
        for case in cases {
            let managed: Vec<String> = case.managed.iter().map(|s| s.to_string()).collect();
            let plan = plan(&case.desired, Some("uid-1"), &managed, &case.remote);
            assert_eq!(plan.upsert, case.upsert, "{}", case.reason);
            assert_eq!(plan.remove, case.remove, "{}", case.reason);
            assert_eq!(
                plan.managed,
                case.desired.keys().cloned().collect::<Vec<_>>(),
                "{}",
                case.reason
            );
        }
    }

    #[test]
    fn without_an_owner_the_owner_tag_is_neither_added_nor_removed() {
        let remote = tags(&[(OWNER_TAG, "uid-1"), ("team", "ml")]);
        let plan = plan(&tags(&[("team", "ml")]), None, &["team".to_string()], &remote);
        assert!(plan.is_empty());
    }

    #[test]
    fn ownership_is_read_from_the_owner_tag() {
        assert_eq!(ownership(&tags(&[]), "u"), Ownership::Unclaimed);
        assert_eq!(ownership(&tags(&[(OWNER_TAG, "u")]), "u"), Ownership::Ours);
        assert_eq!(
            ownership(&tags(&[(OWNER_TAG, "v")]), "u"),
            Ownership::Other("v".into())
        );
    }
}
