//! Save-as-image (reference 1.13): the notebook goes RUNNING → SNAPSHOTTING → RUNNING while
//! the new private image goes CREATING → ACTIVE. Saved images join the project's image list.

use serde_json::{Value, json};

use super::Notebooks;
use super::model::Status;
use crate::catalog;
use crate::errors::{ApiError, ApiResult, codes};
use crate::progression::{Family, Pending, take_due};
use crate::state::Ctx;
use crate::validate::{Obj, check_len};

#[derive(Debug, Clone)]
pub struct SavedImage {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub tag: String,
    pub description: String,
    pub workspace_id: String,
    pub arch: String,
    pub category: String,
    pub status: &'static str,
    pub pending: Option<Pending<&'static str>>,
    pub created_at: i64,
}

pub struct ImageRequest {
    pub name: String,
    pub namespace: String,
    pub tag: String,
    pub description: String,
    pub workspace_id: String,
}

/// `name`: lowercase letters, digits, `-_.`, starting and ending with a letter or digit.
pub fn parse_image_request(body: &Value) -> ApiResult<ImageRequest> {
    let root = Obj::root(body)?;
    let name = root.req_str("name")?;
    check_len("name", name, 1, 128)?;
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        || !edge_ok(name.chars().next())
        || !edge_ok(name.chars().last())
    {
        return Err(ApiError::invalid(
            "name",
            "use lowercase letters, digits and -_., starting and ending with a letter or digit",
        ));
    }
    let namespace = root.req_str("namespace")?;
    check_len("namespace", namespace, 1, 64)?;
    let tag = root.opt_str("tag")?.unwrap_or("latest");
    check_len("tag", tag, 1, 64)?;
    let description = root.opt_str("description")?.unwrap_or("");
    check_len("description", description, 0, 512)?;
    Ok(ImageRequest {
        name: name.to_string(),
        namespace: namespace.to_string(),
        tag: tag.to_string(),
        description: description.to_string(),
        workspace_id: root.opt_str("workspace_id")?.unwrap_or("0").to_string(),
    })
}

impl SavedImage {
    pub fn to_json(&self, region: &str) -> Value {
        json!({
            "id": self.id, "name": self.name, "namespace": self.namespace, "tag": self.tag,
            "swr_path": format!("swr.{region}.myhuaweicloud.com/{}/{}:{}", self.namespace, self.name, self.tag),
            "arch": self.arch, "description": self.description, "size": 0,
            "create_at": self.created_at, "update_at": self.created_at, "type": "DEDICATED", "origin": "IMAGE_SAVE",
            "service_type": "DEV", "dev_services": ["NOTEBOOK", "SSH"],
            "resource_categories": [self.category], "support_res_categories": [self.category],
            "status": self.status, "status_message": "", "visibility": "PRIVATE", "workspace_id": self.workspace_id,
            "tags": [],
        })
    }
}

impl Notebooks {
    pub fn create_image(&mut self, id: &str, req: ImageRequest, ctx: &Ctx<'_>) -> ApiResult<Value> {
        let p = ctx.progression(Family::Notebooks);
        let nb = self.get_mut(id, ctx, false)?;
        if nb.status != Status::Running {
            return Err(ApiError::bad_state(
                codes::NOTEBOOK_BAD_STATE,
                format!(
                    "Cannot save instance {id} as an image in status {}.",
                    nb.status.as_str()
                ),
            ));
        }
        nb.status = Status::Snapshotting;
        nb.pending = Some(Pending::new(Status::Running, p, ctx.now));
        nb.updated_at = ctx.now;
        let base = catalog::notebook_image(&nb.image_id);
        let image = SavedImage {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name,
            namespace: req.namespace,
            tag: req.tag,
            description: req.description,
            workspace_id: req.workspace_id,
            arch: base.map(|b| b.arch).unwrap_or("x86_64").to_string(),
            category: base.map(|b| b.category).unwrap_or("CPU").to_string(),
            status: "CREATING",
            pending: Some(Pending::new("ACTIVE", p, ctx.now)),
            created_at: ctx.now,
        };
        let out = image.to_json(ctx.region);
        self.saved_images.push(image);
        Ok(out)
    }

    /// Saved images of this project, with due CREATING → ACTIVE steps completed.
    pub fn saved_images(&mut self, ctx: &Ctx<'_>) -> Vec<Value> {
        self.saved_images
            .iter_mut()
            .map(|i| {
                if let Some(to) = take_due(&mut i.pending, ctx.now, true) {
                    i.status = to;
                }
                i.to_json(ctx.region)
            })
            .collect()
    }
}
