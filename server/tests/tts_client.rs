#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]
//! The live client over real HTTP on loopback, against the simulator's router.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use preflight_server::tts::client::{ClientConfig, TtsClient};
use preflight_server::tts::simulator::{http, RateLimit, Simulator};
use preflight_server::tts::{
    sign, MarkPackageShippedRequest, ShippingProvider, ShopContext, Tts, TtsError, TtsErrorKind,
    UpdateShippingInfoRequest,
};

const KEY: &str = "app-key";
const SECRET: &str = "app-secret";
const SHOP: &str = "GCP_shop_one";
const OPTION: &str = "7091146663229654785";
const UPS: &str = "7117859084333745966";
const USPS: &str = "7117858858072016686";

async fn setup() -> (Simulator, SocketAddr) {
    let sim = Simulator::new(KEY, SECRET);
    sim.set_now(1_790_000_000);
    sim.add_providers(
        OPTION,
        [
            ShippingProvider::new(UPS, "UPS"),
            ShippingProvider::new(USPS, "USPS"),
        ],
    );
    sim.add_order(
        SHOP,
        Simulator::awaiting_shipment("1001", OPTION, &[("1001-1", "A"), ("1001-2", "B")]),
    );
    // The USPS numbers the tests push are TikTok Shipping labels (US sellers may push no other).
    for label in ["9400111899223197428490", "9400111899223197428491"] {
        sim.add_tiktok_shipping_label(label);
    }
    let (addr, _task) = http::spawn_on_loopback(sim.clone()).await.unwrap();
    (sim, addr)
}

fn config(addr: SocketAddr) -> ClientConfig {
    let mut config = ClientConfig::new(format!("http://{addr}"), KEY, SECRET);
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(5);
    config.base_backoff = Duration::from_millis(5);
    config.max_backoff = Duration::from_millis(50);
    config
}

fn client(addr: SocketAddr) -> TtsClient {
    TtsClient::new(config(addr)).unwrap()
}

fn shop() -> ShopContext {
    ShopContext::new(SHOP, "TTP_token")
}

fn ship(ids: &[&str], tracking: &str) -> MarkPackageShippedRequest {
    MarkPackageShippedRequest {
        order_line_item_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        tracking_number: tracking.to_owned(),
        shipping_provider_id: UPS.to_owned(),
    }
}

fn update(tracking: &str) -> UpdateShippingInfoRequest {
    UpdateShippingInfoRequest {
        tracking_number: tracking.to_owned(),
        shipping_provider_id: USPS.to_owned(),
    }
}

#[tokio::test]
async fn ships_updates_once_and_reads_back() {
    let (sim, addr) = setup().await;
    let tts = client(addr);

    let providers = tts.get_shipping_providers(&shop(), OPTION).await.unwrap();
    assert_eq!(providers.len(), 2);

    let shipped = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap();
    assert_eq!(shipped.order_line_item_ids, ["1001-1"]);

    tts.update_package_shipping_info(
        &shop(),
        &shipped.package_id,
        &update("9400111899223197428490"),
    )
    .await
    .unwrap();
    let err = tts
        .update_package_shipping_info(
            &shop(),
            &shipped.package_id,
            &update("9400111899223197428491"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(21_011_051));
    assert_eq!(err.kind(), Some(TtsErrorKind::UpdateLimitReached));
    assert!(!err.is_retryable() && !err.may_have_applied());
    match &err {
        TtsError::Api {
            message,
            request_id,
            ..
        } => {
            assert_eq!(message, "The tracking number can only be updated once.");
            assert!(!request_id.is_empty());
        }
        other => panic!("{other:?}"),
    }

    let package = tts
        .get_package_detail(&shop(), &shipped.package_id)
        .await
        .unwrap();
    assert_eq!(package.tracking_number, "9400111899223197428490");
    assert_eq!(package.shipping_provider_id, USPS);

    let orders = tts
        .get_order_detail(&shop(), &["1001".to_owned(), "404".to_owned()])
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    let engine = orders[0].to_engine().unwrap();
    assert_eq!(
        engine.line_items[0].tracking_number.as_deref(),
        Some("9400111899223197428490")
    );
    assert!(!engine.line_items[1].is_shipped());

    assert_eq!(sim.push_count(), 2);
}

#[tokio::test]
async fn a_duplicate_tracking_number_is_refused() {
    let (sim, addr) = setup().await;
    let tts = client(addr);
    tts.mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap();
    let err = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-2"], "1Z999AA10123456784"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(21_011_025));
    assert_eq!(err.kind(), Some(TtsErrorKind::DuplicateTrackingNumber));
    assert_eq!(sim.push_count(), 1);
}

#[tokio::test]
async fn rate_limits_are_retried_then_given_up() {
    let (sim, addr) = setup().await;
    let tts = client(addr);

    sim.rate_limit_next(3, 0);
    let shipped = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap();
    assert_eq!(sim.push_count(), 1);

    let mut few = config(addr);
    few.max_attempts = 2;
    let impatient = TtsClient::new(few).unwrap();
    sim.rate_limit_next(2, 0);
    let err = impatient
        .get_package_detail(&shop(), &shipped.package_id)
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        (Some(36_009_002), Some(TtsErrorKind::RateLimited))
    );

    // A Retry-After longer than the client waits for ends the call at once.
    let mut short = config(addr);
    short.max_retry_after = Duration::from_secs(1);
    let short = TtsClient::new(short).unwrap();
    sim.rate_limit_next(1, 30);
    let started = Instant::now();
    let err = short
        .get_package_detail(&shop(), &shipped.package_id)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    match err {
        TtsError::Api {
            code, retry_after, ..
        } => {
            assert_eq!(
                (code, retry_after),
                (36_009_002, Some(Duration::from_secs(30)))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (sim, addr) = setup().await;
    let tts = client(addr);
    sim.set_rate_limit(Some(RateLimit {
        max: 1,
        per: Duration::from_millis(900),
    }));
    tts.get_shipping_providers(&shop(), OPTION).await.unwrap();
    let started = Instant::now();
    tts.get_shipping_providers(&shop(), OPTION).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_answer_is_an_unknown_outcome() {
    let (sim, addr) = setup().await;
    let mut cfg = config(addr);
    cfg.request_timeout = Duration::from_millis(300);
    let tts = TtsClient::new(cfg).unwrap();
    sim.drop_next_answers(1);
    let err = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::Unknown(_)), "{err:?}");
    assert!(err.may_have_applied() && !err.is_retryable());
    // Applied once, never resent.
    assert_eq!(sim.push_count(), 1);

    // Reading the order shows what applied.
    let orders = tts
        .get_order_detail(&shop(), &["1001".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        orders[0].line_items[0].tracking_number.as_deref(),
        Some("1Z999AA10123456784")
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let (sim, addr) = setup().await;
    let mut cfg = config(addr);
    cfg.app_secret = "wrong-secret".to_owned();
    let tts = TtsClient::new(cfg).unwrap();
    let err = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        (Some(106_001), Some(TtsErrorKind::InvalidSignature))
    );
    assert_eq!(sim.push_count(), 0);
}

#[tokio::test]
async fn the_simulator_checks_what_the_api_checks() {
    let (sim, addr) = setup().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let path = "/logistics/202309/delivery_options/7091146663229654785/shipping_providers";
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let get = |timestamp: u64, body: Option<&'static str>| {
        let ts = timestamp.to_string();
        let query = [
            ("app_key", KEY),
            ("shop_cipher", SHOP),
            ("timestamp", ts.as_str()),
        ];
        let sign = sign::sign(SECRET, path, &query, body.map(str::as_bytes));
        http.get(format!("http://{addr}{path}"))
            .query(&query)
            .query(&[("sign", sign), ("access_token", "ignored".to_owned())])
            .body(body.unwrap_or_default())
    };

    let response = get(now, None).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let envelope: serde_json::Value = response.json().await.unwrap();
    assert_eq!(envelope["code"], 0);
    assert_eq!(envelope["message"], "Success");
    assert_eq!(envelope["data"]["shipping_providers"][0]["name"], "UPS");
    assert!(envelope["request_id"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));

    // The body is signed too.
    let response = get(now, Some("{}")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let response = get(now - 301, None).send().await.unwrap();
    let envelope: serde_json::Value = response.json().await.unwrap();
    assert_eq!(envelope["code"], 36_009_004);
    let response = get(now + 120, None).send().await.unwrap();
    let envelope: serde_json::Value = response.json().await.unwrap();
    assert_eq!(envelope["code"], 36_009_004);

    let response = get(now, None)
        .query(&[("extra", "unsigned")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let envelope: serde_json::Value = response.json().await.unwrap();
    assert_eq!(envelope["code"], 106_001);

    sim.rate_limit_next(1, 7);
    let response = get(now, None).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let envelope: serde_json::Value = response.json().await.unwrap();
    assert_eq!(envelope["code"], 36_009_002);
}

#[tokio::test]
async fn connection_refused_is_retried_and_surely_not_applied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut cfg = config(addr);
    cfg.max_attempts = 3;
    let tts = TtsClient::new(cfg).unwrap();
    let err = tts
        .mark_package_shipped(&shop(), "1001", &ship(&["1001-1"], "1Z999AA10123456784"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::Connect(_)), "{err:?}");
    assert!(err.is_retryable() && !err.may_have_applied());
}

#[tokio::test]
async fn the_trait_is_object_safe() {
    let (sim, addr) = setup().await;
    let backends: Vec<Box<dyn Tts>> = vec![Box::new(client(addr)), Box::new(sim.clone())];
    for tts in &backends {
        let orders = tts
            .get_order_detail(&shop(), &["1001".to_owned()])
            .await
            .unwrap();
        assert_eq!(orders[0].id, "1001");
    }
    let err = backends[0]
        .get_order_detail(&shop(), &["1/../2".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::InvalidRequest(_)));
}

#[tokio::test]
async fn at_most_fifty_requests_a_second_reach_one_api_of_one_shop() {
    let (sim, addr) = setup().await;
    // TikTok Shop's limit: 50 a second, over any window of a second.
    sim.set_rate_limit(Some(RateLimit {
        max: 50,
        per: Duration::from_secs(1),
    }));
    let client = std::sync::Arc::new(client(addr));
    let calls: Vec<_> = (0..120)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(
                async move { client.get_order_detail(&shop(), &["1001".to_owned()]).await },
            )
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().len(), 1);
    }
    // The client spaced them: TikTok Shop never had to refuse one.
    assert_eq!(sim.throttled(), 0);
}

#[tokio::test]
async fn a_read_answered_503_is_read_again_and_a_write_is_left_unknown() {
    let (sim, addr) = setup().await;
    let client = client(addr);
    sim.unavailable_next(2);
    let orders = client
        .get_order_detail(&shop(), &["1001".to_owned()])
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);
    sim.unavailable_next(1);
    let error = client
        .mark_package_shipped(
            &shop(),
            "1001",
            &MarkPackageShippedRequest {
                order_line_item_ids: vec!["1001-1".into()],
                tracking_number: "1Z999AA10123456784".into(),
                shipping_provider_id: UPS.into(),
            },
        )
        .await
        .unwrap_err();
    assert!(error.may_have_applied(), "{error}");
    assert_eq!(sim.push_count(), 0);
}

#[tokio::test]
async fn external_order_references_are_recorded_and_searched_over_http() {
    let (_sim, addr) = setup().await;
    let client = client(addr);
    let reference = |id: &str| preflight_server::tts::ExternalOrderReference {
        id: id.to_owned(),
        external_order: preflight_server::tts::ExternalOrder {
            id: "6104553215000".into(),
            platform: "SHOPIFY".into(),
            line_items: vec![preflight_server::tts::ExternalLineItem {
                id: "15123456000011".into(),
                origin_id: "1001-1".into(),
            }],
        },
    };
    client
        .add_external_orders(&shop(), &[reference("1001")])
        .await
        .unwrap();
    assert_eq!(
        client
            .search_external_order(&shop(), "6104553215000")
            .await
            .unwrap(),
        ["1001"]
    );
    assert!(client
        .search_external_order(&shop(), "404")
        .await
        .unwrap()
        .is_empty());
    // An order the shop does not have is refused with TikTok Shop's code.
    let error = client
        .add_external_orders(&shop(), &[reference("9999")])
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(36_020_001), "{error}");
}
