//! A scripted HTTP/1.1 server on a raw TCP socket: it records every request exactly as received
//! (request line, headers, body bytes) and answers from a queue of canned responses.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelarts_operator::cloud::signer::{self, RequestToSign};
use modelarts_operator::cloud::{ClientConfig, Credentials, ModelArtsClient, RetryPolicy};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";

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
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                let script = script.clone();
                tokio::spawn(async move { serve(stream, log, script).await });
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

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Received>>>, script: Arc<Mutex<VecDeque<Canned>>>) {
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
    let canned = script.lock().expect("lock").pop_front().unwrap_or_else(|| {
        reply(
            500,
            r#"{"error_code":"TEST.0000","error_msg":"script exhausted"}"#,
        )
    });
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
