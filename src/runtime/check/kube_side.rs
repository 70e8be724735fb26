//! The Kubernetes half of `check`: connection, CRDs, RBAC.
use super::Row;
use k8s_openapi::{
    api::authorization::v1::{ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{Api, ResourceExt, api::PostParams};
use serde_json::Value;

const INSTALL_CRDS: &str = "install this binary's CRDs: modelarts-operator crds | kubectl apply -f - (or kubectl apply -f crds/ of the same release)";

/// What `run` does with each resource, cluster-wide (it watches every namespace): API group,
/// resource, subresource ("" for the object itself) and verbs.
pub const REQUIRED_ACCESS: &[(&str, &str, &str, &[&str])] = &[
    (
        "modelarts.operator.dev",
        "notebooks",
        "",
        &["get", "list", "watch", "patch"],
    ),
    ("modelarts.operator.dev", "notebooks", "status", &["patch"]),
    (
        "modelarts.operator.dev",
        "resourcepools",
        "",
        &["get", "list", "watch", "patch"],
    ),
    ("modelarts.operator.dev", "resourcepools", "status", &["patch"]),
    (
        "modelarts.operator.dev",
        "liteservers",
        "",
        &["get", "list", "watch", "patch"],
    ),
    ("modelarts.operator.dev", "liteservers", "status", &["patch"]),
    // Credentials Secrets (operator-wide and per object) and LiteServer password Secrets.
    ("", "secrets", "", &["get"]),
    // Events through events.k8s.io/v1; repeated Warnings are patched into a series.
    ("events.k8s.io", "events", "", &["create", "patch"]),
];

/// Reaches the API server; false when it cannot (the other Kubernetes checks are then skipped).
pub async fn connection(client: &kube::Client, rows: &mut Vec<Row>) -> bool {
    match client.apiserver_version().await {
        Ok(info) => {
            rows.push(Row::ok(
                "kubernetes",
                "API server",
                format!("connected, Kubernetes {}", info.git_version),
            ));
            true
        }
        Err(err) => {
            rows.push(Row::fail(
                "kubernetes",
                "API server",
                format!("cannot reach the API server: {err}"),
                "check the kubeconfig's server and credentials (kubectl cluster-info with the same --kubeconfig)",
            ));
            false
        }
    }
}

/// Each CRD installed, Established, and identical to the one this binary generates.
pub async fn crds(client: &kube::Client, rows: &mut Vec<Row>) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for ours in crate::api::crds() {
        let name = ours.name_any();
        let installed = match api.get_opt(&name).await {
            Ok(Some(crd)) => crd,
            Ok(None) => {
                rows.push(Row::fail("crd", name, "not installed", INSTALL_CRDS));
                continue;
            }
            Err(err) => {
                rows.push(Row::fail(
                    "crd",
                    name,
                    format!("cannot read it: {err}"),
                    "grant get on customresourcedefinitions to the identity running check",
                ));
                continue;
            }
        };
        let established = installed
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
        let ours_spec = serde_json::to_value(&ours.spec).unwrap_or_default();
        let theirs_spec = serde_json::to_value(&installed.spec).unwrap_or_default();
        match spec_difference(&ours_spec, &theirs_spec) {
            Some(path) => rows.push(Row::fail(
                "crd",
                name,
                format!("installed, but differs from this binary's at {path}"),
                INSTALL_CRDS,
            )),
            None if !established => rows.push(Row::fail(
                "crd",
                name,
                "installed but not Established",
                "kubectl describe crd shows why (the API server's message in status.conditions)",
            )),
            None => rows.push(Row::ok("crd", name, "installed, identical to this binary's")),
        }
    }
}

/// The first path where the installed spec differs from ours. The API server may add defaults
/// (e.g. `listKind`), so ours must be contained in theirs; a schema must match both ways.
pub fn spec_difference(ours: &Value, theirs: &Value) -> Option<String> {
    if let Some(path) = first_difference(ours, theirs, "spec".into()) {
        return Some(path);
    }
    let versions = |v: &Value| v["versions"].as_array().cloned().unwrap_or_default();
    for (i, (a, b)) in versions(ours).iter().zip(versions(theirs).iter()).enumerate() {
        let at = format!("spec.versions[{i}].schema");
        if let Some(path) = first_difference(&b["schema"], &a["schema"], at) {
            return Some(path);
        }
    }
    None
}

/// The first path where `expected` is not contained in `actual` (arrays must match in length).
fn first_difference(expected: &Value, actual: &Value, at: String) -> Option<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want.iter().find_map(|(key, value)| {
            first_difference(
                value,
                have.get(key).unwrap_or(&Value::Null),
                format!("{at}.{key}"),
            )
        }),
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => want
            .iter()
            .zip(have)
            .enumerate()
            .find_map(|(i, (w, h))| first_difference(w, h, format!("{at}[{i}]"))),
        (want, have) => (want != have).then_some(at),
    }
}

/// The CRDs `run` reads (the deletion defender gets its kind's CRD), cluster-scoped, by name.
pub const CRD_ACCESS: (&str, &str, &[&str]) = ("apiextensions.k8s.io", "customresourcedefinitions", &["get"]);

/// What `run --leader-elect` does with its Lease (kube-lease-manager reads, creates and patches
/// it), in `--lease-namespace`.
pub const LEASE_ACCESS: (&str, &str, &[&str]) =
    ("coordination.k8s.io", "leases", &["get", "create", "patch"]);

/// One access to review: group, resource, subresource, verbs, namespace ("" = all namespaces
/// or cluster-scoped) and object names (empty = any).
struct Access<'a> {
    group: &'a str,
    resource: &'a str,
    subresource: &'a str,
    verbs: &'a [&'a str],
    namespace: &'a str,
    names: Vec<String>,
}

impl Access<'_> {
    fn target(&self) -> String {
        match (self.group, self.subresource) {
            ("", "") => self.resource.to_string(),
            ("", sub) => format!("{}/{sub}", self.resource),
            (g, "") => format!("{}.{g}", self.resource),
            (g, sub) => format!("{}.{g}/{sub}", self.resource),
        }
    }

    fn scope(&self) -> String {
        match (self.namespace, self.names.is_empty()) {
            ("", true) => "in all namespaces".into(),
            ("", false) => format!("on {}", self.names.join(", ")),
            (ns, _) => format!("in namespace {ns}"),
        }
    }

    fn grant_in(&self) -> String {
        match self.namespace {
            "" => "cluster-wide in the ClusterRole bound to the operator's ServiceAccount".into(),
            ns => format!("in a Role of namespace {ns} bound to the operator's ServiceAccount"),
        }
    }
}

/// Asks the API server (SelfSubjectAccessReview) whether this identity may do what `run` does:
/// REQUIRED_ACCESS in all namespaces (or in each of `watch_namespaces`, as `run
/// --watch-namespaces`), the CRDs, and with `lease_namespace` the leader Lease.
pub async fn rbac(
    client: &kube::Client,
    watch_namespaces: &[String],
    lease_namespace: Option<&str>,
    rows: &mut Vec<Row>,
) {
    let scopes: Vec<&str> = if watch_namespaces.is_empty() {
        vec![""]
    } else {
        watch_namespaces.iter().map(String::as_str).collect()
    };
    let mut wanted: Vec<Access> = scopes
        .iter()
        .flat_map(|namespace| {
            REQUIRED_ACCESS
                .iter()
                .map(|(group, resource, subresource, verbs)| Access {
                    group,
                    resource,
                    subresource,
                    verbs,
                    namespace,
                    names: Vec::new(),
                })
        })
        .collect();
    wanted.push(Access {
        group: CRD_ACCESS.0,
        resource: CRD_ACCESS.1,
        subresource: "",
        verbs: CRD_ACCESS.2,
        namespace: "",
        names: crate::api::crds().iter().map(|c| c.name_any()).collect(),
    });
    if let Some(namespace) = lease_namespace {
        wanted.push(Access {
            group: LEASE_ACCESS.0,
            resource: LEASE_ACCESS.1,
            subresource: "",
            verbs: LEASE_ACCESS.2,
            namespace,
            names: Vec::new(),
        });
    }
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    for access in &wanted {
        match missing(&api, access).await {
            Ok(missing) if missing.is_empty() => rows.push(Row::ok(
                "rbac",
                access.target(),
                format!("may {} {}", access.verbs.join(", "), access.scope()),
            )),
            Ok(missing) => rows.push(Row::fail(
                "rbac",
                access.target(),
                format!("not allowed to {} ({})", missing.join(", "), access.scope()),
                format!(
                    "grant {} on {} {}",
                    missing.join(", "),
                    access.target(),
                    access.grant_in()
                ),
            )),
            Err(Unreviewable::NotServed) => {
                rows.push(Row::skip(
                    "rbac",
                    "-",
                    "the API server does not serve SelfSubjectAccessReview (authorization.k8s.io/v1): RBAC not checked",
                ));
                return;
            }
            Err(Unreviewable::Failed(err)) => rows.push(Row::fail(
                "rbac",
                access.target(),
                format!("cannot ask the API server: {err}"),
                "retry; every authenticated identity may create a SelfSubjectAccessReview",
            )),
        }
    }
}

enum Unreviewable {
    NotServed,
    Failed(kube::Error),
}

/// The verbs of `access` the API server does not allow (on every named object).
async fn missing<'a>(
    api: &Api<SelfSubjectAccessReview>,
    access: &Access<'a>,
) -> Result<Vec<&'a str>, Unreviewable> {
    let names: Vec<Option<String>> = if access.names.is_empty() {
        vec![None]
    } else {
        access.names.iter().cloned().map(Some).collect()
    };
    let mut missing = Vec::new();
    for verb in access.verbs.iter() {
        for name in &names {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        group: Some(access.group.to_string()),
                        resource: Some(access.resource.to_string()),
                        subresource: (!access.subresource.is_empty()).then(|| access.subresource.to_string()),
                        verb: Some(verb.to_string()),
                        namespace: (!access.namespace.is_empty()).then(|| access.namespace.to_string()),
                        name: name.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            match api.create(&PostParams::default(), &review).await {
                Ok(answer) if answer.status.as_ref().is_some_and(|s| s.allowed) => {}
                Ok(_) => {
                    missing.push(*verb);
                    break;
                }
                Err(kube::Error::Api(status)) if status.code == 404 => return Err(Unreviewable::NotServed),
                Err(err) => return Err(Unreviewable::Failed(err)),
            }
        }
    }
    Ok(missing)
}
