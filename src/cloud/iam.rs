//! The one IAM call the operator makes: the projects of a region (`GET /v3/projects?name=`),
//! signed with the same AK/SK. The SDK makes it to find a region's project ID; `check` makes it
//! to verify a configured one. Build the client on the IAM endpoint ([`default_iam_endpoint`])
//! with an empty project ID: IAM is a global service and gets no `X-Project-Id`.

use reqwest::Method;
use serde::Deserialize;

use super::client::{Call, JSON, ModelArtsClient};
use super::error::Error;

/// `https://iam.{region}.myhuaweicloud.com`, the IAM endpoint of a region.
pub fn default_iam_endpoint(region: &str) -> String {
    format!("https://iam.{region}.myhuaweicloud.com")
}

/// One IAM project (only the fields the operator reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Project {
    pub id: String,
    /// The region ID for a region's main project (e.g. `cn-north-4`), or `{region}_{sub}`.
    pub name: String,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Deserialize)]
struct ProjectList {
    #[serde(default)]
    projects: Vec<Project>,
}

impl ModelArtsClient {
    /// `GET /v3/projects?name={region}` on IAM: the account's projects named after `region`.
    pub async fn iam_projects(&self, region: &str) -> Result<Vec<Project>, Error> {
        let call = Call::new("iam.projects.list", Method::GET, "/v3/projects".into(), JSON)
            .query(vec![("name".into(), region.into())]);
        let list: ProjectList = self.json(call).await?;
        Ok(list.projects)
    }
}
