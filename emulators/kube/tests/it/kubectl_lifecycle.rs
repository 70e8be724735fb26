//! Stock kubectl against the binary for namespace termination, Events (describe, get events,
//! `kubectl events --for`), OpenAPI (`kubectl explain`) and the health endpoints.

use crate::kubectl::{Cluster, widget};

/// A CRD with field descriptions, as kube-derive generates them from doc comments.
const DOCUMENTED_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.test.emulator.dev
spec:
  group: test.emulator.dev
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        description: A Gadget is a documented test resource.
        type: object
        properties:
          spec:
            description: What the gadget should be.
            type: object
            properties:
              desiredState:
                description: Whether the gadget runs; Running or Stopped.
                type: string
                enum: [Running, Stopped]
"#;

fn event_for(uid: &str) -> String {
    format!(
        r#"apiVersion: events.k8s.io/v1
kind: Event
metadata: {{name: w1.create, namespace: default}}
eventTime: "2026-01-01T00:00:00.000000Z"
type: Warning
reason: CreateFailed
action: Create
note: the cloud refused the create
reportingController: modelarts.operator.dev/test
reportingInstance: test-0
regarding: {{apiVersion: test.emulator.dev/v1, kind: Widget, name: w1, namespace: default, uid: "{uid}"}}
"#
    )
}

#[test]
fn kubectl_sees_a_namespace_terminate_only_after_its_content_is_finalized() {
    let c = Cluster::start().with_crd();
    c.ok(&["create", "namespace", "team"], None);
    let held = widget("held", 1).replace(
        "metadata:\n",
        "metadata:\n  namespace: team\n  finalizers: [example.com/cleanup]\n",
    );
    c.ok(&["apply", "-f", "-"], Some(&held));
    let out = c.ok(&["delete", "namespace", "team", "--wait=false"], None);
    assert!(out.contains("namespace \"team\" deleted"), "{out}");
    let phase = c.ok(
        &["get", "namespace", "team", "-o", "jsonpath={.status.phase}"],
        None,
    );
    assert_eq!(phase, "Terminating");
    let out = c.run(&["create", "configmap", "late", "-n", "team"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unable to create new content in namespace team because it is being terminated"),
        "{err}"
    );
    c.ok(
        &[
            "patch",
            "widget",
            "held",
            "-n",
            "team",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":null}}"#,
        ],
        None,
    );
    let out = c.run(&["get", "namespace", "team"], None);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NotFound"),
        "{out:?}"
    );
}

#[test]
fn kubectl_describe_get_events_and_events_for_show_an_events_k8s_io_event() {
    let c = Cluster::start().with_crd();
    c.ok(&["apply", "-f", "-"], Some(&widget("w1", 2)));
    let uid = c.ok(&["get", "widget", "w1", "-o", "jsonpath={.metadata.uid}"], None);
    c.ok(&["create", "-f", "-"], Some(&event_for(&uid)));
    let describe = c.ok(&["describe", "widget", "w1"], None);
    let events = describe.split("Events:").nth(1).unwrap_or_default();
    assert!(
        events.contains("Warning") && events.contains("CreateFailed"),
        "{describe}"
    );
    assert!(events.contains("the cloud refused the create"), "{describe}");
    assert!(
        events.contains("modelarts.operator.dev/test"),
        "the From column: {describe}"
    );
    let listed = c.ok(&["get", "events"], None);
    let header = listed.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("LAST SEEN") && header.contains("OBJECT"),
        "{listed}"
    );
    assert!(
        listed.contains("widget/w1") && listed.contains("the cloud refused the create"),
        "{listed}"
    );
    let for_w1 = c.ok(&["events", "--for", "widget/w1"], None);
    assert!(
        for_w1.contains("CreateFailed") && for_w1.contains("the cloud refused the create"),
        "{for_w1}"
    );
}

#[test]
fn kubectl_explain_prints_field_descriptions_of_custom_and_built_in_kinds() {
    let c = Cluster::start();
    c.ok(&["apply", "-f", "-"], Some(DOCUMENTED_CRD));
    c.ok(
        &[
            "wait",
            "--for=condition=established",
            "crd/gadgets.test.emulator.dev",
            "--timeout=20s",
        ],
        None,
    );
    let out = c.ok(&["explain", "gadget.spec.desiredState"], None);
    assert!(
        out.contains("Whether the gadget runs; Running or Stopped."),
        "{out}"
    );
    let out = c.ok(&["explain", "gadget"], None);
    assert!(out.contains("A Gadget is a documented test resource."), "{out}");
    assert!(out.contains("metadata"), "{out}");
    let out = c.ok(&["explain", "configmap.data"], None);
    assert!(out.contains("Data contains the configuration data."), "{out}");
    let out = c.ok(&["explain", "namespace.spec.finalizers"], None);
    assert!(out.contains("Finalizers is an opaque list of values"), "{out}");
}

#[test]
fn kubectl_reads_the_verbose_readiness_checks() {
    let c = Cluster::start();
    let out = c.ok(&["get", "--raw", "/readyz?verbose"], None);
    assert!(out.contains("[+]ping ok") && out.contains("[+]etcd ok"), "{out}");
    assert!(out.trim_end().ends_with("readyz check passed"), "{out}");
    assert_eq!(c.ok(&["get", "--raw", "/livez"], None), "ok");
}
