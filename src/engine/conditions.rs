//! Condition bookkeeping shared by every kind: `lastTransitionTime` moves only when a status flips,
//! `observedGeneration` is always the generation this reconcile looked at (kstatus rules).
use crate::api::conditions::{READY, RECONCILING, STALLED, reasons};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition status values as the API defines them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    True,
    False,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::True => "True",
            State::False => "False",
            State::Unknown => "Unknown",
        }
    }
}

impl From<bool> for State {
    fn from(value: bool) -> Self {
        if value { State::True } else { State::False }
    }
}

/// Sets condition `type_`, keeping its `lastTransitionTime` unless the status changes.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    state: State,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &Time,
) {
    let message = truncate(message.into(), 1024);
    let status = state.as_str().to_string();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now.clone();
            }
            existing.status = status;
            existing.reason = reason.to_string();
            existing.message = message;
            existing.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.to_string(),
            status,
            reason: reason.to_string(),
            message,
            observed_generation: generation,
            last_transition_time: now.clone(),
        }),
    }
}

/// Sets kstatus' `Reconciling` and `Stalled` from how the reconcile ended (the engine's
/// outcome label) and the `Ready` condition it just set, so every kind gets them from one rule:
/// converging or retrying → Reconciling; a terminal error or a failed cloud resource → Stalled;
/// ready, observed or paused → neither.
pub fn set_progress(conditions: &mut Vec<Condition>, outcome: &str, generation: Option<i64>, now: &Time) {
    let (reason, message) = get(conditions, READY)
        .map(|c| (c.reason.clone(), c.message.clone()))
        .unwrap_or_else(|| (reasons::PROGRESSING.to_string(), String::new()));
    let (reconciling, stalled) = match outcome {
        "waiting" | "retry" => (true, false),
        "terminal" | "cloud_failed" => (false, true),
        _ => (false, false),
    };
    let (idle_reason, idle_message) = if outcome == "paused" {
        (reasons::PAUSED, "paused: no cloud calls".to_string())
    } else {
        (reasons::CONVERGED, String::new())
    };
    if reconciling {
        set(
            conditions,
            RECONCILING,
            State::True,
            &reason,
            message.clone(),
            generation,
            now,
        );
    } else {
        set(
            conditions,
            RECONCILING,
            State::False,
            idle_reason,
            idle_message.clone(),
            generation,
            now,
        );
    }
    if stalled {
        set(
            conditions,
            STALLED,
            State::True,
            &reason,
            message,
            generation,
            now,
        );
    } else if reconciling {
        set(
            conditions,
            STALLED,
            State::False,
            reasons::NOT_STALLED,
            "",
            generation,
            now,
        );
    } else {
        set(
            conditions,
            STALLED,
            State::False,
            idle_reason,
            idle_message,
            generation,
            now,
        );
    }
}

/// The condition of the given type, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Cuts a message on a char boundary so one chatty cloud error cannot bloat the object.
pub fn truncate(mut message: String, max: usize) -> String {
    if message.len() > max {
        let mut end = max.saturating_sub(3);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("...");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(s: &str) -> Time {
        Time(s.parse().expect("valid timestamp"))
    }

    #[test]
    fn a_new_condition_gets_the_current_time_and_generation() {
        let mut conds = Vec::new();
        set(
            &mut conds,
            "Ready",
            State::False,
            "Creating",
            "creating",
            Some(1),
            &time("2026-01-01T00:00:00Z"),
        );
        assert_eq!(conds.len(), 1);
        assert_eq!(conds[0].status, "False");
        assert_eq!(conds[0].observed_generation, Some(1));
        assert_eq!(conds[0].last_transition_time, time("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let mut conds = Vec::new();
        set(
            &mut conds,
            "Ready",
            State::False,
            "Creating",
            "a",
            Some(1),
            &time("2026-01-01T00:00:00Z"),
        );
        set(
            &mut conds,
            "Ready",
            State::False,
            "Starting",
            "b",
            Some(2),
            &time("2026-01-01T00:01:00Z"),
        );
        assert_eq!(conds[0].last_transition_time, time("2026-01-01T00:00:00Z"));
        assert_eq!(conds[0].reason, "Starting");
        assert_eq!(conds[0].observed_generation, Some(2));
        set(
            &mut conds,
            "Ready",
            State::True,
            "Available",
            "c",
            Some(2),
            &time("2026-01-01T00:02:00Z"),
        );
        assert_eq!(conds[0].last_transition_time, time("2026-01-01T00:02:00Z"));
        assert_eq!(conds.len(), 1);
    }

    fn status_of(conds: &[Condition], type_: &str) -> String {
        get(conds, type_).map(|c| c.status.clone()).unwrap_or_default()
    }

    #[test]
    fn reconciling_and_stalled_follow_the_outcome_of_the_reconcile() {
        let now = time("2026-01-01T00:00:00Z");
        let cases = [
            ("ready", "False", "False"),
            ("observed", "False", "False"),
            ("waiting", "True", "False"),
            ("retry", "True", "False"),
            ("terminal", "False", "True"),
            ("cloud_failed", "False", "True"),
            ("paused", "False", "False"),
        ];
        for (outcome, reconciling, stalled) in cases {
            let mut conds = Vec::new();
            set(
                &mut conds,
                READY,
                State::False,
                "QuotaExceeded",
                "no quota",
                Some(3),
                &now,
            );
            set_progress(&mut conds, outcome, Some(3), &now);
            assert_eq!(
                status_of(&conds, RECONCILING),
                reconciling,
                "{outcome}: Reconciling"
            );
            assert_eq!(status_of(&conds, STALLED), stalled, "{outcome}: Stalled");
            let flagged = get(&conds, if stalled == "True" { STALLED } else { RECONCILING }).expect("set");
            assert_eq!(flagged.observed_generation, Some(3), "{outcome}");
            if flagged.status == "True" {
                assert_eq!(
                    flagged.reason, "QuotaExceeded",
                    "{outcome}: the reason comes from Ready"
                );
            }
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let cut = truncate("é".repeat(600), 1024);
        assert!(cut.len() <= 1024);
        assert!(cut.ends_with("..."));
    }
}
