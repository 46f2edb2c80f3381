//! The app installed in a (simulated) Shopify store, end to end on loopback with a real SQLite file and
//! the TikTok Shop simulator: the merchant's first request exchanges the session token and starts the
//! backfill of the last 30 days; each order is linked on its own from wherever its connector left the
//! TikTok Shop order id (each source of the resolver chain, an ambiguous one, a wrong one refused), the
//! link written to the order's metafield; a manual link overrides; a fulfillment arriving by webhook is
//! linked too; a tracking fix synced reaches TikTok Shop once and is written back to Shopify, a refusal
//! shown on the row with TikTok Shop unchanged, retried on the next sync; a Shopify down during the
//! write-back is retried until it agrees.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::sync::Arc;
use std::time::Duration;

use preflight::carrier::tracking::{recognize, Courier};
use preflight_server::api::{self, AppState};
use preflight_server::auth::AppCredentials;
use preflight_server::shopify::admin::{ShopifyAdmin, LINK_KEY};
use preflight_server::shopify::credentials::ShopifyCredentials;
use preflight_server::shopify::graphql::{GraphqlClient, RetryConfig};
use preflight_server::shopify::oauth::{Endpoint, TokenClient};
use preflight_server::shopify::simulator::shop::{NewFulfillment, NewOrder};
use preflight_server::shopify::simulator::{spawn_on_loopback, ShopifySimulator};
use preflight_server::store::{Clock, SqliteStore};
use preflight_server::tokens::{KeyRing, SecretString};
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::types::ShippingProvider;
use preflight_server::ServeConfig;
use serde_json::{json, Value};

const SHOP: &str = "acme.myshopify.com";
const KEY: &str = "app-key";
const SECRET: &str = "app-secret";
const UPS: &str = "7117859084333745966";

/// The wall clock, movable forward: write-back retries are due by it.
#[derive(Debug, Default)]
struct Ahead(std::sync::atomic::AtomicI64);

impl Clock for Ahead {
    fn now_millis(&self) -> i64 {
        preflight_server::store::SystemClock.now_millis()
            + self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

struct App {
    url: String,
    http: reqwest::Client,
    shopify: ShopifySimulator,
    tts: Arc<Simulator>,
    state: Arc<AppState>,
    clock: Arc<Ahead>,
    _dir: tempfile::TempDir,
}

fn now_secs() -> i64 {
    preflight_server::store::SystemClock.now_millis() / 1000
}

/// A valid UPS number from a 17-character body.
fn ups(body: &str) -> String {
    ('0'..='9')
        .map(|c| format!("{body}{c}"))
        .find(|n| recognize(n).valid.contains(Courier::Ups))
        .unwrap()
}

/// A TikTok Shop order id of 18 digits ending in `n`.
fn tts_id(n: u32) -> String {
    format!("5764614130387{n:05}")
}

impl App {
    async fn start() -> Self {
        let shopify = ShopifySimulator::new(KEY, SECRET, now_secs());
        let (addr, _task) = spawn_on_loopback(shopify.clone()).await.unwrap();
        let endpoint = Endpoint::Simulated(format!("http://{addr}"));
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("app.sqlite3")).unwrap());
        let clock = Arc::new(Ahead::default());
        let spec = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        let ring = Arc::new(KeyRing::parse(&SecretString::from(spec)).unwrap());
        let tokens =
            TokenClient::new(endpoint.clone(), KEY, SecretString::from(SECRET.to_owned())).unwrap();
        let credentials = Arc::new(ShopifyCredentials::new(
            tokens,
            ring,
            store.clone(),
            clock.clone(),
        ));
        let retry = RetryConfig {
            max_retries: 2,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            ..RetryConfig::default()
        };
        let admin = ShopifyAdmin::new(
            GraphqlClient::new(endpoint, retry).unwrap(),
            credentials.clone(),
        );
        let tts = Arc::new(Simulator::new("k", "s"));
        tts.add_providers("DO1", [ShippingProvider::new(UPS, "UPS")]);
        let app = AppCredentials {
            key: KEY.into(),
            secret: SECRET.into(),
            previous_secret: None,
        };
        let state = Arc::new(
            AppState::new(store, tts.clone(), app, Vec::new())
                .with_clock(clock.clone())
                .with_shopify_credentials(credentials)
                .with_shopify_admin(admin),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(preflight_server::serve(
            listener,
            api::router(state.clone()),
            ServeConfig::default(),
            std::future::pending(),
        ));
        let path = "/webhooks/shopify/fulfillments";
        shopify.subscribe_webhooks(
            &url,
            &[("fulfillments/create", path), ("fulfillments/update", path)],
        );
        Self {
            url,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            shopify,
            tts,
            state,
            clock,
            _dir: dir,
        }
    }

    /// An order `name` whose note carries the TikTok Shop id `tts_id(n)` (one MUG), and its fulfillment
    /// shipped with `number`: the fulfillment id.
    fn noted_order(&self, n: u32, name: &str, number: &str) -> u64 {
        let tts = tts_id(n);
        let order = NewOrder {
            note: Some(tts.clone()),
            ..named(name)
        };
        self.order(order, Some((&tts, "MUG")), number).1
    }

    /// The merchant's tracking fix of a fulfillment (`PUT …/tracking`).
    async fn fix(&self, fulfillment: u64, number: &str) -> (u16, Value) {
        let path = format!("/api/fulfillments/{fulfillment}/tracking");
        let body = json!({ "trackingNumber": number });
        self.call(reqwest::Method::PUT, &path, Some(body)).await
    }

    /// A sync of a fulfillment (`POST …/sync`).
    async fn sync(&self, fulfillment: u64) -> (u16, Value) {
        let path = format!("/api/fulfillments/{fulfillment}/sync");
        self.call(reqwest::Method::POST, &path, None).await
    }

    /// An order at Shopify as its connector left it, its TikTok Shop twin (when `tts` is given, with
    /// `tts_sku`), and a fulfillment of it: the Shopify order and fulfillment ids.
    fn order(&self, order: NewOrder, tts: Option<(&str, &str)>, number: &str) -> (u64, u64) {
        if let Some((id, sku)) = tts {
            self.tts.add_order(
                SHOP,
                Simulator::awaiting_shipment(id, "DO1", &[(&format!("{id}01"), sku)]),
            );
        }
        let created_at = now_secs() - 2 * 86_400;
        let order_id = self.shopify.add_order(
            SHOP,
            NewOrder {
                created_at,
                lines: vec![("MUG".into(), "Mug".into(), 1)],
                ..order
            },
        );
        let fulfillment = self
            .shopify
            .fulfill(
                SHOP,
                order_id,
                NewFulfillment {
                    company: Some("UPS".into()),
                    number: Some(number.into()),
                    lines: vec![("MUG".into(), 1)],
                    created_at,
                    ..NewFulfillment::default()
                },
            )
            .unwrap();
        (order_id, fulfillment)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(self.shopify.session_token(SHOP, "7"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if path.ends_with("/sync") {
            request = request.header("idempotency-key", format!("k-{}", rand_key()));
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// Waits (bounded) until `done` holds of the fulfillment's row.
    async fn until(&self, fulfillment: u64, done: impl Fn(&Value) -> bool) -> Value {
        let mut reached = None;
        for _ in 0..100 {
            let row = self.get(&format!("/api/fulfillments/{fulfillment}")).await;
            if done(&row) {
                reached = Some(row);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // None: the fulfillment never got there.
        reached.unwrap()
    }

    /// Installs the app (the merchant's first request) and waits for the backfill to end.
    async fn install(&self) -> Value {
        let _ = self.get("/api/fulfillments").await;
        let mut ended = None;
        for _ in 0..200 {
            let backfill = self.get("/api/backfill").await;
            let state = backfill.get("state").and_then(Value::as_str);
            assert_ne!(state, Some("failed"), "{backfill}");
            if state == Some("done") {
                ended = Some(backfill);
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        // None: the backfill never ended.
        ended.unwrap()
    }
}

fn rand_key() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

fn named(name: &str) -> NewOrder {
    NewOrder {
        name: name.into(),
        ..NewOrder::default()
    }
}

#[tokio::test]
async fn install_backfills_and_links_each_source_of_the_chain() {
    let app = App::start().await;
    let n = ups("1Z999AA1012345678");
    let attribute = app.order(
        NewOrder {
            custom_attributes: vec![("TikTok order id".into(), tts_id(1))],
            ..named("#1001")
        },
        Some((&tts_id(1), "MUG")),
        &n,
    );
    let note = app.order(
        NewOrder {
            note: Some(format!("TikTok Shop order {}", tts_id(2))),
            ..named("#1002")
        },
        Some((&tts_id(2), "MUG")),
        &n,
    );
    let tags = app.order(
        NewOrder {
            tags: vec!["TikTok".into(), format!("TTS-{}", tts_id(3))],
            ..named("#1003")
        },
        Some((&tts_id(3), "MUG")),
        &n,
    );
    let name = app.order(
        named(&format!("#TT{}", tts_id(4))),
        Some((&tts_id(4), "MUG")),
        &n,
    );
    let source = app.order(
        NewOrder {
            source_identifier: Some(tts_id(5)),
            source_name: Some("tiktok".into()),
            ..named("#1005")
        },
        Some((&tts_id(5), "MUG")),
        &n,
    );
    // Two ids in the note, both TikTok Shop orders with the items: ambiguous.
    app.tts.add_order(
        SHOP,
        Simulator::awaiting_shipment(&tts_id(7), "DO1", &[(&format!("{}01", tts_id(7)), "MUG")]),
    );
    let ambiguous = app.order(
        NewOrder {
            note: Some(format!("{} and {}", tts_id(6), tts_id(7))),
            ..named("#1006")
        },
        Some((&tts_id(6), "MUG")),
        &n,
    );
    // An id TikTok Shop does not have, and one whose items are another order's.
    let wrong = app.order(
        NewOrder {
            note: Some(format!("TikTok {}", tts_id(8))),
            ..named("#1008")
        },
        None,
        &n,
    );
    let differ = app.order(
        NewOrder {
            tags: vec![tts_id(9)],
            ..named("#1009")
        },
        Some((&tts_id(9), "TEE")),
        &n,
    );
    // Older than 30 days: not read.
    let old = app.shopify.add_order(
        SHOP,
        NewOrder {
            created_at: now_secs() - 40 * 86_400,
            lines: vec![("MUG".into(), "Mug".into(), 1)],
            ..named("#900")
        },
    );
    let old_fulfillment = app
        .shopify
        .fulfill(
            SHOP,
            old,
            NewFulfillment {
                lines: vec![("MUG".into(), 1)],
                ..NewFulfillment::default()
            },
        )
        .unwrap();

    let backfill = app.install().await;
    assert_eq!(backfill["ordersRead"], 8, "{backfill}");
    assert_eq!(backfill["fulfillmentsRead"], 8);
    // The list's first page says it too, for the widget to follow.
    assert_eq!(app.get("/api/fulfillments").await["backfill"], backfill);
    let first = app.get("/api/fulfillments?limit=2").await;
    let cursor = first["nextCursor"].as_str().unwrap();
    let next = app
        .get(&format!("/api/fulfillments?limit=2&cursor={cursor}"))
        .await;
    assert!(next.get("backfill").is_none(), "{next}");

    for ((order, fulfillment), expected, id) in [
        (attribute, "customAttributes", 1),
        (note, "note", 2),
        (tags, "tags", 3),
        (name, "name", 4),
        (source, "sourceIdentifier", 5),
    ] {
        let row = app.get(&format!("/api/fulfillments/{fulfillment}")).await;
        assert_eq!(row["link"]["state"], "linked", "{row}");
        assert_eq!(row["link"]["source"], expected);
        assert_eq!(row["link"]["orderId"], tts_id(id));
        assert_eq!(row["order"]["id"], tts_id(id));
        assert_eq!(row["report"]["verdict"], "ready", "{}", row["report"]);
        // The link is on the order at Shopify now, where the chain reads first.
        let metafield = app
            .shopify
            .order(SHOP, order)
            .unwrap()
            .metafields
            .into_iter()
            .find(|m| m.key == LINK_KEY)
            .unwrap();
        assert_eq!(metafield.value, tts_id(id));
        assert_eq!(metafield.namespace, format!("app--{KEY}--tiktok_shop"));
    }
    // The link is recorded at TikTok Shop too, the Shopify order's line paired with its unit.
    assert_eq!(
        app.tts
            .search_external_orders(SHOP, "SHOPIFY", &attribute.0.to_string()),
        [tts_id(1)]
    );
    let row = app.get(&format!("/api/fulfillments/{}", ambiguous.1)).await;
    assert_eq!(row["link"]["code"], "link.ambiguous", "{row}");
    assert!(row["order"].is_null());
    let row = app.get(&format!("/api/fulfillments/{}", wrong.1)).await;
    assert_eq!(row["link"]["code"], "link.not_found", "{row}");
    assert!(row["link"]["reason"].as_str().unwrap().contains(&tts_id(8)));
    let row = app.get(&format!("/api/fulfillments/{}", differ.1)).await;
    assert_eq!(row["link"]["code"], "link.items_differ", "{row}");
    let (status, _) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/fulfillments/{old_fulfillment}"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // The merchant links the ambiguous one by hand; Shopify's next webhook does not undo it.
    let (status, row) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/fulfillments/{}/tts-order", ambiguous.1),
            Some(json!({ "orderId": tts_id(7) })),
        )
        .await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["link"]["source"], "manual");
    app.shopify
        .deliver_fulfillment(SHOP, ambiguous.1, "fulfillments/update")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let row = app.get(&format!("/api/fulfillments/{}", ambiguous.1)).await;
    assert_eq!(row["link"]["source"], "manual");
    assert_eq!(row["order"]["id"], tts_id(7));

    // A second install in the same shop does not read the orders again.
    assert_eq!(app.install().await["ordersRead"], 8);
}

#[tokio::test]
async fn a_fulfillment_arriving_by_webhook_is_linked_on_its_own() {
    let app = App::start().await;
    app.install().await;
    let (order, fulfillment) = app.order(
        NewOrder {
            custom_attributes: vec![("TTS Order ID".into(), tts_id(21))],
            ..named("#2001")
        },
        Some((&tts_id(21), "MUG")),
        &ups("1Z999AA1012345678"),
    );
    let delivery = app
        .shopify
        .deliver_fulfillment(SHOP, fulfillment, "fulfillments/create")
        .await
        .unwrap();
    assert_eq!(delivery.status, Some(200));
    let row = app
        .until(fulfillment, |r| r["link"]["state"] == "linked")
        .await;
    assert_eq!(row["link"]["source"], "customAttributes");
    // The webhook's buyer data was not kept.
    let stored = row["fulfillment"].to_string();
    assert!(
        !stored.contains("destination") && !stored.contains("@example.com"),
        "{stored}"
    );

    // The order's next fulfillment is linked from the metafield the first link wrote.
    let second = app
        .shopify
        .fulfill(
            SHOP,
            order,
            NewFulfillment {
                lines: vec![("MUG".into(), 1)],
                number: Some(ups("1Z999AA1012345679")),
                company: Some("UPS".into()),
                ..NewFulfillment::default()
            },
        )
        .unwrap();
    app.shopify
        .deliver_fulfillment(SHOP, second, "fulfillments/create")
        .await
        .unwrap();
    let row = app.until(second, |r| r["link"]["state"] == "linked").await;
    assert_eq!(row["link"]["source"], "metafield");
    assert_eq!(row["link"]["orderId"], tts_id(21));
}

#[tokio::test]
async fn a_link_shopify_cannot_answer_for_is_shown_on_the_row_and_tried_again() {
    let app = App::start().await;
    app.install().await;
    let fulfillment = app.noted_order(61, "#6001", &ups("1Z999AA1012345678"));
    // Every attempt of the order's read fails (1 + 2 retries).
    app.shopify.fail_next_graphql(&[503, 503, 503]);
    app.shopify
        .deliver_fulfillment(SHOP, fulfillment, "fulfillments/create")
        .await
        .unwrap();
    let row = app
        .until(fulfillment, |r| r["link"]["state"] == "not_linked")
        .await;
    assert_eq!(row["link"]["code"], "link.unavailable", "{row}");
    assert!(row["link"]["reason"]
        .as_str()
        .unwrap()
        .contains("shopify.unavailable"));
    // The fulfillment's next change links it.
    let number = ups("1Z999AA1012345679");
    assert!(app
        .shopify
        .set_tracking(SHOP, fulfillment, Some("UPS"), &number, now_secs() + 60));
    app.shopify
        .deliver_fulfillment(SHOP, fulfillment, "fulfillments/update")
        .await
        .unwrap();
    let row = app
        .until(fulfillment, |r| r["link"]["state"] == "linked")
        .await;
    assert_eq!(row["link"]["source"], "note");
}

#[tokio::test]
async fn a_tracking_fix_reaches_tiktok_shop_once_then_shopify() {
    let app = App::start().await;
    let wrong = ups("1Z999AA1012345678");
    let right = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(31, "#3001", &wrong);
    app.install().await;
    let (status, row) = app.fix(fulfillment, &right).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "held");
    // Shopify still has the old number until TikTok Shop has the new one.
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        wrong
    );

    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["syncStatus"], "synced");
    assert_eq!(row["shopifyWriteback"]["state"], "done", "{row}");
    assert_eq!(app.tts.push_count(), 1);
    let now = app.shopify.fulfillment(SHOP, fulfillment).unwrap();
    assert_eq!(now.tracking[0].number, right);
    assert_eq!(now.tracking[0].company.as_deref(), Some("UPS"));
    // Shopify's own webhook of the change comes back and leaves it done, nothing pushed again.
    let row = app
        .until(fulfillment, |r| {
            r["fulfillment"]["tracking_number"] == right.as_str()
        })
        .await;
    assert_eq!(row["shopifyWriteback"]["state"], "done");
    assert_eq!(app.tts.push_count(), 1);
}

#[tokio::test]
async fn a_refused_write_back_is_shown_and_retried_without_pushing_again() {
    let app = App::start().await;
    let wrong = ups("1Z999AA1012345678");
    let right = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(41, "#4001", &wrong);
    app.install().await;
    app.shopify.refuse_tracking_update(
        fulfillment,
        Some("Fulfillment tracking is locked by a fulfillment service"),
    );
    app.fix(fulfillment, &right).await;
    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "failed", "{row}");
    assert_eq!(
        row["shopifyWriteback"]["error"]["code"],
        "shopify.user_errors"
    );
    assert!(row["shopifyWriteback"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("locked by a fulfillment service"));
    // TikTok Shop has the fix, once; Shopify kept its number.
    assert_eq!(app.tts.push_count(), 1);
    assert_eq!(row["syncStatus"], "synced");
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        wrong
    );

    // Shopify takes it now: the merchant syncs again, TikTok Shop is not pushed again.
    app.shopify.refuse_tracking_update(fulfillment, None);
    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "done", "{row}");
    assert_eq!(app.tts.push_count(), 1);
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        right
    );
}

#[tokio::test]
async fn a_write_back_shopify_could_not_take_is_retried_until_it_agrees() {
    let app = App::start().await;
    let wrong = ups("1Z999AA1012345678");
    let right = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(51, "#5001", &wrong);
    app.install().await;
    app.fix(fulfillment, &right).await;
    // Shopify answers 503 to every attempt of this sync (1 + 2 retries).
    app.shopify.fail_next_graphql(&[503, 503, 503]);
    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "pending", "{row}");
    assert_eq!(
        row["shopifyWriteback"]["error"]["code"],
        "shopify.unavailable"
    );
    assert_eq!(app.tts.push_count(), 1);
    // Not due yet: nothing is tried.
    assert_eq!(preflight_server::writeback::run_due(&app.state).await, 0);
    // Half a minute later the worker tries again, and Shopify agrees.
    app.clock
        .0
        .fetch_add(31_000, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(preflight_server::writeback::run_due(&app.state).await, 1);
    let row = app.get(&format!("/api/fulfillments/{fulfillment}")).await;
    assert_eq!(row["shopifyWriteback"]["state"], "done", "{row}");
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        right
    );
    assert_eq!(app.tts.push_count(), 1);
}

#[tokio::test]
async fn a_fix_with_separators_reaches_shopify_as_tiktok_shop_took_it() {
    let app = App::start().await;
    let right = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(71, "#7001", &ups("1Z999AA1012345678"));
    app.install().await;
    let typed = format!("{}-{}", &right[..8], &right[8..]);
    app.fix(fulfillment, &typed).await;
    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "done", "{row}");
    assert_eq!(row["shopifyWriteback"]["trackingNumber"], right.as_str());
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        right
    );
}

#[tokio::test]
async fn a_fix_tiktok_shop_already_holds_goes_to_shopify_without_a_push() {
    let app = App::start().await;
    let theirs = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(81, "#8001", &ups("1Z999AA1012345678"));
    // Shipped in Seller Center with another number than Shopify's.
    app.tts
        .ship(
            SHOP,
            &tts_id(81),
            &preflight_server::tts::types::MarkPackageShippedRequest {
                order_line_item_ids: vec![format!("{}01", tts_id(81))],
                tracking_number: theirs.clone(),
                shipping_provider_id: UPS.into(),
            },
        )
        .unwrap();
    app.install().await;
    let pushes = app.tts.push_count();
    let (_, row) = app.fix(fulfillment, &theirs).await;
    assert_eq!(row["report"]["verdict"], "in_sync", "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "held");
    let (status, row) = app.sync(fulfillment).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "done", "{row}");
    assert_eq!(app.tts.push_count(), pushes);
    assert_eq!(
        app.shopify.fulfillment(SHOP, fulfillment).unwrap().tracking[0].number,
        theirs
    );
}

#[tokio::test]
async fn a_held_fix_survives_shopifys_webhook_of_the_old_number() {
    let app = App::start().await;
    let old = ups("1Z999AA1012345678");
    let fix = ups("1Z999AA1012345679");
    let fulfillment = app.noted_order(91, "#9001", &old);
    app.install().await;
    app.fix(fulfillment, &fix).await;
    // Shopify sends the fulfillment again (a shipment status changed), still with the old number.
    assert!(app
        .shopify
        .set_tracking(SHOP, fulfillment, Some("UPS"), &old, now_secs() + 60));
    let delivery = app
        .shopify
        .deliver_fulfillment(SHOP, fulfillment, "fulfillments/update")
        .await
        .unwrap();
    assert_eq!(delivery.status, Some(200));
    let row = app.get(&format!("/api/fulfillments/{fulfillment}")).await;
    assert_eq!(row["fulfillment"]["tracking_number"], fix.as_str(), "{row}");
    assert_eq!(row["shopifyWriteback"]["state"], "held");
    // A third number typed in Shopify wins: the held fix is dropped.
    let third = ups("1Z999AA1012345680");
    assert!(app
        .shopify
        .set_tracking(SHOP, fulfillment, Some("UPS"), &third, now_secs() + 120));
    app.shopify
        .deliver_fulfillment(SHOP, fulfillment, "fulfillments/update")
        .await
        .unwrap();
    let row = app.get(&format!("/api/fulfillments/{fulfillment}")).await;
    assert_eq!(row["fulfillment"]["tracking_number"], third.as_str());
    assert!(row["shopifyWriteback"].is_null(), "{row}");
}

#[tokio::test]
async fn a_backfill_shopify_stopped_goes_on_from_where_it_was() {
    let app = App::start().await;
    for n in 0..5 {
        app.order(
            NewOrder {
                note: Some(tts_id(100 + n)),
                ..named(&format!("#{}", 10_001 + n))
            },
            Some((&tts_id(100 + n), "MUG")),
            &ups("1Z999AA1012345678"),
        );
    }
    // The first page is read and its three links written to their orders (four requests); every
    // attempt at the second page fails.
    app.shopify.fail_after_graphql(4, &[503, 503, 503]);
    let _ = app.get("/api/fulfillments").await;
    let mut stopped = Value::Null;
    for _ in 0..200 {
        stopped = app.get("/api/backfill").await;
        if stopped.get("state").and_then(Value::as_str) != Some("running") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stopped["state"], "failed", "{stopped}");
    assert_eq!(stopped["errorCode"], "shopify.unavailable");
    assert_eq!(stopped["ordersRead"], 3);
    // Opening the list again goes on from the cursor: each order read once.
    let done = app.install().await;
    assert_eq!(done["ordersRead"], 5, "{done}");
    assert_eq!(done["fulfillmentsRead"], 5);
}

#[tokio::test]
async fn an_order_known_only_to_tiktok_shops_external_reference_is_linked_from_it() {
    let app = App::start().await;
    let (order, fulfillment) = app.order(
        named("#12001"),
        Some((&tts_id(120), "MUG")),
        &ups("1Z999AA1012345678"),
    );
    // Another connector recorded the Shopify order at TikTok Shop; the order itself names nothing.
    let errors = app.tts.add_external_orders(
        SHOP,
        &[preflight_server::tts::ExternalOrderReference {
            id: tts_id(120),
            external_order: preflight_server::tts::ExternalOrder {
                id: order.to_string(),
                platform: "SHOPIFY".into(),
                line_items: Vec::new(),
            },
        }],
    );
    assert!(errors.errors.is_empty());
    app.install().await;
    let row = app.get(&format!("/api/fulfillments/{fulfillment}")).await;
    assert_eq!(row["link"]["source"], "externalOrder", "{row}");
    assert_eq!(row["order"]["id"], tts_id(120));
}
