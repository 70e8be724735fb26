//! The cloud half of `check`, per region: the ModelArts endpoint reachable, the clock against its
//! `Date` header, a signed harmless read (one notebook of the list), and the project ID against
//! IAM's project of the region.
use super::{CheckArgs, Row};
use crate::{
    cloud::{
        ClientConfig, Error, ErrorKind, ModelArtsClient, PageRequest, default_endpoint,
        iam::default_iam_endpoint, notebooks::NotebookFilter,
    },
    runtime::credentials::Source,
};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(15);

pub async fn regions(args: &CheckArgs, source: &Source, rows: &mut Vec<Row>) {
    let regions: Vec<String> = if args.regions.is_empty() {
        source.region.clone().into_iter().collect()
    } else {
        args.regions.clone()
    };
    if regions.is_empty() {
        rows.push(Row::fail(
            "region",
            "-",
            "no region to check",
            "pass --region REGION (e.g. cn-north-4) or set the Secret's region key",
        ));
        return;
    }
    let configured = source.project_id.clone().or(args.project_id.clone());
    for region in &regions {
        // A project ID belongs to one region: the Secret's, or the only one asked for.
        let own = regions.len() == 1 || source.region.as_deref() == Some(region.as_str());
        region_checks(
            args,
            source,
            region,
            configured.clone().filter(|_| own),
            own,
            rows,
        )
        .await;
    }
}

async fn region_checks(
    args: &CheckArgs,
    source: &Source,
    region: &str,
    configured: Option<String>,
    own: bool,
    rows: &mut Vec<Row>,
) {
    let base = args
        .modelarts_endpoint
        .clone()
        .unwrap_or_else(|| default_endpoint(region));
    let target = format!("{region} {base}");
    if !reachable(&base, &target, args.max_clock_skew_seconds, rows).await {
        rows.push(Row::skip("signature", region, "needs the endpoint"));
        return;
    }
    let iam_project = project(args, source, region, configured.as_deref(), own, rows).await;
    let Some(project_id) = configured.or(iam_project) else {
        rows.push(Row::skip("signature", region, "needs a project ID"));
        return;
    };
    let config = ClientConfig::new(region, project_id.clone()).with_endpoint(base.clone());
    let read = match ModelArtsClient::new(quick(config), source.credentials.clone()) {
        Ok(client) => client
            .list_notebooks(&NotebookFilter::default(), PageRequest::first(1))
            .await
            .map(|_| ()),
        Err(err) => Err(err),
    };
    rows.push(match read {
        Ok(()) => Row::ok(
            "signature",
            region,
            format!("signed GET /v1/{project_id}/notebooks?limit=1 accepted"),
        ),
        Err(err) => signature_failure(region, &project_id, &err),
    });
}

/// No retries and short timeouts: a preflight reports, it does not wait out an outage.
fn quick(mut config: ClientConfig) -> ClientConfig {
    config.retry.max_attempts = 1;
    config.connect_timeout = TIMEOUT;
    config.request_timeout = TIMEOUT;
    config
}

fn signature_failure(region: &str, project_id: &str, err: &Error) -> Row {
    let code = err.error_code().unwrap_or("no code");
    let detail = format!("{code}: {}", err.error_msg());
    let fix = match err.kind() {
        ErrorKind::Unauthorized if err.error_msg().contains("X-Sdk-Date") => {
            "sync this machine's clock (NTP, chrony): the signature's date is too far from the cloud's"
                .to_string()
        }
        ErrorKind::Unauthorized => {
            "the access key and secret key do not match (or the key is disabled or deleted): \
             create an access key (My Credentials > Access Keys) and put both halves in the Secret"
                .to_string()
        }
        ErrorKind::Forbidden => format!(
            "the key's IAM user may not use ModelArts in project {project_id}: grant it ModelArts permissions (e.g. ModelArts FullAccess) for {region}"
        ),
        ErrorKind::NotFound => {
            "the endpoint does not serve ModelArts: check --modelarts-endpoint".to_string()
        }
        _ => format!(
            "the cloud refused a harmless read in {region}; quote the request ID to Huawei Cloud support if it persists"
        ),
    };
    Row::fail("signature", region, detail, fix)
}

/// Any HTTP answer from the endpoint counts as reachable; its `Date` header gives the clock row.
async fn reachable(base: &str, target: &str, max_skew_seconds: u64, rows: &mut Vec<Row>) -> bool {
    let http = match reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(err) => {
            rows.push(Row::fail(
                "endpoint",
                target,
                err.to_string(),
                "report this as a bug",
            ));
            return false;
        }
    };
    let sent_at = jiff::Timestamp::now();
    let response = match http.get(format!("{}/", base.trim_end_matches('/'))).send().await {
        Ok(response) => response,
        Err(err) => {
            rows.push(Row::fail(
                "endpoint",
                target,
                format!("cannot reach it: {}", error_chain(&err)),
                "check DNS, proxies and egress rules (NetworkPolicy, firewall) towards it on its port, or pass --modelarts-endpoint",
            ));
            return false;
        }
    };
    let received_at = jiff::Timestamp::now();
    rows.push(Row::ok(
        "endpoint",
        target,
        format!("reachable (HTTP {})", response.status().as_u16()),
    ));
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| jiff::fmt::rfc2822::parse(v).ok());
    let region = target.split(' ').next().unwrap_or(target);
    rows.push(match date {
        None => Row::skip("clock", region, "the response has no Date header"),
        Some(date) => {
            // The Date was stamped between sending and receiving; compare with the midpoint.
            let local_ms = (sent_at.as_millisecond() + received_at.as_millisecond()) / 2;
            let skew_s = (date.timestamp().as_millisecond() - local_ms) / 1000;
            let how = match skew_s {
                s if s > 0 => format!("the local clock is {s} s behind the cloud's"),
                s if s < 0 => format!("the local clock is {} s ahead of the cloud's", -s),
                _ => "the local clock agrees with the cloud's Date header".to_string(),
            };
            if skew_s.unsigned_abs() <= max_skew_seconds {
                Row::ok("clock", region, how)
            } else {
                Row::fail(
                    "clock",
                    region,
                    format!("{how} (more than {max_skew_seconds} s)"),
                    "sync this machine's clock (NTP, chrony): the gateway refuses signatures more than 15 minutes off",
                )
            }
        }
    });
    true
}

/// IAM's project of the region, compared with the configured one; returns IAM's project ID.
async fn project(
    args: &CheckArgs,
    source: &Source,
    region: &str,
    configured: Option<&str>,
    own: bool,
    rows: &mut Vec<Row>,
) -> Option<String> {
    let iam = args
        .iam_endpoint
        .clone()
        .or(args.modelarts_endpoint.clone())
        .unwrap_or_else(|| default_iam_endpoint(region));
    let config = ClientConfig::new(region, "").with_endpoint(iam.clone());
    let answer = match ModelArtsClient::new(quick(config), source.credentials.clone()) {
        Ok(client) => client.iam_projects(region).await,
        Err(err) => Err(err),
    };
    let projects = match answer {
        Ok(projects) => projects,
        Err(err) => {
            let fix = match err.status() {
                None => format!("allow egress to {iam} or pass --iam-endpoint"),
                Some(_) if err.kind() == ErrorKind::Unauthorized => {
                    "IAM refused the key: create an access key (My Credentials > Access Keys) and put both halves in the Secret".to_string()
                }
                Some(_) => "give the key's IAM user read access to IAM projects, or set projectId and ignore this row".to_string(),
            };
            let code = err.error_code().unwrap_or("no answer");
            rows.push(Row::fail(
                "project",
                region,
                format!(
                    "cannot ask IAM ({iam}) for the project of {region}: {code}: {}",
                    err.error_msg()
                ),
                fix,
            ));
            return None;
        }
    };
    let Some(iam_id) = projects.iter().find(|p| p.name == region).map(|p| p.id.clone()) else {
        rows.push(Row::fail(
            "project",
            region,
            format!("IAM knows no project named {region} for this account"),
            "check the region name (e.g. cn-north-4) or enable the region for the account in the console",
        ));
        return None;
    };
    rows.push(match configured {
        Some(p) if p == iam_id => Row::ok("project", region, format!("projectId {p} is the project of {region}")),
        Some(p) => Row::fail(
            "project",
            region,
            format!("projectId {p} is not the project of {region} (IAM: {iam_id})"),
            format!("set projectId: {iam_id} in the Secret (or spec.projectId of the objects in {region})"),
        ),
        None if own => Row::fail(
            "project",
            region,
            format!("no projectId configured; IAM's project of {region} is {iam_id}"),
            format!("set projectId: {iam_id} in the Secret, or pass --project-id {iam_id} to run"),
        ),
        None => Row::ok(
            "project",
            region,
            format!("objects in {region} need spec.projectId: {iam_id} (the configured one belongs to another region)"),
        ),
    });
    Some(iam_id)
}

/// reqwest's message with its causes ("error sending request: … connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
