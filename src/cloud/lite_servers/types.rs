//! Wire types of the v1 dev-server (Lite Server) and hyperinstance (supernode) APIs
//! (snake_case; reference section 3).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cloud::notebooks::Endpoint;

/// `ServerResponse`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Server {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub name: String,
    /// CREATING, RUNNING, STOPPED, ..._FAILED, DELETING, DELETED, ERROR (reference 3.13).
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: String,
    pub flavor: Option<String>,
    pub charging_mode: Option<String>,
    pub order_id: Option<String>,
    pub create_at: Option<i64>,
    pub update_at: Option<i64>,
    pub cloud_server: Option<CloudServer>,
    /// HPS, SPOD or SERVER.
    pub category: Option<String>,
    pub server_hps: Option<ServerHps>,
    pub key_pair_name: Option<String>,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub endpoints: Vec<Endpoint>,
    pub endpoints_response: Option<Value>,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub volumes: Vec<ServerVolume>,
    pub image: Option<ServerImage>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CloudServer {
    pub id: Option<String>,
    /// BMS, ECS or HPS.
    #[serde(rename = "type")]
    pub server_type: Option<String>,
    pub hps_id: Option<String>,
    pub hps_ecs_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerHps {
    pub id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerVolume {
    /// ROOT or DATA.
    #[serde(rename = "type")]
    pub volume_type: Option<String>,
    pub size: Option<i64>,
    pub evs_type: Option<String>,
    pub evs_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ServerImage {
    pub image_id: Option<String>,
    pub name: Option<String>,
    pub arch: Option<String>,
    pub server_type: Option<String>,
    pub status: Option<String>,
}

/// `ServerCreateRequest`. `Debug` hides `admin_pass`.
#[derive(Clone, Default, PartialEq, Serialize)]
pub struct CreateServerRequest {
    pub name: String,
    pub image_id: String,
    pub network: ServerNetwork,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pair_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_info: Option<ChargingInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<DataVolumeRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hps_cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise_project_id: Option<String>,
}

impl fmt::Debug for CreateServerRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateServerRequest")
            .field("name", &self.name)
            .field("image_id", &self.image_id)
            .field("network", &self.network)
            .field("flavor", &self.flavor)
            .field("resource_flavor", &self.resource_flavor)
            .field("server_type", &self.server_type)
            .field("arch", &self.arch)
            .field("availability_zone", &self.availability_zone)
            .field("admin_pass", &self.admin_pass.as_ref().map(|_| "<redacted>"))
            .field("key_pair_name", &self.key_pair_name)
            .field("charging_info", &self.charging_info)
            .field("count", &self.count)
            .field("root_volume", &self.root_volume)
            .field("data_volume", &self.data_volume)
            .field("user_data", &self.user_data.as_ref().map(|_| "<omitted>"))
            .field("hps_cluster_id", &self.hps_cluster_id)
            .field("enterprise_project_id", &self.enterprise_project_id)
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServerNetwork {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roce_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv6_enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyper_cluster: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyper_group: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_address_pairs: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChargingInfo {
    /// COMMON, POST_PAID or PRE_PAID.
    pub charging_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_num: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_auto_pay: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_auto_renew: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RootVolume {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataVolumeRequest {
    pub size: i64,
    #[serde(rename = "type")]
    pub volume_type: String,
    pub count: i64,
}

/// `ServerOsRequest` for changeos / reinstallos. `Debug` hides `admin_pass` and `user_data`.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServerOsRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_pass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pair_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

impl fmt::Debug for ServerOsRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOsRequest")
            .field("admin_pass", &self.admin_pass.as_ref().map(|_| "<redacted>"))
            .field("key_pair_name", &self.key_pair_name)
            .field("image_id", &self.image_id)
            .field("user_data", &self.user_data.as_ref().map(|_| "<omitted>"))
            .finish()
    }
}

/// Optional body of dev-server start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StartServerRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_type: Option<String>,
}

/// Query of the dev-server and hyperinstance lists (paging is passed separately).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFilter {
    /// Admin only.
    pub owner: Option<String>,
    /// ASC (default) or DESC.
    pub sort_dir: Option<String>,
    /// createTime (default) or updateTime.
    pub sort_key: Option<String>,
}

/// `ServerHyperinstanceResponse`: a supernode and its child servers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Hyperinstance {
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub id: String,
    pub name: Option<String>,
    pub hps_id: Option<String>,
    pub hps_cluster_id: Option<String>,
    pub order_id: Option<String>,
    /// PROVISIONING, ACTIVE, ERROR, REIMAGING, TERMINATING, TERMINATED.
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub status: String,
    #[serde(deserialize_with = "crate::cloud::de::nullable")]
    pub servers: Vec<Server>,
    pub create_at: Option<i64>,
    pub update_at: Option<i64>,
}

/// Live scale-up of a supernode (`ServerHyperScaleUpRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScaleUpRequest {
    pub flavor: String,
    pub image_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pair_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<DataVolumeRequest>,
    /// Spelled `userdata` here (not `user_data` as in create), as in the SDK model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userdata: Option<String>,
}

/// Live scale-down of a supernode: `server_ids` are the child servers to remove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScaleDownRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub server_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_flavor: Option<String>,
}
