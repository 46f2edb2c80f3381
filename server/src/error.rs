//! The API's one error type: an HTTP status, a stable dotted code, a one-line message and, for input
//! errors, the path of the bad field. Every error of a lower layer becomes one here, and each store
//! error gets its status in [`store_status`], the one place that decides it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::AuthError;
use crate::store::StoreError;
use preflight::InputError;

/// An error answer: a status and a stable code. Its body is
/// `{"error": {"code": "…", "message": "…", "path": "…"?}}`.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) path: Option<String>,
}

impl ApiError {
    /// An error of `status` with `code`.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            path: None,
        }
    }

    /// The same error naming the field it concerns, like `cursor`.
    #[must_use]
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The HTTP status.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The field it concerns, for input errors.
    #[must_use]
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// 404 `not_found`: no such `what` (or another shop's).
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 500 `internal`: a task of the server failed.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body: `{"error": {"code", "message", "path"?}}`.
    pub(crate) fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(path), Some(object)) = (&self.path, error.as_object_mut()) {
            object.insert("path".into(), Value::String(path.clone()));
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string())
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: e.code().into(),
            message: e.to_string(),
            path: Some(e.path),
        }
    }
}

/// The HTTP status of a store error: 400 for what the request got wrong, 404 for a row that is not
/// the shop's, 409 for a conflict with another request, 422 for an idempotency key reused with another
/// request, 500 for the server's own faults.
#[must_use]
pub const fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::InvalidInput { .. } | StoreError::InvalidCursor(_) => StatusCode::BAD_REQUEST,
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::PushStateChanged { .. }
        | StoreError::PushInFlight { .. }
        | StoreError::IdempotencyInProgress(_) => StatusCode::CONFLICT,
        StoreError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
        StoreError::Database(_)
        | StoreError::Pragma { .. }
        | StoreError::SchemaTooNew { .. }
        | StoreError::IllegalTransition { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = store_status(&e);
        if status.is_server_error() {
            tracing::error!(error = %e, code = e.code(), "store");
        }
        let error = Self::new(status, e.code(), e.to_string());
        match e {
            StoreError::InvalidCursor(_) => error.at("cursor"),
            _ => error,
        }
    }
}
