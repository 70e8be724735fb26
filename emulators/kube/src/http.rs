//! HTTP plumbing: JSON responses, query strings, and the apiserver's URL layout.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

pub fn json_response(code: StatusCode, value: &Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Decoded query parameters; a repeated key keeps its last value, like Go's `Get` on the first.
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(decode(k)).or_insert_with(|| decode(v));
        }
        Self(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Go's `strconv.ParseBool` spellings of true: the Python client sends `watch=True`.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "t" | "T" | "TRUE" | "True"))
    }

    pub fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Where a resource request points: `/api/v1/...` or `/apis/{group}/{version}/...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What the path asked for, before the resource itself is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/api` (legacy versions) or `/apis` (group list).
    Root {
        legacy: bool,
    },
    /// `/api/v1` or `/apis/{g}/{v}`: the resource list of one group/version.
    GroupVersion {
        group: String,
        version: String,
    },
    /// `/apis/{g}`: one group.
    Group {
        group: String,
    },
    Resource(Target),
}

pub fn parse_path(path: &str) -> Option<Route> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api"] => return Some(Route::Root { legacy: true }),
        ["apis"] => return Some(Route::Root { legacy: false }),
        ["apis", g] => return Some(Route::Group { group: g.to_string() }),
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    if rest.is_empty() {
        return Some(Route::GroupVersion { group, version });
    }
    // `namespaces/{ns}/{plural}/...` is namespaced, except `namespaces/{name}/status|finalize`,
    // which are subresources of the Namespace object itself.
    let (namespace, rest) = match rest {
        ["namespaces", ns, next, tail @ ..]
            if !(tail.is_empty() && matches!(*next, "status" | "finalize")) =>
        {
            (Some(ns.to_string()), &rest[2..])
        }
        _ => (None, rest),
    };
    let target = match rest {
        [plural] => Target {
            group,
            version,
            namespace,
            plural: plural.to_string(),
            name: None,
            subresource: None,
        },
        [plural, name] => Target {
            group,
            version,
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            subresource: None,
        },
        [plural, name, sub] => Target {
            group,
            version,
            namespace,
            plural: plural.to_string(),
            name: Some(name.to_string()),
            subresource: Some(sub.to_string()),
        },
        _ => return None,
    };
    Some(Route::Resource(target))
}

/// True when the client asked for server-side printing (`kubectl get`).
pub fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .next()
                .is_some_and(|first| first.contains("as=Table"))
        })
}

/// True when the client asked for `PartialObjectMetadata` (kube's `list_metadata`,
/// `metadata_watcher`): objects are answered with their metadata only.
pub fn wants_partial_metadata(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept
                .split(',')
                .next()
                .is_some_and(|first| first.contains("as=PartialObjectMetadata"))
        })
}

/// True unless the client's Accept header names only non-JSON types (e.g. protobuf).
pub fn accepts_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|accept| {
            accept
                .split(',')
                .any(|t| t.contains("json") || t.trim().starts_with("*/*") || t.trim().is_empty())
        })
}

pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_custom_resource_paths_are_split_into_their_parts() {
        let route = parse_path("/apis/example.dev/v1/namespaces/ns1/widgets/w1/status");
        let Some(Route::Resource(t)) = route else {
            panic!("not a resource route: {route:?}")
        };
        assert_eq!(t.group, "example.dev");
        assert_eq!(t.namespace.as_deref(), Some("ns1"));
        assert_eq!(t.plural, "widgets");
        assert_eq!(t.name.as_deref(), Some("w1"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn namespace_status_is_a_subresource_of_the_namespace_not_a_namespaced_list() {
        let Some(Route::Resource(t)) = parse_path("/api/v1/namespaces/foo/status") else {
            panic!()
        };
        assert_eq!(t.namespace, None);
        assert_eq!(t.plural, "namespaces");
        assert_eq!(t.name.as_deref(), Some("foo"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = Query::parse(Some("labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1"));
        assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a)"));
        assert!(q.flag("watch"));
        assert!(Query::parse(Some("watch=True")).flag("watch"));
        assert!(!Query::parse(Some("watch=false")).flag("watch"));
    }
}
