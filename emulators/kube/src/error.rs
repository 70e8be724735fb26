//! Errors as the apiserver reports them: a `Status` object with reason, code, message and details.
//! Clients (kube-rs, kubectl) branch on `reason` and `code`, so both must match the real server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::registry::ResourceDef;

/// One field-level cause of an `Invalid` error, as listed in `details.causes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueForbidden`, ...
    pub reason: &'static str,
    /// The full line, e.g. `spec.region: Invalid value: "x": must match ...`; the copy in
    /// `details.causes` drops the `field: ` prefix.
    pub message: String,
    /// Dotted field path, e.g. `spec.region`.
    pub field: String,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{reason} ({code}): {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// The reason doubles as a low-cardinality category for logs and metrics.
    pub fn category(&self) -> &'static str {
        self.reason
    }

    fn with_details(mut self, def: &ResourceDef, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": def.group, "kind": def.plural}));
        self
    }

    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.qualified_plural()),
        )
        .with_details(def, name)
    }

    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.qualified_plural()),
        )
        .with_details(def, name)
    }

    /// The apiserver's exact wording for a stale resourceVersion; kube-rs and kubectl show it as is.
    pub fn conflict(def: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                def.qualified_plural()
            ),
        )
        .with_details(def, name)
    }

    /// 422 Invalid: `Kind.group "name" is invalid: <cause>` or `... is invalid: [<c1>, <c2>]`.
    pub fn invalid(def: &ResourceDef, name: &str, causes: Vec<Cause>) -> Self {
        let qualified_kind = if def.group.is_empty() {
            def.kind.clone()
        } else {
            format!("{}.{}", def.kind, def.group)
        };
        let joined = match causes.as_slice() {
            [one] => one.message.clone(),
            many => format!(
                "[{}]",
                many.iter()
                    .map(|c| c.message.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let causes_json: Vec<Value> = causes
            .iter()
            .map(|c| {
                // kubectl prints `field: message` from each cause, so causes carry the message
                // without the field prefix, as the apiserver's do.
                let prefix = format!("{}: ", if c.field.is_empty() { "<root>" } else { &c.field });
                let bare = c.message.strip_prefix(&prefix).unwrap_or(&c.message);
                json!({"reason": c.reason, "message": bare, "field": c.field})
            })
            .collect();
        Self {
            code: 422,
            reason: "Invalid",
            message: format!("{qualified_kind} \"{name}\" is invalid: {joined}"),
            details: Some(json!({
                "name": name, "group": def.group, "kind": def.kind, "causes": causes_json
            })),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        crate::http::json_response(code, &self.to_status())
    }
}
