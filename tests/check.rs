//! `modelarts-operator check` against both stand-ins: it passes on a correct setup, and each
//! broken piece (wrong secret key, wrong project, missing CRD, stale CRD, placeholder Secret,
//! unreachable endpoint, skewed clock) fails its own row with a fix, and the exit code says so.
mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::Value;
use std::{path::PathBuf, process::Command, time::Duration};
use support::Env;

const NS: &str = support::NS;
const SECRET: &str = "hwcloud-credentials";

struct Report {
    success: bool,
    json: Value,
    stderr: String,
}

impl Report {
    fn rows(&self, check: &str) -> Vec<&Value> {
        self.json["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|r| r["check"] == check)
            .collect()
    }

    /// The one row of `check` (for `target` when given).
    fn row(&self, check: &str, target: Option<&str>) -> &Value {
        let rows: Vec<&Value> = self
            .rows(check)
            .into_iter()
            .filter(|r| target.is_none_or(|t| r["target"] == t))
            .collect();
        assert_eq!(rows.len(), 1, "one {check} row for {target:?} in {:#}", self.json);
        rows[0]
    }

    fn failed(&self) -> Vec<String> {
        self.json["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .filter(|r| r["result"] == "fail")
            .map(|r| {
                format!(
                    "{} {}",
                    r["check"].as_str().unwrap_or(""),
                    r["target"].as_str().unwrap_or("")
                )
            })
            .collect()
    }
}

fn kubeconfig(env: &Env, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "modelarts-check-{name}-{}.kubeconfig",
        std::process::id()
    ));
    env.kube.write_kubeconfig(&path).expect("kubeconfig written");
    path
}

async fn check(env: &Env, name: &str, extra: &[&str]) -> Report {
    let kubeconfig = kubeconfig(env, name);
    let mut args: Vec<String> = vec![
        "check".into(),
        "--kubeconfig".into(),
        kubeconfig.to_string_lossy().into_owned(),
        "--namespace".into(),
        NS.into(),
        "--secret".into(),
        SECRET.into(),
        "--output".into(),
        "json".into(),
    ];
    if !extra.contains(&"--modelarts-endpoint") {
        args.extend(["--modelarts-endpoint".into(), env.cloud.base_url()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
            .args(&args)
            .env_remove("HUAWEICLOUD_SDK_REGION")
            .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
            .output()
            .expect("check runs")
    })
    .await
    .expect("joined");
    let _ = std::fs::remove_file(&kubeconfig);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("JSON output ({e}): {stdout}"));
    assert_eq!(
        json["ok"],
        output.status.success(),
        "exit code and ok agree: {json:#}"
    );
    Report {
        success: output.status.success(),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn env_with_secret(sk: &str, project: &str) -> Env {
    let env = Env::without_operator().await;
    env.put_secret(
        SECRET,
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", sk),
            ("projectId", project),
            ("region", modelarts_emulator::DEFAULT_REGION),
        ],
    )
    .await;
    env
}

async fn good_env() -> Env {
    env_with_secret(
        modelarts_emulator::DEFAULT_SK,
        modelarts_emulator::DEFAULT_PROJECT_ID,
    )
    .await
}

fn assert_fails_with_fix(report: &Report, row: &Value, fix_says: &str) {
    assert!(!report.success, "exit code non-zero: {:#}", report.json);
    assert!(report.stderr.contains("checks failed"), "{}", report.stderr);
    assert_eq!(row["result"], "fail", "{row:#}");
    let fix = row["fix"]
        .as_str()
        .unwrap_or_else(|| panic!("a failure carries a fix: {row:#}"));
    assert!(fix.contains(fix_says), "fix {fix:?} should say {fix_says:?}");
}

#[tokio::test]
async fn a_correct_setup_passes_every_check_and_exits_zero() {
    let env = good_env().await;
    let report = check(&env, "ok", &[]).await;
    assert!(report.success, "{:#}", report.json);
    assert!(report.failed().is_empty(), "{:?}", report.failed());
    assert_eq!(report.row("kubernetes", None)["result"], "ok");
    for crd in ["notebooks", "resourcepools", "liteservers"] {
        let row = report.row("crd", Some(&format!("{crd}.modelarts.operator.dev")));
        assert_eq!(row["detail"], "installed, identical to this binary's");
    }
    assert!(!report.rows("rbac").is_empty(), "RBAC is reported");
    let region = modelarts_emulator::DEFAULT_REGION;
    for check in ["endpoint", "clock", "project", "signature", "credentials"] {
        assert_eq!(report.rows(check).len(), 1, "{check}: {:#}", report.json);
        assert_eq!(
            report.rows(check)[0]["result"],
            "ok",
            "{check}: {:#}",
            report.json
        );
    }
    assert_eq!(report.row("signature", Some(region))["result"], "ok");
    let secret_row = report.row("credentials", None);
    assert!(
        !secret_row.to_string().contains(modelarts_emulator::DEFAULT_SK),
        "the secret key is never printed"
    );
}

#[tokio::test]
async fn the_text_output_is_a_table_with_a_fix_under_each_failure() {
    let env = env_with_secret("wrong-secret-key", modelarts_emulator::DEFAULT_PROJECT_ID).await;
    let kubeconfig = kubeconfig(&env, "text");
    let args = vec![
        "check".to_string(),
        "--kubeconfig".into(),
        kubeconfig.to_string_lossy().into_owned(),
        "--credentials-secret".into(),
        format!("{NS}/{SECRET}"),
        "--modelarts-endpoint".into(),
        env.cloud.base_url(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
            .args(&args)
            .output()
            .expect("check runs")
    })
    .await
    .expect("joined");
    let _ = std::fs::remove_file(&kubeconfig);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["CHECK", "TARGET", "RESULT", "DETAIL"]);
    let failing = text
        .lines()
        .position(|l| l.starts_with("signature") && l.contains("FAIL"))
        .unwrap_or_else(|| panic!("a failing signature row:\n{text}"));
    let next = text.lines().nth(failing + 1).expect("a line after the failure");
    assert!(next.trim_start().starts_with("fix: "), "{text}");
    assert!(text.trim_end().ends_with("check(s) failed"), "{text}");
}

#[tokio::test]
async fn a_wrong_secret_key_fails_the_signature_with_the_gateways_code() {
    let env = env_with_secret("wrong-secret-key", modelarts_emulator::DEFAULT_PROJECT_ID).await;
    let report = check(&env, "sk", &[]).await;
    let row = report.row("signature", Some(modelarts_emulator::DEFAULT_REGION));
    assert!(
        row["detail"].as_str().unwrap_or("").starts_with("APIGW.0301"),
        "{row:#}"
    );
    assert_fails_with_fix(&report, row, "access key");
    assert_eq!(
        report.row("endpoint", None)["result"],
        "ok",
        "the endpoint answered"
    );
}

#[tokio::test]
async fn a_project_id_of_another_region_fails_the_project_check_and_names_the_right_one() {
    let env = env_with_secret(modelarts_emulator::DEFAULT_SK, "fedcba9876543210fedcba9876543210").await;
    let report = check(&env, "project", &[]).await;
    let row = report.row("project", Some(modelarts_emulator::DEFAULT_REGION));
    assert_fails_with_fix(&report, row, modelarts_emulator::DEFAULT_PROJECT_ID);
    assert_eq!(
        report.failed(),
        ["project cn-north-4"],
        "only the project is wrong"
    );
}

#[tokio::test]
async fn a_missing_crd_fails_its_row_and_says_how_to_install() {
    let env = good_env().await;
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    crds.delete("liteservers.modelarts.operator.dev", &DeleteParams::default())
        .await
        .expect("CRD deleted");
    for _ in 0..100 {
        if crds
            .get_opt("liteservers.modelarts.operator.dev")
            .await
            .expect("get")
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = check(&env, "missing-crd", &[]).await;
    let row = report.row("crd", Some("liteservers.modelarts.operator.dev"));
    assert_eq!(row["detail"], "not installed");
    assert_fails_with_fix(&report, row, "modelarts-operator crds | kubectl apply -f -");
    assert_eq!(report.failed(), ["crd liteservers.modelarts.operator.dev"]);
}

#[tokio::test]
async fn a_stale_crd_fails_its_row_naming_where_it_differs() {
    let env = good_env().await;
    let crds: Api<CustomResourceDefinition> = Api::all(env.client.clone());
    // An older release's Notebook CRD: no spec.autoStop yet.
    let mut old = crds.get("notebooks.modelarts.operator.dev").await.expect("CRD");
    let schema = old.spec.versions[0]
        .schema
        .as_mut()
        .and_then(|s| s.open_api_v3_schema.as_mut())
        .expect("schema");
    let spec = schema
        .properties
        .as_mut()
        .and_then(|p| p.get_mut("spec"))
        .and_then(|s| s.properties.as_mut())
        .expect("spec properties");
    assert!(spec.remove("autoStop").is_some(), "the current CRD has autoStop");
    crds.replace("notebooks.modelarts.operator.dev", &PostParams::default(), &old)
        .await
        .expect("older CRD written");
    let report = check(&env, "stale-crd", &[]).await;
    let row = report.row("crd", Some("notebooks.modelarts.operator.dev"));
    let detail = row["detail"].as_str().unwrap_or("");
    assert!(
        detail.contains("differs from this binary's at spec.versions[0].schema"),
        "{detail}"
    );
    assert!(detail.contains("autoStop"), "{detail}");
    assert_fails_with_fix(&report, row, "modelarts-operator crds | kubectl apply -f -");
}

#[tokio::test]
async fn a_secret_still_holding_the_templates_placeholders_fails_the_credentials_row() {
    let env = Env::without_operator().await;
    env.put_secret(
        SECRET,
        &[
            ("accessKey", "REPLACE_WITH_YOUR_ACCESS_KEY"),
            ("secretKey", "REPLACE_WITH_YOUR_SECRET_KEY"),
            ("projectId", "REPLACE_WITH_YOUR_PROJECT_ID"),
            ("region", "cn-north-4"),
        ],
    )
    .await;
    let report = check(&env, "placeholder", &[]).await;
    let row = report.row("credentials", None);
    assert!(
        row["detail"].as_str().unwrap_or("").contains("placeholder"),
        "{row:#}"
    );
    assert_fails_with_fix(&report, row, "kubectl -n e2e edit secret hwcloud-credentials");
    assert_eq!(report.row("modelarts", None)["result"], "skip");
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_the_endpoint_row_and_skips_what_needs_it() {
    let env = good_env().await;
    // A port nothing listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let report = check(
        &env,
        "unreachable",
        &["--modelarts-endpoint", &format!("http://127.0.0.1:{port}")],
    )
    .await;
    let row = report.row("endpoint", None);
    assert!(
        row["detail"].as_str().unwrap_or("").contains("cannot reach it"),
        "{row:#}"
    );
    assert_fails_with_fix(&report, row, "egress");
    assert_eq!(report.row("signature", None)["result"], "skip");
}

#[tokio::test]
async fn a_clock_twenty_minutes_off_the_clouds_fails_the_clock_row() {
    let env = good_env().await;
    // The emulator's Date header follows its emulated time.
    env.cloud.advance_time(Duration::from_secs(20 * 60));
    let report = check(&env, "clock", &[]).await;
    let row = report.row("clock", None);
    assert!(
        row["detail"]
            .as_str()
            .unwrap_or("")
            .contains("behind the cloud's"),
        "{row:#}"
    );
    assert_fails_with_fix(&report, row, "NTP");
}
