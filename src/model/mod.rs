//! What the engine reads: the payloads as Shopify and TikTok Shop send them, our sync history and the
//! merchant's settings.
//!
//! Our own types are camelCase and refuse unknown fields (a typo would silently change a verdict); the
//! API payloads keep their own field names and ignore fields they do not know.

pub mod read;
pub mod shopify;
pub mod tts;

pub use shopify::{Fulfillment, FulfillmentLineItem, FulfillmentStatus, Shape};
pub use tts::{BundleComponent, OrderStatus, PackageStatus, TtsLineItem, TtsOrder, TtsPackage};

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
    /// What TikTok Shop said of the fulfillment's tracking number, when the caller asked; `null` when not.
    pub tracking_validation: Option<TrackingValidation>,
}

/// What TikTok Shop's Get Tracking Validation (`GET /fulfillment/202508/tts_tracking_validation`, US only)
/// answered for a tracking number: `{"trackingNumber": "…", "isTiktokShipping": true}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingValidation {
    /// The tracking number asked about. The answer counts only while the fulfillment carries this number.
    pub tracking_number: String,
    /// `data.is_tiktok_shipping`: the label was bought through TikTok Shipping.
    pub is_tiktok_shipping: bool,
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
    /// Local or cross-border, as Get Authorized Shops says (`seller_type`); `LOCAL` when not given.
    pub seller_type: SellerType,
    /// Shopify carrier name → TikTok Shop provider, checked before the catalog. `from` is compared without
    /// case, spacing or punctuation; `"*"` is the default for names nothing else resolves.
    pub carrier_mappings: Vec<CarrierMapping>,
    /// The providers of the order's delivery option (from Get Shipping Providers), when known: then only
    /// those are accepted (for orders of a delivery option `delivery_option_providers` does not list).
    pub shipping_providers: Option<Vec<ShippingProvider>>,
    /// The providers of each delivery option (Get Shipping Providers,
    /// `GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers`): an order whose
    /// `delivery_option_id` is listed accepts only its option's providers.
    pub delivery_option_providers: Vec<DeliveryOptionProviders>,
    /// The tracking-update policy.
    pub policy: Policy,
    /// Dated platform rules switched on or off for this shop, whatever the date says (a seller with an
    /// exception, or a restriction that reached the shop early).
    pub rule_overrides: Vec<RuleOverride>,
}

impl Settings {
    /// Settings for `region` with no mappings and the default policy.
    #[must_use]
    pub fn new(region: Region) -> Self {
        Self {
            region,
            seller_type: SellerType::Local,
            carrier_mappings: Vec::new(),
            shipping_providers: None,
            delivery_option_providers: Vec::new(),
            policy: Policy::default(),
            rule_overrides: Vec::new(),
        }
    }

    /// Whether the shop overrides `rule`: `Some(true)` applies it, `Some(false)` exempts the shop.
    #[must_use]
    pub fn rule_override(&self, rule: PlatformRule) -> Option<bool> {
        self.rule_overrides
            .iter()
            .rev()
            .find(|o| o.rule == rule)
            .map(|o| o.applies)
    }
}

/// Who the shop is at TikTok Shop (Get Authorized Shops, `shops[].seller_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SellerType {
    /// A seller registered in the market it sells in (`LOCAL`).
    #[default]
    Local,
    /// A seller selling into the market from abroad (`CROSS_BORDER`).
    CrossBorder,
}

impl SellerType {
    /// Every seller type.
    pub const ALL: [SellerType; 2] = [SellerType::Local, SellerType::CrossBorder];

    /// The name TikTok Shop writes: `LOCAL` or `CROSS_BORDER`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Local => "LOCAL",
            Self::CrossBorder => "CROSS_BORDER",
        }
    }
}

/// A TikTok Shop rule that holds only for some markets, seller types and dates. Where and since when
/// each holds is the table in [`crate::platform_rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlatformRule {
    /// USPS labels only through TikTok Shipping: a USPS tracking number from a label bought elsewhere is
    /// refused.
    UspsLabelsViaTiktokShipping,
}

impl PlatformRule {
    /// Every rule.
    pub const ALL: [PlatformRule; 1] = [PlatformRule::UspsLabelsViaTiktokShipping];

    /// Its stable id, as `ruleOverrides` names it.
    #[must_use]
    pub const fn id(self) -> &'static str {
        match self {
            Self::UspsLabelsViaTiktokShipping => "usps_labels_via_tiktok_shipping",
        }
    }

    /// The rule of an id.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// A shop's override of a dated platform rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleOverride {
    /// The rule.
    pub rule: PlatformRule,
    /// `true`: the rule applies to the shop whatever the date; `false`: the shop is exempt.
    pub applies: bool,
}

/// A merchant's carrier mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierMapping {
    /// The Shopify carrier name (`"Other"` for Shopify's Other, `"*"` for the default).
    pub from: String,
    /// A TikTok Shop provider name or id.
    pub to: String,
}

/// The providers one delivery option accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOptionProviders {
    /// The delivery option id, as Order Detail's `delivery_option_id` gives it.
    pub delivery_option_id: String,
    /// Its providers.
    pub providers: Vec<ShippingProvider>,
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
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            update_window_hours: 72,
            max_tracking_updates: 1,
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
        o.only(&["fulfillment", "order", "history", "trackingValidation"])?;
        Ok(Self {
            fulfillment: o.required("fulfillment", |v, p| Fulfillment::read(v, p).map(Some))?,
            order: o.required("order", |v, p| TtsOrder::read(v, p).map(Some))?,
            history: o.read("history")?,
            tracking_validation: o.read("trackingValidation")?,
        })
    }
}

impl Read for TrackingValidation {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(
            value,
            path,
            "an object with `trackingNumber` and `isTiktokShipping`",
        )?;
        o.only(&["trackingNumber", "isTiktokShipping"])?;
        Ok(Self {
            tracking_number: o.required("trackingNumber", read::text)?,
            is_tiktok_shipping: o.required("isTiktokShipping", read::flag)?,
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
        o.only(&[
            "region",
            "sellerType",
            "carrierMappings",
            "shippingProviders",
            "deliveryOptionProviders",
            "policy",
            "ruleOverrides",
        ])?;
        let mut rule_overrides: Vec<RuleOverride> = o.read("ruleOverrides")?.unwrap_or_default();
        // Settings stored before the rule table: `policy.allowUspsSelfShipping: false` applied the USPS
        // rule whatever the date (`true` was the default, and says nothing).
        if let Some(policy @ Value::Object(_)) = o.get("policy") {
            let path = path.key("policy");
            let policy = Object::new(policy, &path, "a policy object")?;
            let rule = PlatformRule::UspsLabelsViaTiktokShipping;
            if policy.flag("allowUspsSelfShipping")? == Some(false)
                && !rule_overrides.iter().any(|r| r.rule == rule)
            {
                rule_overrides.push(RuleOverride {
                    rule,
                    applies: true,
                });
            }
        }
        Ok(Self {
            region: o.required("region", |v, p| Region::read(v, p).map(Some))?,
            seller_type: o.read("sellerType")?.unwrap_or_default(),
            carrier_mappings: o
                .optional("carrierMappings", read::list_of)?
                .unwrap_or_default(),
            shipping_providers: o.optional("shippingProviders", read::list_of)?,
            delivery_option_providers: o.read("deliveryOptionProviders")?.unwrap_or_default(),
            policy: o.read("policy")?.unwrap_or_default(),
            rule_overrides,
        })
    }
}

impl Read for SellerType {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let expected = "`LOCAL` or `CROSS_BORDER`";
        match value {
            Value::String(code) => SellerType::ALL
                .into_iter()
                .find(|t| t.code().eq_ignore_ascii_case(code))
                .ok_or_else(|| {
                    let shown: String = code.chars().take(32).collect();
                    read::error(
                        InputErrorKind::InvalidValue,
                        path,
                        format!("unknown seller type `{shown}`, expected {expected}"),
                    )
                }),
            other => Err(read::invalid_type(other, expected, path)),
        }
    }
}

/// `ruleOverrides` is an object: `{"usps_labels_via_tiktok_shipping": false}`.
impl Read for Vec<RuleOverride> {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(
            value,
            path,
            "an object of rule ids, each `true` (applies) or `false` (exempt)",
        )?;
        o.only(&PlatformRule::ALL.map(PlatformRule::id))?;
        let mut overrides = Vec::new();
        for rule in PlatformRule::ALL {
            if let Some(applies) = o.flag(rule.id())? {
                overrides.push(RuleOverride { rule, applies });
            }
        }
        Ok(overrides)
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
            .field("sellerType", &self.seller_type)
            .field("carrierMappings", &self.carrier_mappings)
            .field("shippingProviders", &self.shipping_providers)
            .field(
                "deliveryOptionProviders",
                &ByOption(&self.delivery_option_providers),
            )
            .field("policy", &self.policy)
            .field("ruleOverrides", &RuleOverrides(&self.rule_overrides))
            .end();
    }
}

impl ToJson for SellerType {
    fn write_json(&self, out: &mut String) {
        self.code().write_json(out);
    }
}

/// The delivery options' providers as the object `deliveryOptionProviders` reads.
struct ByOption<'a>(&'a [DeliveryOptionProviders]);

impl ToJson for ByOption<'_> {
    fn write_json(&self, out: &mut String) {
        let mut object = ObjectWriter::new(out);
        for option in self.0 {
            object.field(&option.delivery_option_id, &option.providers);
        }
        object.end();
    }
}

/// `deliveryOptionProviders` is an object: `{"<delivery option id>": [{"id": …, "name": …}]}`.
impl Read for Vec<DeliveryOptionProviders> {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(
            value,
            path,
            "an object of delivery option ids, each a list of shipping providers",
        )?;
        let mut options = Vec::new();
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (id, _) in o.members() {
            // A repeated key reads as its last value; `null` as an option whose providers are unknown.
            if seen.insert(id.to_owned(), 0).is_some() {
                continue;
            }
            if let Some(providers) = o.optional(id, read::list_of)? {
                options.push(DeliveryOptionProviders {
                    delivery_option_id: id.to_owned(),
                    providers,
                });
            }
        }
        Ok(options)
    }
}

/// The overrides as the object `ruleOverrides` reads.
struct RuleOverrides<'a>(&'a [RuleOverride]);

impl ToJson for RuleOverrides<'_> {
    fn write_json(&self, out: &mut String) {
        let mut object = ObjectWriter::new(out);
        for o in self.0 {
            object.field(o.rule.id(), &o.applies);
        }
        object.end();
    }
}

impl ToJson for Policy {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("updateWindowHours", &self.update_window_hours)
            .field("maxTrackingUpdates", &self.max_tracking_updates)
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
        // `allowUspsSelfShipping` is read by `Settings` (see there).
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
