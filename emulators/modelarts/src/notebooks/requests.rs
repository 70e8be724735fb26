//! Validation of notebook request bodies (reference 1.2, 1.5, 1.12). Each rule answers 400
//! ModelArts.0104 naming the field.

use serde_json::Value;

use crate::catalog::{self, NotebookFlavor};
use crate::errors::{ApiError, ApiResult, codes};
use crate::validate::{Obj, check_len, check_notebook_name, is_uuid};

use super::model::{LEASE_MAX_MS, LEASE_MIN_MS, Volume};

pub const EVS_DEFAULT_GB: i64 = 5;
pub const EVS_MAX_GB: i64 = 4096;

#[derive(Debug)]
pub struct CreateRequest {
    pub name: String,
    pub description: String,
    pub image_id: String,
    pub flavor: String,
    pub custom_spec: Option<Value>,
    pub volume: Volume,
    pub workspace_id: String,
    pub feature: String,
    pub pool_id: Option<String>,
    pub endpoints: Vec<Value>,
    pub affinity: Option<Value>,
    pub user_vpc: Option<Value>,
    pub data_volumes: Vec<Value>,
    pub lease_duration: i64,
    pub lease_type: String,
}

fn check_description(field: &str, d: &str) -> ApiResult<()> {
    check_len(field, d, 0, 512)?;
    if d.contains('<') || d.contains('>') {
        return Err(ApiError::invalid(field, "must not contain '<' or '>'"));
    }
    Ok(())
}

fn check_image(field: &str, id: &str) -> ApiResult<&'static catalog::NotebookImage> {
    if !is_uuid(id) {
        return Err(ApiError::invalid(
            field,
            "must be a UUID from GET /v1/{project_id}/images",
        ));
    }
    catalog::notebook_image(id).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            codes::IMAGE_NOT_FOUND,
            format!("Image {id} does not exist"),
        )
    })
}

fn check_flavor(field: &str, id: &str) -> ApiResult<&'static NotebookFlavor> {
    catalog::notebook_flavor(id)
        .ok_or_else(|| ApiError::invalid(field, format!("flavor {id} does not exist")))
}

fn parse_custom_spec(spec: Obj<'_>) -> ApiResult<()> {
    let cpu = spec
        .opt_f64("cpu")?
        .ok_or_else(|| ApiError::invalid(&spec.name("cpu"), "is required"))?;
    if cpu < 0.4 {
        return Err(ApiError::invalid(&spec.name("cpu"), "must be at least 0.4"));
    }
    let mem = spec
        .opt_f64("memory")?
        .ok_or_else(|| ApiError::invalid(&spec.name("memory"), "is required"))?;
    if mem < 513.0 {
        return Err(ApiError::invalid(&spec.name("memory"), "must be at least 513"));
    }
    spec.opt_enum("arch", &["X86_64", "AARCH64"])?;
    let category = spec.opt_enum("category", &["CPU", "GPU"])?;
    if category == Some("GPU") && spec.opt_str("gpu_type")?.is_none() {
        return Err(ApiError::invalid(&spec.name("gpu_type"), "is required for GPU"));
    }
    Ok(())
}

/// `VolumeMountRequest` of the create body.
fn parse_volume(v: Obj<'_>) -> ApiResult<Volume> {
    let category = v.req_enum("category", &["EVS", "OBS", "OBSFS", "EFS"])?;
    let ownership = v.req_enum("ownership", &["MANAGED", "DEDICATED"])?;
    if ownership == "DEDICATED" && category != "EFS" {
        return Err(ApiError::invalid(
            &v.name("ownership"),
            "DEDICATED is only allowed for EFS",
        ));
    }
    let capacity = v.opt_i64("capacity", 1, EVS_MAX_GB)?;
    if capacity.is_some() && category != "EVS" {
        return Err(ApiError::invalid(&v.name("capacity"), "only applies to EVS"));
    }
    let uri = v.opt_str("uri")?;
    if let Some(u) = uri {
        check_len(&v.name("uri"), u, 1, 1024)?;
    }
    if category != "EVS" && ownership == "DEDICATED" && uri.is_none() {
        return Err(ApiError::invalid(
            &v.name("uri"),
            "is required for a DEDICATED volume",
        ));
    }
    let id = v.opt_str("id")?;
    if let Some(id) = id
        && !is_uuid(id)
    {
        return Err(ApiError::invalid(&v.name("id"), "must be a UUID"));
    }
    if let Some(p) = v.opt_str("mount_path")? {
        check_len(&v.name("mount_path"), p, 1, 256)?;
    }
    let dew = v.opt_str("dew_secret_name")?;
    if category == "OBS" && dew.is_none() {
        return Err(ApiError::invalid(
            &v.name("dew_secret_name"),
            "is required for OBS",
        ));
    }
    if let Some(d) = dew {
        check_len(&v.name("dew_secret_name"), d, 1, 64)?;
        if !d
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ApiError::invalid(
                &v.name("dew_secret_name"),
                "only letters, digits, '_' and '-'",
            ));
        }
    }
    Ok(Volume {
        category: category.to_string(),
        ownership: ownership.to_string(),
        capacity: if category == "EVS" {
            Some(capacity.unwrap_or(EVS_DEFAULT_GB))
        } else {
            None
        },
        uri: uri.map(str::to_string),
        id: id.map(str::to_string),
        read_only: v.opt_bool("read_only")?.unwrap_or(false),
        dew_secret_name: dew.map(str::to_string),
    })
}

fn parse_endpoints(root: Obj<'_>) -> ApiResult<Vec<Value>> {
    let Some(arr) = root.opt_arr("endpoints")? else {
        return Ok(vec![]);
    };
    for (i, e) in arr.iter().enumerate() {
        let field = format!("endpoints[{i}].service");
        let svc = e
            .get("service")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid(&field, "is required"))?;
        crate::validate::one_of(&field, svc, &["NOTEBOOK", "SSH"])?;
    }
    Ok(arr.clone())
}

fn check_workspace(field: &str, ws: &str) -> ApiResult<()> {
    let ok =
        ws == "0" || (ws.len() == 32 && ws.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            "must be \"0\" or 32 characters [0-9a-z]",
        ))
    }
}

pub fn parse_create(body: &Value) -> ApiResult<CreateRequest> {
    let root = Obj::root(body)?;
    let name = root.req_str("name")?;
    check_notebook_name("name", name)?;
    let description = root.opt_str("description")?.unwrap_or("");
    check_description("description", description)?;
    let image_id = root.req_str("image_id")?;
    let image = check_image("image_id", image_id)?;

    // Exactly one of flavor and custom_spec.
    let mut spec_path = String::new();
    let custom_spec = root.opt_obj("custom_spec", &mut spec_path)?;
    let flavor = match (root.opt_str("flavor")?, custom_spec) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "flavor",
                "give either flavor or custom_spec, not both",
            ));
        }
        (None, None) => return Err(ApiError::invalid("flavor", "is required (or custom_spec)")),
        (Some(f), None) => {
            let flavor = check_flavor("flavor", f)?;
            if !flavor.fits(image) {
                return Err(ApiError::invalid(
                    "image_id",
                    format!("image {} does not run on flavor {f}", image.name),
                ));
            }
            f.to_string()
        }
        (None, Some(spec)) => {
            parse_custom_spec(spec)?;
            if root.opt_str("pool_id")?.is_none() {
                return Err(ApiError::invalid(
                    "pool_id",
                    "is required with custom_spec (dedicated pools only)",
                ));
            }
            "custom.flavor.spec.code".to_string()
        }
    };

    let mut vol_path = String::new();
    let volume = root
        .opt_obj("volume", &mut vol_path)?
        .ok_or_else(|| ApiError::invalid("volume", "is required"))?;
    let volume = parse_volume(volume)?;

    let workspace_id = root.opt_str("workspace_id")?.unwrap_or("0");
    check_workspace("workspace_id", workspace_id)?;
    let feature = root
        .opt_enum("feature", &["DEFAULT", "NOTEBOOK"])?
        .unwrap_or("NOTEBOOK");

    let mut lease_path = String::new();
    let lease = root.opt_obj("lease", &mut lease_path)?;
    let (mut lease_duration, mut lease_type) = (LEASE_MIN_MS, "TIMING");
    if let Some(l) = lease {
        lease_duration = l
            .opt_i64("duration", LEASE_MIN_MS, LEASE_MAX_MS)?
            .unwrap_or(LEASE_MIN_MS);
        lease_type = l.opt_enum("type", &["TIMING", "IDLE"])?.unwrap_or("TIMING");
    }
    if let Some(d) = root.opt_i64("duration", LEASE_MIN_MS, LEASE_MAX_MS)? {
        lease_duration = d;
    }

    let mut vpc_path = String::new();
    if let Some(vpc) = root.opt_obj("user_vpc", &mut vpc_path)? {
        vpc.req_str("vpc_id")?;
        vpc.req_str("subnet_id")?;
        if vpc.opt_arr("security_group_ids")?.is_none_or(|a| a.is_empty()) {
            return Err(ApiError::invalid(&vpc.name("security_group_ids"), "is required"));
        }
    }
    let data_volumes = root.opt_arr("data_volumes")?.cloned().unwrap_or_default();
    for (i, dv) in data_volumes.iter().enumerate() {
        let field = format!("data_volumes[{i}].category");
        let c = dv
            .get("category")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid(&field, "is required"))?;
        crate::validate::one_of(&field, c, &["EVS", "OBS", "OBSFS", "EFS"])?;
    }

    Ok(CreateRequest {
        name: name.to_string(),
        description: description.to_string(),
        image_id: image_id.to_string(),
        flavor,
        custom_spec: custom_spec.map(|_| body["custom_spec"].clone()),
        volume,
        workspace_id: workspace_id.to_string(),
        feature: feature.to_string(),
        pool_id: root.opt_str("pool_id")?.map(str::to_string),
        endpoints: parse_endpoints(root)?,
        affinity: root.raw("affinity").cloned(),
        user_vpc: root.raw("user_vpc").cloned(),
        data_volumes,
        lease_duration,
        lease_type: lease_type.to_string(),
    })
}

/// The validated fields of a `PUT` (every field optional).
#[derive(Debug, Default)]
pub struct UpdateRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    pub flavor: Option<String>,
    pub image_id: Option<String>,
    pub custom_spec: Option<Value>,
    pub storage_new_size: Option<i64>,
    pub endpoints: Option<Vec<Value>>,
    pub affinity: Option<Value>,
    pub data_volumes: Option<Vec<Value>>,
}

impl UpdateRequest {
    pub fn changes_spec(&self) -> bool {
        self.flavor.is_some() || self.image_id.is_some() || self.custom_spec.is_some()
    }
}

pub fn parse_update(body: &Value) -> ApiResult<UpdateRequest> {
    let root = Obj::root(body)?;
    let name = root.opt_str("name")?;
    if let Some(n) = name {
        check_notebook_name("name", n)?;
    }
    let description = root.opt_str("description")?;
    if let Some(d) = description {
        check_description("description", d)?;
    }
    let flavor = root.opt_str("flavor")?;
    if let Some(f) = flavor {
        check_flavor("flavor", f)?;
    }
    let image_id = root.opt_str("image_id")?;
    if let Some(i) = image_id {
        check_image("image_id", i)?;
    }
    let mut spec_path = String::new();
    let custom_spec = root.opt_obj("custom_spec", &mut spec_path)?;
    if let Some(spec) = custom_spec {
        if flavor.is_some() {
            return Err(ApiError::invalid(
                "flavor",
                "give either flavor or custom_spec, not both",
            ));
        }
        parse_custom_spec(spec)?;
    }
    let endpoints = if root.has("endpoints") {
        Some(parse_endpoints(root)?)
    } else {
        None
    };
    Ok(UpdateRequest {
        name: name.map(str::to_string),
        description: description.map(str::to_string),
        flavor: flavor.map(str::to_string),
        image_id: image_id.map(str::to_string),
        custom_spec: custom_spec.map(|_| body["custom_spec"].clone()),
        storage_new_size: root.opt_i64("storage_new_size", 1, EVS_MAX_GB)?,
        endpoints,
        affinity: root.raw("affinity").cloned(),
        data_volumes: root.opt_arr("data_volumes")?.cloned(),
    })
}

/// `DataVolumesReq` of a dynamic mount.
#[derive(Debug)]
pub struct MountRequest {
    pub category: String,
    pub mount_path: String,
    pub uri: String,
    pub efs_id: Option<String>,
}

pub fn parse_mount(body: &Value) -> ApiResult<MountRequest> {
    let root = Obj::root(body)?;
    let category = root.req_enum("category", &["OBS", "OBSFS", "EFS"])?;
    let mount_path = root.req_str("mount_path")?;
    check_len("mount_path", mount_path, 1, 256)?;
    let sub = mount_path.strip_prefix("/data/").unwrap_or("");
    if sub.trim_matches('/').is_empty() {
        return Err(ApiError::invalid(
            "mount_path",
            "must be a sub-directory of /data/",
        ));
    }
    let uri = root.req_str("uri")?;
    check_len("uri", uri, 1, 256)?;
    let efs_id = root.opt_str("efs_id")?;
    if category == "EFS" {
        match efs_id {
            None => return Err(ApiError::invalid("efs_id", "is required for EFS")),
            Some(id) if !is_uuid(id) => return Err(ApiError::invalid("efs_id", "must be a UUID")),
            _ => {}
        }
    }
    if category != "EFS" && !uri.starts_with("obs://") {
        return Err(ApiError::invalid(
            "uri",
            "must be an obs:// URI for OBS and OBSFS",
        ));
    }
    Ok(MountRequest {
        category: category.to_string(),
        mount_path: mount_path.to_string(),
        uri: uri.to_string(),
        efs_id: efs_id.map(str::to_string),
    })
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
