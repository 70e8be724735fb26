use super::*;
use serde_json::json;

#[test]
fn notebook_names_follow_the_documented_pattern() {
    let cases = [
        ("nb-1_x", true, "letters, digits, dash and underscore"),
        ("笔记本1", true, "Chinese characters"),
        ("", false, "empty"),
        ("a b", false, "a space"),
        ("a.b", false, "a dot"),
        (&"x".repeat(129) as &str, false, "129 characters"),
    ];
    for (name, ok, why) in cases {
        assert_eq!(check_notebook_name("name", name).is_ok(), ok, "{why}");
    }
}

#[test]
fn tag_rules_follow_reference_1_11() {
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(256);
    let cases: [(&str, Option<&str>, Option<&str>); 8] = [
        ("env", Some("prod/eu"), None),
        ("a.b:c=d+e-f@g h", Some(""), None),
        (" env", None, Some("tags[0].key")),
        ("_sys_x", None, Some("tags[0].key")),
        ("en/v", None, Some("tags[0].key")),
        (&long_key, None, Some("tags[0].key")),
        ("env", Some(&long_value), Some("tags[0].value")),
        ("env", Some("a#b"), Some("tags[0].value")),
    ];
    for (key, value, bad_field) in cases {
        let got = check_tag("tags[0]", key, value);
        match bad_field {
            None => assert!(got.is_ok(), "{key:?}={value:?} should pass: {got:?}"),
            Some(f) => {
                let e = got.expect_err(key);
                assert_eq!(e.code, "ModelArts.0104");
                assert!(e.message.contains(f), "{} should name {f}", e.message);
            }
        }
    }
}

#[test]
fn tag_bodies_need_a_non_empty_tags_array_of_objects_with_keys() {
    for (body, field) in [
        (json!({}), "'tags'"),
        (json!({"tags": []}), "'tags'"),
        (json!({"tags": ["x"]}), "'tags[0]'"),
        (json!({"tags": [{"value": "v"}]}), "'tags[0].key'"),
    ] {
        let e = parse_tags(&body, false).expect_err("must fail");
        assert!(e.message.contains(field), "{} should name {field}", e.message);
    }
    let e = parse_tags(&json!({"tags": [{"key": "k"}]}), true).expect_err("pool tags need values");
    assert!(e.message.contains("tags[0].value"));
    assert_eq!(
        parse_tags(&json!({"tags": [{"key": "k", "value": "v"}]}), false).unwrap(),
        vec![("k".into(), Some("v".into()))]
    );
}

#[test]
fn query_integers_are_range_checked_and_named() {
    let q = Query::parse(Some("limit=abc&offset=-1&ok=5"));
    assert!(q.int("limit", 0, 10).unwrap_err().message.contains("'limit'"));
    assert!(q.int("offset", 0, 10).unwrap_err().message.contains("'offset'"));
    assert_eq!(q.int("ok", 0, 10).unwrap(), Some(5));
    assert_eq!(q.int("missing", 0, 10).unwrap(), None);
}

#[test]
fn body_fields_report_their_dotted_path() {
    let body = json!({"volume": {"capacity": "big"}});
    let root = Obj::root(&body).unwrap();
    let mut buf = String::new();
    let vol = root.opt_obj("volume", &mut buf).unwrap().unwrap();
    let e = vol.opt_i64("capacity", 5, 4096).unwrap_err();
    assert!(e.message.contains("'volume.capacity'"), "{}", e.message);
    assert!(parse_body(b"{not json").unwrap_err().message.contains("'body'"));
    assert!(parse_body(b"").unwrap_err().message.contains("'body'"));
}
