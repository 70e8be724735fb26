//! Authentication, impersonation and authorization, in the order the apiserver's filters run
//! them. Requests without credentials are the cluster admin (`kubernetes-admin` in
//! `system:masters`), as on the old loopback insecure port: the admin kubeconfig and
//! `KubeEmulator::client()` keep full access. A bearer token must be a ServiceAccount token this
//! server issued (TokenRequest or a legacy token Secret), else 401. Everyone but `system:masters`
//! is authorized by RBAC; a denial is the apiserver's 403 Forbidden.

pub mod rbac;
pub mod review;
pub mod token;

use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::{Query, Route, parse_path};
use crate::store::State;

pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";

#[derive(Debug, Clone, PartialEq, Default)]
pub struct User {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: serde_json::Map<String, Value>,
}

impl User {
    pub fn admin() -> Self {
        Self {
            name: "kubernetes-admin".into(),
            groups: vec![MASTERS.into(), AUTHENTICATED.into()],
            ..Self::default()
        }
    }

    /// The user a ServiceAccount's token authenticates as.
    pub fn service_account(ns: &str, name: &str, uid: &str) -> Self {
        Self {
            name: format!("system:serviceaccount:{ns}:{name}"),
            uid: uid.into(),
            groups: service_account_groups(ns),
            ..Self::default()
        }
    }

    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == MASTERS)
    }

    pub fn to_json(&self) -> Value {
        let mut info = json!({"username": self.name, "groups": self.groups});
        if !self.uid.is_empty() {
            info["uid"] = json!(self.uid);
        }
        if !self.extra.is_empty() {
            info["extra"] = Value::Object(self.extra.clone());
        }
        info
    }
}

fn service_account_groups(ns: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{ns}"),
        AUTHENTICATED.into(),
    ]
}

/// `system:serviceaccount:NS:NAME` split into its namespace and name.
pub fn parse_service_account(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then_some((ns, name))
}

pub fn unauthorized() -> ApiError {
    ApiError::new(401, "Unauthorized", "Unauthorized")
}

/// Who sent the request (before impersonation).
pub fn authenticate(state: &State, headers: &HeaderMap) -> Result<User, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(User::admin());
    };
    let text = value.to_str().map_err(|_| unauthorized())?;
    let bearer = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim);
    match bearer {
        Some(token) if !token.is_empty() => token::authenticate(state, token).ok_or_else(unauthorized),
        _ => Err(unauthorized()),
    }
}

/// What a request asks to do, as RBAC sees it (`authorizer.Attributes`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes {
    pub verb: String,
    pub resource_request: bool,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    pub path: String,
}

impl Attributes {
    pub fn from_request(method: &Method, path: &str, query: &Query) -> Self {
        let non_resource = || Self {
            verb: method.as_str().to_lowercase(),
            path: path.to_string(),
            ..Self::default()
        };
        let Some(Route::Resource(t)) = parse_path(path) else {
            return non_resource();
        };
        let verb = crate::handlers::verb(method, &t, query).to_string();
        let mut name = t.name.clone().unwrap_or_default();
        // A list or watch narrowed to one name by field selector is authorized for that name.
        if name.is_empty()
            && matches!(verb.as_str(), "list" | "watch")
            && let Some(selected) = query.get("fieldSelector").and_then(|f| {
                f.split(',')
                    .find_map(|p| p.strip_prefix("metadata.name=").map(String::from))
            })
        {
            name = selected;
        }
        // `/api/v1/namespaces/foo` is in namespace foo, as the apiserver's RequestInfo has it.
        let namespace = match (&t.namespace, t.plural.as_str(), &t.name) {
            (Some(ns), _, _) => ns.clone(),
            (None, "namespaces", Some(n)) if t.group.is_empty() => n.clone(),
            _ => String::new(),
        };
        Self {
            verb,
            resource_request: true,
            group: t.group,
            version: t.version,
            resource: t.plural,
            subresource: t.subresource.unwrap_or_default(),
            namespace,
            name,
            path: path.to_string(),
        }
    }

    pub fn from_review(spec: &Value) -> Self {
        if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            Self {
                verb: s("verb"),
                resource_request: true,
                group: s("group"),
                version: s("version"),
                resource: s("resource"),
                subresource: s("subresource"),
                namespace: s("namespace"),
                name: s("name"),
                path: String::new(),
            }
        } else {
            let n = &spec["nonResourceAttributes"];
            Self {
                verb: n["verb"].as_str().unwrap_or_default().into(),
                path: n["path"].as_str().unwrap_or_default().into(),
                ..Self::default()
            }
        }
    }
}

/// The apiserver's `forbiddenMessage` wrapped as `NewForbidden` does.
pub fn forbidden(user: &User, attrs: &Attributes, reason: &str) -> ApiError {
    let what = if !attrs.resource_request {
        format!("User {:?} cannot {} path {:?}", user.name, attrs.verb, attrs.path)
    } else {
        let resource = if attrs.subresource.is_empty() {
            attrs.resource.clone()
        } else {
            format!("{}/{}", attrs.resource, attrs.subresource)
        };
        if attrs.namespace.is_empty() {
            format!(
                "User {:?} cannot {} resource {resource:?} in API group {:?} at the cluster scope",
                user.name, attrs.verb, attrs.group
            )
        } else {
            format!(
                "User {:?} cannot {} resource {resource:?} in API group {:?} in the namespace {:?}",
                user.name, attrs.verb, attrs.group, attrs.namespace
            )
        }
    };
    let what = if reason.is_empty() {
        what
    } else {
        format!("{what}: {reason}")
    };
    let qualified = if attrs.group.is_empty() {
        attrs.resource.clone()
    } else {
        format!("{}.{}", attrs.resource, attrs.group)
    };
    let message = match (attrs.resource_request, attrs.name.is_empty()) {
        (false, _) => format!("forbidden: {what}"),
        (true, true) => format!("{qualified} is forbidden: {what}"),
        (true, false) => format!("{qualified} {:?} is forbidden: {what}", attrs.name),
    };
    let mut err = ApiError::new(403, "Forbidden", message);
    err.details = Some(if attrs.resource_request {
        let mut d = json!({"group": attrs.group, "kind": attrs.resource});
        if !attrs.name.is_empty() {
            d["name"] = json!(attrs.name);
        }
        d
    } else {
        json!({})
    });
    err
}

/// `(allowed, reason)`: `system:masters` may do anything; everyone else is asked of RBAC.
pub fn decide(state: &State, user: &User, attrs: &Attributes) -> (bool, String) {
    if user.is_master() {
        return (true, String::new());
    }
    rbac::authorize(state, user, attrs)
}

/// Applies `Impersonate-*` headers: the requester must be allowed to `impersonate` each of them.
pub fn impersonate(state: &State, requester: User, headers: &HeaderMap) -> Result<User, ApiError> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    };
    let Some(name) = values("impersonate-user").into_iter().next() else {
        if !values("impersonate-group").is_empty() {
            return Err(ApiError::internal(
                "requested [Impersonate-Group] without impersonating a user",
            ));
        }
        return Ok(requester);
    };
    let groups = values("impersonate-group");
    let uid = values("impersonate-uid").into_iter().next().unwrap_or_default();
    let check = |attrs: Attributes| -> Result<(), ApiError> {
        match decide(state, &requester, &attrs) {
            (true, _) => Ok(()),
            (false, reason) => Err(forbidden(&requester, &attrs, &reason)),
        }
    };
    let imp = |resource: &str, namespace: &str, name: &str, group: &str| Attributes {
        verb: "impersonate".into(),
        resource_request: true,
        group: group.into(),
        resource: resource.into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Attributes::default()
    };
    let mut user = User {
        name: name.clone(),
        uid: uid.clone(),
        ..User::default()
    };
    match parse_service_account(&name) {
        Some((ns, sa)) => {
            check(imp("serviceaccounts", ns, sa, ""))?;
            if groups.is_empty() {
                user.groups = service_account_groups(ns);
            }
        }
        None => check(imp("users", "", &name, ""))?,
    }
    for g in &groups {
        check(imp("groups", "", g, ""))?;
    }
    if !uid.is_empty() {
        check(imp("uids", "", &uid, "authentication.k8s.io"))?;
    }
    for (header, value) in headers {
        if let Some(key) = header.as_str().strip_prefix("impersonate-extra-") {
            check(
                imp(
                    "userextras",
                    "",
                    value.to_str().unwrap_or_default(),
                    "authentication.k8s.io",
                )
                .with_subresource(key),
            )?;
            let entry = user.extra.entry(key.to_string()).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!(value.to_str().unwrap_or_default()));
            }
        }
    }
    for g in groups {
        if !user.groups.contains(&g) {
            user.groups.push(g);
        }
    }
    if !user.groups.iter().any(|g| g == AUTHENTICATED) && name != "system:anonymous" {
        user.groups.push(AUTHENTICATED.into());
    }
    Ok(user)
}

impl Attributes {
    fn with_subresource(mut self, sub: &str) -> Self {
        self.subresource = sub.into();
        self
    }
}

/// Authenticates, impersonates and authorizes one API request; returns who it runs as.
pub fn admit(
    state: &State,
    method: &Method,
    path: &str,
    query: &Query,
    headers: &HeaderMap,
) -> Result<User, ApiError> {
    let user = authenticate(state, headers)?;
    let user = impersonate(state, user, headers)?;
    let attrs = Attributes::from_request(method, path, query);
    match decide(state, &user, &attrs) {
        (true, _) => Ok(user),
        (false, reason) => Err(forbidden(&user, &attrs, &reason)),
    }
}
