//! Notebook calls (`/v1/{project_id}/notebooks...`, reference section 1).

mod types;

pub use types::*;

use reqwest::Method;

use super::client::{Call, JSON, JSON_UTF8, ModelArtsClient, Query};
use super::error::Error;
use super::paging::{Page, PageRequest, for_each_page, list_all};

impl NotebookFilter {
    fn query(&self) -> Query {
        let tags = (!self.tags.is_empty()).then(|| {
            self.tags
                .iter()
                .map(|(k, v)| format!("{k}|{v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        Query::new()
            .opt("feature", self.feature.as_ref())
            .opt("name", self.name.as_ref())
            .opt("pool_id", self.pool_id.as_ref())
            .opt("pool_name", self.pool_name.as_ref())
            .opt("owner", self.owner.as_ref())
            .opt("status", self.status.as_ref())
            .opt("workspace_id", self.workspace_id.as_ref())
            .opt("flavor", self.flavor.as_ref())
            .opt("image_id", self.image_id.as_ref())
            .opt("id", self.id.as_ref())
            .opt("billing", self.billing.as_ref())
            .opt("tags", tags)
            .opt("swr_path", self.swr_path.as_ref())
            .opt("description", self.description.as_ref())
            .opt("ip", self.ip.as_ref())
            .opt("username", self.username.as_ref())
            .opt("sort_key", self.sort_key.as_ref())
            .opt("sort_dir", self.sort_dir.as_ref())
    }
}

fn paging(query: Query, page: Option<PageRequest>) -> Vec<(String, String)> {
    match page {
        Some(page) => query.put("offset", page.offset).put("limit", page.limit).pairs(),
        None => query.pairs(),
    }
}

fn workspace(workspace_id: Option<&str>) -> Vec<(String, String)> {
    Query::new().opt("workspace_id", workspace_id).pairs()
}

impl ModelArtsClient {
    /// `POST /v1/{project_id}/notebooks`. Asynchronous: the notebook comes back CREATING.
    pub async fn create_notebook(&self, request: &CreateNotebookRequest) -> Result<Notebook, Error> {
        let call = Call::new(
            "notebooks.create",
            Method::POST,
            self.path("v1", &["notebooks"]),
            JSON_UTF8,
        )
        .json_body(request)?;
        self.json(call).await
    }

    /// `GET /v1/{project_id}/notebooks/{id}`.
    pub async fn show_notebook(&self, id: &str) -> Result<Notebook, Error> {
        let call = Call::new(
            "notebooks.show",
            Method::GET,
            self.path("v1", &["notebooks", id]),
            JSON,
        );
        self.json(call).await
    }

    /// One page of `GET /v1/{project_id}/notebooks`.
    pub async fn list_notebooks(
        &self,
        filter: &NotebookFilter,
        page: PageRequest,
    ) -> Result<Page<Notebook>, Error> {
        let call = Call::new(
            "notebooks.list",
            Method::GET,
            self.path("v1", &["notebooks"]),
            JSON,
        )
        .query(paging(filter.query(), Some(page)));
        self.json(call).await
    }

    /// Every notebook matching `filter`, read `page_size` at a time.
    pub async fn list_all_notebooks(
        &self,
        filter: &NotebookFilter,
        page_size: u32,
    ) -> Result<Vec<Notebook>, Error> {
        list_all(page_size, |page| self.list_notebooks(filter, page)).await
    }

    /// Every notebook matching `filter`, `page_size` at a time, each page handed to `on_page`
    /// as it arrives (nothing collected) until it breaks. Returns whether the listing ended.
    pub async fn for_each_notebook_page(
        &self,
        filter: &NotebookFilter,
        page_size: u32,
        on_page: impl FnMut(Vec<Notebook>) -> std::ops::ControlFlow<()>,
    ) -> Result<bool, Error> {
        for_each_page(page_size, |page| self.list_notebooks(filter, page), on_page).await
    }

    /// `PUT /v1/{project_id}/notebooks/{id}` (a partial update; most fields need STOPPED).
    pub async fn update_notebook(
        &self,
        id: &str,
        request: &UpdateNotebookRequest,
    ) -> Result<Notebook, Error> {
        let call = Call::new(
            "notebooks.update",
            Method::PUT,
            self.path("v1", &["notebooks", id]),
            JSON_UTF8,
        )
        .json_body(request)?;
        self.json(call).await
    }

    /// `DELETE /v1/{project_id}/notebooks/{id}`. Returns the notebook (DELETING) when the server
    /// sends it; `None` for an empty body.
    pub async fn delete_notebook(&self, id: &str) -> Result<Option<Notebook>, Error> {
        let call = Call::new(
            "notebooks.delete",
            Method::DELETE,
            self.path("v1", &["notebooks", id]),
            JSON,
        );
        self.json_opt(call).await
    }

    /// `POST /v1/{project_id}/notebooks/{id}/start[?duration=&type=]`, without a body.
    pub async fn start_notebook(&self, id: &str, options: &StartOptions) -> Result<Notebook, Error> {
        let query = Query::new()
            .opt("duration", options.duration_ms)
            .opt("type", options.auto_stop_type.as_ref())
            .pairs();
        let call = Call::new(
            "notebooks.start",
            Method::POST,
            self.path("v1", &["notebooks", id, "start"]),
            JSON,
        )
        .query(query);
        self.json(call).await
    }

    /// `POST /v1/{project_id}/notebooks/{id}/stop`, without a body.
    pub async fn stop_notebook(&self, id: &str) -> Result<Notebook, Error> {
        let call = Call::new(
            "notebooks.stop",
            Method::POST,
            self.path("v1", &["notebooks", id, "stop"]),
            JSON,
        );
        self.json(call).await
    }

    /// `GET /v1/{project_id}/notebooks/{id}/lease` (RUNNING notebooks only).
    pub async fn show_notebook_lease(&self, id: &str) -> Result<Lease, Error> {
        let call = Call::new(
            "notebooks.lease.show",
            Method::GET,
            self.path("v1", &["notebooks", id, "lease"]),
            JSON,
        );
        self.json(call).await
    }

    /// `PATCH /v1/{project_id}/notebooks/{id}/lease[?duration=]` with a `LeaseReq` body. The
    /// query `duration` wins over the body and forces TIMING.
    pub async fn renew_notebook_lease(
        &self,
        id: &str,
        duration_ms: Option<i64>,
        body: &LeaseRequest,
    ) -> Result<Lease, Error> {
        let call = Call::new(
            "notebooks.lease.renew",
            Method::PATCH,
            self.path("v1", &["notebooks", id, "lease"]),
            JSON,
        )
        .query(Query::new().opt("duration", duration_ms).pairs())
        .json_body(body)?;
        self.json(call).await
    }

    /// `POST /v1/{project_id}/notebooks/{id}/tags/create`; an existing key is overwritten.
    pub async fn create_notebook_tags(
        &self,
        id: &str,
        tags: &[Tag],
        workspace_id: Option<&str>,
    ) -> Result<(), Error> {
        let body = TagsBody { tags: tags.to_vec() };
        let call = Call::new(
            "notebooks.tags.create",
            Method::POST,
            self.path("v1", &["notebooks", id, "tags", "create"]),
            JSON_UTF8,
        )
        .query(workspace(workspace_id))
        .json_body(&body)?;
        self.empty(call).await
    }

    /// `DELETE /v1/{project_id}/notebooks/{id}/tags/delete` with a body; missing tags are ignored.
    pub async fn delete_notebook_tags(
        &self,
        id: &str,
        tags: &[Tag],
        workspace_id: Option<&str>,
    ) -> Result<(), Error> {
        let body = TagsBody { tags: tags.to_vec() };
        let call = Call::new(
            "notebooks.tags.delete",
            Method::DELETE,
            self.path("v1", &["notebooks", id, "tags", "delete"]),
            JSON,
        )
        .query(workspace(workspace_id))
        .json_body(&body)?;
        self.empty(call).await
    }

    /// `POST /v1/{project_id}/notebooks/{id}/storage`: mount OBS/OBSFS/EFS (asynchronous).
    pub async fn mount_notebook_storage(
        &self,
        id: &str,
        request: &StorageMountRequest,
    ) -> Result<DataVolume, Error> {
        let call = Call::new(
            "notebooks.storage.mount",
            Method::POST,
            self.path("v1", &["notebooks", id, "storage"]),
            JSON_UTF8,
        )
        .json_body(request)?;
        self.json(call).await
    }

    /// `GET /v1/{project_id}/notebooks/{id}/storage`.
    pub async fn list_notebook_storage(&self, id: &str) -> Result<Page<DataVolume>, Error> {
        let call = Call::new(
            "notebooks.storage.list",
            Method::GET,
            self.path("v1", &["notebooks", id, "storage"]),
            JSON,
        );
        self.json(call).await
    }

    /// `GET /v1/{project_id}/notebooks/{id}/storage/{storage_id}`.
    pub async fn show_notebook_storage(&self, id: &str, storage_id: &str) -> Result<DataVolume, Error> {
        let call = Call::new(
            "notebooks.storage.show",
            Method::GET,
            self.path("v1", &["notebooks", id, "storage", storage_id]),
            JSON,
        );
        self.json(call).await
    }

    /// `DELETE /v1/{project_id}/notebooks/{id}/storage/{storage_id}` (the data is kept).
    pub async fn unmount_notebook_storage(
        &self,
        id: &str,
        storage_id: &str,
    ) -> Result<Option<DataVolume>, Error> {
        let call = Call::new(
            "notebooks.storage.unmount",
            Method::DELETE,
            self.path("v1", &["notebooks", id, "storage", storage_id]),
            JSON,
        );
        self.json_opt(call).await
    }

    /// `GET /v1/{project_id}/notebooks/flavors`. `page: None` asks for everything (the API's
    /// default limit is unlimited).
    pub async fn list_notebook_flavors(
        &self,
        filter: &FlavorFilter,
        page: Option<PageRequest>,
    ) -> Result<FlavorPage, Error> {
        let query = Query::new()
            .opt("category", filter.category.as_ref())
            .opt("type", filter.flavor_class.as_ref())
            .opt("flavor_type", filter.flavor_type.as_ref())
            .opt("feature", filter.feature.as_ref());
        let call = Call::new(
            "notebooks.flavors.list",
            Method::GET,
            self.path("v1", &["notebooks", "flavors"]),
            JSON,
        )
        .query(paging(query, page));
        self.json(call).await
    }

    /// `GET /v1/{project_id}/notebooks/{id}/flavors`: flavors this notebook can switch to.
    pub async fn list_switchable_notebook_flavors(
        &self,
        id: &str,
        page: Option<PageRequest>,
    ) -> Result<FlavorPage, Error> {
        let call = Call::new(
            "notebooks.flavors.switchable",
            Method::GET,
            self.path("v1", &["notebooks", id, "flavors"]),
            JSON,
        )
        .query(paging(Query::new(), page));
        self.json(call).await
    }

    /// One page of `GET /v1/{project_id}/images` (to resolve an `image_id`).
    pub async fn list_images(&self, filter: &ImageFilter, page: PageRequest) -> Result<Page<Image>, Error> {
        let query = Query::new()
            .opt("name", filter.name.as_ref())
            .opt("name_fuzzy_match", filter.name_fuzzy_match)
            .opt("namespace", filter.namespace.as_ref())
            .opt("service_type", filter.service_type.as_ref())
            .opt("type", filter.image_type.as_ref())
            .opt("workspace_id", filter.workspace_id.as_ref())
            .opt("sort_key", filter.sort_key.as_ref())
            .opt("sort_dir", filter.sort_dir.as_ref());
        let call = Call::new("images.list", Method::GET, self.path("v1", &["images"]), JSON)
            .query(paging(query, Some(page)));
        self.json(call).await
    }
}
