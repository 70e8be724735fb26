//! Validation of Lite Server bodies (reference 3.2, 3.7, 3.8, 3.11).

use serde_json::Value;

use super::catalog;
use crate::errors::{ApiError, ApiResult};
use crate::validate::{Obj, check_len, is_uuid};

pub struct CreateServer {
    pub name: String,
    pub image_id: String,
    pub flavor: String,
    pub server_type: String,
    pub arch: String,
    pub charging_mode: String,
    pub key_pair_name: Option<String>,
    pub vpc_id: String,
    pub subnet_id: String,
    pub count: usize,
    pub root_volume: (i64, String),
    pub data_volumes: Vec<(i64, String)>,
    pub hps_cluster_id: Option<String>,
}

pub fn check_server_name(field: &str, name: &str) -> ApiResult<()> {
    check_len(field, name, 1, 64)?;
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.".contains(*c)))
    {
        return Err(ApiError::invalid(
            field,
            format!("character '{c}' is not allowed ([-_.a-zA-Z0-9])"),
        ));
    }
    Ok(())
}

fn req_uuid(obj: &Obj<'_>, field: &str) -> ApiResult<String> {
    let v = obj.req_str(field)?;
    if !is_uuid(v) {
        return Err(ApiError::invalid(&obj.name(field), "must be a UUID"));
    }
    Ok(v.to_string())
}

/// 8–26 characters, three of upper/lower/digit/special, not the user name (root) or its
/// reverse, and no root/administrator (or reversed) inside.
pub fn check_password(field: &str, pw: &str) -> ApiResult<()> {
    check_len(field, pw, 8, 26)?;
    let special = "!@%-_=+[{}]:,./?";
    if let Some(c) = pw
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || special.contains(*c)))
    {
        return Err(ApiError::invalid(
            field,
            format!("character '{c}' is not allowed"),
        ));
    }
    let classes = [
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| special.contains(c)),
    ];
    if classes.iter().filter(|b| **b).count() < 3 {
        return Err(ApiError::invalid(
            field,
            "needs three of: upper case, lower case, digit, special character",
        ));
    }
    let lower = pw.to_lowercase();
    for word in ["root", "toor", "administrator", "rotartsinimda"] {
        if lower.contains(word) {
            return Err(ApiError::invalid(
                field,
                "must not contain root or administrator (or their reverse)",
            ));
        }
    }
    Ok(())
}

fn check_user_data(field: &str, data: &str) -> ApiResult<()> {
    let valid = data
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=\n\r".contains(c));
    if !valid || (!data.len().is_multiple_of(4) && !data.contains('\n')) {
        return Err(ApiError::invalid(field, "must be base64"));
    }
    if data.len() / 4 * 3 > 32 * 1024 {
        return Err(ApiError::invalid(field, "decoded content must not exceed 32 KB"));
    }
    Ok(())
}

const EVS_TYPES: &[&str] = &["ESSD", "GPSSD", "SAS", "SATA", "SSD"];

pub fn parse_create(body: &Value) -> ApiResult<CreateServer> {
    let root = Obj::root(body)?;
    let name = root.req_str("name")?;
    check_server_name("name", name)?;
    let image_id = req_uuid(&root, "image_id")?;
    let image = catalog::image(&image_id)
        .ok_or_else(|| ApiError::invalid("image_id", format!("image {image_id} does not exist")))?;
    let mut np = String::new();
    let net = root
        .opt_obj("network", &mut np)?
        .ok_or_else(|| ApiError::invalid("network", "is required"))?;
    let vpc_id = req_uuid(&net, "vpc_id")?;
    let subnet_id = req_uuid(&net, "subnet_id")?;
    req_uuid(&net, "security_group_id")?;

    let flavor_name = match (root.opt_str("flavor")?, root.opt_str("resource_flavor")?) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "flavor",
                "give either flavor or resource_flavor, not both",
            ));
        }
        (None, None) => return Err(ApiError::invalid("flavor", "is required (or resource_flavor)")),
        (Some(f), None) | (None, Some(f)) => f,
    };
    let flavor = catalog::flavor(flavor_name)
        .ok_or_else(|| ApiError::invalid("flavor", format!("flavor {flavor_name} does not exist")))?;
    let server_type = root
        .opt_enum("server_type", &["BMS", "ECS", "HPS"])?
        .unwrap_or(flavor.server_type);
    if server_type != flavor.server_type {
        return Err(ApiError::invalid(
            "server_type",
            format!("flavor {flavor_name} is a {} flavor", flavor.server_type),
        ));
    }
    let arch = root.opt_enum("arch", &["X86", "ARM"])?.unwrap_or(flavor.arch);
    if arch != flavor.arch || image.arch != flavor.arch {
        return Err(ApiError::invalid(
            "image_id",
            format!(
                "image {} ({}) does not fit flavor {flavor_name} ({})",
                image.name, image.arch, flavor.arch
            ),
        ));
    }
    if image.server_type != server_type {
        return Err(ApiError::invalid(
            "image_id",
            format!("image {} is for {} servers", image.name, image.server_type),
        ));
    }

    let admin_pass = root.opt_str("admin_pass")?;
    let key_pair = root.opt_str("key_pair_name")?;
    match (admin_pass, key_pair) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "admin_pass",
                "give either admin_pass or key_pair_name, not both",
            ));
        }
        (None, None) => return Err(ApiError::invalid("key_pair_name", "is required (or admin_pass)")),
        (Some(_), None) if server_type == "HPS" => {
            return Err(ApiError::invalid(
                "admin_pass",
                "supernodes (HPS) only accept key_pair_name",
            ));
        }
        (Some(pw), None) => check_password("admin_pass", pw)?,
        (None, Some(k)) => check_len("key_pair_name", k, 1, 64)?,
    }

    let mut cp = String::new();
    let charging_mode = match root.opt_obj("charging_info", &mut cp)? {
        None => "POST_PAID".to_string(),
        Some(ci) => {
            let mode = ci.req_enum("charging_mode", &["COMMON", "POST_PAID", "PRE_PAID"])?;
            if mode == "PRE_PAID" {
                ci.opt_i64("period_num", 1, 11)?
                    .ok_or_else(|| ApiError::invalid(&ci.name("period_num"), "is required for PRE_PAID"))?;
                ci.opt_enum(
                    "period_type",
                    &["ABSOLUTE", "DAY", "HOUR", "MONTH", "WEEK", "YEAR"],
                )?
                .ok_or_else(|| ApiError::invalid(&ci.name("period_type"), "is required for PRE_PAID"))?;
            } else {
                ci.opt_i64("period_num", 1, 11)?;
                ci.opt_enum(
                    "period_type",
                    &["ABSOLUTE", "DAY", "HOUR", "MONTH", "WEEK", "YEAR"],
                )?;
            }
            mode.to_string()
        }
    };
    let count = root.opt_i64("count", 1, 10)?.unwrap_or(1) as usize;
    if server_type == "HPS" && count != 1 {
        return Err(ApiError::invalid(
            "count",
            "is not supported for supernodes (HPS)",
        ));
    }
    let mut rp = String::new();
    let root_volume = match root.opt_obj("root_volume", &mut rp)? {
        None => (100, "SSD".to_string()),
        Some(rv) => (
            rv.opt_i64("size", 100, 1024)?.unwrap_or(100),
            rv.opt_enum("type", EVS_TYPES)?.unwrap_or("SSD").to_string(),
        ),
    };
    let mut dp = String::new();
    let data_volumes = match root.opt_obj("data_volume", &mut dp)? {
        None => vec![],
        Some(dv) => {
            let size = dv
                .opt_i64("size", 100, 32768)?
                .ok_or_else(|| ApiError::invalid(&dv.name("size"), "is required"))?;
            let ty = dv.req_enum("type", EVS_TYPES)?;
            let n = dv
                .opt_i64("count", 1, 8)?
                .ok_or_else(|| ApiError::invalid(&dv.name("count"), "is required"))?;
            vec![(size, ty.to_string()); n as usize]
        }
    };
    if let Some(u) = root.opt_str("user_data")? {
        check_user_data("user_data", u)?;
    }
    let hps_cluster_id = root.opt_str("hps_cluster_id")?;
    match (server_type, hps_cluster_id) {
        ("HPS", None) => {
            return Err(ApiError::invalid(
                "hps_cluster_id",
                "is required for supernodes (HPS)",
            ));
        }
        ("HPS", Some(id)) if !is_uuid(id) => {
            return Err(ApiError::invalid("hps_cluster_id", "must be a UUID"));
        }
        (t, Some(_)) if t != "HPS" => {
            return Err(ApiError::invalid(
                "hps_cluster_id",
                "only applies to supernodes (HPS)",
            ));
        }
        _ => {}
    }
    Ok(CreateServer {
        name: name.to_string(),
        image_id,
        flavor: flavor_name.to_string(),
        server_type: server_type.to_string(),
        arch: arch.to_string(),
        charging_mode,
        key_pair_name: key_pair.map(str::to_string),
        vpc_id,
        subnet_id,
        count,
        root_volume,
        data_volumes,
        hps_cluster_id: hps_cluster_id.map(str::to_string),
    })
}

/// `ServerOsRequest`: `image_id` is required for changeos; HPS servers take no password.
pub fn parse_os(body: &Value, require_image: bool, hps: bool) -> ApiResult<Option<String>> {
    let root = if body.is_null() {
        Obj::empty()
    } else {
        Obj::root(body)?
    };
    let image = root.opt_str("image_id")?;
    if require_image && image.is_none() {
        return Err(ApiError::invalid("image_id", "is required to change the OS"));
    }
    if let Some(i) = image
        && catalog::image(i).is_none()
    {
        return Err(ApiError::invalid("image_id", format!("image {i} does not exist")));
    }
    if let Some(pw) = root.opt_str("admin_pass")? {
        if hps {
            return Err(ApiError::invalid(
                "admin_pass",
                "supernodes (HPS) only accept key_pair_name",
            ));
        }
        check_password("admin_pass", pw)?;
    }
    if let Some(u) = root.opt_str("user_data")? {
        check_user_data("user_data", u)?;
    }
    Ok(image.map(str::to_string))
}

pub struct BatchAction {
    pub action: String,
    pub ids: Vec<String>,
    pub extend_param: Value,
}

pub fn parse_batch(body: &Value) -> ApiResult<BatchAction> {
    let root = Obj::root(body)?;
    let action = root.req_enum(
        "type",
        &["START", "STOP", "REBOOT", "CHANGEOS", "REINSTALLOS", "DELETE"],
    )?;
    let servers = root
        .opt_arr("servers")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("servers", "is required and must not be empty"))?;
    let ids = servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| ApiError::invalid(&format!("servers[{i}].id"), "is required"))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let extend_param = root.raw("extend_param").cloned().unwrap_or(Value::Null);
    if action == "CHANGEOS" && extend_param.get("image_id").is_none() {
        return Err(ApiError::invalid(
            "extend_param.image_id",
            "is required for CHANGEOS",
        ));
    }
    Ok(BatchAction {
        action: action.to_string(),
        ids,
        extend_param,
    })
}

pub fn parse_scale_up(body: &Value) -> ApiResult<(String, String)> {
    let root = Obj::root(body)?;
    let flavor = root.req_str("flavor")?;
    let image = req_uuid(&root, "image_id")?;
    if catalog::image(&image).is_none() {
        return Err(ApiError::invalid(
            "image_id",
            format!("image {image} does not exist"),
        ));
    }
    Ok((flavor.to_string(), image))
}

pub fn parse_scale_down(body: &Value) -> ApiResult<Vec<String>> {
    let root = Obj::root(body)?;
    root.opt_str_list("server_ids")?
        .filter(|ids| !ids.is_empty())
        .ok_or_else(|| ApiError::invalid("server_ids", "is required and must not be empty"))
}
