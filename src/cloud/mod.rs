//! PLACEHOLDER on the engine branch only: replaced by the real client when branch cloud-client merges.
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ModelArtsClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    WrongState,
    Invalid,
    Unauthorized,
    Forbidden,
    Throttled,
    Transient,
    QuotaExceeded,
    Conflict,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub message: String,
    pub kind: ErrorKind,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn retry_after(&self) -> Option<Duration> {
        None
    }
    pub fn category(&self) -> &'static str {
        "Placeholder"
    }
}
