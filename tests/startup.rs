//! The operator binary's start: a transient Kubernetes API failure is retried with backoff, only
//! a real 404 says "install the CRDs", and SIGTERM is honoured while it is still retrying.
#[path = "support/notebook.rs"]
mod notebook_support;
mod support;

use kube_emulator::KubeEmulator;
use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, DEFAULT_REGION};
use modelarts_operator::api::notebook::Notebook;
use notebook_support::{notebook, ready};
use serde_json::json;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use support::Env;

fn kubeconfig(kube: &KubeEmulator, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "modelarts-startup-{name}-{}.kubeconfig",
        std::process::id()
    ));
    kube.write_kubeconfig(&path).expect("kubeconfig written");
    path
}

fn operator(kubeconfig: &PathBuf, endpoint: &str) -> Child {
    operator_in(
        Command::new(env!("CARGO_BIN_EXE_modelarts-operator")),
        kubeconfig,
        endpoint,
    )
}

/// The operator as PID 1 of a new PID namespace, as in a container: the kernel drops a SIGTERM
/// sent to it from outside unless it installed a handler.
fn operator_as_pid1(kubeconfig: &PathBuf, endpoint: &str) -> Child {
    let mut unshare = Command::new("unshare");
    unshare
        .args(["--pid", "--fork", "--"])
        .arg(env!("CARGO_BIN_EXE_modelarts-operator"));
    operator_in(unshare, kubeconfig, endpoint)
}

fn operator_in(mut command: Command, kubeconfig: &PathBuf, endpoint: &str) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    command
        .arg("run")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--modelarts-endpoint", endpoint])
        .args(["--region", DEFAULT_REGION, "--project-id", PROJECT])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--poll-seconds", "2", "--waiting-millis", "300"])
        .env("HUAWEICLOUD_SDK_AK", modelarts_emulator::DEFAULT_AK)
        .env("HUAWEICLOUD_SDK_SK", modelarts_emulator::DEFAULT_SK)
        .env("RUST_LOG", "info,kube=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("operator starts")
}

/// Waits up to `timeout` for the child to exit; its exit status and everything it printed.
async fn exit_within(mut child: Child, timeout: Duration) -> Option<(std::process::ExitStatus, String)> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("output"))
                .await
                .expect("joined");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return Some((out.status, text));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[tokio::test]
async fn a_start_that_meets_api_errors_retries_and_then_converges() {
    let env = Env::without_operator().await;
    // The API server is unhappy for the first few lists (restarting, a blip): not a missing CRD.
    env.kube.faults().fail_next("list", "notebooks", 500, 3);
    let config = kubeconfig(&env.kube, "retry");
    let mut child = operator(&config, &env.cloud.base_url());
    env.apply(&notebook("nb-after-blip", json!({}))).await;
    env.wait_for::<Notebook>("nb-after-blip", Duration::from_secs(60), "Ready", ready)
        .await;
    assert!(child.try_wait().expect("wait").is_none(), "still running");
    assert_eq!(
        env.cloud.notebook_count(PROJECT),
        1,
        "one notebook for one object"
    );
    child.kill().expect("stopped");
    let _ = child.wait();
    let _ = std::fs::remove_file(config);
}

#[tokio::test]
async fn a_missing_crd_stops_the_start_with_what_to_do() {
    let kube = KubeEmulator::start().await.expect("kube-emulator starts");
    let config = kubeconfig(&kube, "no-crd");
    let child = operator(&config, "http://127.0.0.1:9");
    let (status, output) = exit_within(child, Duration::from_secs(30))
        .await
        .expect("exits at once on a real 404");
    assert!(!status.success(), "fails: {output}");
    assert!(output.contains("install the CRDs"), "says what to do: {output}");
    let _ = std::fs::remove_file(config);
}

#[tokio::test]
async fn sigterm_stops_a_start_that_is_still_retrying() {
    let env = Env::without_operator().await;
    env.kube.faults().fail_next("list", "notebooks", 500, 100_000);
    let config = kubeconfig(&env.kube, "sigterm");
    let child = operator_as_pid1(&config, &env.cloud.base_url());
    // Let it enter its retry loop, then ask it to stop as a kubelet does.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let unshare = child.id();
    let children =
        std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap_or_default();
    let operator = children
        .split_whitespace()
        .next()
        .unwrap_or_else(|| {
            panic!("unshare started the operator as PID 1 (needs user or root PID namespaces)")
        })
        .to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &operator])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let exited = exit_within(child, Duration::from_secs(5)).await;
    let (status, output) = exited.expect("SIGTERM honoured within 5 s while retrying, as PID 1");
    assert!(status.success(), "a clean stop: {output}");
    assert_eq!(env.cloud.notebook_count(PROJECT), 0);
    let _ = std::fs::remove_file(config);
}
