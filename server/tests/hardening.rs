//! Faults found by attacking the sync API, each kept as a test over real HTTP on loopback with a real
//! SQLite file.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use axum::http::StatusCode;
use preflight_server::api::{self, ApiError, AppState};
use preflight_server::auth;
use preflight_server::store::{PushState, StoreError};
use serde_json::Value;

mod common;

use common::{TestServer, SHOP};

/// The shared test server, with a JSON getter.
struct Server(TestServer);

impl std::ops::Deref for Server {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.0
    }
}

impl Server {
    async fn start() -> Self {
        Self::start_with(|state| state).await
    }

    async fn start_with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        Self(TestServer::start_with(configure).await)
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

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_signed_app_query_is_good_for_ninety_seconds_either_way() {
    let at = 1_795_000_000_u64;
    let signed = auth::sign_app_query(
        &format!("host=YWRtaW4&shop=acme.myshopify.com&timestamp={at}"),
        "app-secret",
    );
    for now in [at - 90, at, at + 90] {
        assert_eq!(
            auth::verify_app_query(&signed, "app-secret", None, now).as_deref(),
            Ok(SHOP),
            "{now}"
        );
    }
    for now in [at - 91, at + 91, at + 86_400] {
        assert_eq!(
            auth::verify_app_query(&signed, "app-secret", None, now),
            Err(auth::AuthError::StaleQuery),
            "{now}"
        );
    }
    for query in [
        "host=YWRtaW4&shop=acme.myshopify.com",
        "host=YWRtaW4&shop=acme.myshopify.com&timestamp=1",
        "host=YWRtaW4&shop=acme.myshopify.com&timestamp=soon",
        "host=YWRtaW4&shop=acme.myshopify.com&timestamp=-1795000000",
    ] {
        let signed = auth::sign_app_query(query, "app-secret");
        assert_eq!(
            auth::verify_app_query(&signed, "app-secret", None, at),
            Err(auth::AuthError::StaleQuery),
            "{query}"
        );
    }
    assert_eq!(auth::AuthError::StaleQuery.code(), "auth.stale_query");
}

/// A folder of pages, with links out of it, and the server serving it.
struct Pages {
    server: Server,
    _root: tempfile::TempDir,
    _outside: tempfile::TempDir,
}

impl Pages {
    async fn start() -> Self {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "outside").unwrap();
        let root = tempfile::tempdir().unwrap();
        let www = root.path().join("www");
        let pkg = root.path().join("pkg");
        std::fs::create_dir_all(www.join("docs")).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<!doctype html><title>p</title>").unwrap();
        std::fs::write(www.join("docs").join("ok.txt"), "inside").unwrap();
        std::fs::write(pkg.join("preflight.js"), "export {};").unwrap();
        let link = |target: &std::path::Path, at: std::path::PathBuf| {
            std::os::unix::fs::symlink(target, at).unwrap();
        };
        link(&outside.path().join("secret.txt"), www.join("leak.txt"));
        link(outside.path(), www.join("elsewhere"));
        link(&outside.path().join("secret.txt"), pkg.join("leak.js"));
        link(&www.join("docs").join("ok.txt"), www.join("alias.txt"));
        let server = Server::start_with(move |state| {
            state.with_pages(api::Pages {
                www,
                pkg: Some(pkg),
            })
        })
        .await;
        Self {
            server,
            _root: root,
            _outside: outside,
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .server
            .http
            .get(format!("{}{path}", self.server.url))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_page_signed_long_ago_or_without_a_timestamp_is_framed_by_no_one() {
    let pages = Pages::start().await;
    let ancestors = |query: String| {
        let pages = &pages;
        async move {
            let response = pages
                .server
                .http
                .get(format!("{}/?{query}", pages.server.url))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            csp.split("frame-ancestors ").nth(1).unwrap().to_owned()
        }
    };
    let fresh = format!("host=YWRtaW4&shop={SHOP}&timestamp={}", unix_now());
    assert_eq!(
        ancestors(auth::sign_app_query(&fresh, "app-secret")).await,
        format!("https://{SHOP} https://admin.shopify.com")
    );
    for query in [
        format!("host=YWRtaW4&shop={SHOP}&timestamp=1"),
        format!("host=YWRtaW4&shop={SHOP}"),
        format!("host=YWRtaW4&shop={SHOP}&timestamp={}", unix_now() - 600),
    ] {
        assert_eq!(
            ancestors(auth::sign_app_query(&query, "app-secret")).await,
            "'none'",
            "{query}"
        );
    }
}

#[test]
fn loopback_hosts() {
    for host in [
        "localhost",
        "LocalHost:8787",
        "127.0.0.1",
        "127.0.0.1:8787",
        "127.1.2.3:80",
        "[::1]",
        "[::1]:8787",
    ] {
        assert!(auth::is_loopback_host(host), "{host}");
    }
    for host in [
        "evil.example:8787",
        "localhost.evil.example",
        "127.0.0.1.evil.example:8787",
        "evil@127.0.0.1",
        "0.0.0.0:8787",
        "192.168.1.2",
        "[::2]:8787",
        "127.0.0.1:port",
        "",
    ] {
        assert!(!auth::is_loopback_host(host), "{host}");
    }
}

#[tokio::test]
async fn demo_tokens_are_served_to_a_loopback_host_only() {
    let s = Server::start_with(|state| state.with_demo_shop("preflight-demo.myshopify.com")).await;
    let token = |host: &'static str| {
        let request = s
            .http
            .get(format!("{}/demo/token", s.url))
            .header("host", host);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for host in [
        "evil.example:8787",
        "evil.example",
        "localhost.evil.example:8787",
    ] {
        let (status, body) = token(host).await;
        assert_eq!(status, 403, "{host}: {body}");
        assert_eq!(body["error"]["code"], "demo.host_not_loopback", "{body}");
        assert!(body.get("token").is_none());
    }
    for host in ["localhost:8787", "127.0.0.1:8787", "[::1]:8787"] {
        let (status, body) = token(host).await;
        assert_eq!(status, 200, "{host}: {body}");
        assert!(body["token"].is_string(), "{body}");
    }
    // reqwest's own Host: the server's loopback address.
    let response = s
        .http
        .get(format!("{}/demo/token", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn every_api_answer_is_not_stored_and_not_sniffed() {
    let s = Server::start().await;
    let check = |response: &reqwest::Response, what: &str| {
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    };
    let ok = s
        .http
        .get(format!("{}/api/fulfillments", s.url))
        .bearer_auth(s.token())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    check(&ok, "200");
    let unauthorized = s
        .http
        .get(format!("{}/api/fulfillments", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    check(&unauthorized, "401");
    let missing = s
        .http
        .get(format!("{}/api/nowhere", s.url))
        .bearer_auth(s.token())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    check(&missing, "404");
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let too_large = s
        .http
        .post(format!("{}/api/validate", s.url))
        .bearer_auth(s.token())
        .body(vec![b' '; api::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(too_large.status().as_u16(), 413);
    check(&too_large, "413");
}

#[tokio::test]
async fn served_folders_serve_nothing_that_resolves_outside_them() {
    let pages = Pages::start().await;
    assert_eq!(pages.get("/docs/ok.txt").await, (200, "inside".to_owned()));
    assert_eq!(pages.get("/alias.txt").await, (200, "inside".to_owned()));
    assert_eq!(pages.get("/pkg/preflight.js").await.0, 200);
    assert_eq!(pages.get("/").await.0, 200);
    for path in [
        "/leak.txt",
        "/elsewhere/secret.txt",
        "/%6Ceak.txt",
        "/pkg/leak.js",
        "/docs/../leak.txt",
    ] {
        let (status, body) = pages.get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("outside"), "{path}");
    }
}

#[tokio::test]
async fn the_fulfillment_webhook_takes_fulfillment_topics_only() {
    let s = Server::start().await;
    let body = serde_json::json!({"id": 4711, "updated_at": "2026-11-20T10:00:00Z",
        "status": "success", "tracking_company": "UPS", "tracking_number": "1Z999AA10123456784",
        "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]})
    .to_string();
    let send = |topic: Option<&'static str>| {
        let mut request = s
            .http
            .post(format!("{}/webhooks/shopify/fulfillments", s.url))
            .header(
                "x-shopify-hmac-sha256",
                auth::webhook_hmac("app-secret", body.as_bytes()),
            )
            .header("x-shopify-shop-domain", SHOP)
            .body(body.clone());
        if let Some(topic) = topic {
            request = request.header("x-shopify-topic", topic);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    for topic in [Some("orders/create"), Some("fulfillments/delete"), None] {
        let (status, answer) = send(topic).await;
        assert_eq!(status, 400, "{topic:?}: {answer}");
        assert_eq!(answer["error"]["code"], "webhook.unexpected_topic");
    }
    let (_, list) = s.get("/api/fulfillments").await;
    assert_eq!(list["items"], serde_json::json!([]), "nothing is stored");

    let (status, answer) = send(Some("fulfillments/create")).await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &serde_json::json!("inserted"))
    );
    let (status, answer) = send(Some("fulfillments/update")).await;
    assert_eq!(
        (status, &answer["outcome"]),
        (200, &serde_json::json!("unchanged"))
    );
}

/// Every refusal of a body or a query is the API's `{code, path, message}`, not a framework's text.
#[tokio::test]
async fn bodies_and_queries_are_refused_as_api_errors() {
    let s = Server::start().await;
    let send = |method: reqwest::Method, path: &str, body: Vec<u8>| {
        s.http
            .request(method, format!("{}{path}", s.url))
            .bearer_auth(s.token())
            .body(body)
            .send()
    };
    let refused = |status: u16, body: &Value, code: &str, path: &str| {
        assert_eq!(
            (
                status,
                body["error"]["code"].as_str(),
                body["error"]["path"].as_str()
            ),
            (status, Some(code), Some(path)),
            "{body}"
        );
        assert!(body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    };
    let answer = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };

    let huge = vec![b' '; api::MAX_BODY_BYTES + 1];
    let (status, body) = answer(
        send(reqwest::Method::POST, "/api/validate", huge)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 413);
    refused(status, &body, "request.too_large", "");

    let not_utf8 = vec![b'{', 0xff, b'}'];
    let (status, body) = answer(
        send(reqwest::Method::POST, "/api/validate", not_utf8)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    refused(status, &body, "input.malformed_json", "");

    let link = br#"{"orderId": 5}"#.to_vec();
    let (status, body) = answer(
        send(reqwest::Method::PUT, "/api/fulfillments/1/tts-order", link)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    refused(status, &body, "input.invalid_type", "orderId");

    let (status, body) = s.get("/api/fulfillments?limit=many").await;
    assert_eq!(status, 400);
    refused(status, &body, "input.invalid_query", "query");
}
