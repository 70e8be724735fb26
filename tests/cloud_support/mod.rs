//! A scripted HTTP/1.1 server on a raw TCP socket: it records every request exactly as received
//! (request line, headers, body bytes) and answers from a queue of canned responses.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelarts_operator::cloud::signer::{self, RequestToSign};
use modelarts_operator::cloud::{ClientConfig, Credentials, ModelArtsClient, RetryPolicy};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// The Python that has the official SDK: `MODELARTS_SDK_PYTHON`, else `.venv/bin/python` at the
/// workspace root (created by `./scripts/test`), else `python3`.
fn sdk_python(root: &Path) -> PathBuf {
    if let Some(explicit) = std::env::var_os("MODELARTS_SDK_PYTHON") {
        return PathBuf::from(explicit);
    }
    let venv = root.join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

/// Run `tests/python/sdk_sign.py [args]` with `input` on stdin and parse its JSON output.
/// Fails (never skips) when the SDK is missing, saying how to get it.
pub fn run_sdk_script(args: &[&str], input: &serde_json::Value) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = sdk_python(root);
    let help = "the official Huawei Cloud Python SDK is needed for this test: run ./scripts/test \
                (it creates .venv), or point MODELARTS_SDK_PYTHON at a Python that has \
                huaweicloudsdkcore and huaweicloudsdkmodelarts";
    let mut child = Command::new(&python)
        .arg(root.join("tests/python/sdk_sign.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {help}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())
        .expect("write the input to the SDK script");
    let output = child.wait_with_output().expect("SDK script finishes");
    assert!(
        output.status.success(),
        "SDK script failed ({}) with {}: {}\n{help}",
        output.status,
        python.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("SDK script prints JSON")
}

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query exactly as on the request line.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    /// Recompute the signature from what arrived, as a server would, and compare.
    pub fn signature_is_valid(&self, access_key: &str, secret_key: &str) -> bool {
        let Some(authorization) = self.header("authorization") else {
            return false;
        };
        let Some(signed) = authorization
            .split(", ")
            .find_map(|part| part.strip_prefix("SignedHeaders="))
        else {
            return false;
        };
        let names: Vec<&str> = signed.split(';').collect();
        let headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(n, _)| names.contains(&n.to_ascii_lowercase().as_str()))
            .cloned()
            .collect();
        let host = self.header("host").unwrap_or_default();
        let Ok(url) = Url::parse(&format!("http://{host}{}", self.target)) else {
            return false;
        };
        let request = RequestToSign {
            method: &self.method,
            url: &url,
            headers: &headers,
            body: &self.body,
        };
        // Date and host come from the headers, so the clock reading is not used.
        let recomputed = signer::sign(
            &request,
            access_key,
            secret_key,
            None,
            jiff::Timestamp::UNIX_EPOCH,
        );
        recomputed
            .headers
            .iter()
            .any(|(n, v)| n == "Authorization" && v == authorization)
    }
}

#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Duration,
}

pub fn reply(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("X-Request-Id".to_owned(), format!("req-{status}"))],
        body: body.to_owned(),
        delay: Duration::ZERO,
    }
}

impl Canned {
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

pub struct Server {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    /// Start a server answering `script` in order; once it runs out it answers 500.
    pub async fn start(script: Vec<Canned>) -> Server {
        let exhausted = reply(
            500,
            r#"{"error_code":"TEST.0000","error_msg":"script exhausted"}"#,
        );
        Server::start_with_fallback(script, exhausted).await
    }

    /// Start a server answering `script` in order, then `fallback` to every further request.
    pub async fn start_with_fallback(script: Vec<Canned>, fallback: Canned) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                let script = script.clone();
                let fallback = fallback.clone();
                tokio::spawn(async move { serve(stream, log, script, fallback).await });
            }
        });
        Server { base, received }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    pub fn client(&self, credentials: Credentials) -> ModelArtsClient {
        let mut config = ClientConfig::new("cn-north-4", PROJECT).with_endpoint(&self.base);
        config.retry = RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        ModelArtsClient::new(config, credentials).expect("client")
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Canned>>>,
    fallback: Canned,
) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    log.lock().expect("lock").push(Received {
        method,
        target,
        headers,
        body,
    });
    let canned = script.lock().expect("lock").pop_front().unwrap_or(fallback);
    tokio::time::sleep(canned.delay).await;
    let mut response = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        canned.status,
        canned.body.len()
    );
    for (name, value) in &canned.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&canned.body);
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
