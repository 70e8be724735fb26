//! One chaos run, start to finish; see `mod.rs`.
use super::{
    NS, SEED_TOKEN,
    cluster::{Cluster, Seen},
    count::{self, Tally},
    faults::Faults,
    harness::{self, BenchKind, Cloud, CloudItem, Kube},
    objects::{KINDS, Kind},
    operator::{Operator, supervise},
};
use modelarts_operator::engine::tags::OWNER_TAG;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Mutex;

/// Where the emulators are and what to run.
pub struct Setup {
    pub kube_url: String,
    /// Written for the operator process.
    pub kubeconfig: PathBuf,
    pub cloud_url: String,
    /// The `modelarts-operator` binary.
    pub operator: PathBuf,
    /// The operator's log goes here.
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub objects: usize,
    pub kills: u32,
    pub seed: u64,
    /// How long churn, faults and kills go on.
    pub churn: Duration,
    /// Longest wait for convergence once faults are off, and for deletion.
    pub converge: Duration,
    pub delete: Duration,
    /// Seeded same-name resources per kind (a person's, and for tagged kinds another owner's).
    pub seeds_per_kind: usize,
    /// Pause between two injected faults, in milliseconds (uniform).
    pub fault_gap_ms: (u64, u64),
    /// `--concurrency` of the operator.
    pub concurrency: u16,
}

impl Settings {
    /// The CI size: 16 objects, 3 kills, 40 s of churn (well under 4 minutes in all).
    pub fn ci(seed: u64) -> Settings {
        Settings {
            objects: 16,
            kills: 3,
            seed,
            churn: Duration::from_secs(40),
            converge: Duration::from_secs(60),
            delete: Duration::from_secs(45),
            seeds_per_kind: 1,
            fault_gap_ms: (200, 900),
            concurrency: 8,
        }
    }
}

/// Everything a run measured.
#[derive(Debug)]
pub struct Report {
    pub seed: u64,
    /// Counted once faults were off and the objects had converged (or the wait ran out).
    pub at_convergence: Tally,
    /// Counted after every object was deleted.
    pub after_deletion: Tally,
    pub panics: usize,
    pub panic_lines: Vec<String>,
    /// Objects created in all (re-creations under the same name included).
    pub incarnations: usize,
    /// Create POSTs the cloud saw for the objects (the seeds' own excluded).
    pub creates: BTreeMap<&'static str, u64>,
    pub seeds: usize,
    pub kills: u32,
    pub exits: u32,
    pub injected: BTreeMap<&'static str, u32>,
    pub converged_after: Option<Duration>,
    pub deleted_after: Option<Duration>,
    pub elapsed: Duration,
}

impl Report {
    pub fn duplicates(&self) -> usize {
        self.at_convergence.duplicates
    }
    pub fn leaked(&self) -> usize {
        self.after_deletion.leaked
    }
    pub fn wrongly_deleted(&self) -> usize {
        self.after_deletion.wrongly_deleted + self.after_deletion.touched
    }
    pub fn unconverged(&self) -> usize {
        self.at_convergence.unconverged + self.after_deletion.unconverged
    }

    /// The five numbers, each of which must be 0.
    pub fn numbers(&self) -> [(&'static str, usize); 5] {
        [
            ("duplicates", self.duplicates()),
            ("leaked", self.leaked()),
            ("wrongly deleted", self.wrongly_deleted()),
            ("unconverged", self.unconverged()),
            ("panics", self.panics),
        ]
    }

    pub fn passed(&self) -> bool {
        self.numbers().iter().all(|(_, n)| *n == 0)
    }

    pub fn print(&self) {
        let secs =
            |d: Option<Duration>| d.map_or("timed out".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
        println!(
            "== chaos seed {} ({:.0} s)",
            self.seed,
            self.elapsed.as_secs_f64()
        );
        for (name, n) in self.numbers() {
            println!("  {name:<16} {n}");
        }
        let creates: u64 = self.creates.values().sum();
        println!(
            "  objects created {} (re-creations included), cloud create POSTs {creates} ({:.2} per object) {:?}",
            self.incarnations,
            creates as f64 / self.incarnations.max(1) as f64,
            self.creates
        );
        println!(
            "  at convergence ({}): duplicates {}, leaked {}, unconverged {}; after deletion ({}): leaked {}, not deleted {}, seeds gone {}, seeds touched {} (of {})",
            secs(self.converged_after),
            self.at_convergence.duplicates,
            self.at_convergence.leaked,
            self.at_convergence.unconverged,
            secs(self.deleted_after),
            self.after_deletion.leaked,
            self.after_deletion.unconverged,
            self.after_deletion.wrongly_deleted,
            self.after_deletion.touched,
            self.seeds
        );
        println!(
            "  operator SIGKILLs {}, exits on its own {}",
            self.kills, self.exits
        );
        println!("  faults injected {:?}", self.injected);
        for line in self
            .at_convergence
            .details
            .iter()
            .chain(&self.after_deletion.details)
        {
            println!("    {line}");
        }
        for line in &self.panic_lines {
            println!("    panic: {line}");
        }
    }
}

fn rng_for(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn slots(n: usize) -> Vec<(Kind, String)> {
    (0..n)
        .map(|i| (KINDS[i % KINDS.len()], KINDS[i % KINDS.len()].name(i)))
        .collect()
}

pub async fn run(setup: &Setup, settings: &Settings) -> Result<Report, String> {
    let started = Instant::now();
    let http = reqwest::Client::new();
    let cloud = Cloud::new(setup.cloud_url.clone());
    // Transitions take a moment, as in the real cloud (and unlike `immediate`).
    let resp = http
        .put(format!("{}/_emulator/progression", setup.cloud_url))
        .json(&json!({"mode": "after_duration", "millis": 300}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("progression: {}", resp.status()));
    }
    Kube::connect(&setup.kube_url, BenchKind::Notebook)
        .await?
        .prepare(NS, true)
        .await?;
    let client = kube::Client::try_from(kube::Config::new(
        setup
            .kube_url
            .parse()
            .map_err(|e| format!("{}: {e}", setup.kube_url))?,
    ))
    .map_err(|e| e.to_string())?;
    let cluster = Arc::new(Cluster::new(client, NS));
    let slots = slots(settings.objects);

    let seeds = seed(&http, &cloud, &slots, settings).await?;
    let creates_before = harness::create_calls(&cloud.calls().await?);

    let args: Vec<String> = [
        "--kubeconfig",
        setup.kubeconfig.to_str().unwrap_or_default(),
        "--credentials-secret",
        &format!("{NS}/{}", harness::SECRET),
        "--modelarts-endpoint",
        &setup.cloud_url,
        "--listen",
        "127.0.0.1:0",
        "--poll-seconds",
        "5",
        "--waiting-millis",
        "500",
        // Shorter than the shipped 120 s so an uncertain create resolves within the
        // convergence window; the emulator's eventual consistency hides for a few reads only.
        "--create-grace-seconds",
        "20",
        "--resync-seconds",
        "60",
        "--rate",
        "200",
        "--burst",
        "400",
        "--concurrency",
        &settings.concurrency.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let _ = std::fs::remove_file(setup.dir.join("operator.log"));
    let operator = Arc::new(Mutex::new(Operator::new(
        &setup.operator,
        args,
        setup.dir.join("operator.log"),
    )));
    operator.lock().await.start()?;

    // Churn, faults and kills, all at once, until `churn` is over.
    let end = Instant::now() + settings.churn;
    let incarnations = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, (kind, name)) in slots.iter().enumerate() {
        let (cluster, incarnations) = (cluster.clone(), incarnations.clone());
        let (kind, name, rng) = (*kind, name.clone(), rng_for(settings.seed, i as u64 + 1));
        tasks.push(tokio::spawn(async move {
            churn(&cluster, kind, i, &name, rng, end, &incarnations).await
        }));
    }
    let mut faults = Faults::new(&setup.cloud_url, &setup.kube_url);
    let fault_task = {
        let mut rng = rng_for(settings.seed, 0xFA17);
        let gap = settings.fault_gap_ms;
        tokio::spawn(async move {
            while Instant::now() < end {
                tokio::time::sleep(Duration::from_millis(rng.random_range(gap.0..=gap.1))).await;
                faults.inject(&mut rng).await?;
            }
            Ok::<Faults, String>(faults)
        })
    };
    let kill_task = {
        let operator = operator.clone();
        let mut rng = rng_for(settings.seed, 0x6B11);
        let span = settings.churn.as_millis() as u64;
        let mut at: Vec<u64> = (0..settings.kills)
            .map(|_| rng.random_range(span / 20..span.max(2) * 19 / 20))
            .collect();
        at.sort_unstable();
        let t0 = Instant::now();
        tokio::spawn(async move {
            for ms in at {
                let wait = Duration::from_millis(ms).saturating_sub(t0.elapsed());
                supervise(&operator, wait).await?;
                operator.lock().await.kill().await;
                tokio::time::sleep(Duration::from_millis(rng.random_range(100..=2000))).await;
                operator.lock().await.start()?;
            }
            supervise(&operator, end.saturating_duration_since(Instant::now())).await
        })
    };
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let faults = fault_task.await.map_err(|e| e.to_string())??;
    kill_task.await.map_err(|e| e.to_string())??;

    // Faults off; wait for convergence.
    faults.clear().await?;
    let converge_start = Instant::now();
    let mut converged_after = None;
    let at_convergence = loop {
        supervise(&operator, Duration::from_secs(1)).await?;
        let live = live(&cluster).await?;
        let tally = count::checkpoint(&slots, &live, &cloud.inventory().await?, &seeds);
        if tally.unconverged == 0 && converged_after.is_none() {
            converged_after = Some(converge_start.elapsed());
        }
        // Settled: a few more seconds for late cleanups (the drift poll runs every 5 s).
        let settled =
            converged_after.is_some_and(|at| converge_start.elapsed() > at + Duration::from_secs(6));
        if settled || converge_start.elapsed() > settings.converge {
            break tally;
        }
    };

    // Delete everything; wait until the objects are gone and so are their resources.
    for kind in KINDS {
        for object in cluster.list(kind).await? {
            if object_kind(kind, &object.name) {
                cluster.delete(kind, &object.name).await?;
            }
        }
    }
    let delete_start = Instant::now();
    let mut deleted_after = None;
    let after_deletion = loop {
        supervise(&operator, Duration::from_secs(1)).await?;
        let remaining: Vec<Seen> = live(&cluster).await?.into_values().collect();
        let inventory = cloud.inventory().await?;
        let tally = count::after_deletion(&remaining, &inventory, &seeds);
        if remaining.is_empty() && deleted_after.is_none() {
            deleted_after = Some(delete_start.elapsed());
        }
        let done = remaining.is_empty() && tally.leaked == 0;
        let grace = deleted_after.is_some_and(|at| delete_start.elapsed() > at + Duration::from_secs(10));
        if done || grace || delete_start.elapsed() > settings.delete {
            break tally;
        }
    };
    let creates_after = harness::create_calls(&cloud.calls().await?);
    let mut op = operator.lock().await;
    op.stop().await;
    Ok(Report {
        seed: settings.seed,
        at_convergence,
        after_deletion,
        panics: op.panics(),
        panic_lines: op.panic_lines(5),
        incarnations: incarnations.load(Ordering::Relaxed),
        creates: creates_after
            .iter()
            .map(|(k, v)| (*k, v - creates_before.get(k).copied().unwrap_or(0)))
            .collect(),
        seeds: seeds.len(),
        kills: op.kills,
        exits: op.exits,
        injected: faults.injected.clone(),
        converged_after,
        deleted_after,
        elapsed: started.elapsed(),
    })
}

/// LiteServers of both kinds share one API: each slot's name says which kind it is.
fn object_kind(kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Ecs => name.starts_with("ls-"),
        Kind::Hps => name.starts_with("hps-"),
        _ => true,
    }
}

/// Every object in the cluster, by kind and name.
async fn live(cluster: &Cluster) -> Result<HashMap<(Kind, String), Seen>, String> {
    let mut all = HashMap::new();
    for kind in KINDS {
        for object in cluster.list(kind).await? {
            if object_kind(kind, &object.name) {
                all.insert((kind, object.name.clone()), object);
            }
        }
    }
    Ok(all)
}

/// One object's life: created, patched, deleted (sometimes seconds after its create),
/// re-created under the same name, until the churn ends.
async fn churn(
    cluster: &Cluster,
    kind: Kind,
    i: usize,
    name: &str,
    mut rng: StdRng,
    end: Instant,
    incarnations: &AtomicUsize,
) -> Result<(), String> {
    let manifest = kind.manifest(i, NS);
    let pause = |rng: &mut StdRng, lo: u64, hi: u64| Duration::from_millis(rng.random_range(lo..=hi));
    tokio::time::sleep(pause(&mut rng, 0, 3000)).await;
    let mut live = false;
    let mut round = 0;
    while Instant::now() < end {
        if !live {
            cluster.create(kind, &manifest).await?;
            incarnations.fetch_add(1, Ordering::Relaxed);
            live = true;
            if rng.random_bool(0.25) {
                // Deleted within seconds of its creation.
                tokio::time::sleep(pause(&mut rng, 0, 2000)).await;
                live = !delete_and_wait(cluster, kind, name).await?;
                continue;
            }
        }
        tokio::time::sleep(pause(&mut rng, 1000, 5000)).await;
        if Instant::now() >= end {
            break;
        }
        round += 1;
        if rng.random_bool(0.8) {
            cluster.patch(kind, name, &kind.patch(&mut rng, round)).await?;
        } else {
            live = !delete_and_wait(cluster, kind, name).await?;
            if live {
                // Stuck in deletion under the faults: leave it be.
                return Ok(());
            }
            if rng.random_bool(0.4) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Deletes the object and waits up to 30 s for it to go; true when it went.
async fn delete_and_wait(cluster: &Cluster, kind: Kind, name: &str) -> Result<bool, String> {
    cluster.delete(kind, name).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if cluster.get(kind, name).await?.is_none() {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(false)
}

/// A person's own resources, created before the operator starts, named like objects of the
/// run; and, for kinds with tags, resources another owner's operator tagged as its own.
async fn seed(
    http: &reqwest::Client,
    cloud: &Cloud,
    slots: &[(Kind, String)],
    settings: &Settings,
) -> Result<Vec<CloudItem>, String> {
    let project = modelarts_emulator::DEFAULT_PROJECT_ID;
    let call = |path: &str, body: Value| {
        http.post(format!("{}{}", cloud.base, path.replace("{pid}", project)))
            .header("X-Auth-Token", SEED_TOKEN)
            .json(&body)
            .send()
    };
    let mut planned = Vec::new();
    for kind in KINDS {
        for (_, name) in slots
            .iter()
            .filter(|(k, _)| *k == kind)
            .take(settings.seeds_per_kind)
        {
            planned.push((
                kind,
                name.clone(),
                BTreeMap::from([("team".to_string(), "someone-else".to_string())]),
            ));
            if kind.tagged() {
                let other = uuid::Uuid::new_v4().to_string();
                planned.push((
                    kind,
                    name.clone(),
                    BTreeMap::from([
                        (OWNER_TAG.to_string(), other),
                        ("team".into(), "other-cluster".into()),
                    ]),
                ));
            }
        }
    }
    for (kind, name, tags) in &planned {
        let before: Vec<String> = cloud.inventory().await?.into_iter().map(|i| i.id).collect();
        let (path, body) = kind.seed_create(name);
        let resp = call(path, body).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            let status = resp.status();
            return Err(format!(
                "seed {name}: {status} {}",
                resp.text().await.unwrap_or_default()
            ));
        }
        let id = cloud
            .inventory()
            .await?
            .into_iter()
            .find(|i| i.parent.is_none() && i.kind == kind.cloud_kind() && !before.contains(&i.id))
            .map(|i| i.id)
            .ok_or_else(|| format!("seed {name}: not in the inventory"))?;
        if let Some(path) = kind.seed_tags_path(&id) {
            let tags: Vec<Value> = tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
            let resp = call(&path, json!({"tags": tags}))
                .await
                .map_err(|e| e.to_string())?;
            if !resp.status().is_success() {
                return Err(format!("seed tags {name}: {}", resp.status()));
            }
        }
    }
    // Recorded once settled: that state and those tags must be what they are at the end.
    for _ in 0..100 {
        let items: Vec<CloudItem> = cloud
            .inventory()
            .await?
            .into_iter()
            .filter(|i| i.parent.is_none())
            .collect();
        if items.iter().all(count::steady) {
            return Ok(items);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("the seeded resources did not settle in 20 s".into())
}
