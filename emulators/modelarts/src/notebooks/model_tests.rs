use super::*;
use std::collections::BTreeMap;

const NOW: i64 = 1_800_000_000_000;

fn notebook(status: Status) -> Notebook {
    Notebook {
        seq: 1,
        id: "nb-id".into(),
        name: "nb".into(),
        description: String::new(),
        status,
        pending: None,
        fail_reason: None,
        flavor: "modelarts.vm.cpu.2u".into(),
        custom_spec: None,
        image_id: crate::catalog::IMAGE_PYTORCH_CPU.into(),
        volume: Volume {
            category: "EVS".into(),
            ownership: "MANAGED".into(),
            capacity: Some(5),
            uri: None,
            id: None,
            read_only: false,
            dew_secret_name: None,
        },
        data_volumes: vec![],
        workspace_id: "0".into(),
        feature: "NOTEBOOK".into(),
        pool_id: None,
        endpoints: vec![],
        affinity: None,
        user_vpc: None,
        lease: Lease {
            create_at: NOW,
            duration: LEASE_MIN_MS,
            enable: true,
            kind: "TIMING".into(),
            update_at: NOW,
        },
        tags: BTreeMap::new(),
        storages: vec![],
        token: "t".into(),
        ip: "192.168.0.2".into(),
        created_at: NOW,
        updated_at: NOW,
        hidden_reads: 0,
        delete_fails: false,
    }
}

const IMMEDIATE: Progression = Progression::Immediate;

#[test]
fn every_status_round_trips_through_its_wire_name() {
    for s in ALL_STATUSES {
        assert_eq!(Status::parse(s.as_str()), Some(*s));
    }
    assert_eq!(Status::parse("running"), None, "status names are upper case");
}

#[test]
fn start_is_allowed_from_stopped_or_failed_states_only() {
    let cases: &[(Status, Option<&str>)] = &[
        (Status::Stopped, None),
        (Status::StartFailed, None),
        (Status::Error, None),
        (Status::Running, Some("ModelArts.6305")),
        (Status::Starting, Some("ModelArts.6306")),
        (Status::Creating, Some("ModelArts.6306")),
        (Status::Stopping, Some("ModelArts.6307")),
        (Status::Deleting, Some("ModelArts.6307")),
        (Status::Frozen, Some("ModelArts.6307")),
    ];
    for (from, err) in cases {
        let mut nb = notebook(*from);
        let got = nb.start(Some(2 * LEASE_MIN_MS), Some("TIMING"), IMMEDIATE, NOW);
        match err {
            None => {
                assert!(got.is_ok(), "start from {from:?}: {got:?}");
                assert_eq!(nb.status, Status::Starting);
                assert_eq!(
                    nb.lease.duration,
                    2 * LEASE_MIN_MS,
                    "start takes the new lease duration"
                );
                nb.tick(NOW, false, IMMEDIATE);
                assert_eq!(nb.status, Status::Running, "STARTING completes to RUNNING");
            }
            Some(code) => {
                assert_eq!(got.unwrap_err().code, *code, "start from {from:?}");
                assert_eq!(nb.status, *from, "a refused start changes nothing");
            }
        }
    }
}

#[test]
fn stop_is_allowed_from_running_and_goes_through_stopping() {
    for (from, ok) in [
        (Status::Running, true),
        (Status::Error, true),
        (Status::Stopped, false),
        (Status::Creating, false),
    ] {
        let mut nb = notebook(from);
        assert_eq!(nb.stop(IMMEDIATE, NOW).is_ok(), ok, "stop from {from:?}");
        if ok {
            assert_eq!(nb.status, Status::Stopping);
            nb.tick(NOW, false, IMMEDIATE);
            assert_eq!(nb.status, Status::Stopped);
        }
    }
}

#[test]
fn delete_needs_a_stopped_instance_and_ends_gone() {
    for from in [
        Status::Running,
        Status::Starting,
        Status::Creating,
        Status::Stopping,
    ] {
        let err = notebook(from).delete(IMMEDIATE, NOW).unwrap_err();
        assert_eq!(err.code, "ModelArts.6304", "delete from {from:?}");
        assert_eq!(err.message, "Please stop the instance before deleting.");
    }
    for from in [
        Status::Stopped,
        Status::CreateFailed,
        Status::StartFailed,
        Status::DeleteFailed,
        Status::Error,
    ] {
        let mut nb = notebook(from);
        nb.delete(IMMEDIATE, NOW).unwrap();
        assert_eq!(nb.status, Status::Deleting, "delete from {from:?}");
        assert_eq!(nb.tick(NOW, true, IMMEDIATE), Tick::Gone);
    }
}

#[test]
fn a_second_delete_while_deleting_is_accepted() {
    let mut nb = notebook(Status::Stopped);
    nb.delete(Progression::AfterReads { reads: 5 }, NOW).unwrap();
    assert!(nb.delete(IMMEDIATE, NOW).is_ok());
    assert_eq!(nb.status, Status::Deleting);
}

#[test]
fn a_timing_lease_stops_the_notebook_when_it_runs_out() {
    let mut nb = notebook(Status::Running);
    assert_eq!(nb.tick(NOW + LEASE_MIN_MS - 1, true, IMMEDIATE), Tick::Alive);
    assert_eq!(nb.status, Status::Running, "still within the lease");
    nb.tick(NOW + LEASE_MIN_MS, true, IMMEDIATE);
    assert_eq!(nb.status, Status::Stopping, "lease expiry starts a stop");
    nb.tick(NOW + LEASE_MIN_MS, true, IMMEDIATE);
    assert_eq!(nb.status, Status::Stopped);
}

#[test]
fn idle_and_disabled_leases_never_expire_in_the_emulator() {
    let mut idle = notebook(Status::Running);
    idle.lease.kind = "IDLE".into();
    let mut disabled = notebook(Status::Running);
    disabled.lease.enable = false;
    for mut nb in [idle, disabled] {
        nb.tick(NOW + 10 * LEASE_MAX_MS, true, IMMEDIATE);
        assert_eq!(nb.status, Status::Running);
    }
}

#[test]
fn renewing_a_lease_adds_or_resets_according_to_the_mode() {
    let mut nb = notebook(Status::Running);
    nb.renew_lease(LEASE_MIN_MS, "TIMING", LeaseRenewal::Add, NOW + 1000)
        .unwrap();
    assert_eq!((nb.lease.create_at, nb.lease.duration), (NOW, 2 * LEASE_MIN_MS));
    nb.renew_lease(3 * LEASE_MIN_MS, "TIMING", LeaseRenewal::Reset, NOW + 1000)
        .unwrap();
    assert_eq!(
        (nb.lease.create_at, nb.lease.duration),
        (NOW + 1000, 3 * LEASE_MIN_MS)
    );
    let err = notebook(Status::Stopped)
        .renew_lease(LEASE_MIN_MS, "TIMING", LeaseRenewal::Add, NOW)
        .unwrap_err();
    assert_eq!(
        err.code, "ModelArts.6307",
        "only a running notebook's lease can be renewed"
    );
}

#[test]
fn flavor_or_image_changes_need_a_stopped_instance() {
    for (st, ok) in [
        (Status::Stopped, true),
        (Status::Running, false),
        (Status::Starting, false),
        (Status::Creating, false),
    ] {
        assert_eq!(notebook(st).check_spec_change_allowed().is_ok(), ok, "{st:?}");
    }
    assert!(
        notebook(Status::Running).check_update_allowed().is_ok(),
        "renaming a running notebook is fine"
    );
    assert!(notebook(Status::Deleting).check_update_allowed().is_err());
}

#[test]
fn an_after_reads_transition_is_seen_by_exactly_that_many_reads() {
    let mut nb = notebook(Status::Stopped);
    nb.start(None, None, Progression::AfterReads { reads: 2 }, NOW)
        .unwrap();
    for _ in 0..2 {
        nb.tick(NOW, true, IMMEDIATE);
        assert_eq!(nb.status, Status::Starting);
    }
    nb.tick(NOW, true, IMMEDIATE);
    assert_eq!(nb.status, Status::Running);
}

#[test]
fn forcing_a_status_drops_any_pending_step() {
    let mut nb = notebook(Status::Stopped);
    nb.start(None, None, Progression::AfterDuration { millis: 1000 }, NOW)
        .unwrap();
    nb.force_status(Status::Error, NOW);
    nb.tick(NOW + 5000, true, IMMEDIATE);
    assert_eq!(nb.status, Status::Error);
    assert!(nb.fail_reason.is_some());
}

#[test]
fn a_delete_on_a_failing_backend_ends_in_delete_failed_and_can_be_asked_again() {
    let mut nb = notebook(Status::Stopped);
    nb.delete_fails = true;
    nb.delete(IMMEDIATE, NOW).unwrap();
    assert_eq!(nb.status, Status::Deleting);
    assert_eq!(nb.tick(NOW, true, IMMEDIATE), Tick::Alive);
    assert_eq!(nb.status, Status::DeleteFailed);
    nb.delete_fails = false;
    nb.delete(IMMEDIATE, NOW).unwrap();
    assert_eq!(nb.tick(NOW, true, IMMEDIATE), Tick::Gone);
}
