//! Faults found by attacking the sync API, each kept as a test over real HTTP on loopback with a real
//! SQLite file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::StatusCode;
use preflight_server::api::{self, ApiError, AppState};
use preflight_server::auth::{self, AppCredentials};
use preflight_server::store::{PushState, SqliteStore, StoreError};
use preflight_server::tts::simulator::Simulator;
use preflight_server::ServeConfig;
use serde_json::Value;

const SHOP: &str = "acme.myshopify.com";

struct Server {
    url: String,
    app: AppCredentials,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        Self::start_with(|state| state).await
    }

    /// A server whose state `configure` finishes.
    async fn start_with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("hardening.sqlite3")).unwrap());
        let app = AppCredentials {
            key: "app-key".into(),
            secret: "app-secret".into(),
            previous_secret: None,
        };
        let state = Arc::new(configure(AppState::new(
            store,
            Arc::new(Simulator::new("k", "s")),
            app.clone(),
            Vec::new(),
        )));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(state),
            ServeConfig::default(),
            std::future::pending(),
        ));
        Self {
            url,
            app,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            _dir: dir,
        }
    }

    fn token(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        auth::issue_session_token(&self.app, SHOP, "7", now, 600).unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.token())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn a_cursor_the_store_never_issued_is_a_400_naming_the_cursor() {
    let s = Server::start().await;
    for cursor in ["x", "%00", "Y3Vyc29yOm5vdGFuaWQ"] {
        let (status, body) = s.get(&format!("/api/fulfillments?cursor={cursor}")).await;
        assert_eq!(status, 400, "{cursor}: {body}");
        assert_eq!(body["error"]["code"], "store.invalid_cursor", "{body}");
        assert_eq!(body["error"]["path"], "cursor", "{body}");
    }
    let (status, body) = s.get("/api/fulfillments").await;
    assert_eq!(status, 200, "{body}");
}

#[test]
fn every_store_error_has_its_code_and_status() {
    let cases = [
        (
            StoreError::Database(rusqlite::Error::QueryReturnedNoRows),
            "store.database",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            StoreError::Pragma {
                name: "journal_mode",
                expected: "wal".into(),
                actual: "delete".into(),
            },
            "store.pragma_not_applied",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            StoreError::SchemaTooNew {
                found: 9,
                supported: 1,
            },
            "store.schema_too_new",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            StoreError::InvalidInput {
                field: "updated_at",
                message: "no offset".into(),
            },
            "store.invalid_input",
            StatusCode::BAD_REQUEST,
        ),
        (
            StoreError::NotFound {
                what: "fulfillment",
                id: "1".into(),
            },
            "store.not_found",
            StatusCode::NOT_FOUND,
        ),
        (
            StoreError::InvalidCursor("x".into()),
            "store.invalid_cursor",
            StatusCode::BAD_REQUEST,
        ),
        (
            StoreError::IllegalTransition {
                from: PushState::Sent,
                to: PushState::Sending,
            },
            "push.illegal_transition",
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        (
            StoreError::PushStateChanged {
                push_id: 1,
                expected: PushState::Sending,
                actual: PushState::Sent,
            },
            "push.state_changed",
            StatusCode::CONFLICT,
        ),
        (
            StoreError::PushInFlight {
                fulfillment_id: "1".into(),
                push_id: 1,
            },
            "push.in_flight",
            StatusCode::CONFLICT,
        ),
        (
            StoreError::IdempotencyMismatch("k".into()),
            "idempotency.key_reused",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            StoreError::IdempotencyInProgress("k".into()),
            "idempotency.in_progress",
            StatusCode::CONFLICT,
        ),
    ];
    for (error, code, status) in cases {
        assert_eq!(error.code(), code);
        assert_eq!(
            preflight_server::error::store_status(&error),
            status,
            "{code}"
        );
        let answer = ApiError::from(error);
        assert_eq!((answer.code(), answer.status()), (code, status));
        assert_eq!(
            answer.path(),
            (code == "store.invalid_cursor").then_some("cursor"),
            "{code}"
        );
    }
}
