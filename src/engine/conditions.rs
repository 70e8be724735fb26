//! Condition bookkeeping shared by every kind: `lastTransitionTime` moves only when a status flips,
//! `observedGeneration` is always the generation this reconcile looked at (kstatus rules).
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

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let cut = truncate("é".repeat(600), 1024);
        assert!(cut.len() <= 1024);
        assert!(cut.ends_with("..."));
    }
}
