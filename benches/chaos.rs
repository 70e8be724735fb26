//! Chaos benchmark (issue 9, item 11): the chaos test at size, one run per seed, against both
//! emulators as processes and `modelarts-operator run` as a process that is SIGKILLed.
//!
//! ```text
//! cargo build --release -p kube-emulator -p modelarts-emulator --bins
//! cargo bench --bench chaos -- --objects 500 --kills 8 --seed 1 --seed 2 --seed 3 --seed 4 --seed 5
//! ```
//! Exits non-zero when any run reports a duplicate, leak, wrong deletion, unconverged object
//! or panic. Figures: `benches/README.md`.
#[path = "chaos/mod.rs"]
mod chaos;

use chaos::{SEED_TOKEN, Settings, Setup, harness::Emulator};
use clap::Parser;
use std::{path::PathBuf, time::Duration};

fn release_dir() -> PathBuf {
    // `cargo bench` builds the operator into the same directory the emulators are built in.
    PathBuf::from(env!("CARGO_BIN_EXE_modelarts-operator"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

#[derive(Parser, Debug)]
#[command(about = "Chaos benchmark: churn, faults and operator SIGKILLs; the cloud counted")]
struct Args {
    #[arg(long, default_value_t = 500)]
    objects: usize,
    #[arg(long, default_value_t = 8)]
    kills: u32,
    /// One run per seed (repeat the flag).
    #[arg(long = "seed", default_values_t = [1u64])]
    seeds: Vec<u64>,
    #[arg(long, default_value_t = 180)]
    churn_seconds: u64,
    #[arg(long, default_value_t = 600)]
    converge_seconds: u64,
    #[arg(long, default_value_t = 600)]
    delete_seconds: u64,
    /// Seeded same-name resources per kind; default: one per 25 objects of a kind.
    #[arg(long)]
    seeds_per_kind: Option<usize>,
    #[arg(long, default_value_t = 16)]
    concurrency: u16,
    #[arg(long, default_value_os_t = release_dir().join("kube-emulator"))]
    kube_emulator: PathBuf,
    /// The operator binary (a copy keeps a long run independent of later builds).
    #[arg(long, default_value_os_t = PathBuf::from(env!("CARGO_BIN_EXE_modelarts-operator")))]
    operator: PathBuf,
    #[arg(long, default_value_os_t = release_dir().join("modelarts-emulator"))]
    modelarts_emulator: PathBuf,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let mut failed = Vec::new();
    for &seed in &args.seeds {
        println!(
            "chaos bench: {} objects, {} kills, seed {seed}; load average at start {}",
            args.objects,
            args.kills,
            load()
        );
        let dir = std::env::temp_dir().join(format!("chaos-bench-{}-{seed}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let kubeconfig = dir.join("kubeconfig");
        let kube = Emulator::spawn(
            &args.kube_emulator,
            &[
                "--listen",
                "127.0.0.1:0",
                "--kubeconfig",
                kubeconfig.to_str().unwrap_or_default(),
            ],
        )
        .await?;
        let cloud = Emulator::spawn(
            &args.modelarts_emulator,
            &["--listen", "127.0.0.1:0", "--auth-token", SEED_TOKEN],
        )
        .await?;
        let setup = Setup {
            kube_url: kube.url.clone(),
            kubeconfig,
            cloud_url: cloud.url.trim_end_matches('/').to_string(),
            operator: args.operator.clone(),
            dir: dir.clone(),
        };
        let settings = Settings {
            objects: args.objects,
            kills: args.kills,
            seed,
            churn: Duration::from_secs(args.churn_seconds),
            converge: Duration::from_secs(args.converge_seconds),
            delete: Duration::from_secs(args.delete_seconds),
            seeds_per_kind: args.seeds_per_kind.unwrap_or((args.objects / 4 / 25).max(1)),
            fault_gap_ms: (100, 500),
            concurrency: args.concurrency,
        };
        let report = chaos::run(&setup, &settings).await?;
        report.print();
        println!(
            "  load average at the end {}; operator log {}",
            load(),
            dir.join("operator.log").display()
        );
        if !report.passed() {
            failed.push(seed);
        }
        drop((kube, cloud));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("seeds {failed:?} reported non-zero numbers"))
    }
}
