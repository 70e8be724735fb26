//! Lite Server calls: dev-servers and hyperinstances (supernodes) under
//! `/v1/{project_id}/dev-servers` (reference section 3).

mod types;

pub use types::*;

use reqwest::Method;
use serde::Serialize;

use super::client::{Call, JSON, JSON_UTF8, ModelArtsClient, Query};
use super::error::Error;
use super::notebooks::{Tag, TagsBody};
use super::paging::{Page, PageRequest, list_all};

fn list_query(filter: &ServerFilter, page: PageRequest) -> Vec<(String, String)> {
    Query::new()
        .opt("owner", filter.owner.as_ref())
        .opt("sort_dir", filter.sort_dir.as_ref())
        .opt("sort_key", filter.sort_key.as_ref())
        .put("limit", page.limit)
        .put("offset", page.offset)
        .pairs()
}

impl ModelArtsClient {
    fn dev_servers(&self, segments: &[&str]) -> String {
        let mut all = vec!["dev-servers"];
        all.extend_from_slice(segments);
        self.path("v1", &all)
    }

    fn hyperinstances(&self, segments: &[&str]) -> String {
        let mut all = vec!["dev-servers", "hyperinstance"];
        all.extend_from_slice(segments);
        self.path("v1", &all)
    }

    async fn server_call<B: Serialize>(
        &self,
        operation: &'static str,
        method: Method,
        path: String,
        content_type: &'static str,
        body: Option<&B>,
    ) -> Result<Server, Error> {
        let mut call = Call::new(operation, method, path, content_type);
        if let Some(body) = body {
            call = call.json_body(body)?;
        }
        self.json(call).await
    }

    /// `POST /v1/{project_id}/dev-servers`. Asynchronous: the server comes back CREATING.
    pub async fn create_server(&self, request: &CreateServerRequest) -> Result<Server, Error> {
        self.server_call(
            "servers.create",
            Method::POST,
            self.dev_servers(&[]),
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `GET /v1/{project_id}/dev-servers/{id}`.
    pub async fn show_server(&self, id: &str) -> Result<Server, Error> {
        self.server_call::<()>("servers.show", Method::GET, self.dev_servers(&[id]), JSON, None)
            .await
    }

    /// One page of `GET /v1/{project_id}/dev-servers` (no name or status filter exists).
    pub async fn list_servers(
        &self,
        filter: &ServerFilter,
        page: PageRequest,
    ) -> Result<Page<Server>, Error> {
        let call = Call::new("servers.list", Method::GET, self.dev_servers(&[]), JSON)
            .query(list_query(filter, page));
        self.json(call).await
    }

    /// Every dev-server, read `page_size` at a time.
    pub async fn list_all_servers(
        &self,
        filter: &ServerFilter,
        page_size: u32,
    ) -> Result<Vec<Server>, Error> {
        list_all(page_size, |page| self.list_servers(filter, page)).await
    }

    /// `PUT /v1/{project_id}/dev-servers/{id}` with `{name}`: the only updatable field.
    pub async fn rename_server(&self, id: &str, name: &str) -> Result<Server, Error> {
        #[derive(Serialize)]
        struct Rename<'a> {
            name: &'a str,
        }
        self.server_call(
            "servers.rename",
            Method::PUT,
            self.dev_servers(&[id]),
            JSON_UTF8,
            Some(&Rename { name }),
        )
        .await
    }

    /// `DELETE /v1/{project_id}/dev-servers/{id}`; `None` for an empty answer.
    pub async fn delete_server(&self, id: &str) -> Result<Option<Server>, Error> {
        let call = Call::new("servers.delete", Method::DELETE, self.dev_servers(&[id]), JSON);
        self.json_opt(call).await
    }

    /// `PUT /v1/{project_id}/dev-servers/{id}/start`, with the optional body.
    pub async fn start_server(
        &self,
        id: &str,
        request: Option<&StartServerRequest>,
    ) -> Result<Server, Error> {
        self.server_call(
            "servers.start",
            Method::PUT,
            self.dev_servers(&[id, "start"]),
            JSON_UTF8,
            request,
        )
        .await
    }

    /// `PUT /v1/{project_id}/dev-servers/{id}/stop`.
    pub async fn stop_server(&self, id: &str) -> Result<Server, Error> {
        self.server_call::<()>(
            "servers.stop",
            Method::PUT,
            self.dev_servers(&[id, "stop"]),
            JSON,
            None,
        )
        .await
    }

    /// `PUT /v1/{project_id}/dev-servers/{id}/reboot`.
    pub async fn reboot_server(&self, id: &str) -> Result<Server, Error> {
        self.server_call::<()>(
            "servers.reboot",
            Method::PUT,
            self.dev_servers(&[id, "reboot"]),
            JSON,
            None,
        )
        .await
    }

    /// `POST /v1/{project_id}/dev-servers/{id}/changeos` (server must be STOPPED; `image_id` required).
    pub async fn change_server_os(&self, id: &str, request: &ServerOsRequest) -> Result<Server, Error> {
        self.server_call(
            "servers.changeos",
            Method::POST,
            self.dev_servers(&[id, "changeos"]),
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `POST /v1/{project_id}/dev-servers/{id}/reinstallos` (server must be STOPPED).
    pub async fn reinstall_server_os(&self, id: &str, request: &ServerOsRequest) -> Result<Server, Error> {
        self.server_call(
            "servers.reinstallos",
            Method::POST,
            self.dev_servers(&[id, "reinstallos"]),
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `GET /v1/{project_id}/dev-servers/hyperinstance/{id}`.
    pub async fn show_hyperinstance(&self, id: &str) -> Result<Hyperinstance, Error> {
        let call = Call::new(
            "hyperinstances.show",
            Method::GET,
            self.hyperinstances(&[id]),
            JSON,
        );
        self.json(call).await
    }

    /// One page of `GET /v1/{project_id}/dev-servers/hyperinstance`.
    pub async fn list_hyperinstances(
        &self,
        filter: &ServerFilter,
        page: PageRequest,
    ) -> Result<Page<Hyperinstance>, Error> {
        let call = Call::new("hyperinstances.list", Method::GET, self.hyperinstances(&[]), JSON)
            .query(list_query(filter, page));
        self.json(call).await
    }

    /// Every hyperinstance, read `page_size` at a time.
    pub async fn list_all_hyperinstances(
        &self,
        filter: &ServerFilter,
        page_size: u32,
    ) -> Result<Vec<Hyperinstance>, Error> {
        list_all(page_size, |page| self.list_hyperinstances(filter, page)).await
    }

    /// A hyperinstance call that answers with the hyperinstance.
    async fn hyperinstance_action(
        &self,
        operation: &'static str,
        method: Method,
        segments: &[&str],
        content_type: &'static str,
        body: Option<&impl Serialize>,
    ) -> Result<Hyperinstance, Error> {
        let mut call = Call::new(operation, method, self.hyperinstances(segments), content_type);
        if let Some(body) = body {
            call = call.json_body(body)?;
        }
        self.json(call).await
    }

    /// `PUT /v1/{project_id}/dev-servers/hyperinstance/{id}/start`.
    pub async fn start_hyperinstance(&self, id: &str) -> Result<Hyperinstance, Error> {
        self.hyperinstance_action(
            "hyperinstances.start",
            Method::PUT,
            &[id, "start"],
            JSON,
            None::<&()>,
        )
        .await
    }

    /// `PUT /v1/{project_id}/dev-servers/hyperinstance/{id}/stop`.
    pub async fn stop_hyperinstance(&self, id: &str) -> Result<Hyperinstance, Error> {
        self.hyperinstance_action(
            "hyperinstances.stop",
            Method::PUT,
            &[id, "stop"],
            JSON,
            None::<&()>,
        )
        .await
    }

    /// `DELETE /v1/{project_id}/dev-servers/hyperinstance/{id}`; `None` for an empty answer.
    pub async fn delete_hyperinstance(&self, id: &str) -> Result<Option<Hyperinstance>, Error> {
        let call = Call::new(
            "hyperinstances.delete",
            Method::DELETE,
            self.hyperinstances(&[id]),
            JSON,
        );
        self.json_opt(call).await
    }

    /// `POST .../hyperinstance/{id}/changeos` (status goes to REIMAGING).
    pub async fn change_hyperinstance_os(
        &self,
        id: &str,
        request: &ServerOsRequest,
    ) -> Result<Hyperinstance, Error> {
        self.hyperinstance_action(
            "hyperinstances.changeos",
            Method::POST,
            &[id, "changeos"],
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `GET /v1/{project_id}/dev-servers/hyperinstance/{id}/tags`.
    pub async fn list_hyperinstance_tags(&self, id: &str) -> Result<Vec<Tag>, Error> {
        let call = Call::new(
            "hyperinstances.tags.show",
            Method::GET,
            self.hyperinstances(&[id, "tags"]),
            JSON,
        );
        let body: TagsBody = self.json(call).await?;
        Ok(body.tags)
    }

    /// `POST .../hyperinstance/{id}/tags/create` (the API errors if a tag already exists).
    pub async fn create_hyperinstance_tags(&self, id: &str, tags: &[Tag]) -> Result<(), Error> {
        let call = Call::new(
            "hyperinstances.tags.create",
            Method::POST,
            self.hyperinstances(&[id, "tags", "create"]),
            JSON,
        )
        .json_body(&TagsBody { tags: tags.to_vec() })?;
        self.empty(call).await
    }

    /// `POST .../hyperinstance/{id}/tags/delete`: a POST, unlike the other tag deletes.
    pub async fn delete_hyperinstance_tags(&self, id: &str, tags: &[Tag]) -> Result<(), Error> {
        let call = Call::new(
            "hyperinstances.tags.delete",
            Method::POST,
            self.hyperinstances(&[id, "tags", "delete"]),
            JSON_UTF8,
        )
        .json_body(&TagsBody { tags: tags.to_vec() })?;
        self.empty(call).await
    }

    /// `POST .../hyperinstance/{id}/live-scale-up` (supernode ACTIVE).
    pub async fn scale_up_hyperinstance(
        &self,
        id: &str,
        request: &ScaleUpRequest,
    ) -> Result<Hyperinstance, Error> {
        self.hyperinstance_action(
            "hyperinstances.scale_up",
            Method::POST,
            &[id, "live-scale-up"],
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `POST .../hyperinstance/{id}/live-scale-down` (supernode ACTIVE).
    pub async fn scale_down_hyperinstance(
        &self,
        id: &str,
        request: &ScaleDownRequest,
    ) -> Result<Hyperinstance, Error> {
        self.hyperinstance_action(
            "hyperinstances.scale_down",
            Method::POST,
            &[id, "live-scale-down"],
            JSON_UTF8,
            Some(request),
        )
        .await
    }

    /// `GET .../hyperinstance/{id}/servers`: the child servers (one page; the SDK has no paging
    /// parameters for it).
    pub async fn list_hyperinstance_servers(&self, id: &str) -> Result<Page<Server>, Error> {
        let call = Call::new(
            "hyperinstances.servers.list",
            Method::GET,
            self.hyperinstances(&[id, "servers"]),
            JSON,
        );
        self.json(call).await
    }
}
