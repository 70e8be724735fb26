//! `modelarts-emulator` binary: serve the emulated ModelArts API until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use modelarts_emulator::state::Settings;
use modelarts_emulator::{Credential, EmulatorConfig, LeaseRenewal, Progression};

#[derive(Parser, Debug)]
#[command(
    name = "modelarts-emulator",
    about = "Loopback stand-in for the Huawei Cloud ModelArts API (tests and demos only)"
)]
struct Args {
    /// Address to serve on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8089", env = "MODELARTS_EMULATOR_LISTEN")]
    listen: SocketAddr,
    #[arg(long, default_value = modelarts_emulator::DEFAULT_REGION)]
    region: String,
    #[arg(long = "project-id", default_value = modelarts_emulator::DEFAULT_PROJECT_ID)]
    project_id: String,
    /// Access key; repeat together with --sk for several pairs.
    #[arg(long = "ak")]
    ak: Vec<String>,
    /// Secret key matching the --ak at the same position.
    #[arg(long = "sk")]
    sk: Vec<String>,
    /// Temporary credentials AK:SK:SECURITY_TOKEN (repeatable).
    #[arg(long = "temporary-credential")]
    temporary: Vec<String>,
    /// Accept this value in X-Auth-Token (repeatable).
    #[arg(long = "auth-token")]
    auth_token: Vec<String>,
    /// Progression for every family: `immediate`, `reads:N` or `millis:N` (default millis:2000).
    #[arg(long)]
    progression: Option<String>,
    /// JSON file with settings: {"progression": {"notebooks": {"mode": "immediate"}, ...},
    /// "hidden_reads": {"notebooks": 2}, "lease_renewal": "add"|"reset"}.
    #[arg(long = "settings-file")]
    settings_file: Option<PathBuf>,
    /// How a lease renewal changes the auto-stop time.
    #[arg(long = "lease-renewal", value_parser = ["add", "reset"])]
    lease_renewal: Option<String>,
    /// Requests per second per project above which API calls are answered 429 APIGW.0308 with
    /// Retry-After (a token bucket; off by default; also `PUT /_emulator/quota`).
    #[arg(long = "quota-rps")]
    quota_rps: Option<f64>,
    /// Requests a project may save up while idle (default: --quota-rps, one second's worth).
    #[arg(long = "quota-burst", requires = "quota_rps")]
    quota_burst: Option<f64>,
}

fn parse_progression(s: &str) -> Result<Progression, String> {
    match s.split_once(':') {
        None if s == "immediate" => Ok(Progression::Immediate),
        Some(("reads", n)) => n
            .parse()
            .map(|reads| Progression::AfterReads { reads })
            .map_err(|e| format!("{e}")),
        Some(("millis", n)) => n
            .parse()
            .map(|millis| Progression::AfterDuration { millis })
            .map_err(|e| format!("{e}")),
        _ => Err(format!(
            "--progression {s}: expected immediate, reads:N or millis:N"
        )),
    }
}

fn config(args: Args) -> Result<EmulatorConfig, String> {
    let mut cfg = EmulatorConfig {
        listen: args.listen,
        region: args.region,
        project_id: args.project_id,
        ..Default::default()
    };
    if args.ak.len() != args.sk.len() {
        return Err("every --ak needs a matching --sk".into());
    }
    if !args.ak.is_empty() {
        cfg.credentials = args
            .ak
            .into_iter()
            .zip(args.sk)
            .map(|(ak, sk)| Credential {
                ak,
                sk,
                security_token: None,
            })
            .collect();
    }
    for t in args.temporary {
        let mut parts = t.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(ak), Some(sk), Some(tok)) => cfg.credentials.push(Credential {
                ak: ak.into(),
                sk: sk.into(),
                security_token: Some(tok.into()),
            }),
            _ => return Err(format!("--temporary-credential {t}: expected AK:SK:TOKEN")),
        }
    }
    cfg.auth_tokens = args.auth_token;
    if let Some(path) = args.settings_file {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        cfg.settings =
            serde_json::from_str::<Settings>(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(p) = args.progression {
        cfg.settings.progression = modelarts_emulator::ProgressionSettings::all(parse_progression(&p)?);
    }
    if let Some(m) = args.lease_renewal {
        cfg.settings.lease_renewal = if m == "reset" {
            LeaseRenewal::Reset
        } else {
            LeaseRenewal::Add
        };
    }
    if let Some(rps) = args.quota_rps {
        let quota = modelarts_emulator::QuotaSettings {
            rps,
            burst: args.quota_burst,
        };
        quota
            .validate()
            .map_err(|e| format!("--quota-rps/--quota-burst: {e}"))?;
        cfg.quota = Some(quota);
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let cfg = match config(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("modelarts-emulator: {e}");
            std::process::exit(2);
        }
    };
    let (region, project) = (cfg.region.clone(), cfg.project_id.clone());
    let handle = match modelarts_emulator::spawn(cfg).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("modelarts-emulator: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    // The first stdout line is machine-readable: test harnesses wait for it.
    println!(
        "modelarts-emulator listening on {} (region {region}, project {project})",
        handle.base_url()
    );
    wait_for_signal().await;
    handle.shutdown().await;
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
