//! Stock kubectl against the `kube-emulator` binary: `/usr/bin/kubectl` when present, otherwise
//! `kubectl` on PATH (`.ci/run` installs Debian's `kubernetes-client` when neither exists).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

pub const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.emulator.dev
spec:
  group: test.emulator.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Ready, type: string, jsonPath: '.status.conditions[?(@.type=="Ready")].status'}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"#;

pub fn widget(name: &str, size: i64) -> String {
    format!(
        "apiVersion: test.emulator.dev/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  size: {size}\n"
    )
}

fn kubectl_binary() -> PathBuf {
    let system = Path::new("/usr/bin/kubectl");
    if system.exists() {
        return system.to_path_buf();
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.exists());
    on_path.expect("no kubectl found: install one (.ci/run installs Debian's kubernetes-client)")
}

/// One emulator process with its own kubeconfig and kubectl cache directory.
pub(crate) struct Cluster {
    child: Child,
    dir: PathBuf,
}

impl Cluster {
    pub(crate) fn start() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kube-emulator-kubectl-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
            .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
            .arg(dir.join("config"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("the kube-emulator binary starts");
        // The binary prints one line once it listens and the kubeconfig is written.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.contains("listening on http://127.0.0.1:"),
            "unexpected first line: {line}"
        );
        Self { child, dir }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_binary());
        cmd.args(args)
            .env("KUBECONFIG", self.dir.join("config"))
            .env("HOME", &self.dir);
        cmd
    }

    pub(crate) fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Runs kubectl and returns stdout, failing the test with stderr if it fails.
    pub(crate) fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub fn with_crd(self) -> Self {
        self.ok(&["apply", "-f", "-"], Some(CRD));
        self.ok(
            &[
                "wait",
                "--for=condition=established",
                "crd/widgets.test.emulator.dev",
                "--timeout=20s",
            ],
            None,
        );
        self
    }

    fn jsonpath(&self, name: &str, path: &str) -> String {
        self.ok(&["get", "widget", name, "-o", &format!("jsonpath={path}")], None)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn kubectl_applies_a_crd_waits_until_established_and_applies_a_custom_resource() {
    let c = Cluster::start();
    let out = c.ok(&["apply", "-f", "-"], Some(CRD));
    assert!(
        out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.test.emulator.dev created"),
        "{out}"
    );
    let out = c.ok(
        &[
            "wait",
            "--for=condition=established",
            "crd/widgets.test.emulator.dev",
            "--timeout=20s",
        ],
        None,
    );
    assert!(out.contains("condition met"), "{out}");
    assert!(
        c.ok(&["apply", "-f", "-"], Some(&widget("w1", 2)))
            .contains("widget.test.emulator.dev/w1 created")
    );
    assert!(
        c.ok(&["apply", "-f", "-"], Some(&widget("w1", 2)))
            .contains("unchanged")
    );
    assert!(
        c.ok(&["apply", "-f", "-"], Some(&widget("w1", 3)))
            .contains("configured")
    );
    assert_eq!(c.jsonpath("w1", "{.spec.size}"), "3");
}

#[test]
fn kubectl_get_prints_the_crds_printer_columns() {
    let c = Cluster::start().with_crd();
    c.ok(&["apply", "-f", "-"], Some(&widget("w1", 4)));
    let status = r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#;
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        ],
        None,
    );
    let out = c.ok(&["get", "wd"], None);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], vec!["NAME", "SIZE", "READY", "AGE"], "{out}");
    assert_eq!(&lines[1][..3], &["w1", "4", "True"], "{out}");
}

#[test]
fn kubectl_get_watch_streams_changes_until_killed() {
    let c = Cluster::start().with_crd();
    c.ok(&["apply", "-f", "-"], Some(&widget("w1", 1)));
    let mut watcher = c
        .command(&["get", "widgets", "-w", "--no-headers"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = watcher.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(20)).expect("the initial row");
    assert!(first.starts_with("w1") && first.contains(" 1 "), "{first}");
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"spec":{"size":7}}"#,
        ],
        None,
    );
    let next = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a row for the change");
    assert!(next.starts_with("w1") && next.contains(" 7 "), "{next}");
    watcher.kill().unwrap();
    watcher.wait().unwrap();
}

#[test]
fn kubectl_patch_merge_json_and_label_change_the_object() {
    let c = Cluster::start().with_crd();
    c.ok(&["apply", "-f", "-"], Some(&widget("w1", 1)));
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"spec":{"size":4}}"#,
        ],
        None,
    );
    assert_eq!(c.jsonpath("w1", "{.spec.size}"), "4");
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/size","value":5}]"#,
        ],
        None,
    );
    assert_eq!(c.jsonpath("w1", "{.spec.size}"), "5");
    c.ok(&["label", "widget", "w1", "team=ml"], None);
    assert!(
        c.ok(&["get", "widgets", "-l", "team=ml", "-o", "name"], None)
            .contains("widget.test.emulator.dev/w1")
    );
    assert_eq!(
        c.jsonpath("w1", "{.metadata.generation}"),
        "3",
        "the label did not bump generation"
    );
}

#[test]
fn kubectl_server_side_apply_creates_and_then_updates() {
    let c = Cluster::start().with_crd();
    assert!(
        c.ok(&["apply", "--server-side", "-f", "-"], Some(&widget("w1", 2)))
            .contains("serverside-applied")
    );
    c.ok(&["apply", "--server-side", "-f", "-"], Some(&widget("w1", 6)));
    assert_eq!(c.jsonpath("w1", "{.spec.size}"), "6");
    assert_eq!(
        c.jsonpath("w1", "{.metadata.managedFields[0].manager}"),
        "kubectl"
    );
}

#[test]
fn kubectl_server_dry_run_reports_success_and_stores_nothing() {
    let c = Cluster::start().with_crd();
    let out = c.ok(&["apply", "--dry-run=server", "-f", "-"], Some(&widget("w1", 2)));
    assert!(out.contains("(server dry run)"), "{out}");
    let missing = c.run(&["get", "widget", "w1"], None);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("NotFound")
            || String::from_utf8_lossy(&missing.stderr).contains("not found")
    );
}

#[test]
fn kubectl_delete_of_an_object_with_a_finalizer_completes_once_the_finalizer_is_removed() {
    let c = Cluster::start().with_crd();
    c.ok(&["apply", "-f", "-"], Some(&widget("w1", 1)));
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["test/hold"]}}"#,
        ],
        None,
    );
    c.ok(&["delete", "widget", "w1", "--wait=false"], None);
    assert!(
        !c.jsonpath("w1", "{.metadata.deletionTimestamp}").is_empty(),
        "deletion is pending"
    );
    c.ok(
        &[
            "patch",
            "widget",
            "w1",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
        ],
        None,
    );
    let out = c.ok(&["get", "widgets", "-o", "name"], None);
    assert!(out.trim().is_empty(), "still listed: {out}");
}

#[test]
fn kubectl_shows_the_schemas_message_for_an_invalid_custom_resource() {
    let c = Cluster::start().with_crd();
    let out = c.run(&["apply", "-f", "-"], Some(&widget("bad", 20)));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("The Widget \"bad\" is invalid: spec.size: Invalid value: 20: spec.size in body should be less than or equal to 10"),
        "{stderr}"
    );
}

#[test]
fn kubectl_typed_create_commands_work_over_json() {
    let c = Cluster::start();
    c.ok(&["create", "configmap", "cm1", "--from-literal=a=b"], None);
    c.ok(
        &[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=password=hunter2",
        ],
        None,
    );
    c.ok(&["create", "namespace", "team"], None);
    assert_eq!(
        c.ok(&["get", "configmap", "cm1", "-o", "jsonpath={.data.a}"], None),
        "b"
    );
    assert_eq!(
        c.ok(&["get", "secret", "s1", "-o", "jsonpath={.data.password}"], None),
        "aHVudGVyMg=="
    );
    assert!(
        c.ok(&["get", "namespaces", "-o", "name"], None)
            .contains("namespace/team")
    );
}
