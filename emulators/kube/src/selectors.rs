//! Label selectors (`=`, `==`, `!=`, `k`, `!k`, `in`, `notin`) and field selectors
//! (`metadata.name`, `metadata.namespace`, with `=`, `==`, `!=`).

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::ResourceDef;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

/// Splits on commas that are not inside a `( ... )` value set.
fn split_top_level(s: &str) -> Vec<String> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(key: &str, rest: &str, raw: &str) -> Result<Vec<String>, ApiError> {
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unable to parse requirement: {raw}: expected ( after {key}"
            ))
        })?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(raw) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let req = if let Some(key) = part.strip_prefix('!') {
                Req::NotExists(key.trim().to_string())
            } else if words.len() >= 2 && words[1] == "notin" {
                let rest = part.split_once("notin").map(|x| x.1).unwrap_or_default();
                Req::NotIn(words[0].into(), parse_set(words[0], rest, &part)?)
            } else if words.len() >= 2 && words[1] == "in" {
                let rest = part.split_once(" in").map(|(_, r)| r).unwrap_or_default();
                Req::In(words[0].into(), parse_set(words[0], rest, &part)?)
            } else if let Some((k, v)) = part.split_once("!=") {
                Req::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if words.len() == 1 {
                Req::Exists(part.clone())
            } else {
                return Err(ApiError::bad_request(format!(
                    "unable to parse requirement: {part}"
                )));
            };
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::In(k, set) => get(k).is_some_and(|v| set.iter().any(|s| s == v)),
            Req::NotIn(k, set) => get(k).is_none_or(|v| !set.iter().any(|s| s == v)),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// `allowed` lists the resource's extra selectable fields beyond `metadata.name` and
    /// `metadata.namespace` (e.g. `involvedObject.name` on core Events, used by `kubectl describe`).
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(raw) {
            let (field, negate, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, false, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{raw}'; can't understand '{part}'"
                )));
            };
            let field = field.trim();
            if !matches!(field, "metadata.name" | "metadata.namespace") && !allowed.contains(&field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                )));
            }
            reqs.push((field.to_string(), negate, value.trim().to_string()));
        }
        Ok(Self(reqs))
    }

    /// Maps field labels of one version onto the stored shape (events.k8s.io `regarding.*`).
    pub fn renamed(mut self, to_storage: impl Fn(&str) -> String) -> Self {
        for (field, _, _) in &mut self.0 {
            *field = to_storage(field);
        }
        self
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, negate, value)| {
            // Core Events select `source` by its component, as the apiserver's field set does.
            let path = if field == "source" {
                "source.component"
            } else {
                field.as_str()
            };
            let found = path.split('.').try_fold(object, |cur, key| cur.get(key));
            let actual = match found {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) != *negate
        })
    }
}

/// Extra field selectors the apiserver supports for the built-ins served here.
fn selectable_fields(def: &ResourceDef) -> &'static [&'static str] {
    match (def.custom, def.group.as_str(), def.plural.as_str()) {
        (false, "", "events") => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        (false, "events.k8s.io", "events") => &[
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
        ],
        (false, "", "secrets") => &["type"],
        (false, "", "namespaces") => &["status.phase"],
        _ => &[],
    }
}

/// Both selectors of a list or watch request.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn from_query(q: &crate::http::Query, def: &ResourceDef) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(q.get("labelSelector").unwrap_or_default())?,
            fields: FieldSelector::parse(q.get("fieldSelector").unwrap_or_default(), selectable_fields(def))?
                .renamed(|f| crate::events::storage_field_label(def, f)),
        })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn every_label_selector_operator_matches_like_the_apiserver() {
        let o = obj(json!({"app": "web", "tier": "front"}));
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("tier in (front,back)", true),
            ("tier in (back)", false),
            ("tier notin (back)", true),
            ("tier notin (front, back)", false),
            ("missing notin (x)", true),
            ("app=web,tier in (front)", true),
            ("app=web,tier=back", false),
            ("", true),
        ];
        for (sel, want) in cases {
            assert_eq!(
                LabelSelector::parse(sel).unwrap().matches(&o),
                want,
                "selector {sel:?}"
            );
        }
    }

    #[test]
    fn field_selectors_match_name_and_namespace_and_refuse_other_fields() {
        let o = obj(json!({}));
        assert!(FieldSelector::parse("metadata.name=a", &[]).unwrap().matches(&o));
        assert!(!FieldSelector::parse("metadata.name!=a", &[]).unwrap().matches(&o));
        assert!(
            FieldSelector::parse("metadata.namespace==ns,metadata.name=a", &[])
                .unwrap()
                .matches(&o)
        );
        let err = FieldSelector::parse("spec.x=1", &[]).unwrap_err();
        assert_eq!(err.code, 400);
    }

    #[test]
    fn a_set_requirement_without_parentheses_is_a_bad_request() {
        assert_eq!(LabelSelector::parse("tier in front").unwrap_err().code, 400);
    }

    #[test]
    fn extra_selectable_fields_match_nested_values_when_the_resource_allows_them() {
        let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"name": "nb", "kind": "Notebook"}, "source": {"component": "op"}});
        let allowed = ["involvedObject.name", "involvedObject.kind", "source"];
        assert!(
            FieldSelector::parse("involvedObject.name=nb,involvedObject.kind=Notebook", &allowed)
                .unwrap()
                .matches(&ev)
        );
        assert!(FieldSelector::parse("source=op", &allowed).unwrap().matches(&ev));
        assert!(
            !FieldSelector::parse("involvedObject.name=other", &allowed)
                .unwrap()
                .matches(&ev)
        );
        assert_eq!(
            FieldSelector::parse("involvedObject.uid=x", &allowed)
                .unwrap_err()
                .code,
            400
        );
    }
}
