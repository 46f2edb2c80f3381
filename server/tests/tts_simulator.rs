#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]
//! The TikTok Shop simulator's model, through its synchronous API and in process through `Tts`.

use std::time::Duration;

use preflight_server::tts::simulator::{Push, ShopProfile, Simulator};
use preflight_server::tts::{
    LineItem, MarkPackageShippedRequest, ShippingProvider, ShopContext, Tts, TtsError,
    TtsErrorKind, UpdateShippingInfoRequest,
};

const SHOP: &str = "GCP_shop_one";
const OTHER_SHOP: &str = "GCP_shop_two";
const OPTION: &str = "7091146663229654785";
const UPS: &str = "7117859084333745966";
const USPS: &str = "7117858858072016686";
const FEDEX: &str = "7129720299146184490";
const T0: i64 = 1_790_000_000;

fn sim() -> Simulator {
    let sim = Simulator::new("app-key", "app-secret");
    sim.set_now(T0);
    sim.add_providers(
        OPTION,
        [
            ShippingProvider::new(UPS, "UPS"),
            ShippingProvider::new(USPS, "USPS"),
        ],
    );
    sim.add_providers("other-option", [ShippingProvider::new(FEDEX, "FedEx")]);
    sim.add_order(
        SHOP,
        Simulator::awaiting_shipment(
            "1001",
            OPTION,
            &[("1001-1", "A"), ("1001-2", "A"), ("1001-3", "B")],
        ),
    );
    // The USPS number the tests push is a TikTok Shipping label (US sellers may push no other).
    sim.add_tiktok_shipping_label("9400111899223197428490");
    sim
}

fn ship(ids: &[&str], provider: &str, tracking: &str) -> MarkPackageShippedRequest {
    MarkPackageShippedRequest {
        order_line_item_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
        tracking_number: tracking.to_owned(),
        shipping_provider_id: provider.to_owned(),
    }
}

fn update(provider: &str, tracking: &str) -> UpdateShippingInfoRequest {
    UpdateShippingInfoRequest {
        tracking_number: tracking.to_owned(),
        shipping_provider_id: provider.to_owned(),
    }
}

fn code<T: std::fmt::Debug>(result: Result<T, TtsError>) -> u64 {
    result.unwrap_err().code().unwrap()
}

#[test]
fn ships_a_package_and_shows_it_in_the_order() {
    let sim = sim();
    let data = sim
        .ship(
            SHOP,
            "1001",
            &ship(&["1001-1", "1001-2"], UPS, "1Z999AA10123456784"),
        )
        .unwrap();
    assert_eq!(data.order_id, "1001");
    assert_eq!(data.order_line_item_ids, ["1001-1", "1001-2"]);
    assert!(data.warning.is_none());

    let orders = sim.orders(SHOP, &["1001".to_owned(), "nope".to_owned()]);
    assert_eq!(orders.len(), 1);
    let order = &orders[0];
    assert_eq!(order.status, "PARTIALLY_SHIPPING");
    assert_eq!(order.packages.len(), 1);
    assert_eq!(order.packages[0].id, data.package_id);
    let unit = &order.line_items[0];
    assert_eq!(unit.package_id.as_deref(), Some(data.package_id.as_str()));
    assert_eq!(unit.package_status.as_deref(), Some("FULFILLING"));
    assert_eq!(unit.tracking_number.as_deref(), Some("1Z999AA10123456784"));
    assert_eq!(unit.shipping_provider_name.as_deref(), Some("UPS"));
    assert_eq!(unit.rts_time, Some(T0));
    assert_eq!(
        order.line_items[2].package_status.as_deref(),
        Some("TO_FULFILL")
    );

    let engine = order.to_engine().unwrap();
    assert!(engine.line_items[0].is_shipped());
    assert!(!engine.line_items[2].is_shipped());

    let package = sim.package(SHOP, &data.package_id).unwrap();
    assert_eq!(package.order_line_item_ids, ["1001-1", "1001-2"]);
    assert_eq!(package.tracking_number, "1Z999AA10123456784");
    assert_eq!(package.shipping_provider_id, UPS);
    assert_eq!(package.package_status, "FULFILLING");
    assert_eq!(package.orders[0].id, "1001");
    assert_eq!(package.create_time, T0);

    assert_eq!(
        sim.ledger()
            .iter()
            .map(|e| e.push.clone())
            .collect::<Vec<_>>(),
        [Push::Ship {
            order_id: "1001".into(),
            package_id: data.package_id,
            order_line_item_ids: vec!["1001-1".into(), "1001-2".into()],
            shipping_provider_id: UPS.into(),
            tracking_number: "1Z999AA10123456784".into(),
        }]
    );

    sim.ship(
        SHOP,
        "1001",
        &ship(&["1001-3"], USPS, "9400111899223197428490"),
    )
    .unwrap();
    assert_eq!(
        sim.orders(SHOP, &["1001".to_owned()])[0].status,
        "IN_TRANSIT"
    );
    assert_eq!(sim.push_count(), 2);
}

#[test]
fn refuses_pushes_as_tts_does_and_records_none() {
    let sim = sim();
    sim.ship(SHOP, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"))
        .unwrap();
    let ledger = sim.ledger();

    // Units already in a shipped package.
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-1", "1001-2"], UPS, "1ZOTHER"))),
        21_011_006
    );
    // A provider that is not one of the order's delivery option.
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-2"], FEDEX, "123456789012"))),
        21_011_022
    );
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-2"], "42", "123456789012"))),
        21_011_022
    );
    // A tracking number already on another package.
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-2"], UPS, "1z999aa10123456784"))),
        21_011_025
    );
    // Special characters, a unit of another order, no units, the same unit twice.
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-2"], UPS, "1Z-999"))),
        21_004_012
    );
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["9999-1"], UPS, "1ZNEW"))),
        21_011_029
    );
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&[], UPS, "1ZNEW"))),
        21_001_001
    );
    assert_eq!(
        code(sim.ship(SHOP, "1001", &ship(&["1001-2", "1001-2"], UPS, "1ZNEW"))),
        21_001_001
    );
    // An order of another shop, or none.
    assert_eq!(
        code(sim.ship(OTHER_SHOP, "1001", &ship(&["1001-2"], UPS, "1ZNEW"))),
        21_001_001
    );
    assert_eq!(
        code(sim.ship(SHOP, "404", &ship(&["1001-2"], UPS, "1ZNEW"))),
        21_001_001
    );

    // Order states.
    let states = [
        ("CANCELLED", 21_011_041),
        ("UNPAID", 10_007_002),
        ("ON_HOLD", 10_007_002),
    ];
    for (status, expected) in states {
        assert!(sim.set_order_status("1001", status));
        assert_eq!(
            code(sim.ship(SHOP, "1001", &ship(&["1001-2"], UPS, "1ZNEW"))),
            expected,
            "{status}"
        );
    }
    sim.set_order_status("1001", "AWAITING_SHIPMENT");

    let mut order = Simulator::awaiting_shipment("2001", OPTION, &[("2001-1", "A")]);
    order.fulfillment_type = Some("FULFILLMENT_BY_TIKTOK".into());
    sim.add_order(SHOP, order.clone());
    assert_eq!(
        code(sim.ship(SHOP, "2001", &ship(&["2001-1"], UPS, "1ZNEW"))),
        21_008_025
    );
    order.fulfillment_type = Some("FULFILLMENT_BY_SELLER".into());
    order.shipping_type = Some("TIKTOK".into());
    sim.add_order(SHOP, order.clone());
    assert_eq!(
        code(sim.ship(SHOP, "2001", &ship(&["2001-1"], UPS, "1ZNEW"))),
        21_008_025
    );
    order.shipping_type = Some("SELLER".into());
    order.is_on_hold_order = true;
    sim.add_order(SHOP, order.clone());
    assert_eq!(
        code(sim.ship(SHOP, "2001", &ship(&["2001-1"], UPS, "1ZNEW"))),
        10_007_002
    );
    order.is_on_hold_order = false;
    order.is_buyer_request_cancel = true;
    sim.add_order(SHOP, order.clone());
    assert_eq!(
        code(sim.ship(SHOP, "2001", &ship(&["2001-1"], UPS, "1ZNEW"))),
        21_011_007
    );
    order.is_buyer_request_cancel = false;
    order.line_items.push(LineItem {
        id: "2001-2".into(),
        display_status: Some("CANCELLED".into()),
        ..LineItem::default()
    });
    sim.add_order(SHOP, order);
    assert_eq!(
        code(sim.ship(SHOP, "2001", &ship(&["2001-2"], UPS, "1ZNEW"))),
        21_011_042
    );

    assert_eq!(sim.ledger(), ledger);
}

#[test]
fn one_tracking_update_within_72_hours() {
    let sim = sim();
    let first = sim
        .ship(SHOP, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"))
        .unwrap()
        .package_id;
    let second = sim
        .ship(SHOP, "1001", &ship(&["1001-2"], UPS, "1Z999AA10123456785"))
        .unwrap()
        .package_id;

    // Not onto a number another package holds.
    assert_eq!(
        code(sim.update_shipping_info(SHOP, &first, &update(UPS, "1Z999AA10123456785"))),
        21_011_025
    );
    // Not to a provider outside the delivery option.
    assert_eq!(
        code(sim.update_shipping_info(SHOP, &first, &update(FEDEX, "123456789012"))),
        21_011_022
    );
    // Not a package of another shop, nor an unknown one.
    assert_eq!(
        code(sim.update_shipping_info(OTHER_SHOP, &first, &update(UPS, "1ZNEW"))),
        21_011_028
    );
    assert_eq!(
        code(sim.update_shipping_info(SHOP, "404", &update(UPS, "1ZNEW"))),
        21_011_028
    );

    sim.set_now(T0 + 72 * 3600 - 1);
    sim.update_shipping_info(SHOP, &first, &update(USPS, "9400111899223197428490"))
        .unwrap();
    let package = sim.package(SHOP, &first).unwrap();
    assert_eq!(
        (
            package.tracking_number.as_str(),
            package.shipping_provider_id.as_str()
        ),
        ("9400111899223197428490", USPS)
    );
    assert_eq!(package.update_time, T0 + 72 * 3600 - 1);
    let err = sim
        .update_shipping_info(SHOP, &first, &update(UPS, "1ZAGAIN"))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        (Some(21_011_051), Some(TtsErrorKind::UpdateLimitReached))
    );

    sim.advance(Duration::from_secs(1));
    let err = sim
        .update_shipping_info(SHOP, &second, &update(UPS, "1ZLATE"))
        .unwrap_err();
    assert_eq!(
        (err.code(), err.kind()),
        (Some(21_011_050), Some(TtsErrorKind::UpdateWindowExpired))
    );

    assert_eq!(sim.push_count(), 3);
    assert!(
        matches!(&sim.ledger()[2].push, Push::Update { package_id, .. } if *package_id == first)
    );
    assert_eq!(sim.ledger()[2].at, T0 + 72 * 3600 - 1);
}

#[test]
fn usps_labels_only_through_tiktok_shipping_by_seller_type_and_date() {
    let oct_27_2025 = 1_761_523_200;
    let jan_1_2026 = 1_767_225_600;
    let own_label = "9400111206206406260787";
    let push = |sim: &Simulator| sim.ship(SHOP, "1001", &ship(&["1001-1"], USPS, own_label));
    let profile = |seller_type: &str, usps_exception: bool| ShopProfile {
        seller_type: seller_type.to_owned(),
        usps_exception,
        ..ShopProfile::default()
    };

    // Cross-border sellers from 2025-10-27, local ones from 2026-01-01.
    for (seller_type, since) in [("CROSS_BORDER", oct_27_2025), ("LOCAL", jan_1_2026)] {
        let s = sim();
        s.set_shop_profile(SHOP, profile(seller_type, false));
        s.set_now(since);
        assert_eq!(code(push(&s)), 21_022_032, "{seller_type}");
        let s = sim();
        s.set_shop_profile(SHOP, profile(seller_type, false));
        s.set_now(since - 1);
        assert!(push(&s).is_ok(), "{seller_type}");
    }
    // A TikTok Shipping label, a shop with an exception, another carrier, another market.
    let s = sim();
    s.add_tiktok_shipping_label(own_label);
    assert!(push(&s).is_ok());
    let s = sim();
    s.set_shop_profile(SHOP, profile("LOCAL", true));
    assert!(push(&s).is_ok());
    let s = sim();
    assert!(s
        .ship(SHOP, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"))
        .is_ok());
    let s = sim();
    s.set_shop_profile(
        SHOP,
        ShopProfile {
            region: "UK".to_owned(),
            ..profile("LOCAL", false)
        },
    );
    assert!(push(&s).is_ok());
    assert_eq!(sim().push_count(), 0);
}

#[test]
fn a_unit_with_a_cancellation_request_and_a_split_sku_are_refused() {
    // A buyer asked to cancel unit 1001-1: it cannot ship until the request is answered.
    let s = sim();
    let mut order =
        Simulator::awaiting_shipment("1001", OPTION, &[("1001-1", "A"), ("1001-2", "B")]);
    order.line_items[0].cancel_user = Some("BUYER".to_owned());
    s.add_order(SHOP, order);
    let refused = s.ship(SHOP, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"));
    assert_eq!(code(refused), 21_011_007);
    assert!(s
        .ship(SHOP, "1001", &ship(&["1001-2"], UPS, "1Z999AA10123456784"))
        .is_ok());

    // Where the market forbids it, one SKU's units go in one package.
    let s = sim();
    let mut order = Simulator::awaiting_shipment(
        "1001",
        OPTION,
        &[("1001-1", "A"), ("1001-2", "A"), ("1001-3", "B")],
    );
    for (item, sku) in order.line_items.iter_mut().zip(["SKU-A", "SKU-A", "SKU-B"]) {
        item.sku_id = Some(sku.to_owned());
    }
    s.add_order(SHOP, order);
    s.set_shop_profile(
        SHOP,
        ShopProfile {
            sku_split_forbidden: true,
            ..ShopProfile::default()
        },
    );
    let one_of_two = s.ship(SHOP, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"));
    assert_eq!(code(one_of_two), 21_011_036);
    assert!(s
        .ship(
            SHOP,
            "1001",
            &ship(&["1001-1", "1001-2"], UPS, "1Z999AA10123456784")
        )
        .is_ok());
}

#[test]
fn a_delivered_package_keeps_its_tracking() {
    let sim = sim();
    let ids = ["1001-1", "1001-2", "1001-3"];
    let package = sim
        .ship(SHOP, "1001", &ship(&ids, UPS, "1Z999AA10123456784"))
        .unwrap()
        .package_id;
    assert!(sim.deliver_package(&package));
    assert!(!sim.deliver_package("404"));
    assert_eq!(
        code(sim.update_shipping_info(SHOP, &package, &update(UPS, "1ZNEW"))),
        21_011_030
    );
    let order = &sim.orders(SHOP, &["1001".to_owned()])[0];
    assert_eq!(order.status, "DELIVERED");
    assert_eq!(
        order.line_items[0].package_status.as_deref(),
        Some("COMPLETED")
    );
    assert_eq!(
        sim.package(SHOP, &package).unwrap().package_status,
        "COMPLETED"
    );
}

#[test]
fn providers_per_delivery_option() {
    let sim = sim();
    let providers = sim.providers(OPTION).unwrap();
    assert_eq!(
        providers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["UPS", "USPS"]
    );
    assert_eq!(code(sim.providers("404")), 21_008_116);
}

#[tokio::test]
async fn in_process_through_the_trait() {
    let sim = sim();
    let tts: &dyn Tts = &sim;
    let shop = ShopContext::new(SHOP, "token");
    sim.set_ship_warning(Some("match more than one provider".into()));
    let data = tts
        .mark_package_shipped(&shop, "1001", &ship(&["1001-1"], UPS, "1Z999AA10123456784"))
        .await
        .unwrap();
    assert_eq!(
        data.warning.unwrap().message,
        "match more than one provider"
    );

    // Applied, answer dropped: the caller learns nothing but the push is there.
    sim.drop_next_answers(1);
    let err = tts
        .update_package_shipping_info(&shop, &data.package_id, &update(UPS, "1ZNEW"))
        .await
        .unwrap_err();
    assert!(matches!(err, TtsError::Unknown(_)) && err.may_have_applied());
    assert_eq!(sim.push_count(), 2);
    let package = tts
        .get_package_detail(&shop, &data.package_id)
        .await
        .unwrap();
    assert_eq!(package.tracking_number, "1ZNEW");

    sim.rate_limit_next(1, 3);
    let err = tts.get_shipping_providers(&shop, OPTION).await.unwrap_err();
    assert_eq!(err.kind(), Some(TtsErrorKind::RateLimited));
    assert!(err.is_retryable());
    assert_eq!(
        tts.get_shipping_providers(&shop, OPTION)
            .await
            .unwrap()
            .len(),
        2
    );

    let orders = tts
        .get_order_detail(&shop, &["1001".to_owned()])
        .await
        .unwrap();
    assert_eq!(orders[0].id, "1001");

    sim.set_latency(Duration::from_millis(20));
    let started = std::time::Instant::now();
    tts.get_order_detail(&shop, &["1001".to_owned()])
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(20));
}
