//! Tolerant reading of response shapes from the reference: unknown fields ignored, missing
//! fields defaulted, `null` accepted where a list, string or object is expected.

use modelarts_operator::cloud::Page;
use modelarts_operator::cloud::lite_servers::{Hyperinstance, Server};
use modelarts_operator::cloud::notebooks::{FlavorPage, Notebook};
use modelarts_operator::cloud::pools::{ContinuedList, Node, Pool, ResourceFlavor};

#[test]
fn a_notebook_response_from_the_reference_is_read_field_by_field() {
    let body = r#"{
        "id": "nb-1", "name": "nb", "status": "RUNNING", "fail_reason": null,
        "action_progress": [{"step": 1, "status": "COMPLETED", "description": "storage"}],
        "flavor": "modelarts.vm.cpu.2u",
        "image": {"id": "img", "name": "n", "type": "BUILD_IN", "dev_services": ["NOTEBOOK", "SSH"], "tags": null},
        "lease": {"create_at": 1700000000000, "duration": 3600000, "enable": true, "type": "TIMING", "update_at": 1700000000000},
        "pool": {"id": "p", "name": "pn"},
        "endpoints": [{"service": "SSH", "uri": "192.168.0.1:22", "key_pair_names": null}],
        "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5, "mount_path": "/home/ma-user/work/"},
        "data_volumes": null,
        "user_vpc": {"vpc_id": "v", "connect_cidrs": "10.0.0.0/8"},
        "tags": [{"key": "owner", "value": "uid"}],
        "a_field_from_next_year": {"nested": [1, 2]}
    }"#;
    let notebook: Notebook = serde_json::from_str(body).expect("notebook parses");
    assert_eq!(notebook.status, "RUNNING");
    assert_eq!(notebook.lease.and_then(|l| l.duration), Some(3_600_000));
    assert_eq!(notebook.image.map(|i| i.id), Some("img".to_string()));
    assert!(notebook.data_volumes.is_empty());
    assert!(notebook.endpoints[0].key_pair_names.is_empty());
    assert_eq!(notebook.volume.and_then(|v| v.capacity), Some(5));
    assert_eq!(notebook.tags[0].value.as_deref(), Some("uid"));
}

#[test]
fn minimal_and_null_filled_objects_of_every_family_parse() {
    // (type, body)
    let cases: &[(&str, &str)] = &[
        ("Notebook", r#"{"id":"x"}"#),
        (
            "Notebook",
            r#"{"id":null,"name":null,"status":null,"tags":null,"endpoints":null}"#,
        ),
        ("Pool", r#"{"metadata":null,"spec":null,"status":null}"#),
        (
            "Pool",
            r#"{"metadata":{"name":"p","labels":null},"spec":{"scope":null,"resources":[{"flavor":"f","count":null}]}}"#,
        ),
        (
            "Server",
            r#"{"id":"s","volumes":null,"endpoints":null,"cloud_server":null}"#,
        ),
        ("Hyperinstance", r#"{"id":"h","servers":null,"status":"ACTIVE"}"#),
        ("Node", r#"{"metadata":{"name":"n"},"status":{"resources":null}}"#),
        (
            "ResourceFlavor",
            r#"{"metadata":{"name":"f"},"spec":{"billingModes":null},"status":{"phase":{"cn-north-4a":"normal"}}}"#,
        ),
    ];
    for (kind, body) in cases {
        let parsed = match *kind {
            "Notebook" => serde_json::from_str::<Notebook>(body).map(|_| ()),
            "Pool" => serde_json::from_str::<Pool>(body).map(|_| ()),
            "Server" => serde_json::from_str::<Server>(body).map(|_| ()),
            "Hyperinstance" => serde_json::from_str::<Hyperinstance>(body).map(|_| ()),
            "Node" => serde_json::from_str::<Node>(body).map(|_| ()),
            "ResourceFlavor" => serde_json::from_str::<ResourceFlavor>(body).map(|_| ()),
            other => panic!("unknown kind {other}"),
        };
        assert!(parsed.is_ok(), "{kind} {body}: {parsed:?}");
    }
}

#[test]
fn pages_accept_a_null_data_list_and_missing_counters() {
    let page: Page<Server> = serde_json::from_str(r#"{"data":null}"#).expect("page parses");
    assert!(page.data.is_empty() && page.total.is_none());
    let list: ContinuedList<Node> =
        serde_json::from_str(r#"{"kind":"NodeList","metadata":null,"items":null}"#).expect("list parses");
    assert!(list.items.is_empty() && list.metadata.next().is_none());
}

#[test]
fn notebook_flavor_pages_are_read_from_data_or_flavors() {
    let cases = [
        (r#"{"data":[{"id":"a"}]}"#, "a"),
        (
            r#"{"flavors":[{"id":"b","arch":"x86_64","sold_out":false}]}"#,
            "b",
        ),
    ];
    for (body, id) in cases {
        let page: FlavorPage = serde_json::from_str(body).expect("flavor page parses");
        assert_eq!(page.items()[0].id, id, "{body}");
    }
}

/// The drift snapshot keeps each notebook as its text (`engine::pack`): what it reads back
/// must be the notebook it stored, field for field, however full or empty.
#[test]
fn a_notebook_stored_as_text_reads_back_equal_full_or_empty() {
    use modelarts_operator::engine::pack::{Pack, Packer};
    let full = r#"{
        "id": "nb-1", "name": "nb", "description": "d", "status": "RUNNING", "fail_reason": "f",
        "flavor": "modelarts.vm.cpu.2u", "image": {"id": "img"},
        "lease": {"create_at": 1700000000000, "duration": 3600000, "enable": true, "type": "TIMING", "update_at": 1700000000001},
        "pool": {"id": "p", "name": "pn"}, "url": "https://x", "ip": "10.0.0.1",
        "endpoints": [{"service": "SSH", "dev_service": "SSH", "uri": "192.168.0.1:22", "key_pair_names": ["k"]}, {}],
        "volume": {"capacity": 5},
        "data_volumes": [{"id": "v", "category": "OBS", "mount_path": "/data/a", "uri": "obs://b", "url": "u",
            "status": "MOUNTED", "failure_reason": "r", "efs_id": "e", "mount_type": "DYNAMIC"}],
        "tags": [{"key": "owner", "value": "uid"}, {"key": "bare"}]
    }"#;
    let packer = Packer::default();
    for body in [full, r#"{"id":"x"}"#, r#"{"id":"y","tags":[],"endpoints":[{}]}"#] {
        let notebook: Notebook = serde_json::from_str(body).expect("notebook parses");
        let text = notebook.text().expect("notebooks are kept as text");
        assert_eq!(Notebook::from_text(&text).as_ref(), Some(&notebook), "{body}");
        let stored = packer.pack(&notebook);
        assert_eq!(packer.unpack(&stored).as_ref(), Some(&notebook), "{body}");
        assert!(packer.same(&stored, &packer.pack(&notebook), &notebook));
    }
}
