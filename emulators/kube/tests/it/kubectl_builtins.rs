//! Stock kubectl's typed commands on the built-in kinds: `create deployment/role/serviceaccount`,
//! `set image` (a strategic merge patch), `scale` (the `/scale` subresource), `rollout status`,
//! and `get` with the built-in printer columns.

use crate::kubectl::Cluster;

#[test]
fn kubectl_creates_a_deployment_sets_its_image_scales_it_and_waits_for_the_rollout() {
    let c = Cluster::start();
    c.ok(
        &["create", "deployment", "web", "--image=nginx:1.27", "--port=80"],
        None,
    );
    c.ok(&["rollout", "status", "deployment/web", "--timeout=20s"], None);
    c.ok(&["set", "image", "deployment/web", "nginx=nginx:1.28"], None);
    assert_eq!(
        c.ok(
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}"
            ],
            None
        ),
        "nginx:1.28"
    );
    assert_eq!(
        c.ok(
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.metadata.generation}"
            ],
            None
        ),
        "2"
    );
    c.ok(&["scale", "deployment/web", "--replicas=3"], None);
    c.ok(&["rollout", "status", "deployment/web", "--timeout=20s"], None);
    assert_eq!(
        c.ok(
            &[
                "get",
                "deployment",
                "web",
                "-o",
                "jsonpath={.status.readyReplicas}"
            ],
            None
        ),
        "3"
    );
    c.ok(
        &[
            "wait",
            "--for=condition=Available",
            "deployment/web",
            "--timeout=20s",
        ],
        None,
    );
    let table = c.ok(&["get", "deployment", "web"], None);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["web", "3/3", "3", "3"], "{table}");
    // Two revisions: the original template and the one `set image` made.
    let history = c.ok(&["rollout", "history", "deployment/web"], None);
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let rs = c.ok(&["get", "replicasets", "-o", "name"], None);
    assert_eq!(rs.lines().count(), 2, "{rs}");
}

#[test]
fn kubectl_creates_service_accounts_roles_and_bindings() {
    let c = Cluster::start();
    c.ok(&["create", "serviceaccount", "operator"], None);
    c.ok(
        &[
            "create",
            "role",
            "reader",
            "--verb=get,list,watch",
            "--resource=pods,configmaps",
        ],
        None,
    );
    c.ok(
        &[
            "create",
            "rolebinding",
            "reader",
            "--role=reader",
            "--serviceaccount=default:operator",
        ],
        None,
    );
    c.ok(
        &[
            "create",
            "clusterrole",
            "nodes",
            "--verb=get",
            "--resource=namespaces",
        ],
        None,
    );
    c.ok(
        &[
            "create",
            "clusterrolebinding",
            "nodes",
            "--clusterrole=nodes",
            "--serviceaccount=default:operator",
        ],
        None,
    );
    let wide = c.ok(&["get", "rolebinding", "reader", "-o", "wide"], None);
    assert!(
        wide.contains("Role/reader") && wide.contains("default/operator"),
        "{wide}"
    );
    let sa = c.ok(&["get", "serviceaccounts"], None);
    assert!(sa.contains("default") && sa.contains("operator"), "{sa}");
    // roleRef is immutable: kubectl shows the apiserver's message.
    let out = c.run(
        &[
            "patch",
            "rolebinding",
            "reader",
            "--type=merge",
            "-p",
            r#"{"roleRef":{"name":"other"}}"#,
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot change roleRef"), "{stderr}");
}

#[test]
fn kubectl_get_services_shows_the_allocated_cluster_ip() {
    let c = Cluster::start();
    c.ok(&["create", "service", "clusterip", "web", "--tcp=80:8080"], None);
    let ip = c.ok(
        &["get", "service", "web", "-o", "jsonpath={.spec.clusterIP}"],
        None,
    );
    assert!(ip.starts_with("10."), "{ip}");
    let table = c.ok(&["get", "services"], None);
    assert!(
        table.contains("kubernetes") && table.contains(&ip) && table.contains("80/TCP"),
        "{table}"
    );
}

#[test]
fn kubectl_auth_can_i_answers_for_a_service_account_and_its_token_is_held_to_its_rbac() {
    let c = Cluster::start();
    c.ok(&["create", "serviceaccount", "op"], None);
    c.ok(
        &[
            "create",
            "role",
            "cm-reader",
            "--verb=get,list",
            "--resource=configmaps",
        ],
        None,
    );
    c.ok(
        &[
            "create",
            "rolebinding",
            "cm-reader",
            "--role=cm-reader",
            "--serviceaccount=default:op",
        ],
        None,
    );
    let sa = "--as=system:serviceaccount:default:op";
    assert_eq!(
        c.ok(&["auth", "can-i", "list", "configmaps", sa], None).trim(),
        "yes"
    );
    let out = c.run(&["auth", "can-i", "delete", "configmaps", sa], None);
    assert_eq!(out.status.code(), Some(1), "can-i exits 1 on no");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    let out = c.run(
        &["auth", "can-i", "list", "configmaps", "-n", "kube-system", sa],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    let out = c.run(&["get", "secrets", sa], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:default:op\" cannot list resource \"secrets\" in API group \"\" in the namespace \"default\""),
        "{stderr}"
    );
    // `kubectl create token` mints a TokenRequest token. client-go sends no bearer token to a
    // plain-HTTP server, so kubectl itself cannot use it here; `--as` above is how kubectl acts
    // as the ServiceAccount. kube-rs and the Python client do send it (see tests/it/auth.rs).
    let token = c.ok(&["create", "token", "op"], None);
    assert_eq!(token.trim().split('.').count(), 3, "a JWT: {token}");
    let whoami = c.ok(&["auth", "whoami", sa], None);
    assert!(whoami.contains("system:serviceaccount:default:op"), "{whoami}");
    assert_eq!(
        c.ok(&["auth", "can-i", "create", "deployments"], None).trim(),
        "yes",
        "the admin may do anything"
    );
}
