//! Scale benchmark (issue 5, item 5): N Notebooks applied at once against both emulators and
//! the operator, each a separate process, so the operator's memory is measured alone
//! (`--in-process` runs the operator inside the bench instead).
//!
//! ```text
//! cargo build --release --workspace --bins
//! cargo bench --bench scale -- --notebooks 1000 --quiet-seconds 300
//! ```
//! Every figure is measured; see `benches/README.md` for the figures and how to read them.
#[path = "scale/harness.rs"]
mod harness;
#[path = "scale/kube_writes.rs"]
mod kube_writes;
#[path = "scale/under_test.rs"]
mod under_test;
// Shared with the chaos bench, which uses all of it.
#[allow(dead_code)]
#[path = "chaos/operator.rs"]
mod child;

use clap::Parser;
use futures::{StreamExt, TryStreamExt, stream};
use harness::{BenchKind, Cloud, CloudItem, Emulator, Kube, Readiness, create_calls, rss_kib};
use modelarts_operator::runtime::{credentials::OperatorCredentials, run::RunArgs};
use std::{
    collections::BTreeMap,
    path::PathBuf,
    time::{Duration, Instant},
};
use under_test::{ChildSettings, Memory, UnderTest};

pub const NS: &str = "scale";

#[derive(Parser, Debug)]
#[command(
    about = "Scale benchmark: N Notebooks against kube-emulator and modelarts-emulator (separate processes)",
    after_help = "Operator flags (--concurrency, --rate, --burst, --poll-seconds, --resync-seconds, \
                  --waiting-millis) are those of `modelarts-operator run`, with its defaults; \
                  --kubeconfig, --credentials-secret, --modelarts-endpoint, --listen are set by the bench."
)]
struct Args {
    /// Objects applied at once (`--notebooks` is an alias).
    #[arg(long, alias = "notebooks", default_value_t = 1000)]
    count: usize,
    /// Which kind to apply: notebook, pool or lite-server.
    #[arg(long, value_enum, default_value_t = BenchKind::Notebook)]
    kind: BenchKind,
    /// Quiet period after all are Ready, over which cloud reads at rest are counted.
    #[arg(long, default_value_t = 300)]
    quiet_seconds: u64,
    /// Fraction of notebooks stopped out of band (console stop) after the quiet period.
    #[arg(long, default_value_t = 0.01)]
    drift_fraction: f64,
    /// After the drift phase: stop the operator, start a new one, and count its cloud calls and
    /// Kubernetes writes over this many seconds (0 skips the restart phase).
    #[arg(long, default_value_t = 0)]
    restart_seconds: u64,
    /// Give up waiting for Ready (or for drift to be corrected) after this long.
    #[arg(long, default_value_t = 900)]
    timeout_seconds: u64,
    /// Concurrent Notebook creates sent by the bench (the "kubectl apply").
    #[arg(long, default_value_t = 64)]
    apply_concurrency: usize,
    /// Give the operator static credentials instead of a credentials Secret.
    #[arg(long)]
    static_credentials: bool,
    /// The kube-emulator binary (built with `cargo build --release -p kube-emulator`); default
    /// `$CARGO_TARGET_DIR/release/` or the workspace's `target/release/`.
    #[arg(long, default_value_os_t = release_binary("kube-emulator"))]
    kube_emulator: PathBuf,
    /// The modelarts-emulator binary (built with `cargo build --release -p modelarts-emulator`).
    #[arg(long, default_value_os_t = release_binary("modelarts-emulator"))]
    modelarts_emulator: PathBuf,
    /// Start modelarts-emulator with a quota of this many requests per second for the project
    /// (`--quota-rps`: 429 APIGW.0308 with Retry-After above it); report how much of it the
    /// burst used and how many calls were throttled.
    #[arg(long)]
    cloud_quota_rps: Option<f64>,
    /// The `modelarts-operator` binary run as the operator process (`run` with the operator
    /// flags below); default `$CARGO_TARGET_DIR/release/` or the workspace's `target/release/`.
    #[arg(long, default_value_os_t = release_binary("modelarts-operator"))]
    operator_binary: PathBuf,
    /// Run the operator binary under this command, split at spaces (e.g. `heaptrack -o FILE`);
    /// memory figures are still those of the operator process itself.
    #[arg(long)]
    operator_wrapper: Option<String>,
    /// Run the operator inside the bench process instead (adds the kube writes by kind, but
    /// the RSS then includes the bench's own client).
    #[arg(long)]
    in_process: bool,
    #[command(flatten)]
    operator: RunArgs,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn release_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    target.join("release").join(name)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn memory(m: &Memory) -> String {
    format!("peak (VmHWM) {}, now (VmRSS) {}", mib(m.peak_kib), mib(m.rss_kib))
}

/// Cloud calls by route between two counter snapshots.
fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn print_calls(calls: &BTreeMap<String, u64>, n: usize) {
    let total: u64 = calls.values().sum();
    println!(
        "  cloud API calls: {total} ({:.2} per object)",
        total as f64 / n as f64
    );
    for (route, count) in calls {
        println!("    {count:>8}  {route}");
    }
}

/// Counts the cloud itself (the emulator's inventory, not the operator's status): exactly one
/// resource per object, named like it, and nothing else; an error otherwise.
async fn count_the_cloud(cloud: &Cloud, kind: BenchKind, n: usize) -> Result<usize, String> {
    let mut per_name: BTreeMap<String, usize> = BTreeMap::new();
    for item in cloud.inventory().await? {
        if item.kind == CloudItem::kind_of(kind) && item.parent.is_none() {
            *per_name.entry(item.name).or_default() += 1;
        }
    }
    let total: usize = per_name.values().sum();
    let missing = (0..n).filter(|&i| !per_name.contains_key(&kind.name(i))).count();
    let extra: Vec<(&String, &usize)> = per_name.iter().filter(|(_, c)| **c != 1).collect();
    if total == n && missing == 0 && extra.is_empty() {
        return Ok(total);
    }
    Err(format!(
        "the cloud holds {total} {} for {n} objects: {missing} objects have none, {} names have more than one (first: {:?})",
        kind.plural(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>()
    ))
}

fn print_writes(writes: &BTreeMap<String, u64>, n: usize) {
    let total: u64 = writes.values().sum();
    println!(
        "  kube write requests the server accepted, by the operator, counted by its client (no-op patches included): {total} ({:.2} per object)",
        total as f64 / n as f64
    );
    for (kind, count) in writes {
        println!("    {count:>8}  {kind}");
    }
}

fn reads(calls: &BTreeMap<String, u64>) -> u64 {
    calls
        .iter()
        .filter(|(k, _)| k.starts_with("GET "))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    // Warnings only (RUST_LOG overrides): one info line per update would drown the figures.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let n = args.count;
    let kind = args.kind;
    let timeout = Duration::from_secs(args.timeout_seconds);
    println!(
        "scale bench: {n} {}; load average at start {}",
        kind.plural(),
        load()
    );

    let dir = std::env::temp_dir().join(format!("scale-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let kubeconfig = dir.join("kubeconfig");
    let kube_proc = Emulator::spawn(
        &args.kube_emulator,
        &[
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            kubeconfig.to_str().unwrap_or_default(),
        ],
    )
    .await?;
    let quota = args.cloud_quota_rps.map(|q| q.to_string());
    let mut cloud_args = vec!["--listen", "127.0.0.1:0", "--progression", "immediate"];
    if let Some(q) = &quota {
        cloud_args.extend(["--quota-rps", q.as_str()]);
    }
    let cloud_proc = Emulator::spawn(&args.modelarts_emulator, &cloud_args).await?;
    let kube = Kube::connect(&kube_proc.url, kind).await?;
    let cloud = Cloud::new(cloud_proc.url.clone());
    kube.prepare(NS, !args.static_credentials).await?;

    let mut run_args = args.operator.clone();
    run_args.kubeconfig = Some(kubeconfig.clone());
    run_args.modelarts_endpoint = Some(cloud.base.clone());
    let credentials = if args.static_credentials {
        harness::static_credentials()
    } else {
        run_args.credentials_secret = Some(under_test::secret_flag(NS));
        OperatorCredentials::Secret {
            namespace: NS.into(),
            name: harness::SECRET.into(),
        }
    };
    let child_settings = || {
        (!args.in_process).then(|| ChildSettings {
            binary: &args.operator_binary,
            wrapper: args
                .operator_wrapper
                .as_deref()
                .map(|w| w.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            log: dir.join("operator.log"),
            envs: if args.static_credentials {
                under_test::static_credentials_env()
            } else {
                Vec::new()
            },
        })
    };
    let config = run_args.operator_config(credentials.clone());
    println!(
        "  operator: concurrency {}, rate {}/s burst {}, poll {:?}, resync {:?}, waiting {:?}",
        config.concurrency,
        config.resolver.rate,
        config.resolver.burst,
        config.poll_interval,
        config.engine.resync,
        config.engine.waiting
    );
    let calls0 = cloud.calls().await?;
    let throttled0 = cloud.throttled().await?;
    let rv0 = kube.resource_version().await?;
    let bench_rss = rss_kib();
    let mut operator = match child_settings() {
        Some(settings) => UnderTest::start_child(&run_args, settings)?,
        None => UnderTest::start_in_process(&run_args, credentials.clone(), &kubeconfig).await?,
    };
    println!("  operator: {}", operator.describe());

    // Phase 1: N applied at once, until all are Ready.
    let started = Instant::now();
    stream::iter(0..n)
        .map(|i| kube.create(NS, kind.manifest(i, NS)))
        .buffer_unordered(args.apply_concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    let applied = started.elapsed();
    println!(
        "  applied {n} in {:.1} s (load {})",
        applied.as_secs_f64(),
        load()
    );
    let mut marks = vec![(0.5, None), (0.9, None), (0.99, None)];
    let mut progress = Instant::now();
    let ready = loop {
        let state: Readiness = kube.readiness(NS).await?;
        // A slow run on a loaded machine is told apart from a stuck one.
        if progress.elapsed() >= Duration::from_secs(15) {
            progress = Instant::now();
            println!(
                "  {:.0} s: {} of {n} Ready (load {})",
                started.elapsed().as_secs_f64(),
                state.ready,
                load()
            );
        }
        for (frac, at) in marks.iter_mut() {
            if at.is_none() && state.ready as f64 >= *frac * n as f64 {
                *at = Some(started.elapsed());
            }
        }
        if state.ready == n {
            break started.elapsed();
        }
        if started.elapsed() > timeout {
            return Err(format!("only {} of {n} Ready after {timeout:?}", state.ready));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let calls1 = cloud.calls().await?;
    let throttled1 = cloud.throttled().await? - throttled0;
    let rv1 = kube.resource_version().await?;
    let writes1 = operator.writes();
    let holds = count_the_cloud(&cloud, kind, n).await;
    println!(
        "\n== burst: {n} {} Ready in {:.1} s (load {})",
        kind.plural(),
        ready.as_secs_f64(),
        load()
    );
    for (frac, at) in &marks {
        if let Some(at) = at {
            println!(
                "  {:>3}% Ready at {:.1} s",
                (frac * 100.0) as u32,
                at.as_secs_f64()
            );
        }
    }
    print_calls(&delta(&calls1, &calls0), n);
    if let Some(q) = args.cloud_quota_rps {
        // Admitted = every call the gateway received minus those it answered 429.
        let total: u64 = delta(&calls1, &calls0).values().sum();
        let admitted = total - throttled1;
        let achieved = admitted as f64 / ready.as_secs_f64();
        println!(
            "  cloud quota {q}/s: {admitted} admitted calls in {:.1} s = {achieved:.1}/s = {:.1} % of the quota; {throttled1} of {total} calls throttled ({:.2} %)",
            ready.as_secs_f64(),
            100.0 * achieved / q,
            100.0 * throttled1 as f64 / total.max(1) as f64
        );
        let rates: Vec<String> = operator
            .metrics()
            .await?
            .lines()
            .filter(|l| l.starts_with("modelarts_operator_cloud_request_rate{"))
            .filter_map(|l| l.rsplit(' ').next().map(str::to_string))
            .collect();
        println!(
            "  operator's effective request rate at Ready: {} /s",
            rates.join(", ")
        );
    }
    let creates = create_calls(&delta(&calls1, &calls0))
        .get(CloudItem::kind_of(kind))
        .copied()
        .unwrap_or(0);
    println!(
        "  {creates} cloud create calls = {:.3} creates per object",
        creates as f64 / n as f64
    );
    println!(
        "  cloud holds {} {} for {n} objects, exactly one each",
        holds?,
        kind.plural()
    );
    let writes = rv1 - rv0;
    println!(
        "  kube API writes (resourceVersion delta): {writes}; {} by the bench's creates, {} by the operator ({:.2} per object)",
        n,
        writes.saturating_sub(n as u64),
        writes.saturating_sub(n as u64) as f64 / n as f64
    );
    if let Some(writes1) = &writes1 {
        print_writes(writes1, n);
    }
    let after_burst = operator.memory();
    println!(
        "  operator memory after the burst: {} (bench process before the operator started: {})",
        memory(&after_burst),
        mib(bench_rss)
    );

    // Phase 2: the quiet period. At rest the only cloud reads should be the poller's lists.
    if args.quiet_seconds > 0 {
        let quiet = Duration::from_secs(args.quiet_seconds);
        tokio::time::sleep(quiet).await;
        let calls2 = cloud.calls().await?;
        let rv2 = kube.resource_version().await?;
        let during = delta(&calls2, &calls1);
        let r = reads(&during);
        let hours = quiet.as_secs_f64() / 3600.0;
        println!(
            "\n== quiet {} s (load {}): {r} cloud reads = {:.3} reads per object per hour; kube writes {}",
            args.quiet_seconds,
            load(),
            r as f64 / n as f64 / hours,
            rv2 - rv1
        );
        print_calls(&during, n);
        println!(
            "  operator memory after the quiet period: {}",
            memory(&operator.memory())
        );
    }

    // Phase 3: drift. A console stop of a fraction of the notebooks, noticed only by the poller.
    let k = ((n as f64 * args.drift_fraction).ceil() as usize).clamp(0, n);
    if let Some(step) = n.checked_div(k) {
        let names: Vec<String> = (0..k).map(|j| kind.name(j * step)).collect();
        let ids = kube.cloud_ids(NS, &names).await?;
        let calls3 = cloud.calls().await?;
        let starts = |c: &BTreeMap<String, u64>| c.get(kind.correction_route()).copied().unwrap_or(0);
        let drift_wall = jiff::Timestamp::now();
        let drifted = Instant::now();
        for id in &ids {
            cloud.console_edit(kind, id).await?;
        }
        let (mut first, mut all, mut fixed) = (None, None, None);
        let mut pending: Vec<String> = names.clone();
        while fixed.is_none() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let s = starts(&cloud.calls().await?) - starts(&calls3);
            if first.is_none() && s > 0 {
                first = Some(drifted.elapsed());
            }
            if all.is_none() && s >= k as u64 {
                all = Some(drifted.elapsed());
            }
            pending = kube
                .not_yet_corrected(NS, pending, drift_wall, kind.steady_state())
                .await?;
            if pending.is_empty() && all.is_some() {
                fixed = Some(drifted.elapsed());
            }
            if drifted.elapsed() > timeout {
                return Err(format!(
                    "drift: {} of {k} not corrected after {timeout:?}",
                    pending.len()
                ));
            }
        }
        let secs = |d: Option<Duration>| {
            d.map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or("-".into())
        };
        println!(
            "\n== drift: {k} {} edited in the console (load {})\n  first noticed (correction sent) after {}, all noticed after {}, all Ready and steady again after {}",
            kind.plural(),
            load(),
            secs(first),
            secs(all),
            secs(fixed)
        );
        print_calls(&delta(&cloud.calls().await?, &calls3), n);
        println!(
            "  operator memory after the drift: {}",
            memory(&operator.memory())
        );
    }

    // Phase 4: restart. A new operator with every object Ready should read only list pages and
    // write nothing.
    if args.restart_seconds > 0 {
        let calls4 = cloud.calls().await?;
        let rv4 = kube.resource_version().await?;
        let window = Duration::from_secs(args.restart_seconds);
        operator = operator
            .restart(&run_args, credentials, &kubeconfig, child_settings())
            .await?;
        tokio::time::sleep(window).await;
        let calls5 = cloud.calls().await?;
        let rv5 = kube.resource_version().await?;
        let state: Readiness = kube.readiness(NS).await?;
        println!(
            "\n== restart: a new operator, {} s counted (load {}); {} of {n} Ready after; kube writes (resourceVersion delta) {}",
            args.restart_seconds,
            load(),
            state.ready,
            rv5 - rv4
        );
        print_calls(&delta(&calls5, &calls4), n);
        if let Some(writes) = operator.writes() {
            print_writes(&writes, n);
        }
        if state.ready != n {
            return Err(format!("restart: only {} of {n} Ready", state.ready));
        }
        println!(
            "  cloud holds {} {} for {n} objects after the restart, exactly one each",
            count_the_cloud(&cloud, kind, n).await?,
            kind.plural()
        );
    }

    println!(
        "\n== at the end: the cloud holds {} {} for {n} objects, exactly one each",
        count_the_cloud(&cloud, kind, n).await?,
        kind.plural()
    );
    println!(
        "\n== operator memory at the end: {} (load {})",
        memory(&operator.memory()),
        load()
    );
    operator.shutdown().await;
    drop((kube_proc, cloud_proc));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
