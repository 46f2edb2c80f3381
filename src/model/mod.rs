//! What the engine reads: the payloads as Shopify and TikTok Shop send them, our sync history and the
//! merchant's settings.
//!
//! Our own types are camelCase and refuse unknown fields (a typo would silently change a verdict); the
//! API payloads keep their own field names and ignore fields they do not know.

pub mod read;
pub mod shopify;
pub mod tts;

pub use shopify::{Fulfillment, FulfillmentLineItem, FulfillmentStatus, Shape};
pub use tts::{OrderStatus, PackageStatus, TtsLineItem, TtsOrder, TtsPackage};

use crate::error::{InputError, InputErrorKind};
use crate::json::{ObjectWriter, ToJson, Value};
use crate::Timestamp;
use read::{Object, Path, Read};

/// One fulfillment to check, with the TikTok Shop order it belongs to and what was already pushed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The Shopify fulfillment, REST/webhook or GraphQL shape.
    pub fulfillment: Fulfillment,
    /// The TikTok Shop order, Order Detail shape.
    pub order: TtsOrder,
    /// What was already pushed for this fulfillment; `null` when never pushed.
    pub history: Option<History>,
}

/// What was already pushed to TikTok Shop for a fulfillment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The TikTok Shop package the push created.
    pub package_id: Option<String>,
    /// The provider pushed.
    pub shipping_provider_id: Option<String>,
    /// The tracking number pushed last.
    pub tracking_number: Option<String>,
    /// When the package was marked shipped.
    pub shipped_at: Option<Timestamp>,
    /// How many tracking updates were spent after shipping.
    pub tracking_updates_used: u32,
}

/// The merchant's settings, given once to a [`crate::Validator`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The TikTok Shop market.
    pub region: Region,
    /// Shopify carrier name → TikTok Shop provider, checked before the catalog. `from` is compared without
    /// case, spacing or punctuation; `"*"` is the default for names nothing else resolves.
    pub carrier_mappings: Vec<CarrierMapping>,
    /// The providers of the order's delivery option (from Get Shipping Providers), when known: then only
    /// those are accepted.
    pub shipping_providers: Option<Vec<ShippingProvider>>,
    /// The tracking-update policy.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierMapping {
    /// The Shopify carrier name (`"Other"` for Shopify's Other, `"*"` for the default).
    pub from: String,
    /// A TikTok Shop provider name or id.
    pub to: String,
}

/// A provider of a delivery option, as Get Shipping Providers returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippingProvider {
    /// The provider id.
    pub id: String,
    /// The provider name.
    pub name: String,
}

/// The tracking-update policy TikTok Shop enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Hours after shipping during which the tracking number may be updated (72).
    pub update_window_hours: u32,
    /// How many times it may be updated (1).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// United States.
    Us,
    /// United Kingdom (`GB` is read as `UK`).
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

impl Read for Input {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(
            value,
            path,
            "an object with `fulfillment`, `order` and `history`",
        )?;
        o.only(&["fulfillment", "order", "history"])?;
        Ok(Self {
            fulfillment: o.required("fulfillment", |v, p| Fulfillment::read(v, p).map(Some))?,
            order: o.required("order", |v, p| TtsOrder::read(v, p).map(Some))?,
            history: o.read("history")?,
        })
    }
}

impl Read for History {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a sync history object")?;
        o.only(&[
            "packageId",
            "shippingProviderId",
            "trackingNumber",
            "shippedAt",
            "trackingUpdatesUsed",
        ])?;
        Ok(Self {
            package_id: o.id("packageId")?,
            shipping_provider_id: o.id("shippingProviderId")?,
            tracking_number: o.text("trackingNumber")?,
            shipped_at: o.timestamp("shippedAt")?,
            tracking_updates_used: o.count("trackingUpdatesUsed")?.unwrap_or(0),
        })
    }
}

impl Read for Settings {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a settings object")?;
        o.only(&["region", "carrierMappings", "shippingProviders", "policy"])?;
        Ok(Self {
            region: o.required("region", |v, p| Region::read(v, p).map(Some))?,
            carrier_mappings: o
                .optional("carrierMappings", read::list_of)?
                .unwrap_or_default(),
            shipping_providers: o.optional("shippingProviders", read::list_of)?,
            policy: o.read("policy")?.unwrap_or_default(),
        })
    }
}

// Our own types, written as the reader above reads them: one codec for each (the server stores and
// answers them with it, the widget sends them with it).

impl ToJson for Region {
    fn write_json(&self, out: &mut String) {
        self.code().write_json(out);
    }
}

impl ToJson for Settings {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("region", &self.region)
            .field("carrierMappings", &self.carrier_mappings)
            .field("shippingProviders", &self.shipping_providers)
            .field("policy", &self.policy)
            .end();
    }
}

impl ToJson for Policy {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("updateWindowHours", &self.update_window_hours)
            .field("maxTrackingUpdates", &self.max_tracking_updates)
            .field("allowUspsSelfShipping", &self.allow_usps_self_shipping)
            .end();
    }
}

impl ToJson for ShippingProvider {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("id", &self.id)
            .field("name", &self.name)
            .end();
    }
}

impl ToJson for History {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("packageId", &self.package_id)
            .field("shippingProviderId", &self.shipping_provider_id)
            .field("trackingNumber", &self.tracking_number)
            .field("shippedAt", &self.shipped_at)
            .field("trackingUpdatesUsed", &self.tracking_updates_used)
            .end();
    }
}

impl ToJson for CarrierMapping {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("from", &self.from)
            .field("to", &self.to)
            .end();
    }
}

impl Read for CarrierMapping {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a carrier mapping object with `from` and `to`")?;
        o.only(&["from", "to"])?;
        Ok(Self {
            from: o.required("from", read::any_text)?,
            to: o.required("to", read::any_text)?,
        })
    }
}

impl Read for ShippingProvider {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(
            value,
            path,
            "a shipping provider object with `id` and `name`",
        )?;
        Ok(Self {
            id: o.required_id("id")?,
            name: o.any_text("name")?.unwrap_or_default(),
        })
    }
}

impl Read for Policy {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a policy object")?;
        o.only(&[
            "updateWindowHours",
            "maxTrackingUpdates",
            "allowUspsSelfShipping",
        ])?;
        let default = Self::default();
        Ok(Self {
            update_window_hours: o
                .count("updateWindowHours")?
                .unwrap_or(default.update_window_hours),
            max_tracking_updates: o
                .count("maxTrackingUpdates")?
                .unwrap_or(default.max_tracking_updates),
            allow_usps_self_shipping: o
                .flag("allowUspsSelfShipping")?
                .unwrap_or(default.allow_usps_self_shipping),
        })
    }
}

impl Read for Region {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        match value {
            Value::String(code) => Self::from_code(code).ok_or_else(|| {
                let shown: String = code.chars().take(32).collect();
                read::error(
                    InputErrorKind::UnknownRegion,
                    path,
                    format!("unknown region `{shown}`, expected one of `US`, `UK`"),
                )
            }),
            other => Err(read::invalid_type(other, "a region code like `US`", path)),
        }
    }
}

impl<T: Read> Read for Vec<T> {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        Ok(read::list_of(value, path)?.unwrap_or_default())
    }
}
