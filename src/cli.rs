//! Command line: one subcommand per job the binary does.
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "modelarts-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CustomResourceDefinitions as one multi-document YAML stream
    /// (`modelarts-operator crds | kubectl apply -f -`).
    Crds {
        /// Write one file per kind (`<plural>.yaml`) into this directory instead of printing.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    #[cfg(feature = "demo")]
    /// Run everything locally on stand-ins: Kubernetes and ModelArts emulators, the CRDs, the
    /// examples and the controllers, with a live view (Ctrl-C to stop).
    Demo(crate::runtime::demo::DemoArgs),
    /// Run the controllers against a cluster (kubeconfig or in-cluster) and ModelArts.
    Run(Box<crate::runtime::run::RunArgs>),
    /// Preflight for `run`: cluster connection, CRDs, RBAC, and per region the ModelArts
    /// endpoint, credentials, project ID and clock; exits non-zero when anything fails.
    Check(Box<crate::runtime::check::CheckArgs>),
    /// GET a URL and exit 0 on a 2xx answer (the chart's `helm test`; the image has no shell).
    Probe { url: String },
}

impl Cli {
    pub fn dispatch(self) -> ExitCode {
        match self.command {
            Command::Crds { dir: None } => {
                let docs: Vec<String> = crate::api::crd_files()
                    .into_iter()
                    .map(|(_, yaml)| yaml)
                    .collect();
                print!("{}", docs.concat());
                ExitCode::SUCCESS
            }
            #[cfg(feature = "demo")]
            Command::Demo(args) => block_on(crate::runtime::demo::run(args)),
            Command::Run(args) => block_on(crate::runtime::run::run(*args)),
            Command::Check(args) => block_on(crate::runtime::check::run(*args)),
            Command::Probe { url } => block_on(probe(url)),
            Command::Crds { dir: Some(dir) } => match write_crds(&dir) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("crds: cannot write {}: {err}", dir.display());
                    ExitCode::FAILURE
                }
            },
        }
    }
}

fn write_crds(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, yaml) in crate::api::crd_files() {
        std::fs::write(dir.join(name), yaml)?;
    }
    Ok(())
}

async fn probe(url: String) -> Result<(), String> {
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    println!("{url}: {status} {body}");
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {status}"))
    }
}

/// Runs an async job on a fresh multi-threaded runtime and turns its error into an exit code.
fn block_on(job: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(job) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
