use super::*;

const NOW: i64 = 1_800_000_000_000;
const IMMEDIATE: Progression = Progression::Immediate;

fn spec(flavor: &str, count: i64) -> ResourceSpec {
    ResourceSpec {
        flavor: flavor.into(),
        count,
        max_count: count,
        azs: None,
        extra: Default::default(),
    }
}

fn pool(phase: Phase, resources: Vec<ResourceSpec>) -> Pool {
    let mut p = Pool {
        seq: 1,
        name: "pool-test".into(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        pool_type: "Dedicate".into(),
        scope: vec!["Train".into()],
        resources,
        network: None,
        job_flavors: vec![],
        driver: None,
        phase,
        pending: None,
        message: String::new(),
        nodes: vec![],
        node_seq: 0,
        tags: BTreeMap::new(),
        created_at: NOW,
        deleted_at: None,
        hidden_reads: 0,
        change: None,
    };
    p.reconcile_nodes(IMMEDIATE, NOW, "cn-north-4");
    p.tick(NOW, false);
    p
}

const GPU: &str = "modelarts.vm.gpu.tnt004";
const CPU: &str = "modelarts.vm.cpu.16u64g.d";

#[test]
fn scaling_out_adds_creating_nodes_that_become_available() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 1)]);
    assert_eq!(p.counts(NodePhase::Available), vec![(GPU.to_string(), 1)]);
    p.resources = vec![spec(GPU, 3)];
    p.reconcile_nodes(IMMEDIATE, NOW, "cn-north-4");
    assert_eq!(p.counts(NodePhase::Creating), vec![(GPU.to_string(), 2)]);
    p.tick(NOW, true);
    assert_eq!(p.counts(NodePhase::Available), vec![(GPU.to_string(), 3)]);
    assert!(p.counts(NodePhase::Creating).is_empty());
}

#[test]
fn scaling_in_moves_the_newest_nodes_to_deleting_and_then_removes_them() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 3)]);
    let oldest = p.nodes[0].name.clone();
    p.resources = vec![spec(GPU, 1)];
    p.reconcile_nodes(IMMEDIATE, NOW, "cn-north-4");
    assert_eq!(p.counts(NodePhase::Deleting), vec![(GPU.to_string(), 2)]);
    p.tick(NOW, true);
    assert_eq!(p.nodes.len(), 1);
    assert_eq!(p.nodes[0].name, oldest, "the oldest node stays");
}

#[test]
fn a_flavor_left_out_of_resources_scales_to_zero() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 1), spec(CPU, 2)]);
    p.resources = vec![spec(GPU, 1)];
    p.reconcile_nodes(IMMEDIATE, NOW, "cn-north-4");
    assert_eq!(p.counts(NodePhase::Deleting), vec![(CPU.to_string(), 2)]);
}

#[test]
fn only_a_running_pool_can_be_changed() {
    for (phase, ok) in [
        (Phase::Running, true),
        (Phase::Creating, false),
        (Phase::Abnormal, false),
        (Phase::Deleting, false),
    ] {
        let got = pool(phase, vec![spec(GPU, 1)]).require_running("update");
        assert_eq!(got.is_ok(), ok, "{phase:?}");
        if let Err(e) = got {
            assert_eq!(e.code, "ModelArts.50015002");
        }
    }
}

#[test]
fn delete_is_allowed_from_running_abnormal_and_error_and_ends_gone() {
    for phase in [Phase::Running, Phase::Abnormal, Phase::Error] {
        let mut p = pool(phase, vec![spec(GPU, 1)]);
        p.delete(IMMEDIATE, NOW).unwrap();
        assert_eq!(p.phase, Phase::Deleting);
        assert!(p.deleted_at.is_some());
        assert_eq!(p.tick(NOW, true), Tick::Gone, "{phase:?}");
    }
    let err = pool(Phase::Creating, vec![spec(GPU, 1)])
        .delete(IMMEDIATE, NOW)
        .unwrap_err();
    assert_eq!(err.code, "ModelArts.50015002");
}

#[test]
fn a_yearly_monthly_pool_cannot_be_deleted_through_the_api() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 1)]);
    p.annotations
        .insert("os.modelarts/billing.mode".into(), "1".into());
    assert!(
        p.delete(IMMEDIATE, NOW)
            .unwrap_err()
            .message
            .contains("yearly/monthly")
    );
    assert_eq!(p.phase, Phase::Running);
}

#[test]
fn batch_delete_removes_named_nodes_lowers_the_count_and_keeps_one_node() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 3)]);
    let names: Vec<String> = p.nodes.iter().map(|n| n.name.clone()).collect();
    let e = p.delete_nodes(&names, IMMEDIATE, NOW).unwrap_err();
    assert!(e.message.contains("at least one node"), "{}", e.message);
    let e = p.delete_nodes(&["nope".to_string()], IMMEDIATE, NOW).unwrap_err();
    assert!(e.message.contains("'deleteNodeNames[0]'"));
    p.delete_nodes(&names[..2], IMMEDIATE, NOW).unwrap();
    assert_eq!(p.resources[0].count, 1, "the spec follows the deletion");
    assert_eq!(p.resources[0].max_count, 1);
    p.tick(NOW, true);
    assert_eq!(p.nodes.len(), 1);
    let creating = pool(Phase::Creating, vec![spec(GPU, 2)]);
    let mut creating = creating;
    assert!(
        creating.delete_nodes(&names[..1], IMMEDIATE, NOW).is_err(),
        "pool must be running"
    );
}

#[test]
fn phases_round_trip_through_their_wire_names() {
    for p in [
        Phase::Creating,
        Phase::Running,
        Phase::Abnormal,
        Phase::Deleting,
        Phase::Error,
    ] {
        assert_eq!(Phase::parse(p.as_str()), Some(p));
    }
}

#[test]
fn a_scope_change_shows_enabling_and_disabling_until_it_completes() {
    let mut p = pool(Phase::Running, vec![spec(GPU, 1)]);
    p.change = Some(SpecChange {
        previous_scope: p.scope.clone(),
        driver_upgrading: false,
        pending: Pending::new((), Progression::AfterReads { reads: 1 }, NOW),
    });
    p.scope = vec!["Infer".into()];
    assert_eq!(
        p.scope_states(),
        vec![
            ("Infer".to_string(), "Enabling"),
            ("Train".to_string(), "Disabling")
        ]
    );
    p.tick(NOW, true);
    assert!(p.change.is_some(), "one read sees the change in flight");
    p.tick(NOW, true);
    assert_eq!(p.scope_states(), vec![("Infer".to_string(), "Enabled")]);
}
