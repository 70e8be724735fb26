//! The review APIs: SelfSubjectAccessReview and SubjectAccessReview (and the namespaced
//! LocalSubjectAccessReview) answer "may this user do this?" with the authorizer's decision, as
//! `kubectl auth can-i` asks; SelfSubjectRulesReview lists the user's rules (`can-i --list`);
//! SelfSubjectReview says who the caller is (`kubectl auth whoami`); TokenReview checks a token.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Attributes, User, decide};
use crate::error::ApiError;
use crate::http::{Route, json_response, parse_path};
use crate::registry::{Registry, ResourceDef};
use crate::store::State;

const AUTHZ: &str = "authorization.k8s.io";
const AUTHN: &str = "authentication.k8s.io";

pub fn register(reg: &mut Registry) {
    for (group, plural, kind, namespaced) in [
        (
            AUTHZ,
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            false,
        ),
        (AUTHZ, "subjectaccessreviews", "SubjectAccessReview", false),
        (
            AUTHZ,
            "localsubjectaccessreviews",
            "LocalSubjectAccessReview",
            true,
        ),
        (AUTHZ, "selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
        (AUTHN, "selfsubjectreviews", "SelfSubjectReview", false),
        (AUTHN, "tokenreviews", "TokenReview", false),
    ] {
        let mut def = ResourceDef::builtin(group, "v1", plural, kind, namespaced, &[]);
        def.verbs = &["create"];
        reg.insert(def);
    }
}

fn invalid(def: &ResourceDef, field: &str, detail: &str) -> ApiError {
    ApiError::invalid(def, "", vec![crate::builtins::invalid(field, "\"\"", detail)])
}

/// Answers a POST to one of the review resources; `None` for every other request.
pub fn handle(
    state: &State,
    user: &User,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Option<Result<Response, ApiError>> {
    let Some(Route::Resource(t)) = parse_path(path) else {
        return None;
    };
    if !(t.group == AUTHZ || t.group == AUTHN) || t.name.is_some() {
        return None;
    }
    let def = state.registry.get(&t.group, &t.version, &t.plural)?;
    if method != Method::POST {
        return Some(Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({method})"
        ))));
    }
    Some(answer(state, user, &def, t.namespace.as_deref(), body))
}

fn answer(
    state: &State,
    user: &User,
    def: &ResourceDef,
    ns: Option<&str>,
    body: &[u8],
) -> Result<Response, ApiError> {
    let mut review: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))?;
    if !review["spec"].is_object() {
        review["spec"] = json!({});
    }
    review["apiVersion"] = json!(def.api_version());
    review["kind"] = json!(def.kind);
    review["metadata"] = json!({"creationTimestamp": null});
    let spec = review["spec"].clone();
    let status = match def.plural.as_str() {
        "selfsubjectaccessreviews" => access(state, user, &spec, def)?,
        "subjectaccessreviews" | "localsubjectaccessreviews" => {
            let subject = User {
                name: spec["user"].as_str().unwrap_or_default().into(),
                uid: spec["uid"].as_str().unwrap_or_default().into(),
                groups: spec["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|g| g.as_str().map(String::from))
                    .collect(),
                extra: spec["extra"].as_object().cloned().unwrap_or_default(),
            };
            if subject.name.is_empty() && subject.groups.is_empty() {
                return Err(invalid(
                    def,
                    "spec.user",
                    "at least one of user or group must be specified",
                ));
            }
            if let Some(ns) = ns
                && spec["resourceAttributes"]["namespace"].as_str() != Some(ns)
            {
                return Err(invalid(
                    def,
                    "spec.resourceAttributes.namespace",
                    "must match metadata.namespace",
                ));
            }
            access(state, &subject, &spec, def)?
        }
        "selfsubjectrulesreviews" => rules(state, user, spec["namespace"].as_str().unwrap_or_default()),
        "selfsubjectreviews" => json!({"userInfo": user.to_json()}),
        "tokenreviews" => {
            let token = spec["token"].as_str().unwrap_or_default();
            match super::token::authenticate(state, token) {
                Some(u) => {
                    json!({"authenticated": true, "user": u.to_json(), "audiences": spec["audiences"].as_array().cloned().unwrap_or_else(|| vec![json!(super::token::ISSUER)])})
                }
                None => {
                    json!({"user": {}, "error": "[invalid bearer token, service account token could not be validated]"})
                }
            }
        }
        _ => return Err(crate::server::not_found_path()),
    };
    review["status"] = status;
    Ok(json_response(StatusCode::CREATED, &review))
}

fn access(state: &State, user: &User, spec: &Value, def: &ResourceDef) -> Result<Value, ApiError> {
    let has_resource = spec["resourceAttributes"].is_object();
    let has_non_resource = spec["nonResourceAttributes"].is_object();
    if has_resource == has_non_resource {
        return Err(invalid(
            def,
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ));
    }
    let attrs = Attributes::from_review(spec);
    let (allowed, reason) = decide(state, user, &attrs);
    let mut status = json!({"allowed": allowed});
    if !reason.is_empty() {
        status["reason"] = json!(reason);
    }
    Ok(status)
}

fn rules(state: &State, user: &User, namespace: &str) -> Value {
    let (rules, errors) = super::rbac::rules_for(state, user, namespace);
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for (_, rule) in rules {
        if rule["nonResourceURLs"].as_array().is_some_and(|u| !u.is_empty()) {
            non_resource_rules
                .push(json!({"verbs": rule["verbs"], "nonResourceURLs": rule["nonResourceURLs"]}));
        } else {
            let mut r = json!({"verbs": rule["verbs"], "apiGroups": rule["apiGroups"], "resources": rule["resources"]});
            if rule["resourceNames"].as_array().is_some_and(|n| !n.is_empty()) {
                r["resourceNames"] = rule["resourceNames"].clone();
            }
            resource_rules.push(r);
        }
    }
    let mut status =
        json!({"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": false});
    if !errors.is_empty() {
        status["evaluationError"] = json!(errors.join(", "));
    }
    status
}
