//! The demo shop: realistic fulfillments covering every outcome, seeded through the real code paths.
//!
//! [`seed`] stores Shopify webhooks with [`Store::upsert_fulfillment`], adds TikTok Shop orders to the
//! [`Simulator`], links them with [`sync::link_order`] and pushes with real syncs under idempotency
//! keys ([`crate::api::sync_request`]). Past shipments are dated by moving the simulator's clock and
//! the seed's own clock together, so TikTok Shop's `rts_time` and our history's `shippedAt` agree; the
//! server that serves the demo afterwards validates with the real clock.
//!
//! Tracking numbers are made valid for their carriers by the engine's own recognizer
//! ([`preflight::carrier::tracking::recognize`]), except the ones that are wrong on purpose.
//!
//! The cases, by Shopify order (the fulfillment is `#number.1`):
//!
//! | orders | case |
//! | --- | --- |
//! | #1001, #1003, #1004, #1006, #1008, #1009, #1011, #1013 | synced: pushed 2 to 52 hours ago (UPS, USPS, FedEx, Amazon, OnTrac; several units and lines) |
//! | #1015 | synced after its one tracking update |
//! | #1014, #1019 | `tracking.update_limit_reached`: the update spent, and Shopify has a third number |
//! | #1002, #1005 | `tracking.update_window_expired`: pushed 96 and 100 hours ago, a new number now |
//! | #1007 | ready update, `tracking.only_update_left`: pushed 67 hours ago, the window closes in about 5 hours |
//! | #1021, #1024 | `line_items.already_fulfilled`: shipped from Seller Center with another number |
//! | #1026, #1027, #1029, #1030 | `order.cancelled`, `order.fulfilled_by_tiktok`, `order.cancellation_requested`, `order.on_hold` |
//! | #1031, #1033, #1035, #1063 | `carrier.not_integrated`: "Bob's Local Courier", "Fedx" (FedEx suggested), "Sunrise Courier Co.", and [`XSS_CARRIER`] |
//! | #1032 | `carrier.missing`: "Other" with no mapping and a number of no known format |
//! | #1053, #1054 | `carrier.not_integrated` until the mapping [`MAPPING_FROM`] → [`MAPPING_TO`] |
//! | #1041, #1044, #1046 | sync failed: TikTok Shop refused the push (21011022: the economy delivery option has no FedEx or Amazon; 21011025: #1001's number pasted again) |
//! | #1048, #1049, #1050, #1051, #1052, #1055, #1057 | ready to ship (USPS, UPS ×3, FedEx with three lines, Lasership, "Other" told by a UPS number, USPS Priority Mail, Amazon) |
//! | #1059, #1069 | `tracking.invalid_check_digit`: a USPS and a UPS number one digit off |
//! | #1077 | ready as last read, 422 at the sync's re-check |
//!
//! The newcomer's walk: [`WALK_MAPPING`] (a carrier one mapping fixes, with [`MAPPING_FROM`] →
//! [`MAPPING_TO`]), [`WALK_CHECK_DIGIT`] (a UPS number one digit off, fixed with
//! [`WALK_CHECK_DIGIT_FIX`]), [`WALK_RECHECK`] (ready in the preview, refused with 422 at the sync's
//! re-check) and [`WALK_XSS`] (a carrier name that is markup, to be shown as text).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use preflight::carrier::tracking::{recognize, Courier};
use preflight::{Region, Settings, Timestamp};
use serde_json::{json, Value};

use crate::api::{self, ApiError, AppState};
use crate::auth::AppCredentials;
use crate::store::{
    Clock, FulfillmentQuery, FulfillmentWebhook, Store, SystemClock, MAX_PAGE_LIMIT,
};
use crate::sync;
use crate::tts::simulator::Simulator;
use crate::tts::types::{LineItem, MarkPackageShippedRequest, Order, ShippingProvider};

/// The demo shop.
pub const SHOP: &str = "preflight-demo.myshopify.com";

/// The walk's carrier-mapping case: a Pitney Bowes label (delivered by USPS) that TikTok Shop does
/// not know by that name. [`WALK_MAPPING_TWIN`] has the same carrier name: one mapping fixes both.
pub const WALK_MAPPING: &str = "5603918295893";
/// The second fulfillment fixed by the same mapping as [`WALK_MAPPING`].
pub const WALK_MAPPING_TWIN: &str = "5603918296174";
/// The Shopify carrier name of the mapping cases.
pub const MAPPING_FROM: &str = "Pitney Bowes";
/// The TikTok Shop provider the mapping cases map to.
pub const MAPPING_TO: &str = "USPS";

/// The walk's bad check digit: a UPS number one digit off ([`WALK_CHECK_DIGIT_FIX`] with its last
/// digit changed).
pub const WALK_CHECK_DIGIT: &str = "5603918300389";
/// The right number of [`WALK_CHECK_DIGIT`], as the merchant types it in.
pub const WALK_CHECK_DIGIT_FIX: &str = "1Z4F9W170394428716";

/// The walk's re-check case: its stored preview (the order as last read) is ready, but the order's
/// units were shipped in TikTok Shop Seller Center since, so `POST /sync` answers 422 `sync.blocked`.
pub const WALK_RECHECK: &str = "5603918302637";
/// The Shopify name of [`WALK_RECHECK`]'s fulfillment.
pub const WALK_RECHECK_NAME: &str = "#1077.1";

/// The walk's markup carrier name: the widget must show it as text.
pub const WALK_XSS: &str = "5603918298703";
/// The carrier name of [`WALK_XSS`].
pub const XSS_CARRIER: &str = "<img src=x onerror=alert(1)>";

/// The delivery option of most demo orders: every US provider.
pub const STANDARD_DELIVERY: &str = "7091146663229654785";
/// The economy delivery option: USPS and UPS only, which the engine does not know when the settings
/// carry no providers (so a FedEx push there is refused by TikTok Shop, not by the preview).
pub const ECONOMY_DELIVERY: &str = "7091146663229654786";

/// What [`seed`] made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// How many fulfillments the shop holds.
    pub fulfillments: usize,
    /// Stored preview reports per verdict (`none` for a fulfillment with none).
    pub verdicts: BTreeMap<String, usize>,
    /// Fulfillments per diagnostic code of error severity in their stored report.
    pub errors: BTreeMap<String, usize>,
    /// Fulfillments per sync status (`not_synced`, `synced`, `sync_failed`).
    pub statuses: BTreeMap<String, usize>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |map: &BTreeMap<String, usize>| {
            map.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "{} fulfillments; verdicts: {}; errors: {}; sync: {}",
            self.fulfillments,
            list(&self.verdicts),
            list(&self.errors),
            list(&self.statuses)
        )
    }
}

/// The seed's clock: set, not running.
#[derive(Debug)]
struct SeedClock(AtomicI64);

impl Clock for SeedClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A product of the demo shop.
#[derive(Clone, Copy, Debug)]
struct Product {
    title: &'static str,
    variant: &'static str,
    sku: &'static str,
    price: &'static str,
    variant_id: u64,
}

const fn product(
    title: &'static str,
    variant: &'static str,
    sku: &'static str,
    price: &'static str,
    variant_id: u64,
) -> Product {
    Product {
        title,
        variant,
        sku,
        price,
        variant_id,
    }
}

const TEE_BLACK: Product = product(
    "Organic Cotton Tee",
    "Black / M",
    "TEE-BLK-M",
    "28.00",
    44_871_236_501_011,
);
const TEE_WHITE: Product = product(
    "Organic Cotton Tee",
    "White / L",
    "TEE-WHT-L",
    "28.00",
    44_871_236_501_012,
);
const SOCKS: Product = product(
    "Merino Crew Socks",
    "3-Pack / M",
    "SOCK-MER-3P-M",
    "24.00",
    44_871_236_501_020,
);
const TOTE: Product = product(
    "Canvas Tote Bag",
    "Natural",
    "TOTE-NAT",
    "32.00",
    44_871_236_501_031,
);
const POUR_OVER: Product = product(
    "Ceramic Pour-Over Set",
    "Matte White",
    "POUR-WHT",
    "54.00",
    44_871_236_501_042,
);
const MUG: Product = product(
    "Stoneware Mug",
    "Speckled / 12 oz",
    "MUG-SPK-12",
    "22.00",
    44_871_236_501_053,
);
const PILLOW: Product = product(
    "Linen Throw Pillow Cover",
    "Sage / 18x18",
    "PIL-SAG-18",
    "38.00",
    44_871_236_501_064,
);
const CANDLE: Product = product(
    "Beeswax Candle",
    "Honey / 8 oz",
    "CNDL-HNY-8",
    "19.00",
    44_871_236_501_075,
);
const BOARD: Product = product(
    "Bamboo Cutting Board",
    "Large",
    "BRD-BMB-L",
    "45.00",
    44_871_236_501_086,
);
const BEANIE: Product = product(
    "Wool Beanie",
    "Charcoal",
    "BEAN-CHR",
    "26.00",
    44_871_236_501_097,
);
const BOTTLE: Product = product(
    "Recycled Water Bottle",
    "Sea Blue / 24 oz",
    "BTL-SEA-24",
    "30.00",
    44_871_236_501_108,
);
const CARD_HOLDER: Product = product(
    "Leather Card Holder",
    "Tan",
    "CARD-TAN",
    "35.00",
    44_871_236_501_119,
);

/// An error of the seed itself.
fn seed_error(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "demo.seed", message)
}

/// A time before the seed's start, in minutes.
#[derive(Clone, Copy, Debug)]
struct Ago {
    minutes: i64,
}

const fn hours(h: i64) -> Ago {
    Ago { minutes: h * 60 }
}

const fn minutes(m: i64) -> Ago {
    Ago { minutes: m }
}

/// The Shopify fulfillment id of order `#number`'s fulfillment.
fn fulfillment_id(number: u32) -> String {
    (5_603_918_000_000_u64 + u64::from(number) * 281).to_string()
}

/// One demo order and its Shopify fulfillment.
#[derive(Clone, Debug)]
struct Case {
    /// The Shopify order number (`#1042`).
    number: u32,
    carrier: &'static str,
    tracking: String,
    lines: Vec<(Product, u32)>,
    delivery_option: &'static str,
    /// How long ago the fulfillment was created in Shopify.
    created: Ago,
}

impl Case {
    fn fulfillment_id(&self) -> String {
        fulfillment_id(self.number)
    }

    fn shopify_order_id(&self) -> String {
        (6_104_553_000_000_u64 + u64::from(self.number) * 211).to_string()
    }

    fn tts_order_id(&self) -> String {
        (576_461_413_038_000_000_u64 + u64::from(self.number) * 1_009).to_string()
    }

    /// The TikTok Shop unit ids: one per unit, in line order.
    fn unit_ids(&self) -> Vec<String> {
        let base = 577_086_512_120_000_000_u64 + u64::from(self.number) * 100;
        let units: u32 = self.lines.iter().map(|(_, q)| q).sum();
        (1..=u64::from(units))
            .map(|k| (base + k).to_string())
            .collect()
    }

    fn order(&self) -> Order {
        let mut units = self.unit_ids().into_iter();
        let mut line_items = Vec::new();
        for (product, quantity) in &self.lines {
            for _ in 0..*quantity {
                if let Some(id) = units.next() {
                    line_items.push(LineItem {
                        id,
                        sku_id: Some(
                            (1_729_384_756_000_000_000 + product.variant_id % 1_000).to_string(),
                        ),
                        seller_sku: Some(product.sku.to_owned()),
                        product_name: Some(product.title.to_owned()),
                        ..LineItem::default()
                    });
                }
            }
        }
        Order {
            id: self.tts_order_id(),
            status: "AWAITING_SHIPMENT".to_owned(),
            fulfillment_type: Some("FULFILLMENT_BY_SELLER".to_owned()),
            shipping_type: Some("SELLER".to_owned()),
            delivery_option_id: Some(self.delivery_option.to_owned()),
            line_items,
            ..Order::default()
        }
    }

    /// The Shopify fulfillment, REST/webhook shape, with `tracking` as its number.
    fn payload(&self, tracking: &str, created_at: &str, updated_at: &str) -> String {
        let base = 15_123_456_000_000_u64 + u64::from(self.number) * 10;
        let line_items: Vec<Value> = self
            .lines
            .iter()
            .zip(1_u64..)
            .map(|((p, quantity), k)| {
                json!({
                    "id": base + k,
                    "variant_id": p.variant_id,
                    "product_id": 8_912_345_600_000_u64 + p.variant_id % 1_000,
                    "title": p.title,
                    "variant_title": p.variant,
                    "name": format!("{} - {}", p.title, p.variant),
                    "sku": p.sku,
                    "quantity": quantity,
                    "price": p.price,
                    "fulfillable_quantity": 0,
                    "fulfillment_status": "fulfilled",
                    "requires_shipping": true,
                    "vendor": "Fernwood Goods",
                })
            })
            .collect();
        json!({
            "id": self.fulfillment_id().parse::<u64>().unwrap_or_default(),
            "order_id": self.shopify_order_id().parse::<u64>().unwrap_or_default(),
            "name": format!("#{}.1", self.number),
            "status": "success",
            "service": "manual",
            "shipment_status": null,
            "location_id": 71_234_567_890_u64,
            "tracking_company": self.carrier,
            "tracking_number": tracking,
            "tracking_numbers": [tracking],
            "created_at": created_at,
            "updated_at": updated_at,
            "line_items": line_items,
        })
        .to_string()
    }
}

/// Deterministic digits, so every demo has the same numbers.
#[derive(Debug)]
struct Digits(u64);

impl Digits {
    fn take(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                char::from(b'0' + u8::try_from((self.0 >> 33) % 10).unwrap_or(0))
            })
            .collect()
    }

    /// A number of `courier`: `shape` gives a candidate from fresh digits; the first whose format and
    /// check digit the engine accepts for that courier.
    fn number(
        &mut self,
        courier: Courier,
        shape: impl Fn(&mut Self) -> String,
    ) -> Result<String, ApiError> {
        for _ in 0..200 {
            let body = shape(self);
            for check in '0'..='9' {
                let candidate = format!("{body}{check}");
                if recognize(&candidate).valid.contains(courier) {
                    return Ok(candidate);
                }
            }
        }
        Err(seed_error(format!("no valid number for `{courier:?}`")))
    }

    fn ups(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Ups, |d| format!("1Z4F9W1703{}", d.take(7)))
    }

    fn usps(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Usps, |d| format!("9400111899{}", d.take(11)))
    }

    fn fedex(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Fedex, |d| format!("7{}", d.take(10)))
    }

    fn ontrac(&mut self) -> Result<String, ApiError> {
        self.number(Courier::OnTrac, |d| format!("C1{}", d.take(12)))
    }

    fn amazon(&mut self) -> Result<String, ApiError> {
        let number = format!("TBA3{}", self.take(11));
        if recognize(&number).valid.contains(Courier::AmazonLogistics) {
            Ok(number)
        } else {
            Err(seed_error(format!(
                "`{number}` is no Amazon Logistics number"
            )))
        }
    }

    fn lasership(&mut self) -> Result<String, ApiError> {
        let number = format!("1LS71{}", self.take(10));
        if recognize(&number).valid.contains(Courier::LaserShip) {
            Ok(number)
        } else {
            Err(seed_error(format!("`{number}` is no LaserShip number")))
        }
    }
}

/// `number` with its last digit changed so that its check digit fails for `courier`.
fn off_by_one(number: &str, courier: Courier) -> Result<String, ApiError> {
    let (body, last) = number.split_at(number.len().saturating_sub(1));
    let last = last
        .parse::<u8>()
        .map_err(|_| seed_error("no final digit"))?;
    let wrong = format!("{body}{}", (last + 1) % 10);
    if recognize(&wrong).bad_check.contains(courier) {
        Ok(wrong)
    } else {
        Err(seed_error(format!("`{wrong}` has no bad check digit")))
    }
}

/// RFC 3339 with Shopify's store offset (US Eastern standard time).
fn shopify_time(unix_seconds: i64) -> String {
    let local = Timestamp::from_unix(unix_seconds - 5 * 3600).to_string();
    format!("{}-05:00", local.trim_end_matches('Z'))
}

struct Seeder<'a> {
    state: Arc<AppState>,
    sim: &'a Simulator,
    clock: Arc<SeedClock>,
    shop: String,
    start: i64,
    keys: u32,
    events: u32,
}

impl Seeder<'_> {
    /// Moves both clocks to `ago` before the start.
    fn at(&self, ago: Ago) -> i64 {
        let t = self.start - ago.minutes * 60;
        self.clock.0.store(t * 1000, Ordering::SeqCst);
        self.sim.set_now(t);
        t
    }

    /// The order at TikTok Shop, as given.
    fn add_order(&self, order: Order) {
        self.sim.add_order(&self.shop, order);
    }

    /// Shopify's `fulfillments/create` or `fulfillments/update` webhook, stored as the webhook route
    /// stores it (and the preview refreshed), at `ago`.
    async fn webhook(&mut self, case: &Case, tracking: &str, ago: Ago) -> Result<(), ApiError> {
        let created = self.start - case.created.minutes * 60;
        let updated = self.at(ago);
        let payload = case.payload(tracking, &shopify_time(created), &shopify_time(updated));
        let updated_at = shopify_time(updated);
        let id = case.fulfillment_id();
        self.events += 1;
        let event = format!("demo-{:08x}-{}", self.events, case.number);
        let store = self.state.store.clone();
        let (shop, id2) = (self.shop.clone(), id.clone());
        crate::state::blocking(move || {
            store.upsert_fulfillment(
                &shop,
                &FulfillmentWebhook {
                    fulfillment_id: &id2,
                    updated_at: &updated_at,
                    payload_json: &payload,
                    event_id: Some(&event),
                },
            )
        })
        .await?;
        sync::refresh_preview(&self.state, &self.shop, &id).await
    }

    /// Creates the order at TikTok Shop and the fulfillment, then links them, at `ago`.
    async fn create(&mut self, case: &Case, ago: Ago) -> Result<(), ApiError> {
        self.add_order(case.order());
        self.create_fulfillment(case, ago).await?;
        self.link(case, ago).await
    }

    /// As [`Seeder::create`], with the order as given, at the case's creation.
    async fn create_with(&mut self, case: &Case, order: Order) -> Result<(), ApiError> {
        self.add_order(order);
        self.create_fulfillment(case, case.created).await?;
        self.link(case, case.created).await
    }

    async fn create_fulfillment(&mut self, case: &Case, ago: Ago) -> Result<(), ApiError> {
        let tracking = case.tracking.clone();
        self.webhook(case, &tracking, ago).await
    }

    async fn link(&mut self, case: &Case, ago: Ago) -> Result<(), ApiError> {
        self.at(ago);
        sync::link_order(
            &self.state,
            &self.shop,
            &case.fulfillment_id(),
            &case.tts_order_id(),
        )
        .await
        .map(|_| ())
    }

    /// A sync as `POST /api/fulfillments/{id}/sync` runs it, at `ago`; answers its status.
    async fn sync(&mut self, case: &Case, ago: Ago) -> Result<StatusCode, ApiError> {
        self.at(ago);
        self.keys += 1;
        let id = case.fulfillment_id();
        let key = format!("demo-seed-{id}-{}", self.keys);
        let path = format!("/api/fulfillments/{id}/sync");
        let answer = api::sync_request(&self.state, &self.shop, &id, &key, &path, b"").await?;
        Ok(answer.status)
    }

    /// Ships the case's units in TikTok Shop Seller Center (at the simulator, not through us).
    fn ship_in_seller_center(
        &self,
        case: &Case,
        tracking: &str,
        provider_id: &str,
        ago: Ago,
    ) -> Result<(), ApiError> {
        self.at(ago);
        self.sim
            .ship(
                &self.shop,
                &case.tts_order_id(),
                &MarkPackageShippedRequest {
                    order_line_item_ids: case.unit_ids(),
                    tracking_number: tracking.to_owned(),
                    shipping_provider_id: provider_id.to_owned(),
                },
            )
            .map(|_| ())
            .map_err(|e| seed_error(format!("seller center ship: {e}")))
    }
}

/// The order number of [`WALK_CHECK_DIGIT`].
const TYPO_NUMBER: u32 = 1069;

const USPS_ID: &str = "7117858858072016686";
const UPS_ID: &str = "7117859084333745966";

/// Seeds the demo shop `shop`: settings (US, no mappings), the simulator's delivery options, and the
/// fulfillments listed in the module's documentation, then answers what the shop holds. Leaves the
/// simulator's clock at the current time.
///
/// # Errors
/// What a step of the real code paths answers, or `demo.seed` when a demo number is not what it must
/// be; the shop is then partly seeded.
pub async fn seed(store: Arc<dyn Store>, sim: &Simulator, shop: &str) -> Result<Summary, ApiError> {
    let start = SystemClock.now_millis().div_euclid(1000);
    let clock = Arc::new(SeedClock(AtomicI64::new(start * 1000)));
    let state = Arc::new(
        AppState::new(
            store.clone(),
            Arc::new(sim.clone()),
            AppCredentials {
                key: String::new(),
                secret: String::new(),
                previous_secret: None,
            },
            Vec::new(),
        )
        .with_clock(clock.clone()),
    );
    let settings = crate::wire::settings_json(&Settings::new(Region::Us));
    {
        let (store, shop) = (store.clone(), shop.to_owned());
        crate::state::blocking(move || store.put_settings(&shop, &settings)).await?;
    }
    sim.add_providers(
        STANDARD_DELIVERY,
        preflight::carrier::catalog::providers(Region::Us)
            .iter()
            .map(|p| ShippingProvider::new(p.id, p.name)),
    );
    sim.add_providers(
        ECONOMY_DELIVERY,
        [
            ShippingProvider::new(USPS_ID, "USPS"),
            ShippingProvider::new(UPS_ID, "UPS"),
        ],
    );
    let mut seeder = Seeder {
        state,
        sim,
        clock,
        shop: shop.to_owned(),
        start,
        keys: 0,
        events: 0,
    };
    let result = seed_cases(&mut seeder).await;
    sim.set_now(SystemClock.now_millis().div_euclid(1000));
    result?;
    summary(store, shop).await
}

/// A case on the standard delivery option.
fn case(
    number: u32,
    carrier: &'static str,
    tracking: String,
    lines: &[(Product, u32)],
    created: Ago,
) -> Case {
    Case {
        number,
        carrier,
        tracking,
        lines: lines.to_vec(),
        delivery_option: STANDARD_DELIVERY,
        created,
    }
}

async fn seed_cases(s: &mut Seeder<'_>) -> Result<(), ApiError> {
    let mut d = Digits(0x5eed_1042);
    let ok = StatusCode::OK;

    // Synced: pushed through the real sync, hours to days ago.
    let synced = [
        case(1001, "UPS", d.ups()?, &[(TEE_BLACK, 1)], hours(52)),
        case(1003, "USPS", d.usps()?, &[(SOCKS, 2)], hours(47)),
        case(
            1004,
            "FedEx",
            d.fedex()?,
            &[(POUR_OVER, 1), (MUG, 2)],
            hours(30),
        ),
        case(1006, "Amazon", d.amazon()?, &[(TOTE, 1)], hours(26)),
        case(1008, "USPS", d.usps()?, &[(CANDLE, 3)], hours(20)),
        case(
            1009,
            "UPS",
            d.ups()?,
            &[(BEANIE, 1), (CARD_HOLDER, 1)],
            hours(9),
        ),
        case(1011, "OnTrac", d.ontrac()?, &[(BOARD, 1)], hours(4)),
        case(
            1013,
            "FedEx Home Delivery",
            d.fedex()?,
            &[(PILLOW, 2)],
            hours(2),
        ),
    ];
    let duplicated = synced
        .first()
        .map(|c| c.tracking.clone())
        .unwrap_or_default();
    for c in &synced {
        s.create(c, minutes(c.created.minutes - 5)).await?;
        expect(s.sync(c, minutes(c.created.minutes - 10)).await?, ok, c)?;
    }
    // Synced after its one tracking update.
    let updated = case(1015, "USPS", d.usps()?, &[(BOTTLE, 1)], hours(40));
    s.create(&updated, hours(40)).await?;
    expect(s.sync(&updated, hours(40)).await?, ok, &updated)?;
    let second = d.usps()?;
    s.webhook(&updated, &second, hours(38)).await?;
    expect(s.sync(&updated, hours(38)).await?, ok, &updated)?;

    // tracking.update_limit_reached: shipped, its one update spent, and Shopify has yet another number.
    for (c, shipped, fixed, next) in [
        (
            case(1014, "UPS", d.ups()?, &[(TEE_WHITE, 1)], hours(50)),
            hours(50),
            hours(44),
            d.ups()?,
        ),
        (
            case(1019, "USPS", d.usps()?, &[(MUG, 1), (CANDLE, 1)], hours(30)),
            hours(30),
            hours(28),
            d.usps()?,
        ),
    ] {
        s.create(&c, shipped).await?;
        expect(s.sync(&c, shipped).await?, ok, &c)?;
        let between = if c.carrier == "UPS" {
            d.ups()?
        } else {
            d.usps()?
        };
        s.webhook(&c, &between, fixed).await?;
        expect(s.sync(&c, fixed).await?, ok, &c)?;
        s.webhook(&c, &next, minutes(25)).await?;
    }

    // tracking.update_window_expired: pushed about four days ago, a new number now.
    for (c, next) in [
        (
            case(1002, "FedEx", d.fedex()?, &[(BOARD, 1)], hours(96)),
            d.fedex()?,
        ),
        (
            case(1005, "UPS", d.ups()?, &[(SOCKS, 1), (TOTE, 1)], hours(100)),
            d.ups()?,
        ),
    ] {
        s.create(&c, c.created).await?;
        expect(s.sync(&c, c.created).await?, ok, &c)?;
        s.webhook(&c, &next, minutes(40)).await?;
    }

    // Ready update with the window closing in about five hours: the only update left.
    let closing = case(1007, "USPS", d.usps()?, &[(PILLOW, 1)], hours(67));
    s.create(&closing, hours(67)).await?;
    expect(s.sync(&closing, hours(67)).await?, ok, &closing)?;
    let next = d.usps()?;
    s.webhook(&closing, &next, minutes(15)).await?;

    // line_items.already_fulfilled: the units went out in another package from Seller Center.
    for (c, theirs, provider) in [
        (
            case(1021, "UPS", d.ups()?, &[(BEANIE, 1)], hours(6)),
            d.usps()?,
            USPS_ID,
        ),
        (
            case(1024, "FedEx", d.fedex()?, &[(TEE_BLACK, 2)], hours(5)),
            d.ups()?,
            UPS_ID,
        ),
    ] {
        s.add_order(c.order());
        s.ship_in_seller_center(&c, &theirs, provider, hours(30))?;
        s.create_fulfillment(&c, c.created).await?;
        s.link(&c, c.created).await?;
    }

    // Order states TikTok Shop refuses.
    let cancelled = case(1026, "UPS", d.ups()?, &[(BOTTLE, 1)], hours(8));
    let mut order = cancelled.order();
    order.status = "CANCELLED".to_owned();
    s.create_with(&cancelled, order).await?;

    let by_tiktok = case(1027, "USPS", d.usps()?, &[(CARD_HOLDER, 1)], hours(7));
    let mut order = by_tiktok.order();
    order.fulfillment_type = Some("FULFILLMENT_BY_TIKTOK".to_owned());
    order.shipping_type = Some("TIKTOK".to_owned());
    s.create_with(&by_tiktok, order).await?;

    let cancel_asked = case(1029, "FedEx", d.fedex()?, &[(MUG, 1)], hours(3));
    let mut order = cancel_asked.order();
    order.is_buyer_request_cancel = true;
    s.create_with(&cancel_asked, order).await?;

    let on_hold = case(1030, "USPS", d.usps()?, &[(TOTE, 2)], minutes(30));
    let mut order = on_hold.order();
    order.status = "ON_HOLD".to_owned();
    order.is_on_hold_order = true;
    s.create_with(&on_hold, order).await?;

    // carrier.not_integrated (and carrier.missing): free text TikTok Shop cannot resolve.
    let xss = case(1063, XSS_CARRIER, d.ups()?, &[(SOCKS, 1)], minutes(50));
    for c in [
        case(
            1031,
            "Bob's Local Courier",
            format!("BLC{}", d.take(9)),
            &[(CANDLE, 2)],
            hours(5),
        ),
        case(
            1032,
            "Other",
            format!("LOC{}", d.take(8)),
            &[(BOARD, 1)],
            hours(4),
        ),
        case(
            1033,
            "Fedx",
            d.fedex()?,
            &[(TEE_WHITE, 1), (BEANIE, 1)],
            hours(3),
        ),
        case(
            1035,
            "Sunrise Courier Co.",
            format!("SRC{}", d.take(10)),
            &[(POUR_OVER, 1)],
            hours(2),
        ),
    ] {
        s.create(&c, c.created).await?;
    }

    // Fixed by one carrier mapping: Pitney Bowes labels, delivered by USPS.
    let mapping = case(1053, MAPPING_FROM, d.usps()?, &[(MUG, 2)], hours(3));
    let twin = case(
        1054,
        MAPPING_FROM,
        d.usps()?,
        &[(TOTE, 1), (CANDLE, 1)],
        hours(2),
    );
    for c in [&twin, &mapping] {
        s.create(c, c.created).await?;
    }

    // sync_failed: the preview is fine, TikTok Shop refuses the push.
    let failures = [
        // The economy delivery option offers USPS and UPS only.
        Case {
            delivery_option: ECONOMY_DELIVERY,
            ..case(1041, "FedEx", d.fedex()?, &[(PILLOW, 1)], hours(6))
        },
        Case {
            delivery_option: ECONOMY_DELIVERY,
            ..case(1044, "Amazon", d.amazon()?, &[(BOTTLE, 2)], hours(5))
        },
        // A number pasted from another order: TikTok Shop holds it on another package already.
        case(1046, "UPS", duplicated, &[(TEE_BLACK, 1)], hours(1)),
    ];
    for c in &failures {
        s.create(c, c.created).await?;
        expect(s.sync(c, minutes(c.created.minutes - 5)).await?, ok, c)?;
    }

    // Ready to ship.
    let other_ups = d.ups()?;
    for c in [
        case(1048, "USPS", d.usps()?, &[(BEANIE, 1)], hours(3)),
        case(1049, "UPS", d.ups()?, &[(TEE_BLACK, 3)], hours(2)),
        case(
            1050,
            "FedEx",
            d.fedex()?,
            &[(POUR_OVER, 1), (MUG, 1), (BOARD, 1)],
            minutes(100),
        ),
        case(
            1051,
            "Lasership",
            d.lasership()?,
            &[(CARD_HOLDER, 1)],
            minutes(80),
        ),
        case(1052, "Other", other_ups, &[(SOCKS, 2)], minutes(70)),
        case(
            1055,
            "USPS Priority Mail",
            d.usps()?,
            &[(PILLOW, 1), (CANDLE, 2)],
            minutes(45),
        ),
        case(1057, "Amazon", d.amazon()?, &[(BOTTLE, 1)], minutes(20)),
    ] {
        s.create(&c, c.created).await?;
    }

    // tracking.invalid_check_digit: a UPS number one digit off (the walk's), and a USPS one.
    let usps_typo = off_by_one(&d.usps()?, Courier::Usps)?;
    if !recognize(WALK_CHECK_DIGIT_FIX).valid.contains(Courier::Ups) {
        return Err(seed_error(format!(
            "`{WALK_CHECK_DIGIT_FIX}` is no valid UPS number"
        )));
    }
    let walk_typo = off_by_one(WALK_CHECK_DIGIT_FIX, Courier::Ups)?;
    for c in [
        case(1059, "USPS", usps_typo, &[(TEE_WHITE, 2)], minutes(35)),
        case(
            TYPO_NUMBER,
            "UPS",
            walk_typo,
            &[(BOARD, 1), (TOTE, 1)],
            minutes(30),
        ),
    ] {
        s.create(&c, c.created).await?;
    }

    // The walk's markup carrier, then the re-check: ready when linked, shipped in Seller Center since.
    s.create(&xss, xss.created).await?;
    let recheck = case(1077, "UPS", d.ups()?, &[(BEANIE, 1), (MUG, 1)], minutes(25));
    s.create(&recheck, minutes(24)).await?;
    let theirs = d.usps()?;
    s.ship_in_seller_center(&recheck, &theirs, USPS_ID, minutes(10))?;

    check_walk(&mapping, &twin, &recheck, &xss)
}

/// The walk's consts name the cases seeded for them.
fn check_walk(mapping: &Case, twin: &Case, recheck: &Case, xss: &Case) -> Result<(), ApiError> {
    for (id, expected) in [
        (WALK_MAPPING, mapping.fulfillment_id()),
        (WALK_MAPPING_TWIN, twin.fulfillment_id()),
        (WALK_CHECK_DIGIT, fulfillment_id(TYPO_NUMBER)),
        (WALK_RECHECK, recheck.fulfillment_id()),
        (WALK_XSS, xss.fulfillment_id()),
    ] {
        if id != expected {
            return Err(seed_error(format!(
                "the walk names `{id}`, the seed made `{expected}`"
            )));
        }
    }
    if format!("#{}.1", recheck.number) != WALK_RECHECK_NAME {
        return Err(seed_error("the re-check case's name moved"));
    }
    Ok(())
}

fn expect(got: StatusCode, want: StatusCode, case: &Case) -> Result<(), ApiError> {
    if got == want {
        Ok(())
    } else {
        Err(seed_error(format!(
            "the sync of `#{}.1` answered {got}, expected {want}",
            case.number
        )))
    }
}

/// What the shop holds: counts per stored verdict, error code and sync status.
///
/// # Errors
/// What the store answers.
pub async fn summary(store: Arc<dyn Store>, shop: &str) -> Result<Summary, ApiError> {
    let mut summary = Summary::default();
    let mut cursor = None;
    loop {
        let (store, shop, query) = (
            store.clone(),
            shop.to_owned(),
            FulfillmentQuery {
                status: None,
                cursor: cursor.clone(),
                limit: MAX_PAGE_LIMIT,
            },
        );
        let page = crate::state::blocking(move || store.list_fulfillments(&shop, &query)).await?;
        for record in &page.items {
            summary.fulfillments += 1;
            let report = record
                .report_json
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
                .unwrap_or(Value::Null);
            let verdict = report
                .get("verdict")
                .and_then(Value::as_str)
                .unwrap_or("none");
            *summary.verdicts.entry(verdict.to_owned()).or_default() += 1;
            let mut codes: Vec<&str> = report
                .get("diagnostics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|d| d.get("severity").and_then(Value::as_str) == Some("error"))
                .filter_map(|d| d.get("code").and_then(Value::as_str))
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                *summary.errors.entry(code.to_owned()).or_default() += 1;
            }
            let status = record.sync_status.kind().as_str();
            *summary.statuses.entry(status.to_owned()).or_default() += 1;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(summary),
        }
    }
}
