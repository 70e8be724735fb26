use super::*;

const NOW: i64 = 1_800_000_000_000;
const P: Progression = Progression::Immediate;

fn server(status: Status) -> Server {
    Server {
        seq: 1,
        id: "srv-1".into(),
        name: "s".into(),
        status,
        pending: None,
        flavor: "modelarts.bm.gpu.8ant8".into(),
        server_type: "BMS".into(),
        arch: "X86".into(),
        charging_mode: "POST_PAID".into(),
        order_id: None,
        image_id: "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f".into(),
        key_pair_name: Some("kp".into()),
        vpc_id: "v".into(),
        subnet_id: "s".into(),
        root_volume: (100, "SSD".into()),
        data_volumes: vec![],
        hps: None,
        cloud_server_id: "c".into(),
        ip: "192.168.0.2".into(),
        created_at: NOW,
        updated_at: NOW,
        hidden_reads: 0,
        hidden_from_parent: 0,
    }
}

type Op = fn(&mut Server) -> ApiResult<()>;

/// (operation, states it is allowed from, transitional state, final state)
const MACHINE: &[(&str, Op, &[Status], Status, Status)] = &[
    (
        "start",
        |s| s.start(P, NOW),
        &[Status::Stopped, Status::StartFailed],
        Status::Starting,
        Status::Running,
    ),
    (
        "stop",
        |s| s.stop(P, NOW),
        &[Status::Running, Status::StopFailed],
        Status::Stopping,
        Status::Stopped,
    ),
    (
        "reboot",
        |s| s.reboot(P, NOW),
        &[Status::Running, Status::RebootFailed],
        Status::Rebooting,
        Status::Running,
    ),
    (
        "changeos",
        |s| s.change_os(Some("new-image"), false, P, NOW),
        &[Status::Stopped, Status::ChangingOsFailed],
        Status::ChangingOs,
        Status::Running,
    ),
    (
        "reinstallos",
        |s| s.change_os(None, true, P, NOW),
        &[Status::Stopped, Status::ReinstallingOsFailed],
        Status::ReinstallingOs,
        Status::Running,
    ),
];

#[test]
fn every_operation_is_allowed_exactly_from_its_documented_states() {
    for (name, op, allowed, via, to) in MACHINE {
        for from in Status::all() {
            let mut s = server(from);
            let got = op(&mut s);
            if allowed.contains(&from) {
                assert!(got.is_ok(), "{name} from {from:?}: {got:?}");
                assert_eq!(s.status, *via, "{name} from {from:?}");
                s.tick(NOW, true);
                assert_eq!(s.status, *to, "{name} from {from:?} completes");
            } else {
                let e = got.expect_err(name);
                assert_eq!(e.code, "ModelArts.7002", "{name} from {from:?}");
                assert_eq!(s.status, from, "a refused {name} changes nothing");
            }
        }
    }
}

#[test]
fn starting_a_running_server_says_it_is_already_running() {
    let e = server(Status::Running).start(P, NOW).unwrap_err();
    assert!(e.message.contains("already running"));
}

#[test]
fn a_change_os_sets_the_new_image() {
    let mut s = server(Status::Stopped);
    s.change_os(Some("new-image"), false, P, NOW).unwrap();
    assert_eq!(s.image_id, "new-image");
}

#[test]
fn delete_is_refused_for_prepaid_and_transitional_servers() {
    for from in [
        Status::Running,
        Status::Stopped,
        Status::CreateFailed,
        Status::Error,
        Status::StartFailed,
    ] {
        let mut s = server(from);
        s.delete(P, NOW).unwrap();
        assert_eq!(s.status, Status::Deleting);
        assert_eq!(s.tick(NOW, true), Tick::Gone, "delete from {from:?}");
    }
    for from in [Status::Creating, Status::Starting, Status::Rebooting] {
        assert_eq!(
            server(from).delete(P, NOW).unwrap_err().code,
            "ModelArts.7002",
            "{from:?}"
        );
    }
    let mut prepaid = server(Status::Running);
    prepaid.charging_mode = "PRE_PAID".into();
    assert_eq!(prepaid.delete(P, NOW).unwrap_err().code, "ModelArts.7003");
    prepaid.status = Status::CreateFailed;
    assert!(
        prepaid.delete(P, NOW).is_ok(),
        "a failed prepaid creation can be deleted"
    );
}

#[test]
fn statuses_round_trip_through_their_wire_names() {
    assert_eq!(Status::all().count(), 18);
    for s in Status::all() {
        assert_eq!(Status::parse(s.as_str()), Some(s));
    }
    for h in [
        "PROVISIONING",
        "ACTIVE",
        "ERROR",
        "REIMAGING",
        "TERMINATING",
        "TERMINATED",
    ] {
        assert_eq!(HyperStatus::parse(h).map(HyperStatus::as_str), Some(h));
    }
}
