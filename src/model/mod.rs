//! What the engine reads: the payloads as Shopify and TikTok Shop send them, our sync history and the
//! merchant's settings.
//!
//! Our own types are camelCase and refuse unknown fields (a typo would silently change a verdict); the
//! API payloads keep their own field names and ignore fields they do not know.

mod de;
pub mod shopify;
pub mod tts;

use serde::Deserialize;

pub use shopify::{Fulfillment, FulfillmentLineItem, FulfillmentStatus, Shape};
pub use tts::{OrderStatus, PackageStatus, TtsLineItem, TtsOrder, TtsPackage};

use crate::Timestamp;

/// One fulfillment to check, with the TikTok Shop order it belongs to and what was already pushed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "an object with `fulfillment`, `order` and `history`")]
pub struct Input {
    /// The Shopify fulfillment, REST/webhook or GraphQL shape.
    pub fulfillment: Fulfillment,
    /// The TikTok Shop order, Order Detail shape.
    pub order: TtsOrder,
    /// What was already pushed for this fulfillment; `null` when never pushed.
    #[serde(default)]
    pub history: Option<History>,
}

/// What was already pushed to TikTok Shop for a fulfillment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "a sync history object")]
pub struct History {
    /// The TikTok Shop package the push created.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub package_id: Option<String>,
    /// The provider pushed.
    #[serde(default, deserialize_with = "de::opt_id")]
    pub shipping_provider_id: Option<String>,
    /// The tracking number pushed last.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub tracking_number: Option<String>,
    /// When the package was marked shipped.
    #[serde(default)]
    pub shipped_at: Option<Timestamp>,
    /// How many tracking updates were spent after shipping.
    #[serde(default, deserialize_with = "de::count")]
    pub tracking_updates_used: u32,
}

/// The merchant's settings, given once to a [`crate::Validator`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[serde(expecting = "a settings object")]
pub struct Settings {
    /// The TikTok Shop market.
    pub region: Region,
    /// Shopify carrier name → TikTok Shop provider, checked before the catalog. `from` is compared without
    /// case, spacing or punctuation; `"*"` is the default for names nothing else resolves.
    #[serde(default)]
    pub carrier_mappings: Vec<CarrierMapping>,
    /// The providers of the order's delivery option (from Get Shipping Providers), when known: then only
    /// those are accepted.
    #[serde(default)]
    pub shipping_providers: Option<Vec<ShippingProvider>>,
    /// The tracking-update policy.
    #[serde(default)]
    pub policy: Policy,
}

impl Settings {
    /// Settings for `region` with no mappings and the default policy.
    #[must_use]
    pub fn new(region: Region) -> Self {
        Self {
            region,
            carrier_mappings: Vec::new(),
            shipping_providers: None,
            policy: Policy::default(),
        }
    }
}

/// A merchant's carrier mapping.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[serde(expecting = "a carrier mapping object with `from` and `to`")]
pub struct CarrierMapping {
    /// The Shopify carrier name (`"Other"` for Shopify's Other, `"*"` for the default).
    pub from: String,
    /// A TikTok Shop provider name or id.
    pub to: String,
}

/// A provider of a delivery option, as Get Shipping Providers returns it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(expecting = "a shipping provider object with `id` and `name`")]
pub struct ShippingProvider {
    /// The provider id.
    #[serde(deserialize_with = "de::id")]
    pub id: String,
    /// The provider name.
    #[serde(default)]
    pub name: String,
}

/// The tracking-update policy TikTok Shop enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[serde(expecting = "a policy object")]
pub struct Policy {
    /// Hours after shipping during which the tracking number may be updated (72).
    #[serde(deserialize_with = "de::count")]
    pub update_window_hours: u32,
    /// How many times it may be updated (1).
    #[serde(deserialize_with = "de::count")]
    pub max_tracking_updates: u32,
    /// Whether the shop may ship with its own USPS labels. US sellers must buy USPS labels through TikTok
    /// Shipping for some shop types; set `false` for those.
    pub allow_usps_self_shipping: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            update_window_hours: 72,
            max_tracking_updates: 1,
            allow_usps_self_shipping: true,
        }
    }
}

/// A TikTok Shop market the provider catalog covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Region {
    /// United States.
    #[serde(rename = "US")]
    Us,
    /// United Kingdom (`GB` is read as `UK`).
    #[serde(rename = "UK")]
    Uk,
}

impl Region {
    /// Every region, in catalog order.
    pub const ALL: [Region; 2] = [Region::Us, Region::Uk];

    /// The region code, `US` or `UK`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Us => "US",
            Self::Uk => "UK",
        }
    }

    /// The region of a code, case-insensitive.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        match code.to_ascii_uppercase().as_str() {
            "US" => Some(Self::Us),
            "UK" | "GB" => Some(Self::Uk),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::from_code(&code).ok_or_else(|| {
            let shown: String = code.chars().take(32).collect();
            serde::de::Error::custom(format!(
                "unknown region `{shown}`, expected one of `US`, `UK`"
            ))
        })
    }
}
