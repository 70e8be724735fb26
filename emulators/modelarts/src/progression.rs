//! How fast asynchronous transitions complete. Every transitional state a resource enters
//! carries a [`Pending`] step; it completes lazily when the resource is next looked at, which
//! keeps the emulator free of background tasks and makes "after N reads" exact.

use serde::{Deserialize, Serialize};

/// Per-family progression mode (moto's `ManagedState`: immediate, manual after N reads, time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Progression {
    /// The next access sees the final state (the mutating response itself still shows the
    /// transitional state, as the real API does).
    Immediate,
    /// `reads` show/list calls observe the transitional state, the next one the final state.
    AfterReads { reads: u32 },
    /// The transition completes after this much emulated time.
    AfterDuration { millis: u64 },
}

impl Default for Progression {
    /// Realistic but quick.
    fn default() -> Self {
        Progression::AfterDuration { millis: 2000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Notebooks,
    Pools,
    /// Dev-servers and hyperinstances.
    Servers,
}

impl std::str::FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "notebooks" | "notebook" => Ok(Family::Notebooks),
            "pools" | "pool" => Ok(Family::Pools),
            "servers" | "dev-servers" | "dev_servers" | "hyperinstances" => Ok(Family::Servers),
            other => Err(format!("unknown family {other} (notebooks, pools, servers)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProgressionSettings {
    #[serde(default)]
    pub notebooks: Progression,
    #[serde(default)]
    pub pools: Progression,
    #[serde(default)]
    pub servers: Progression,
}

impl ProgressionSettings {
    pub fn all(p: Progression) -> Self {
        Self {
            notebooks: p,
            pools: p,
            servers: p,
        }
    }
    pub fn get(&self, f: Family) -> Progression {
        match f {
            Family::Notebooks => self.notebooks,
            Family::Pools => self.pools,
            Family::Servers => self.servers,
        }
    }
    pub fn set(&mut self, f: Family, p: Progression) {
        match f {
            Family::Notebooks => self.notebooks = p,
            Family::Pools => self.pools = p,
            Family::Servers => self.servers = p,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Reads(u32),
    At(i64),
}

/// A transition in flight towards `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending<S> {
    pub to: S,
    pub due: Due,
}

impl<S> Pending<S> {
    pub fn new(to: S, p: Progression, now_ms: i64) -> Self {
        let due = match p {
            Progression::Immediate => Due::Reads(0),
            Progression::AfterReads { reads } => Due::Reads(reads),
            Progression::AfterDuration { millis } => {
                Due::At(now_ms.saturating_add(i64::try_from(millis).unwrap_or(i64::MAX / 4)))
            }
        };
        Self { to, due }
    }
}

/// Whether the pending step completes now. `read` is true for show/list calls, which count
/// down an after-N-reads step; any other access only completes steps already due.
pub fn take_due<S>(pending: &mut Option<Pending<S>>, now_ms: i64, read: bool) -> Option<S> {
    let due = match pending.as_mut()?.due {
        Due::Reads(0) => true,
        Due::Reads(ref mut n) => {
            if read {
                *n -= 1;
            }
            false
        }
        Due::At(t) => now_ms >= t,
    };
    if due { pending.take().map(|p| p.to) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_immediate_step_completes_on_the_next_access() {
        let mut p = Some(Pending::new("RUNNING", Progression::Immediate, 0));
        assert_eq!(take_due(&mut p, 0, false), Some("RUNNING"));
        assert_eq!(p, None);
    }

    #[test]
    fn an_after_reads_step_lets_exactly_n_reads_see_the_transitional_state() {
        let mut p = Some(Pending::new("RUNNING", Progression::AfterReads { reads: 2 }, 0));
        assert_eq!(
            take_due(&mut p, 0, false),
            None,
            "a non-read access does not count"
        );
        assert_eq!(take_due(&mut p, 0, true), None);
        assert_eq!(take_due(&mut p, 0, true), None);
        assert_eq!(take_due(&mut p, 0, true), Some("RUNNING"));
    }

    #[test]
    fn a_timed_step_completes_once_emulated_time_reaches_it() {
        let mut p = Some(Pending::new(
            "RUNNING",
            Progression::AfterDuration { millis: 2000 },
            1000,
        ));
        assert_eq!(take_due(&mut p, 2999, true), None);
        assert_eq!(take_due(&mut p, 3000, false), Some("RUNNING"));
    }

    #[test]
    fn family_names_parse_with_their_aliases() {
        assert_eq!("dev-servers".parse::<Family>(), Ok(Family::Servers));
        assert!("jobs".parse::<Family>().is_err());
    }
}
