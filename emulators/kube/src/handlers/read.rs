//! GET, LIST (with `limit`/`continue` paging and selectors) and WATCH.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::{Query, Target, json_response, wants_partial_metadata, wants_table};
use crate::registry::ResourceDef;
use crate::selectors::Selectors;
use crate::server::App;
use crate::table::{self, Include};
use crate::watch::{self, WatchRequest};

fn with_version(def: &ResourceDef, object: &Value) -> Value {
    let mut object = object.clone();
    object["apiVersion"] = Value::String(def.api_version());
    crate::events::to_view(def, &mut object);
    object
}

pub fn get(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let name = target.name.as_deref().unwrap_or_default();
    let object = crate::objects::current(&app.lock(), def, target.namespace.as_deref(), name)?;
    let object = with_version(def, &object);
    if wants_table(headers) {
        let include = Include::parse(query.get("includeObject"));
        return Ok(json_response(
            StatusCode::OK,
            &table::table(def, &[&object], include, true, None),
        ));
    }
    if wants_partial_metadata(headers) {
        return Ok(json_response(StatusCode::OK, &table::partial(&object)));
    }
    Ok(json_response(StatusCode::OK, &object))
}

/// Continue tokens are the hex-encoded last key of the previous page: opaque to clients and safe
/// in a query string without escaping.
fn encode_continue(ns: &str, name: &str) -> String {
    format!("{ns}\u{0}{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || ApiError::bad_request(format!("invalid continue token: {token:?}"));
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ns, name) = text.split_once('\u{0}').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

pub fn list(
    app: &App,
    def: &ResourceDef,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let selectors = Selectors::from_query(query, def)?;
    let limit: usize = match query.get("limit") {
        None | Some("") | Some("0") => usize::MAX,
        Some(raw) => raw
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {raw:?}")))?,
    };
    let after = query
        .get("continue")
        .filter(|c| !c.is_empty())
        .map(decode_continue)
        .transpose()?;
    let (items, rv, next, remaining) = {
        let state = app.lock();
        let mut items = Vec::new();
        let mut next = None;
        let mut remaining = 0usize;
        if let Some(map) = state.objects.get(&def.storage_key()) {
            let matching = map.iter().filter(|((ns, name), object)| {
                target.namespace.as_deref().is_none_or(|want| want == ns)
                    && after
                        .as_ref()
                        .is_none_or(|(a_ns, a_name)| (ns, name) > (a_ns, a_name))
                    && selectors.matches(object)
            });
            for ((ns, name), object) in matching {
                if items.len() < limit {
                    items.push(with_version(def, object));
                    if items.len() == limit {
                        next = Some(encode_continue(ns, name));
                    }
                } else {
                    remaining += 1;
                }
            }
        }
        if remaining == 0 {
            next = None;
        }
        (items, state.rv, next, remaining)
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = next {
        metadata["continue"] = Value::String(token);
        // The apiserver cannot count what a selector would match, so it omits the estimate.
        let filtered = ["labelSelector", "fieldSelector"]
            .iter()
            .any(|k| query.get(k).is_some_and(|s| !s.is_empty()));
        if !filtered {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    if wants_table(headers) {
        let refs: Vec<&Value> = items.iter().collect();
        let include = Include::parse(query.get("includeObject"));
        return Ok(json_response(
            StatusCode::OK,
            &table::table(def, &refs, include, true, Some(metadata)),
        ));
    }
    if wants_partial_metadata(headers) {
        let items: Vec<Value> = items.iter().map(table::partial).collect();
        let list = json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items});
        return Ok(json_response(StatusCode::OK, &list));
    }
    let list =
        json!({"kind": def.list_kind, "apiVersion": def.api_version(), "metadata": metadata, "items": items});
    Ok(json_response(StatusCode::OK, &list))
}

pub fn watch(
    app: &App,
    def: &std::sync::Arc<ResourceDef>,
    target: &Target,
    query: &Query,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let timeout = match query.get("timeoutSeconds") {
        None | Some("") => None,
        Some(raw) => Some(Duration::from_secs(raw.parse().map_err(|_| {
            ApiError::bad_request(format!("invalid timeoutSeconds: {raw:?}"))
        })?)),
    };
    let request = WatchRequest {
        def: def.clone(),
        namespace: target.namespace.clone(),
        selectors: Selectors::from_query(query, def)?,
        resource_version: query.get("resourceVersion").map(String::from),
        timeout,
        bookmarks: query.flag("allowWatchBookmarks"),
        send_initial_events: query.flag("sendInitialEvents"),
        table: wants_table(headers).then(|| Include::parse(query.get("includeObject"))),
        metadata_only: wants_partial_metadata(headers),
    };
    watch::start(app, request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_garbage_is_a_bad_request() {
        let token = encode_continue("ns-1", "a/b c");
        assert_eq!(
            decode_continue(&token).unwrap(),
            ("ns-1".to_string(), "a/b c".to_string())
        );
        assert_eq!(decode_continue("xyz").unwrap_err().code, 400);
    }
}
