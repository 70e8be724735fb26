//! Emulator configuration, shared by `spawn` and the binary's command line.

use std::net::SocketAddr;

use crate::auth::{AuthConfig, Secret};
use crate::quota::QuotaSettings;
use crate::state::Settings;

pub const DEFAULT_REGION: &str = "cn-north-4";
pub const DEFAULT_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
pub const DEFAULT_AK: &str = "AKEXAMPLE";
pub const DEFAULT_SK: &str = "SKEXAMPLE";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub ak: String,
    pub sk: String,
    /// Set for temporary credentials: requests must carry it in `X-Security-Token`.
    pub security_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    pub region: String,
    /// The project clients are expected to use; any other project in a path is an empty,
    /// separate tenant (AK/SK are account-wide, like on Huawei Cloud).
    pub project_id: String,
    pub credentials: Vec<Credential>,
    /// Values accepted in `X-Auth-Token` instead of a signature.
    pub auth_tokens: Vec<String>,
    pub settings: Settings,
    /// Request log capacity (oldest entries are dropped).
    pub request_log_capacity: usize,
    /// Requests per second per project above which the gateway answers 429; `None` = no quota.
    pub quota: Option<QuotaSettings>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            region: DEFAULT_REGION.into(),
            project_id: DEFAULT_PROJECT_ID.into(),
            credentials: vec![Credential {
                ak: DEFAULT_AK.into(),
                sk: DEFAULT_SK.into(),
                security_token: None,
            }],
            auth_tokens: Vec::new(),
            settings: Settings::default(),
            request_log_capacity: 1000,
            quota: None,
        }
    }
}

impl EmulatorConfig {
    pub fn auth(&self) -> AuthConfig {
        AuthConfig {
            keys: self
                .credentials
                .iter()
                .map(|c| {
                    (
                        c.ak.clone(),
                        Secret {
                            sk: c.sk.clone(),
                            security_token: c.security_token.clone(),
                        },
                    )
                })
                .collect(),
            tokens: self.auth_tokens.iter().cloned().collect(),
        }
    }
}
