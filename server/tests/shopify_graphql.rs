//! The Admin GraphQL client and the app's operations, against the Shopify simulator on loopback: an
//! order read with only the fields asked, pages of orders, the cost bucket (a throttled call waits for
//! the refill and succeeds; a bound on the wait ends it with a clear error), 429 and 5xx retried within
//! a bound, the tracking update and its `userErrors`, the link metafield read back, and a query the
//! schema refuses.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::sync::Arc;
use std::time::Duration;

use preflight_server::shopify::admin::{ShopifyAdmin, ORDERS_PER_PAGE};
use preflight_server::shopify::credentials::ShopifyCredentials;
use preflight_server::shopify::graphql::{GraphqlClient, GraphqlError, RetryConfig};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::shop::{NewFulfillment, NewOrder};
use preflight_server::shopify::simulator::{spawn_on_loopback, ShopifySimulator};
use preflight_server::store::{SqliteStore, SystemClock};
use preflight_server::tokens::{KeyRing, SecretString};
use serde_json::json;
use tempfile::TempDir;

const SHOP: &str = "acme.myshopify.com";
const T0: i64 = 1_795_000_000;
const TTS_ID: &str = "576461413038785752";

struct World {
    sim: ShopifySimulator,
    admin: ShopifyAdmin,
    graphql: GraphqlClient,
    credentials: Arc<ShopifyCredentials>,
    endpoint: Endpoint,
    _dir: TempDir,
}

fn quick() -> RetryConfig {
    RetryConfig {
        max_retries: 3,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_refill_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    }
}

impl World {
    async fn new(retry: RetryConfig) -> Self {
        let sim = ShopifySimulator::new("id", "secret", T0);
        let (addr, _task) = spawn_on_loopback(sim.clone()).await.unwrap();
        let dir = TempDir::new().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("p.db")).unwrap());
        let endpoint = Endpoint::Simulated(format!("http://{addr}"));
        let client = TokenClient::new(
            endpoint.clone(),
            "id",
            SecretString::from("secret".to_owned()),
        )
        .unwrap();
        let spec = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        let ring = Arc::new(KeyRing::parse(&SecretString::from(spec)).unwrap());
        let credentials = Arc::new(ShopifyCredentials::new(
            client,
            ring,
            store,
            Arc::new(SystemClock),
        ));
        credentials
            .install(SHOP, &sim.session_token(SHOP, "1"))
            .await
            .unwrap();
        let graphql = GraphqlClient::new(endpoint.clone(), retry).unwrap();
        let admin = ShopifyAdmin::new(graphql.clone(), credentials.clone());
        Self {
            sim,
            admin,
            graphql,
            credentials,
            endpoint,
            _dir: dir,
        }
    }

    fn order(&self, name: &str, created_at: i64) -> u64 {
        let id = self.sim.add_order(
            SHOP,
            NewOrder {
                name: name.into(),
                created_at,
                note: Some(format!("TikTok Shop order {TTS_ID}")),
                tags: vec!["TikTok".into()],
                custom_attributes: vec![("TikTok order id".into(), TTS_ID.into())],
                lines: vec![("MUG-1".into(), "Mug".into(), 2)],
                ..NewOrder::default()
            },
        );
        self.sim
            .fulfill(
                SHOP,
                id,
                NewFulfillment {
                    company: Some("UPS".into()),
                    number: Some("1Z999AA10123456784".into()),
                    lines: vec![("MUG-1".into(), 2)],
                    created_at,
                    ..NewFulfillment::default()
                },
            )
            .unwrap();
        id
    }
}

#[tokio::test]
async fn an_order_is_read_with_its_link_fields_and_fulfillments() {
    let w = World::new(quick()).await;
    let id = w.order("#1001", T0);
    let order = w.admin.order(SHOP, &id.to_string()).await.unwrap().unwrap();
    assert_eq!(order.name, "#1001");
    assert_eq!(order.custom_attributes[0].value.as_deref(), Some(TTS_ID));
    assert_eq!(order.skus(), ["MUG-1"]);
    assert_eq!(order.linked_order_id(), None);
    let fulfillments = order.fulfillments_with_order();
    assert_eq!(fulfillments.len(), 1);
    let f = &fulfillments[0];
    assert_eq!(f["trackingInfo"][0]["number"], "1Z999AA10123456784");
    assert_eq!(
        f["fulfillmentLineItems"]["nodes"][0]["lineItem"]["sku"],
        "MUG-1"
    );
    assert_eq!(f["order"]["id"], format!("gid://shopify/Order/{id}"));
    // The engine reads it as Shopify's GraphQL shape.
    let read = preflight::from_json::<preflight::model::Fulfillment>(&f.to_string()).unwrap();
    assert_eq!(read.tracking_numbers, ["1Z999AA10123456784"]);
    assert!(w.admin.order(SHOP, "42").await.unwrap().is_none());
}

#[tokio::test]
async fn orders_come_page_by_page_from_a_date() {
    let w = World::new(quick()).await;
    w.order("#old", T0 - 40 * 86_400);
    for n in 0..(ORDERS_PER_PAGE + 3) {
        w.order(&format!("#{}", 1001 + n), T0 - 86_400 + i64::from(n));
    }
    let since = "2026-11-01T00:00:00Z";
    assert!(preflight::Timestamp::parse(since).unwrap().unix_millis() / 1000 < T0 - 86_400);
    let first = w.admin.orders_since(SHOP, since, None).await.unwrap();
    assert_eq!(first.orders.len(), ORDERS_PER_PAGE as usize);
    assert_eq!(first.orders[0].name, "#1001");
    let second = w
        .admin
        .orders_since(SHOP, since, first.next.as_deref())
        .await
        .unwrap();
    assert_eq!(second.orders.len(), 3);
    assert!(second.next.is_none());
}

#[tokio::test]
async fn a_throttled_call_waits_for_the_bucket_then_succeeds() {
    let w = World::new(quick()).await;
    let id = w.order("#1001", T0).to_string();
    // A bucket holding two order reads (245 points each), refilled at a read per 0.3 s.
    w.sim.set_bucket(500.0, 800.0);
    for _ in 0..6 {
        w.admin.order(SHOP, &id).await.unwrap();
    }
    // Every call succeeded: the client learnt the query's cost and waited for the refill.
    // Another process's client, which knows nothing of the bucket, finds it empty: Shopify answers
    // THROTTLED, and the client backs off at least for the refill, then succeeds.
    w.admin.order(SHOP, &id).await.unwrap();
    let other = ShopifyAdmin::new(
        GraphqlClient::new(w.endpoint.clone(), quick()).unwrap(),
        w.credentials.clone(),
    );
    let before = w.sim.graphql_requests(SHOP);
    other.order(SHOP, &id).await.unwrap();
    assert_eq!(w.sim.graphql_requests(SHOP) - before, 2);
}

#[tokio::test]
async fn a_refill_longer_than_allowed_is_a_clear_error() {
    let w = World::new(RetryConfig {
        max_refill_wait: Duration::from_millis(100),
        ..quick()
    })
    .await;
    let id = w.order("#1001", T0).to_string();
    // Room for one read, and a refill of minutes for the next.
    w.sim.set_bucket(300.0, 1.0);
    w.admin.order(SHOP, &id).await.unwrap();
    let error = w.admin.order(SHOP, &id).await.unwrap_err();
    assert_eq!(error.code(), "shopify.throttled", "{error}");
}

#[tokio::test]
async fn http_errors_are_retried_within_a_bound() {
    let w = World::new(quick()).await;
    let id = w.order("#1001", T0).to_string();
    w.sim.fail_next_graphql(&[503, 500, 429]);
    let before = w.sim.graphql_requests(SHOP);
    w.admin.order(SHOP, &id).await.unwrap();
    assert_eq!(w.sim.graphql_requests(SHOP) - before, 4);
    // More failures than retries: the error is the last one, after 1 + 3 attempts.
    w.sim.fail_next_graphql(&[502, 502, 502, 502, 502]);
    let before = w.sim.graphql_requests(SHOP);
    let error = w.admin.order(SHOP, &id).await.unwrap_err();
    assert_eq!(error.code(), "shopify.unavailable");
    assert_eq!(w.sim.graphql_requests(SHOP) - before, 4);
    // A refused token is not retried.
    let bad = SecretString::from("shpat_forged".to_owned());
    let error = w
        .graphql
        .execute::<serde_json::Value>(SHOP, &bad, "{ shop { name } }", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, GraphqlError::Unauthorized), "{error}");
}

#[tokio::test]
async fn the_tracking_update_is_applied_or_its_user_errors_typed() {
    let w = World::new(quick()).await;
    let id = w.order("#1001", T0);
    let fulfillment = w.sim.order(SHOP, id).unwrap().fulfillments[0].id;
    w.admin
        .update_tracking(
            SHOP,
            &fulfillment.to_string(),
            Some("UPS"),
            "1Z999AA10123456795",
        )
        .await
        .unwrap();
    let now = w.sim.fulfillment(SHOP, fulfillment).unwrap();
    assert_eq!(now.tracking[0].number, "1Z999AA10123456795");
    assert_eq!(now.tracking[0].company.as_deref(), Some("UPS"));

    w.sim
        .refuse_tracking_update(fulfillment, Some("Tracking number is locked"));
    let error = w
        .admin
        .update_tracking(SHOP, &fulfillment.to_string(), None, "1Z999AA10123456806")
        .await
        .unwrap_err();
    assert_eq!(error.code(), "shopify.user_errors");
    assert_eq!(
        error.user_errors().unwrap()[0].message,
        "Tracking number is locked"
    );
    assert_eq!(
        w.sim.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        "1Z999AA10123456795"
    );
    let error = w
        .admin
        .update_tracking(SHOP, "999", None, "1Z999AA10123456806")
        .await
        .unwrap_err();
    assert_eq!(
        error.user_errors().unwrap()[0].field.as_deref(),
        Some(&["fulfillmentId".to_owned()][..])
    );
}

#[tokio::test]
async fn the_link_metafield_is_read_back_and_unknown_fields_refused() {
    let w = World::new(quick()).await;
    let id = w.order("#1001", T0).to_string();
    w.admin.set_link(SHOP, &id, TTS_ID).await.unwrap();
    let order = w.admin.order(SHOP, &id).await.unwrap().unwrap();
    assert_eq!(order.linked_order_id(), Some(TTS_ID));
    let token = w.credentials.access_token(SHOP, None).await.unwrap();
    let error = w
        .graphql
        .execute::<serde_json::Value>(
            SHOP,
            &token,
            "{ order(id: \"gid://shopify/Order/1\") { buyerPhone } }",
            json!({}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "shopify.query_failed");
    assert!(error.to_string().contains("doesn't exist on type 'Order'"));
}
