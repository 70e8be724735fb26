//! The ModelArts client: request signing, typed calls per resource family, and one classified
//! error type. No Kubernetes types here: the controllers translate between the two worlds.

pub mod credentials;
pub mod signer;

pub use credentials::{Credentials, SharedCredentials};
pub mod error;

pub use error::{Error, ErrorKind};
pub mod client;

pub use client::{
    CallObserver, CallOutcome, CallRecord, ClientConfig, ModelArtsClient, PatchContentType, RetryPolicy,
};
pub mod paging;

pub use paging::{ListMeta, Page, PageRequest};
pub mod notebooks;
