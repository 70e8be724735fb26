//! Fault injection rules, matched by method and path pattern before a request is handled.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer with this status and a ModelArts/APIGW error body; nothing is changed.
    Status {
        status: u16,
        #[serde(default)]
        error_code: Option<String>,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Delay the request, then handle it normally.
    Latency { millis: u64 },
    /// Close the connection without any response; nothing is changed.
    Drop,
    /// Handle the request (the mutation happens), then answer with `status` (a 5xx by
    /// default) or, when `drop` is set, close the connection instead of answering.
    CommitThenFail {
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        drop: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match; `None` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// Either a route template (`/v1/{project_id}/notebooks/{id}`) or a glob over the
    /// concrete path where `*` matches any run of characters (`/v1/*/notebooks*`).
    pub path: String,
    #[serde(flatten)]
    pub action: FaultAction,
    /// How many requests the rule fires for; `None` = until removed.
    #[serde(default)]
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstalledFault {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRule,
}

#[derive(Debug, Default)]
pub struct Faults {
    next_id: u64,
    rules: Vec<InstalledFault>,
}

/// Glob match where `*` matches any (possibly empty) run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl FaultRule {
    fn matches(&self, method: &str, template: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        method_ok && (self.path == template || glob_match(&self.path, path))
    }
}

impl Faults {
    pub fn add(&mut self, rule: FaultRule) -> u64 {
        self.next_id += 1;
        self.rules.push(InstalledFault {
            id: self.next_id,
            rule,
        });
        self.next_id
    }

    pub fn remove(&mut self, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| r.id != id);
        before != self.rules.len()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> Vec<InstalledFault> {
        self.rules.clone()
    }

    /// Every action that fires for this request, consuming one use of each rule.
    pub fn fire(&mut self, method: &str, template: &str, path: &str) -> Vec<FaultAction> {
        let mut fired = Vec::new();
        for r in &mut self.rules {
            if r.rule.times == Some(0) || !r.rule.matches(method, template, path) {
                continue;
            }
            if let Some(n) = r.rule.times.as_mut() {
                *n -= 1;
            }
            fired.push(r.rule.action.clone());
        }
        self.rules.retain(|r| r.rule.times != Some(0));
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_match("/v1/*/notebooks*", "/v1/p/notebooks/abc/start"));
        assert!(glob_match("*", "/anything"));
        assert!(!glob_match("/v2/*", "/v1/p"));
        assert!(glob_match("/v1/*/notebooks", "/v1/p/notebooks"));
        assert!(!glob_match("/v1/*/notebooks", "/v1/p/notebooks/x"));
    }

    #[test]
    fn a_counted_rule_fires_that_many_times_and_is_then_removed() {
        let mut f = Faults::default();
        f.add(FaultRule {
            method: Some("GET".into()),
            path: "/v1/{project_id}/notebooks/{id}".into(),
            action: FaultAction::Drop,
            times: Some(2),
        });
        let fire = |f: &mut Faults, m| {
            f.fire(m, "/v1/{project_id}/notebooks/{id}", "/v1/p/notebooks/x")
                .len()
        };
        assert_eq!(fire(&mut f, "POST"), 0, "method must match");
        assert_eq!(fire(&mut f, "GET"), 1);
        assert_eq!(fire(&mut f, "get"), 1);
        assert_eq!(fire(&mut f, "GET"), 0);
        assert!(f.list().is_empty());
    }

    #[test]
    fn rules_deserialise_from_the_control_api_shape() {
        let r: FaultRule = serde_json::from_str(
            r#"{"method":"POST","path":"/v1/*/notebooks","kind":"commit_then_fail","status":503}"#,
        )
        .unwrap();
        assert_eq!(
            r.action,
            FaultAction::CommitThenFail {
                status: Some(503),
                drop: false
            }
        );
        let r: FaultRule =
            serde_json::from_str(r#"{"path":"*","kind":"status","status":429,"retry_after":3,"times":1}"#)
                .unwrap();
        assert_eq!(r.times, Some(1));
    }
}
