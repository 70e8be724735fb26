//! The ModelArts client: SDK-HMAC-SHA256 signing, typed calls per resource family, and one
//! classified error type. No Kubernetes types here: the controllers translate between the two
//! worlds. Shares no types with `emulators/modelarts`, so a serialisation mistake cannot hide on
//! both sides.
//!
//! - [`ModelArtsClient`] (`client.rs`): configuration, retries of reads, tracing, metrics hook.
//! - [`notebooks`], [`pools`], [`lite_servers`]: wire types and calls per family.
//! - [`Error`] / [`ErrorKind`] (`error.rs`): what the engine acts on.
//! - [`signer`]: the pure signing function, checked against the official Python SDK.

pub mod client;
pub mod clock;
pub mod credentials;
mod de;
pub mod error;
pub mod gate;
pub mod iam;
pub mod lite_servers;
pub mod notebooks;
pub mod paging;
pub mod pools;
pub mod signer;

pub use client::{
    CONNECT_TIMEOUT, CallObserver, CallOutcome, CallRecord, ClientConfig, HttpPools, ModelArtsClient,
    PatchContentType, RetryPolicy, default_endpoint,
};
pub use credentials::{Credentials, SharedCredentials};
pub use error::{Error, ErrorKind};
pub use notebooks::Tag;
pub use paging::{ListMeta, Page, PageRequest, for_each_page, list_all, list_all_continued};
