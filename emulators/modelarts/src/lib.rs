//! `modelarts-emulator`: a loopback stand-in for the Huawei Cloud ModelArts REST API
//! (notebooks, resource pools, Lite Servers), in the spirit of moto and LocalStack.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let emu = modelarts_emulator::spawn(modelarts_emulator::EmulatorConfig::default()).await?;
//! emu.set_all_progression(modelarts_emulator::Progression::Immediate);
//! println!("ModelArts at {}", emu.base_url());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod control;
pub mod errors;
pub mod faults;
pub mod iam;
pub mod notebooks;
pub mod paging;
pub mod pools;
pub mod progression;
pub mod quota;
pub mod server;
pub mod servers;
pub mod state;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;

pub use config::{Credential, DEFAULT_AK, DEFAULT_PROJECT_ID, DEFAULT_REGION, DEFAULT_SK, EmulatorConfig};
pub use control::{Control, Kind};
pub use faults::{FaultAction, FaultRule};
pub use notebooks::model::LeaseRenewal;
pub use progression::{Family, Progression, ProgressionSettings};
pub use quota::QuotaSettings;

/// A running emulator. Dereferences to [`Control`] for the control operations. Dropping the
/// handle stops the accept loop.
pub struct EmulatorHandle {
    addr: SocketAddr,
    control: Control,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the endpoint to give a ModelArts client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// Stop accepting, finish in-flight requests, and wait for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl std::ops::Deref for EmulatorHandle {
    type Target = Control;
    fn deref(&self) -> &Control {
        &self.control
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Bind `config.listen` (port 0 for a free port) and serve in the background.
pub async fn spawn(config: EmulatorConfig) -> std::io::Result<EmulatorHandle> {
    let listener = server::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(state::Shared::new(
        config.region.clone(),
        config.project_id.clone(),
        config.auth(),
        config.settings.clone(),
        config.request_log_capacity.max(1),
        config.quota,
    ));
    let router = server::build_router(shared.clone());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, router, rx));
    Ok(EmulatorHandle {
        addr,
        control: Control { shared },
        shutdown: tx,
        task: Some(task),
    })
}
