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
fn the_demo_embeds_exactly_the_files_of_the_examples_kustomization_in_its_order() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples");
    let kustomization: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(format!("{dir}/kustomization.yaml")).expect("kustomization.yaml"),
    )
    .expect("kustomization.yaml parses");
    let listed: Vec<String> = kustomization["resources"]
        .as_sequence()
        .expect("resources list")
        .iter()
        .map(|r| r.as_str().expect("a file name").to_string())
        .collect();
    let embedded: Vec<String> = modelarts_operator::runtime::demo::EXAMPLES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    assert_eq!(
        embedded, listed,
        "runtime::demo::EXAMPLES must embed the files of deploy/examples/kustomization.yaml"
    );
    for (name, text) in modelarts_operator::runtime::demo::EXAMPLES {
        let on_disk = std::fs::read_to_string(format!("{dir}/{name}")).expect("listed file exists");
        assert_eq!(&on_disk, text, "{name} is embedded as it is on disk");
    }
    let mut manifests: Vec<String> = std::fs::read_dir(dir)
        .expect("examples directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    manifests.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        sorted, manifests,
        "every manifest in deploy/examples is listed in its kustomization.yaml"
    );
}
