//! `modelarts-operator run` as a child process: started, SIGKILLed and restarted by the run,
//! restarted after it exits on its own (as a kubelet would), its output kept in one log file.
//! The scale bench runs it this way too, so its memory figures are the operator process's alone.
use std::{
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

pub struct Operator {
    binary: PathBuf,
    args: Vec<String>,
    pub log: PathBuf,
    child: Option<Child>,
    pub starts: u32,
    pub kills: u32,
    /// Exits the run did not cause (e.g. a start that failed on an injected fault).
    pub exits: u32,
    /// RUST_LOG of the child.
    pub log_filter: String,
    /// Extra environment of the child (e.g. static credentials).
    pub envs: Vec<(String, String)>,
    /// A command the binary runs under, e.g. `heaptrack -o FILE`.
    pub wrapper: Vec<String>,
}

impl Operator {
    pub fn new(binary: &Path, args: Vec<String>, log: PathBuf) -> Operator {
        Operator {
            binary: binary.into(),
            args,
            log,
            child: None,
            starts: 0,
            kills: 0,
            exits: 0,
            log_filter: "info,kube=warn,hyper=warn".into(),
            envs: Vec::new(),
            wrapper: Vec::new(),
        }
    }

    /// The process ID of the running binary itself: the child, or under a wrapper the
    /// descendant of the child that runs the binary (found through /proc).
    pub fn pid(&self) -> Option<u32> {
        let child = self.child.as_ref().and_then(Child::id)?;
        if self.wrapper.is_empty() {
            return Some(child);
        }
        let binary = std::fs::canonicalize(&self.binary).ok()?;
        let mut todo = vec![child];
        while let Some(pid) = todo.pop() {
            if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary) {
                return Some(pid);
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"));
            todo.extend(
                children
                    .unwrap_or_default()
                    .split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
        None
    }

    pub fn start(&mut self) -> Result<(), String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut command = match self.wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut c = Command::new(program);
                c.args(wrapper_args).arg(&self.binary);
                c
            }
            None => Command::new(&self.binary),
        };
        let child = command
            .arg("run")
            .args(&self.args)
            .env("RUST_LOG", &self.log_filter)
            .env("RUST_BACKTRACE", "1")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// SIGKILL (tokio's `start_kill`), then reap.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
            self.kills += 1;
        }
    }

    /// Restarts the process if it exited by itself; true when it had.
    pub fn restart_if_exited(&mut self) -> Result<bool, String> {
        let exited = match self.child.as_mut() {
            Some(child) => child.try_wait().map_err(|e| e.to_string())?.is_some(),
            None => false,
        };
        if exited {
            self.exits += 1;
            self.child = None;
            self.start()?;
        }
        Ok(exited)
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGTERM to the binary (behind the wrapper, if any), as a kubelet stops a pod: the
    /// operator finishes in-flight reconciles and exits, then a wrapper such as a heap profiler
    /// writes its data and exits too. SIGKILL to the child after `grace`.
    pub async fn terminate(&mut self, grace: Duration) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Ends the process at the end of the run (not counted as a kill).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Panics the operator printed (`panicked at`), over every start.
    pub fn panics(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|log| log.matches("panicked at").count())
            .unwrap_or(0)
    }

    /// The last `n` log lines that mention a panic, for the report.
    pub fn panic_lines(&self, n: usize) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .map(|log| {
                log.lines()
                    .filter(|l| l.contains("panicked at"))
                    .take(n)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Waits `d`, restarting the operator whenever it exits by itself meanwhile.
pub async fn supervise(op: &tokio::sync::Mutex<Operator>, d: Duration) -> Result<(), String> {
    let end = tokio::time::Instant::now() + d;
    loop {
        op.lock().await.restart_if_exited()?;
        let now = tokio::time::Instant::now();
        if now >= end {
            return Ok(());
        }
        tokio::time::sleep((end - now).min(Duration::from_millis(500))).await;
    }
}
