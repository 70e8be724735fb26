//! The operator binary runs on jemalloc with the options in src/main.rs: jemalloc prints the
//! options it took when asked for its statistics at exit (`stats_print`, given through the
//! environment, which adds to the compiled-in options rather than replacing them).
use std::process::Command;

#[test]
fn the_binary_allocates_with_jemalloc_configured_to_return_memory() {
    let out = Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .expect("the operator binary runs");
    assert!(out.status.success(), "--version exits 0: {out:?}");
    let stats = String::from_utf8_lossy(&out.stderr);
    for option in [
        "opt.background_thread: true",
        "opt.dirty_decay_ms: 1000",
        "opt.muzzy_decay_ms: 0",
        "opt.narenas: 2",
    ] {
        assert!(
            stats.contains(option),
            "jemalloc reports {option:?} at exit; it printed:\n{stats}"
        );
    }
}
