//! Credentials for calling ModelArts, and the shared handle that lets a rotated Secret take
//! effect without restarting the operator.

use std::fmt;
use std::sync::{Arc, RwLock};

/// How a request proves who it comes from.
///
/// `Debug` is written by hand so that a secret key, security token or IAM token can never reach a
/// log line through `{:?}`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Permanent AK/SK, or temporary (STS) AK/SK when `security_token` is set. Requests are signed
    /// with SDK-HMAC-SHA256; the security token travels as the signed header `X-Security-Token`.
    AkSk {
        access_key: String,
        secret_key: String,
        security_token: Option<String>,
    },
    /// An IAM user token, sent unsigned as `X-Auth-Token`.
    Token(String),
}

impl Credentials {
    /// Permanent AK/SK.
    pub fn ak_sk(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Temporary AK/SK with the security token STS issued alongside them.
    pub fn temporary(
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
        security_token: impl Into<String>,
    ) -> Self {
        Credentials::AkSk {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: Some(security_token.into()),
        }
    }

    /// An IAM token (`X-Auth-Token`).
    pub fn token(token: impl Into<String>) -> Self {
        Credentials::Token(token.into())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::AkSk {
                access_key,
                security_token,
                ..
            } => f
                .debug_struct("AkSk")
                // The AK is an identifier, not a secret; showing it helps tell scopes apart.
                .field("access_key", access_key)
                .field("secret_key", &"<redacted>")
                .field("security_token", &security_token.as_ref().map(|_| "<redacted>"))
                .finish(),
            Credentials::Token(_) => f.debug_tuple("Token").field(&"<redacted>").finish(),
        }
    }
}

/// A cheaply cloneable, swappable holder of [`Credentials`].
///
/// Every request reads the current value just before signing, so [`SharedCredentials::replace`]
/// (called when the credentials Secret changes) affects the next request of every client that
/// holds a clone of this handle, without rebuilding the clients.
#[derive(Clone)]
pub struct SharedCredentials(Arc<RwLock<Credentials>>);

impl SharedCredentials {
    pub fn new(credentials: Credentials) -> Self {
        SharedCredentials(Arc::new(RwLock::new(credentials)))
    }

    /// A copy of the current credentials.
    pub fn current(&self) -> Credentials {
        // A poisoned lock only means a writer panicked mid-replace; the value is still a whole
        // `Credentials` (assignment is the only write), so reading it is sound.
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Swap in new credentials; in-flight requests finish with the old ones.
    pub fn replace(&self, credentials: Credentials) {
        match self.0.write() {
            Ok(mut guard) => *guard = credentials,
            Err(poisoned) => *poisoned.into_inner() = credentials,
        }
    }
}

impl fmt::Debug for SharedCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedCredentials").field(&self.current()).finish()
    }
}

impl From<Credentials> for SharedCredentials {
    fn from(credentials: Credentials) -> Self {
        SharedCredentials::new(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_secrets() {
        let cases = [
            Credentials::ak_sk("AKID", "super-secret-sk"),
            Credentials::temporary("AKID", "super-secret-sk", "sts-token-value"),
            Credentials::token("iam-token-value"),
        ];
        for credentials in cases {
            let shown = format!(
                "{credentials:?} {:?}",
                SharedCredentials::new(credentials.clone())
            );
            for secret in ["super-secret-sk", "sts-token-value", "iam-token-value"] {
                assert!(!shown.contains(secret), "{shown} leaks {secret}");
            }
        }
    }

    #[test]
    fn replaced_credentials_are_seen_by_every_clone() {
        let shared = SharedCredentials::new(Credentials::ak_sk("OLD", "old-sk"));
        let clone = shared.clone();
        shared.replace(Credentials::ak_sk("NEW", "new-sk"));
        assert_eq!(clone.current(), Credentials::ak_sk("NEW", "new-sk"));
    }
}
