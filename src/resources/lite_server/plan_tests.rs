use super::*;
use crate::cloud::lite_servers::ServerImage;
use serde_json::json;

const IMG: &str = "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e";
const NEW_IMG: &str = "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f";
const CREATED_MS: i64 = 1_700_000_000_000;
const LATER: &str = "2030-01-01T00:00:00Z";
const EARLIER: &str = "2020-01-01T00:00:00Z";

fn lite(spec: serde_json::Value) -> LiteServer {
    let mut base = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "LiteServer",
        "metadata": {"name": "box", "namespace": "ns"},
        "spec": {
            "serverType": "ECS", "flavor": "f", "image": {"id": IMG},
            "network": {"vpcId": "v", "subnetId": "s", "securityGroupId": "g"},
            "login": {"keyPairName": "kp"},
        }
    });
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        base["spec"][k] = v;
    }
    serde_json::from_value(base).expect("valid LiteServer")
}

fn server(state: &str) -> Server {
    Server {
        id: "s-1".into(),
        name: "box".into(),
        status: state.into(),
        flavor: Some("f".into()),
        create_at: Some(CREATED_MS),
        image: Some(ServerImage {
            image_id: Some(IMG.into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn node(id: &str, created: i64, state: &str) -> Server {
    Server {
        id: id.into(),
        name: format!("sn-{id}"),
        create_at: Some(created),
        ..server(state)
    }
}

struct Case {
    reason: &'static str,
    spec: serde_json::Value,
    state: &'static str,
    status: LiteServerStatus,
    want: Vec<Change>,
}

fn handled(reboot: Option<&str>, reinstall: Option<&str>) -> LiteServerStatus {
    LiteServerStatus {
        last_reboot_requested_at: reboot.map(str::to_string),
        last_reinstall_requested_at: reinstall.map(str::to_string),
        ..Default::default()
    }
}

#[test]
fn server_diffs_follow_the_modelarts_state_machine() {
    let cases = [
        Case {
            reason: "a running server matching its spec needs nothing",
            spec: json!({}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![],
        },
        Case {
            reason: "a stopped server that should run is started",
            spec: json!({}),
            state: "STOPPED",
            status: handled(None, None),
            want: vec![Change::Start],
        },
        Case {
            reason: "a running server that should be stopped is stopped",
            spec: json!({"desiredState": "Stopped"}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![Change::Stop],
        },
        Case {
            reason: "a new name is applied by renaming",
            spec: json!({"name": "box-2"}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![Change::Rename("box-2".into())],
        },
        Case {
            reason: "a new reboot trigger reboots a running server",
            spec: json!({"rebootRequestedAt": LATER}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![Change::Reboot {
                requested_at: LATER.into(),
            }],
        },
        Case {
            reason: "a handled reboot trigger never reboots again",
            spec: json!({"rebootRequestedAt": LATER}),
            state: "RUNNING",
            status: handled(Some(LATER), None),
            want: vec![],
        },
        Case {
            reason: "a reboot trigger older than the server needs no reboot",
            spec: json!({"rebootRequestedAt": EARLIER}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![],
        },
        Case {
            reason: "a reboot trigger on a server about to be started is only recorded",
            spec: json!({"rebootRequestedAt": LATER}),
            state: "STOPPED",
            status: handled(None, None),
            want: vec![
                Change::SkipReboot {
                    requested_at: LATER.into(),
                },
                Change::Start,
            ],
        },
        Case {
            reason: "a new image on a running server stops it first",
            spec: json!({"image": {"id": NEW_IMG}}),
            state: "RUNNING",
            status: handled(None, None),
            want: vec![Change::StopForOs("image")],
        },
        Case {
            reason: "a new image on a stopped server changes the OS",
            spec: json!({"image": {"id": NEW_IMG}}),
            state: "STOPPED",
            status: handled(None, None),
            want: vec![Change::ChangeOs {
                image_id: NEW_IMG.into(),
                reinstall: None,
            }],
        },
        Case {
            reason: "a reinstall trigger on a stopped server reinstalls it",
            spec: json!({"reinstallRequestedAt": LATER}),
            state: "STOPPED",
            status: handled(None, None),
            want: vec![Change::Reinstall {
                requested_at: LATER.into(),
            }],
        },
        Case {
            reason: "a transitional server is left alone",
            spec: json!({"image": {"id": NEW_IMG}}),
            state: "STOPPING",
            status: handled(None, None),
            want: vec![],
        },
        Case {
            reason: "a failed server is not acted on by itself",
            spec: json!({}),
            state: "START_FAILED",
            status: handled(None, None),
            want: vec![],
        },
        Case {
            reason: "a failed reboot can be retried with a new trigger",
            spec: json!({"rebootRequestedAt": LATER}),
            state: "REBOOT_FAILED",
            status: handled(None, None),
            want: vec![Change::Reboot {
                requested_at: LATER.into(),
            }],
        },
    ];
    for case in cases {
        let ls = lite(case.spec);
        let got = diff(&ls, &Remote::Server(server(case.state)), &case.status);
        assert_eq!(got, case.want, "{}", case.reason);
    }
}

#[test]
fn failed_states_surface_with_the_cloud_state_as_reason() {
    for state in FAILED {
        let got = readiness(&lite(json!({})), &Remote::Server(server(state)));
        match got {
            Readiness::Failed { reason, message } => {
                assert_eq!(reason, *state);
                assert!(message.contains(state), "{message}");
            }
            other => panic!("{state} gave {other:?}"),
        }
    }
}

fn supernode(nodes: Vec<Server>) -> Remote {
    Remote::Supernode(Supernode {
        hyper: Hyperinstance {
            id: "h-1".into(),
            status: "ACTIVE".into(),
            create_at: Some(CREATED_MS),
            servers: nodes,
            ..Default::default()
        },
        tags: Tags::new(),
    })
}

#[test]
fn a_supernode_scales_down_its_newest_nodes_first_then_by_id() {
    let ls = lite(json!({"serverType": "HPS", "nodes": [{"flavor": "f", "count": 2}]}));
    let remote = supernode(vec![
        node("a", CREATED_MS, "RUNNING"),
        node("d", CREATED_MS + 5, "RUNNING"),
        node("c", CREATED_MS + 9, "RUNNING"),
        node("b", CREATED_MS + 5, "RUNNING"),
    ]);
    let got = diff(&ls, &remote, &LiteServerStatus::default());
    assert_eq!(
        got,
        vec![Change::ScaleDown {
            flavor: "f".into(),
            server_ids: vec!["c".into(), "b".into()],
        }]
    );
}

#[test]
fn a_supernode_below_its_node_count_scales_up_and_is_not_ready() {
    let ls = lite(json!({"serverType": "HPS", "nodes": [{"flavor": "f", "count": 3}]}));
    let remote = supernode(vec![node("a", CREATED_MS, "RUNNING")]);
    assert_eq!(
        diff(&ls, &remote, &LiteServerStatus::default()),
        vec![Change::ScaleUp { flavor: "f".into() }]
    );
    assert!(matches!(readiness(&ls, &remote), Readiness::Progressing { .. }));
}

#[test]
fn a_recorded_scale_up_is_not_sent_again_until_its_node_shows_or_its_grace_ends() {
    let ls = lite(json!({"serverType": "HPS", "nodes": [{"flavor": "f", "count": 3}]}));
    let one = supernode(vec![node("a", CREATED_MS, "RUNNING")]);
    let mut status = LiteServerStatus::default();
    let changes = diff(&ls, &one, &status);
    assert!(mark_scale_up(&one, &changes, &mut status));
    let pending = status.pending_scale_up.clone().expect("recorded before the call");
    assert_eq!((pending.flavor.as_str(), pending.nodes_before), ("f", 1));
    // A read that lags behind the call: nothing is sent again.
    assert!(diff(&ls, &one, &status).is_empty());
    status_from(&ls, &one, &mut status);
    assert!(
        status.pending_scale_up.is_some(),
        "kept while the node may still appear"
    );
    // The node shows: the record goes and the next step (a third node) may be sent.
    let two = supernode(vec![
        node("a", CREATED_MS, "RUNNING"),
        node("b", CREATED_MS + 1, "RUNNING"),
    ]);
    status_from(&ls, &two, &mut status);
    assert_eq!(status.pending_scale_up, None);
    assert_eq!(
        diff(&ls, &two, &status),
        vec![Change::ScaleUp { flavor: "f".into() }]
    );
}

#[test]
fn a_scale_up_record_expires_after_its_grace() {
    let now = jiff::Timestamp::now();
    let sent = |ago: std::time::Duration| PendingScaleUp {
        flavor: "f".into(),
        nodes_before: 1,
        requested_at: (now - jiff::SignedDuration::try_from(ago).expect("small")).to_string(),
    };
    let fresh = sent(std::time::Duration::from_secs(5));
    let old = sent(SCALE_UP_GRACE + std::time::Duration::from_secs(1));
    assert!(scale_up_outstanding(Some(&fresh), "f", 1, now));
    assert!(!scale_up_outstanding(Some(&fresh), "f", 2, now), "visible");
    assert!(!scale_up_outstanding(Some(&fresh), "g", 1, now), "another flavor");
    assert!(
        !scale_up_outstanding(Some(&old), "f", 1, now),
        "too late to appear"
    );
    assert!(!scale_up_outstanding(None, "f", 1, now));
}

#[test]
fn a_supernode_with_a_node_in_transition_waits() {
    let ls = lite(json!({"serverType": "HPS", "nodes": [{"flavor": "f", "count": 3}]}));
    let remote = supernode(vec![
        node("a", CREATED_MS, "RUNNING"),
        node("b", CREATED_MS, "CREATING"),
    ]);
    assert!(diff(&ls, &remote, &LiteServerStatus::default()).is_empty());
}

#[test]
fn a_supernode_is_stopped_through_its_nodes_state() {
    let ls = lite(json!({"serverType": "HPS", "desiredState": "Stopped"}));
    let remote = supernode(vec![node("a", CREATED_MS, "RUNNING")]);
    assert_eq!(
        diff(&ls, &remote, &LiteServerStatus::default()),
        vec![Change::Stop]
    );
}

#[test]
fn the_create_request_never_buys_and_carries_the_password_only_when_given() {
    let ls = lite(json!({"login": {"passwordSecretRef": {"name": "pw", "key": "password"}}}));
    let request = create_request(&ls, Some("Secr3t-pass"));
    assert_eq!(request.admin_pass.as_deref(), Some("Secr3t-pass"));
    assert_eq!(request.key_pair_name, None);
    assert_eq!(
        request.charging_info.map(|c| c.charging_mode).as_deref(),
        Some("POST_PAID")
    );
    assert!(!format!("{:?}", create_request(&ls, Some("Secr3t-pass"))).contains("Secr3t-pass"));
}

#[test]
fn only_failed_prepaid_servers_may_be_deleted_through_the_api() {
    let ls = lite(json!({"chargingMode": "PRE_PAID", "resourceId": "s-1"}));
    for (state, refused) in [
        ("RUNNING", true),
        ("STOPPED", true),
        ("CREATE_FAILED", false),
        ("ERROR", false),
    ] {
        let got = delete_needs_unsubscribe(&ls, &Remote::Server(server(state)));
        assert_eq!(got, refused, "PRE_PAID server in {state}");
    }
    let mut cloud_prepaid = server("RUNNING");
    cloud_prepaid.charging_mode = Some("PRE_PAID".into());
    assert!(
        delete_needs_unsubscribe(&lite(json!({})), &Remote::Server(cloud_prepaid)),
        "the cloud's word counts even when the spec says POST_PAID"
    );
    assert!(!delete_needs_unsubscribe(
        &lite(json!({})),
        &Remote::Server(server("RUNNING"))
    ));
}

#[test]
fn a_supernode_changes_its_image_by_stopping_then_changing_os_for_all_nodes() {
    let ls = lite(json!({"serverType": "HPS", "image": {"id": NEW_IMG}}));
    let running = supernode(vec![
        node("a", CREATED_MS, "RUNNING"),
        node("b", CREATED_MS, "RUNNING"),
    ]);
    assert_eq!(
        diff(&ls, &running, &LiteServerStatus::default()),
        vec![Change::StopForOs("image")]
    );
    let stopped = supernode(vec![
        node("a", CREATED_MS, "STOPPED"),
        node("b", CREATED_MS, "STOPPED"),
    ]);
    assert_eq!(
        diff(&ls, &stopped, &LiteServerStatus::default()),
        vec![Change::ChangeOs {
            image_id: NEW_IMG.into(),
            reinstall: None,
        }]
    );
}
