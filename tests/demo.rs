//! The README's first command works: `modelarts-operator demo` brings every managed example to
//! Ready on the stand-ins and exits cleanly when asked to.
use std::process::Command;

#[test]
fn the_demo_brings_every_managed_example_to_ready() {
    let dir = std::env::temp_dir().join(format!("modelarts-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    let output = Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
        .args([
            "demo",
            "--exit-when-ready",
            "--transition-millis",
            "200",
            "--timeout-seconds",
            "120",
        ])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .output()
        .expect("demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("managed examples are Ready"), "{stdout}");
    assert!(
        stdout.contains("Notebook     ml-team/research-notebook"),
        "{stdout}"
    );
    let config = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written");
    assert!(config.contains("server: http://127.0.0.1:"), "{config}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_demo_embeds_every_example_in_deploy_examples() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("examples directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = modelarts_operator::runtime::demo::EXAMPLES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "add new example files to runtime::demo::EXAMPLES"
    );
}
