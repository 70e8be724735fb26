//! `kube-emulator --listen 127.0.0.1:PORT --kubeconfig PATH`: serves until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use kube_emulator::{KubeEmulator, Options};
use tokio::signal::unix::{SignalKind, signal};

/// This server allocates and frees JSON values on every request; jemalloc does that faster than
/// glibc's allocator under the scale bench's load (benches/README, "jemalloc in both binaries").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    // Install the SIGTERM handler before announcing readiness, so a supervisor that signals right
    // after the ready line gets a clean shutdown rather than the default kill.
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
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
    match (term, interrupt) {
        (Ok(mut term), Ok(mut interrupt)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("kube-emulator: cannot listen for SIGTERM/SIGINT ({e}); stop it with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
    server.shutdown().await;
}
