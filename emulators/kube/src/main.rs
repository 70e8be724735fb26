//! `kube-emulator --listen 127.0.0.1:PORT --kubeconfig PATH`: serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use kube_emulator::{KubeEmulator, Options};

#[derive(Parser)]
#[command(about = "Loopback Kubernetes API server for tests and the demo (not a real cluster)")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write a kubeconfig pointing at this server.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let server = match KubeEmulator::start_with(Options::default(), args.listen).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("kube-emulator: {e}");
            std::process::exit(1);
        }
    };
    if let Some(path) = &args.kubeconfig
        && let Err(e) = server.write_kubeconfig(path)
    {
        eprintln!("kube-emulator: cannot write kubeconfig {}: {e}", path.display());
        std::process::exit(1);
    }
    // One line on stdout so scripts can wait for readiness and learn the port.
    println!("kube-emulator listening on {}", server.url());
    wait_for_signal().await;
    server.shutdown().await;
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            eprintln!("kube-emulator: cannot listen for SIGTERM ({e}); Ctrl-C still works");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
