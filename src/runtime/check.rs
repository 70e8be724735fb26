//! `modelarts-operator check`: a preflight that says, before anything is applied, whether `run`
//! can work here: the cluster connection, the CRDs (installed and identical to this binary's),
//! the RBAC verbs `run` needs, and per region the ModelArts endpoint, the credentials' signature,
//! the project ID and the clock. One row per check with a fix for each failure; a non-zero exit
//! when anything fails; `--output json` for scripts.
mod cloud;
mod kube_side;

pub use kube_side::{CRD_ACCESS, LEASE_ACCESS, REQUIRED_ACCESS};

use super::credentials::{OperatorCredentials, Source, parse_secret};
use clap::{Args, ValueEnum};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Kubeconfig to use; otherwise KUBECONFIG, ~/.kube/config or the in-cluster service account.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Operator-wide credentials Secret, NAMESPACE/NAME, as for `run`. Without it (and without
    /// --secret), HUAWEICLOUD_SDK_AK/_SK are checked.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub credentials_secret: Option<String>,
    /// Check the Secret objects in this namespace name in spec.credentialsSecretRef (with --secret).
    #[arg(long, requires = "secret")]
    pub namespace: Option<String>,
    /// Name of that Secret (with --namespace).
    #[arg(long, requires = "namespace")]
    pub secret: Option<String>,
    /// Regions to check, comma-separated or repeated; default: the Secret's region.
    #[arg(long = "region", env = "HUAWEICLOUD_SDK_REGION", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Project ID when the Secret names none (as `run --project-id`).
    #[arg(long, env = "HUAWEICLOUD_SDK_PROJECT_ID")]
    pub project_id: Option<String>,
    /// ModelArts base URL for every region (e.g. the emulator), as for `run`.
    #[arg(long, value_name = "URL")]
    pub modelarts_endpoint: Option<String>,
    /// IAM base URL for the project lookup; default: --modelarts-endpoint when given
    /// (modelarts-emulator serves IAM's lookup too), else https://iam.{region}.myhuaweicloud.com.
    #[arg(long, value_name = "URL")]
    pub iam_endpoint: Option<String>,
    /// Largest clock difference to the cloud's `Date` header that passes (the gateway refuses
    /// signatures more than 15 minutes off).
    #[arg(long, default_value_t = 300)]
    pub max_clock_skew_seconds: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Check the RBAC verbs in these namespaces only, as `run --watch-namespaces` needs them
    /// (comma-separated); default: in all namespaces.
    #[arg(long, value_delimiter = ',', value_name = "NS,...")]
    pub watch_namespaces: Vec<String>,
    /// Also check the leader Lease verbs, as `run --leader-elect` needs them.
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the leader Lease (as `run --lease-namespace`).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Fail,
    /// Not checked, because a check it depends on failed (or the server cannot answer it).
    Skip,
}

/// One line of the report.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub check: &'static str,
    pub target: String,
    pub result: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Row {
    pub fn ok(check: &'static str, target: impl Into<String>, detail: impl Into<String>) -> Row {
        Row {
            check,
            target: target.into(),
            result: Verdict::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    pub fn fail(
        check: &'static str,
        target: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Row {
        Row {
            check,
            target: target.into(),
            result: Verdict::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn skip(check: &'static str, target: impl Into<String>, detail: impl Into<String>) -> Row {
        Row {
            check,
            target: target.into(),
            result: Verdict::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
}

/// Where the credentials under test come from, for the report (never the keys themselves).
struct Found {
    origin: String,
    source: Source,
}

pub async fn run(args: CheckArgs) -> Result<(), String> {
    let rows = checks(&args).await;
    match args.output {
        Output::Text => print!("{}", render_table(&rows)),
        Output::Json => {
            let ok = rows.iter().all(|r| r.result != Verdict::Fail);
            let report = serde_json::json!({"ok": ok, "checks": rows});
            println!(
                "{}",
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
            );
        }
    }
    let failed = rows.iter().filter(|r| r.result == Verdict::Fail).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {} checks failed", rows.len()))
    }
}

/// Every check, in order; later ones are skipped when what they need failed.
pub async fn checks(args: &CheckArgs) -> Vec<Row> {
    let mut rows = Vec::new();
    let client = match super::run::kube_client(args.kubeconfig.as_ref()).await {
        Ok(client) => kube_side::connection(&client, &mut rows).await.then_some(client),
        Err(err) => {
            rows.push(Row::fail(
                "kubernetes",
                "kubeconfig",
                format!("no usable configuration: {err}"),
                "pass --kubeconfig PATH or set KUBECONFIG, or run in a pod with a ServiceAccount",
            ));
            None
        }
    };
    match &client {
        Some(client) => {
            kube_side::crds(client, &mut rows).await;
            let lease_namespace = args.leader_elect.then_some(args.lease_namespace.as_str());
            kube_side::rbac(client, &args.watch_namespaces, lease_namespace, &mut rows).await;
        }
        None => rows.push(Row::skip("crds/rbac", "-", "needs the Kubernetes connection")),
    }
    match credentials(args, client.as_ref()).await {
        Ok(found) => {
            rows.push(Row::ok(
                "credentials",
                found.origin.clone(),
                describe(&found.source),
            ));
            cloud::regions(args, &found.source, &mut rows).await;
        }
        Err(row) => {
            rows.push(*row);
            rows.push(Row::skip("modelarts", "-", "needs credentials"));
        }
    }
    rows
}

fn describe(source: &Source) -> String {
    let key = match &source.credentials {
        crate::cloud::Credentials::AkSk {
            access_key,
            security_token,
            ..
        } => format!(
            "access key {}… ({})",
            access_key.chars().take(4).collect::<String>(),
            if security_token.is_some() {
                "temporary, with security token"
            } else {
                "permanent"
            }
        ),
        crate::cloud::Credentials::Token(_) => "an IAM token".to_string(),
    };
    let mut parts = vec![key];
    if let Some(region) = &source.region {
        parts.push(format!("region {region}"));
    }
    if let Some(project) = &source.project_id {
        parts.push(format!("project {project}"));
    }
    parts.join(", ")
}

/// Reads the credentials `run` (or an object) would use.
async fn credentials(args: &CheckArgs, client: Option<&kube::Client>) -> Result<Found, Box<Row>> {
    let secret = match (&args.namespace, &args.secret, &args.credentials_secret) {
        (Some(ns), Some(name), _) => Some((ns.clone(), name.clone())),
        (_, _, Some(s)) => match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() => Some((ns.into(), name.into())),
            _ => {
                return Err(Box::new(Row::fail(
                    "credentials",
                    s.clone(),
                    "--credentials-secret is not NAMESPACE/NAME",
                    "pass --credentials-secret NAMESPACE/NAME, e.g. modelarts-system/hwcloud-credentials",
                )));
            }
        },
        _ => None,
    };
    let Some((namespace, name)) = secret else {
        return match OperatorCredentials::from_env() {
            OperatorCredentials::Static(source) => Ok(Found {
                origin: "environment".into(),
                source,
            }),
            _ => Err(Box::new(Row::fail(
                "credentials",
                "environment",
                "no Secret given and HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK are not set",
                "pass --credentials-secret NAMESPACE/NAME (or --namespace NS --secret NAME), or set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK",
            ))),
        };
    };
    let target = format!("Secret {namespace}/{name}");
    let Some(client) = client else {
        return Err(Box::new(Row::skip(
            "credentials",
            target,
            "needs the Kubernetes connection to read the Secret",
        )));
    };
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = match api.get_opt(&name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => {
            return Err(Box::new(Row::fail(
                "credentials",
                target,
                "the Secret does not exist",
                format!(
                    "create it: kubectl -n {namespace} create secret generic {name} --from-literal=accessKey=... \
                     --from-literal=secretKey=... --from-literal=projectId=... --from-literal=region=..."
                ),
            )));
        }
        Err(err) => {
            return Err(Box::new(Row::fail(
                "credentials",
                target,
                format!("cannot read the Secret: {err}"),
                "grant get on secrets to the identity running check (the operator's ClusterRole has it)",
            )));
        }
    };
    parse_secret(&secret)
        .map(|source| Found {
            origin: target.clone(),
            source,
        })
        .map_err(|rule| {
            Box::new(Row::fail(
                "credentials",
                target.clone(),
                rule,
                format!(
                    "set the Secret's keys accessKey and secretKey (optionally securityToken, projectId, region): \
                     kubectl -n {namespace} edit secret {name}"
                ),
            ))
        })
}

/// The report as a table: CHECK, TARGET, RESULT, DETAIL, and a `fix:` line under each failure.
pub fn render_table(rows: &[Row]) -> String {
    let width =
        |f: &dyn Fn(&Row) -> usize, title: &str| rows.iter().map(f).max().unwrap_or(0).max(title.len());
    let check_w = width(&|r| r.check.len(), "CHECK");
    let target_w = width(&|r| r.target.len(), "TARGET");
    let mut out = format!(
        "{:<check_w$}  {:<target_w$}  {:<6}  DETAIL\n",
        "CHECK", "TARGET", "RESULT"
    );
    for row in rows {
        let result = match row.result {
            Verdict::Ok => "ok",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        };
        out.push_str(&format!(
            "{:<check_w$}  {:<target_w$}  {:<6}  {}\n",
            row.check, row.target, result, row.detail
        ));
        if let Some(fix) = &row.fix {
            out.push_str(&format!(
                "{:<check_w$}  {:<target_w$}  {:<6}  fix: {fix}\n",
                "", "", ""
            ));
        }
    }
    let failed = rows.iter().filter(|r| r.result == Verdict::Fail).count();
    out.push_str(&match failed {
        0 => "all checks passed\n".to_string(),
        n => format!("{n} check(s) failed\n"),
    });
    out
}
