//! The ModelArts client: request signing, typed calls per resource family, and one classified
//! error type. No Kubernetes types here: the controllers translate between the two worlds.

pub mod credentials;
pub mod signer;

pub use credentials::{Credentials, SharedCredentials};
