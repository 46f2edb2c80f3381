//! The sync API client: a fresh session token before every request, a timeout on each, and any
//! non-2xx answer an error.

use gloo_net::http::{Request, RequestBuilder};
use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::model::{member, string};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not reach the sync API, or its answer did not come back.
    #[error("the sync API could not be reached ({0})")]
    Network(String),
    /// No answer in time (the limit, in milliseconds).
    #[error("the sync API did not answer in time (waited {0} ms)")]
    Timeout(u32),
    /// `getToken` failed or gave no string.
    #[error("no session token: {0}")]
    Token(String),
    /// A non-2xx answer.
    #[error("{message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The error's stable code.
        code: String,
        /// Its message.
        message: String,
        /// The answer's body, for what else it carries (a 422's report).
        body: String,
    },
}

impl ApiError {
    /// The stable code: the API's own for a status, else `network`, `timeout` or `token`.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            Self::Network(_) => "network",
            Self::Timeout(_) => "timeout",
            Self::Token(_) => "token",
            Self::Status { code, .. } => code,
        }
    }

    /// Whether the request may have reached the server without its answer coming back: the same
    /// idempotency key must be used to retry it.
    #[must_use]
    pub const fn answer_lost(&self) -> bool {
        matches!(self, Self::Network(_) | Self::Timeout(_))
    }
}

/// The client of one sync API.
#[derive(Clone)]
pub struct Api {
    base: String,
    get_token: js_sys::Function,
    timeout_ms: u32,
}

impl Api {
    /// A client of the API at `base` (like `https://preflight.example.com`, or empty for this
    /// origin), asking `get_token` for a session token before each request.
    pub fn new(base: &str, get_token: js_sys::Function, timeout_ms: u32) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            get_token,
            timeout_ms,
        }
    }

    /// `GET path`: the answer's body.
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn get(&self, path: &str) -> Result<String, ApiError> {
        self.send(Request::get(&self.url(path)), None).await
    }

    /// `PUT path` with a JSON body.
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn put(&self, path: &str, body: String) -> Result<String, ApiError> {
        self.send(Request::put(&self.url(path)), Some(body)).await
    }

    /// `POST path` with no body.
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn post(&self, path: &str) -> Result<String, ApiError> {
        self.send(Request::post(&self.url(path)), None).await
    }

    /// `POST path` with no body, under an idempotency key.
    ///
    /// # Errors
    /// See [`ApiError`].
    pub async fn post_idempotent(&self, path: &str, key: &str) -> Result<String, ApiError> {
        self.send(
            Request::post(&self.url(path)).header("Idempotency-Key", key),
            None,
        )
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn token(&self) -> Result<String, ApiError> {
        let value = self
            .get_token
            .call0(&JsValue::NULL)
            .map_err(|e| ApiError::Token(preflight::wasm::describe_thrown(&e)))?;
        // A string, or a promise of one: the caller's promise is followed, never called here.
        let value = JsFuture::from(crate::js::settle(&value))
            .await
            .map_err(|e| ApiError::Token(preflight::wasm::describe_thrown(&e)))?;
        value
            .as_string()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Token("getToken gave no string".to_owned()))
    }

    async fn send(
        &self,
        request: RequestBuilder,
        body: Option<String>,
    ) -> Result<String, ApiError> {
        let token = self.token().await?;
        let controller = web_sys::AbortController::new()
            .map_err(|e| ApiError::Network(preflight::wasm::describe_thrown(&e)))?;
        let signal = controller.signal();
        // Dropping the timer at the end of this call cancels it.
        let _timer = Timeout::new(self.timeout_ms, move || controller.abort());
        let request = request
            .header("Authorization", &format!("Bearer {token}"))
            .header("Accept", "application/json")
            .abort_signal(Some(&signal));
        let request = match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .body(body),
            None => request.build(),
        }
        .map_err(|e| ApiError::Network(e.to_string()))?;
        let lost = |e: gloo_net::Error| {
            if signal.aborted() {
                ApiError::Timeout(self.timeout_ms)
            } else {
                ApiError::Network(e.to_string())
            }
        };
        let response = request.send().await.map_err(lost)?;
        let status = response.status();
        let text = response.text().await.map_err(lost)?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let (code, message) = error_of(&text).unwrap_or_else(|| {
            (
                format!("http.{status}"),
                format!("the sync API answered {status}"),
            )
        });
        Err(ApiError::Status {
            status,
            code,
            // It is shown inside a sentence of ours.
            message: message.trim_end_matches('.').to_owned(),
            body: text,
        })
    }
}

/// The code and message of an `{"error": {"code", "message"}}` body.
fn error_of(text: &str) -> Option<(String, String)> {
    let value = preflight::json::parse(text).ok()?;
    let error = member(&value, "error")?;
    Some((
        string(member(error, "code")?)?.to_owned(),
        string(member(error, "message")?)?.to_owned(),
    ))
}
