//! The demo's vocabulary: its products, its cases (an order and its Shopify fulfillment), their ids,
//! times before the seed's start, and tracking numbers valid (or wrong on purpose) for their carriers.

use preflight::carrier::tracking::{recognize, Courier};
use preflight::Timestamp;
use serde_json::{json, Value};

use axum::http::StatusCode;

use crate::error::ApiError;
use crate::shopify::simulator::shop::{NewFulfillment, NewOrder};
use crate::tts::types::{LineItem, Order};

/// TikTok Shop's USPS and UPS providers (US).
pub(super) const USPS_ID: &str = "7117858858072016686";
/// See [`USPS_ID`].
pub(super) const UPS_ID: &str = "7117859084333745966";

/// The demo shop.
pub const SHOP: &str = "preflight-demo.myshopify.com";

/// The walk's carrier-mapping case: a 3PL that writes its own name as the carrier on labels UPS
/// delivers, a name TikTok Shop does not know. [`WALK_MAPPING_TWIN`] has the same carrier name: one
/// mapping fixes both.
pub const WALK_MAPPING: &str = "5603918295893";
/// The second fulfillment fixed by the same mapping as [`WALK_MAPPING`].
pub const WALK_MAPPING_TWIN: &str = "5603918296174";
/// The Shopify carrier name of the mapping cases.
pub const MAPPING_FROM: &str = "Harbor 3PL";
/// The TikTok Shop provider the mapping cases map to.
pub const MAPPING_TO: &str = "UPS";

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

/// The demo shop's TikTok Shop shop: its cipher, its id and its seller (who authorizes the app).
pub const TTS_CIPHER: &str = "ROW_ZmVybndvb2QtZGVtby1zaG9w";
/// Its id.
pub const TTS_SHOP_ID: &str = "7494560000000000042";
/// Its seller's id for the app.
pub const TTS_OPEN_ID: &str = "open-fernwood-goods";

/// The delivery option of most demo orders: every US provider.
pub const STANDARD_DELIVERY: &str = "7091146663229654785";
/// The economy delivery option: USPS and UPS only (Get Shipping Providers lists them, so a FedEx
/// fulfillment of an economy order previews Will fail).
pub const ECONOMY_DELIVERY: &str = "7091146663229654786";

/// A product of the demo shop.
#[derive(Clone, Copy, Debug)]
pub(super) struct Product {
    pub(super) title: &'static str,
    pub(super) variant: &'static str,
    pub(super) sku: &'static str,
    pub(super) price: &'static str,
    pub(super) variant_id: u64,
}

pub(super) const fn product(
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

pub(super) fn seed_error(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "demo.seed", message)
}

/// A time before the seed's start, in minutes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ago {
    pub(super) minutes: i64,
}

pub(super) const fn hours(h: i64) -> Ago {
    Ago { minutes: h * 60 }
}

pub(super) const fn minutes(m: i64) -> Ago {
    Ago { minutes: m }
}

/// The Shopify fulfillment id of order `#number`'s fulfillment.
pub(super) fn fulfillment_id(number: u32) -> String {
    (5_603_918_000_000_u64 + u64::from(number) * 281).to_string()
}

/// One demo order and its Shopify fulfillment.
#[derive(Clone, Debug)]
pub(super) struct Case {
    /// The Shopify order number (`#1042`).
    pub(super) number: u32,
    pub(super) carrier: &'static str,
    pub(super) tracking: String,
    pub(super) lines: Vec<(Product, u32)>,
    pub(super) delivery_option: &'static str,
    /// How long ago the fulfillment was created in Shopify.
    pub(super) created: Ago,
}

impl Case {
    pub(super) fn fulfillment_id(&self) -> String {
        fulfillment_id(self.number)
    }

    pub(super) fn shopify_order_id(&self) -> String {
        (6_104_553_000_000_u64 + u64::from(self.number) * 211).to_string()
    }

    pub(super) fn tts_order_id(&self) -> String {
        (576_461_413_038_000_000_u64 + u64::from(self.number) * 1_009).to_string()
    }

    /// The Shopify order and fulfillment ids, as numbers.
    pub(super) fn shopify_ids(&self) -> Result<(u64, u64), ApiError> {
        let parse = |id: String| id.parse::<u64>().map_err(|e| seed_error(e.to_string()));
        Ok((
            parse(self.shopify_order_id())?,
            parse(self.fulfillment_id())?,
        ))
    }

    /// The Shopify order as its connector left it, created at `created` (Unix seconds). Where the
    /// TikTok Shop order id is depends on the connector: EcomSend keeps it in the additional details,
    /// AfterShip Feed in the note or the tags, TikTok's own channel as the source identifier.
    pub(super) fn shopify_order(&self, created: i64) -> NewOrder {
        let id = self.tts_order_id();
        let mut order = NewOrder {
            id: self.shopify_order_id().parse().ok(),
            name: format!("#{}", self.number),
            created_at: created,
            lines: self
                .lines
                .iter()
                .map(|(p, q)| (p.sku.to_owned(), format!("{} - {}", p.title, p.variant), *q))
                .collect(),
            ..NewOrder::default()
        };
        match self.number % 4 {
            0 => order.custom_attributes = vec![("TikTok Order ID".into(), id)],
            1 => order.note = Some(format!("TikTok Shop order {id}. Ship within 3 days.")),
            2 => order.tags = vec!["TikTok".into(), format!("TikTok-{id}")],
            _ => {
                order.source_name = Some("tiktok".into());
                order.source_identifier = Some(id);
            }
        }
        order
    }

    /// The fulfillment at Shopify: every line, `tracking` by the case's carrier.
    pub(super) fn shopify_fulfillment(&self, tracking: &str, created: i64) -> NewFulfillment {
        NewFulfillment {
            id: self.fulfillment_id().parse().ok(),
            company: Some(self.carrier.to_owned()),
            number: Some(tracking.to_owned()),
            lines: self
                .lines
                .iter()
                .map(|(p, q)| (p.sku.to_owned(), *q))
                .collect(),
            created_at: created,
        }
    }

    /// The TikTok Shop unit ids: one per unit, in line order.
    pub(super) fn unit_ids(&self) -> Vec<String> {
        let base = 577_086_512_120_000_000_u64 + u64::from(self.number) * 100;
        let units: u32 = self.lines.iter().map(|(_, q)| q).sum();
        (1..=u64::from(units))
            .map(|k| (base + k).to_string())
            .collect()
    }

    pub(super) fn order(&self) -> Order {
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
    pub(super) fn payload(&self, tracking: &str, created_at: &str, updated_at: &str) -> String {
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
pub(super) struct Digits(pub(super) u64);

impl Digits {
    pub(super) fn take(&mut self, n: usize) -> String {
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
    pub(super) fn number(
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

    pub(super) fn ups(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Ups, |d| format!("1Z4F9W1703{}", d.take(7)))
    }

    pub(super) fn usps(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Usps, |d| format!("9400111899{}", d.take(11)))
    }

    pub(super) fn fedex(&mut self) -> Result<String, ApiError> {
        self.number(Courier::Fedex, |d| format!("7{}", d.take(10)))
    }

    pub(super) fn ontrac(&mut self) -> Result<String, ApiError> {
        self.number(Courier::OnTrac, |d| format!("C1{}", d.take(12)))
    }

    pub(super) fn amazon(&mut self) -> Result<String, ApiError> {
        let number = format!("TBA3{}", self.take(11));
        if recognize(&number).valid.contains(Courier::AmazonLogistics) {
            Ok(number)
        } else {
            Err(seed_error(format!(
                "`{number}` is no Amazon Logistics number"
            )))
        }
    }

    pub(super) fn lasership(&mut self) -> Result<String, ApiError> {
        let number = format!("1LS71{}", self.take(10));
        if recognize(&number).valid.contains(Courier::LaserShip) {
            Ok(number)
        } else {
            Err(seed_error(format!("`{number}` is no LaserShip number")))
        }
    }
}

/// `number` with its last digit changed so that its check digit fails for `courier`.
pub(super) fn off_by_one(number: &str, courier: Courier) -> Result<String, ApiError> {
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
pub(super) fn shopify_time(unix_seconds: i64) -> String {
    let local = Timestamp::from_unix(unix_seconds - 5 * 3600).to_string();
    format!("{}-05:00", local.trim_end_matches('Z'))
}
