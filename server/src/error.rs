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
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Database(_)
        | StoreError::Postgres(_)
        | StoreError::Migration(_)
        | StoreError::Task(_)
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

/// The largest request body taken, in bytes; larger ones answer 413 `request.too_large`.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request's body as text: the one way a handler takes a body, read off the async workers by the
/// engine's own reader when it is big. Its refusals are API errors like any other, each with a path
/// (`""`, the whole body): 413 `request.too_large` past the body limit, 400 `input.malformed_json` for
/// bytes that are not UTF-8, and the status axum gives for a body that could not be read, as
/// `request.unreadable_body`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body(pub String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes =
            <axum::body::Bytes as axum::extract::FromRequest<S>>::from_request(request, state)
                .await
                .map_err(|rejection| {
                    let status = rejection.status();
                    if status == StatusCode::PAYLOAD_TOO_LARGE {
                        Self::too_large()
                    } else {
                        ApiError::new(status, "request.unreadable_body", rejection.body_text())
                            .at("")
                    }
                })?;
        String::from_utf8(bytes.into()).map(Self).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.malformed_json",
                "the body is not UTF-8",
            )
            .at("")
        })
    }
}

impl Body {
    fn too_large() -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_large",
            format!("the body is over {MAX_BODY_BYTES} bytes"),
        )
        .at("")
    }
}

/// A request's query, read by serde: a refusal is 400 `input.invalid_query` naming the query, like
/// every other error of the API (axum's own answers in plain text).
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Query<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        <axum::extract::Query<T> as axum::extract::FromRequestParts<S>>::from_request_parts(
            parts, state,
        )
        .await
        .map(|axum::extract::Query(query)| Self(query))
        .map_err(|rejection| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "input.invalid_query",
                rejection.body_text(),
            )
            .at("query")
        })
    }
}
