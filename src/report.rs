//! The report: the verdict, the plan of the push, and diagnostics with their merchant-facing texts.
//!
//! Every diagnostic code is written here once, with its severity, its rule, the Reason and Solution shown
//! to the merchant, and the TikTok Shop error codes it predicts.

use crate::error::{InputError, InputErrorKind};
use crate::json::{write_str, ObjectWriter, ToJson, Value};
use crate::model::read::{self, Object, Path, Read};
use crate::model::PlatformRule;
use crate::Timestamp;

/// What the engine concludes for one fulfillment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The Shopify fulfillment id, as sent.
    pub fulfillment_id: String,
    /// `ready`, `blocked` or `in_sync`.
    pub verdict: Verdict,
    /// What the push would do.
    pub plan: Plan,
    /// Everything found, errors first.
    pub diagnostics: Vec<Diagnostic>,
    /// Until when the tracking number may still be updated, once shipped and while an update is left.
    pub update_deadline: Option<Timestamp>,
}

impl Report {
    /// Whether a diagnostic with `code` is present.
    #[must_use]
    pub fn has(&self, code: Code) -> bool {
        self.diagnostics.iter().any(|d| d.code == code)
    }
}

/// The verdict of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The push would succeed: no error.
    Ready,
    /// The push would fail or do harm: at least one error.
    Blocked,
    /// TikTok Shop already holds this fulfillment as it is: nothing to push.
    InSync,
}

/// What the push would do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The call to make.
    pub action: Action,
    /// The package to update (`update_tracking`), or the one already holding the items.
    pub package_id: Option<String>,
    /// The TikTok Shop line items to ship (`ship`), one per unit.
    pub line_item_ids: Vec<String>,
    /// The provider to push.
    pub shipping_provider_id: Option<String>,
    /// The provider's name, for people.
    pub shipping_provider_name: Option<String>,
    /// The tracking number to push, cleaned of pasted spaces.
    pub tracking_number: Option<String>,
}

/// The call a push makes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Action {
    /// Mark Package As Shipped with the line items, provider and tracking number.
    Ship,
    /// Update Package Shipping Info: the single tracking update.
    UpdateTracking,
    /// Nothing.
    #[default]
    None,
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The push would fail or do harm: the verdict is `blocked`.
    Error,
    /// The push may go, but something deserves a look.
    Warning,
    /// For the record.
    Info,
}

/// The rule that found a diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Carrier-mapping resolution.
    Carrier,
    /// Tracking-number format, check digit and uniqueness.
    Tracking,
    /// The single tracking update within the window.
    TrackingPolicy,
    /// Line-item conflicts.
    LineItems,
    /// Order and fulfillment state.
    Order,
}

/// A finding: a stable code, its texts, the field it concerns and its specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Its severity.
    pub severity: Severity,
    /// The rule that found it.
    pub rule: Rule,
    /// Why, for the merchant.
    pub reason: &'static str,
    /// What to do, for the merchant.
    pub solution: &'static str,
    /// The input field it concerns, like `fulfillment.tracking_company`.
    pub field: Option<&'static str>,
    /// The specifics.
    pub data: Option<Data>,
    /// The TikTok Shop error codes this predicts.
    pub tts_error_codes: &'static [&'static str],
}

impl Diagnostic {
    /// A diagnostic of `code` on `field`, with its texts from the code.
    #[must_use]
    pub fn new(code: Code, field: Option<&'static str>, data: Option<Data>) -> Self {
        let text = code.text();
        Self {
            code,
            severity: text.severity,
            rule: text.rule,
            reason: text.reason,
            solution: text.solution,
            field,
            data,
            tts_error_codes: text.tts_error_codes,
        }
    }
}

/// A TikTok Shop provider named in a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRef {
    /// The provider id.
    pub id: String,
    /// The provider name.
    pub name: String,
}

/// A package holding some of the fulfillment's items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageRef {
    /// The package id.
    pub package_id: String,
    /// Its tracking number, when shipped.
    pub tracking_number: Option<String>,
    /// The line items of ours it holds.
    pub line_item_ids: Vec<String>,
}

/// The specifics of a diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// A carrier name and the providers it might mean.
    Carrier {
        /// The Shopify carrier name as sent.
        carrier: String,
        /// The closest providers, best first.
        suggestions: Vec<ProviderRef>,
    },
    /// The provider chosen, and how.
    Provider {
        /// The provider.
        provider: ProviderRef,
    },
    /// A tracking number and the carriers its format belongs to.
    Tracking {
        /// The tracking number as sent.
        tracking_number: String,
        /// The carriers whose formats it matches.
        carriers: Vec<String>,
    },
    /// The update window.
    Window {
        /// When the package was shipped.
        shipped_at: Option<Timestamp>,
        /// When the window closes.
        deadline: Option<Timestamp>,
        /// Updates spent.
        updates_used: u32,
        /// Updates allowed.
        max_updates: u32,
        /// The tracking number TikTok Shop holds.
        current_tracking_number: Option<String>,
    },
    /// Packages that hold the items.
    Packages {
        /// The packages.
        packages: Vec<PackageRef>,
    },
    /// A Shopify line item and what the order has of it.
    Item {
        /// The SKU (or variant id) looked for.
        sku: String,
        /// Units asked for.
        requested: u32,
        /// Units still to ship in the order.
        remaining: u32,
    },
    /// A status that stops the push.
    Status {
        /// The status, as its API writes it.
        status: String,
    },
    /// A deadline of the order.
    Deadline {
        /// When.
        deadline: Timestamp,
    },
    /// A tracking number as sent, and as cleaned: what is pushed, or the candidate to check.
    Cleaned {
        /// The tracking number as sent.
        tracking_number: String,
        /// Without what TikTok Shop refuses; `None` when nothing is left.
        cleaned: Option<String>,
    },
    /// A dated platform rule the push breaks.
    PlatformRule {
        /// The rule.
        rule: PlatformRule,
        /// Since when it holds for the shop; `None` when the shop's override applies it.
        from: Option<Timestamp>,
        /// Where TikTok Shop says so; `None` when the shop's override applies it.
        source: Option<&'static str>,
    },
}

/// The texts and facts of a code.
#[derive(Clone, Copy, Debug)]
pub struct CodeText {
    /// Its severity.
    pub severity: Severity,
    /// The rule that finds it.
    pub rule: Rule,
    /// Why, for the merchant.
    pub reason: &'static str,
    /// What to do, for the merchant.
    pub solution: &'static str,
    /// The TikTok Shop error codes it predicts.
    pub tts_error_codes: &'static [&'static str],
}

const CARRIER_CODES: &[&str] = &["21011022", "21004015", "21004016", "11028006"];
const ALREADY_SHIPPED: &[&str] = &[
    "21011006", "21011020", "21042056", "21008099", "11006021", "21011040",
];

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident, $rule:ident, $tts:expr,
        $reason:literal, $solution:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code { $( $(#[$doc])* $variant, )* }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The dotted code, like `carrier.not_integrated`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The code of a dotted name.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($code => Some(Code::$variant),)* _ => None }
            }

            /// Its severity, rule, texts and predicted TikTok Shop errors.
            #[must_use]
            pub const fn text(self) -> CodeText {
                match self {
                    $(Code::$variant => CodeText {
                        severity: Severity::$severity,
                        rule: Rule::$rule,
                        reason: $reason,
                        solution: $solution,
                        tts_error_codes: $tts,
                    },)*
                }
            }
        }
    };
}

codes! {
    /// The carrier is not one of TikTok Shop's integrated providers for the region.
    CarrierNotIntegrated = "carrier.not_integrated", Error, Carrier, CARRIER_CODES,
        "TikTok Shop accepts only its integrated shipping providers, and this carrier name matches none of them.",
        "Use a supported carrier, or add a carrier mapping from this name to a TikTok Shop shipping provider.";
    /// The carrier is a TikTok Shop provider of another market than the shop's.
    CarrierOtherRegion = "carrier.other_region", Error, Carrier, &["21011022"],
        "This carrier is a TikTok Shop shipping provider in another market, not in this shop's, so TikTok Shop refuses it here.",
        "Ship with one of this market's providers, or map this carrier name to one of them.";
    /// The carrier is integrated but not offered by the order's delivery option.
    CarrierNotInDeliveryOption = "carrier.not_in_delivery_option", Error, Carrier, CARRIER_CODES,
        "This carrier is a TikTok Shop provider, but not one of the providers of this order's delivery option.",
        "Ship with one of the delivery option's providers, or map this carrier name to one of them.";
    /// No carrier name and none could be told from the tracking number.
    CarrierMissing = "carrier.missing", Error, Carrier, CARRIER_CODES,
        "The fulfillment has no carrier, and the tracking number does not tell which carrier it belongs to.",
        "Set the carrier on the fulfillment in Shopify, or add a carrier mapping for fulfillments without one.";
    /// The carrier name could mean several providers.
    CarrierAmbiguous = "carrier.ambiguous", Error, Carrier, CARRIER_CODES,
        "This carrier name fits more than one TikTok Shop provider, and the tracking number does not settle which.",
        "Choose the provider: add a carrier mapping from this name to the right TikTok Shop shipping provider.";
    /// The carrier was told from the tracking number.
    CarrierInferred = "carrier.inferred_from_tracking_number", Info, Carrier, &[],
        "The fulfillment names no carrier (or Other), so the provider was told from the tracking number's format.",
        "Nothing to do. To choose the provider yourself, set the carrier in Shopify or add a carrier mapping.";
    /// The shop may not ship with its own USPS labels.
    CarrierUspsSelfShipping = "carrier.usps_self_shipping_not_allowed", Error, Carrier, &["21022032"],
        "TikTok Shop accepts USPS tracking numbers for this shop only from labels bought through TikTok Shipping.",
        "Buy the USPS label through TikTok Shipping, or ship with another supported carrier (UPS, FedEx, …).";
    /// No tracking number.
    TrackingMissing = "tracking.missing", Error, Tracking, &[],
        "The fulfillment has no tracking number, and TikTok Shop needs one to mark the package as shipped.",
        "Add the tracking number to the fulfillment in Shopify, then sync again.";
    /// Spaces were removed from the tracking number.
    TrackingWhitespace = "tracking.whitespace_removed", Info, Tracking, &[],
        "The tracking number contained spaces, which were removed before the push.",
        "Nothing to do.";
    /// Longer than any tracking number a carrier issues.
    TrackingTooLong = "tracking.too_long", Error, Tracking, &[],
        "The tracking number is longer than any carrier's tracking number: it is likely not one.",
        "Correct the tracking number in Shopify: enter the number the carrier gave for this shipment.";
    /// Dashes or dots removed: the rest is a valid number of a known format.
    TrackingSeparatorsRemoved = "tracking.separators_removed", Info, Tracking, &[],
        "The tracking number contained dashes or dots, which TikTok Shop does not accept; without them it is a valid number of a known format, and that is what is pushed.",
        "Nothing to do.";
    /// Characters other than letters and digits, not mere separators.
    TrackingInvalidCharacters = "tracking.invalid_characters", Error, Tracking, &["21004012"],
        "The tracking number contains characters other than letters and digits, which TikTok Shop refuses.",
        "Correct the tracking number in Shopify to the carrier's number alone (the cleaned one shown, if it is right).";
    /// The carrier's number with other text around it.
    TrackingExtraText = "tracking.extra_text", Error, Tracking, &["11028006"],
        "The tracking number is this carrier's number with other text around it (a label such as AWB), which TikTok Shop cannot match to the carrier.",
        "Correct the tracking number in Shopify to the carrier's number alone (the cleaned one shown, if it is right).";
    /// None of the named carrier's known formats.
    TrackingUnknownFormat = "tracking.unknown_format", Warning, Tracking, &[],
        "The tracking number matches none of this carrier's known formats: TikTok Shop may warn that it finds no provider for it, and the buyer may not be able to track it.",
        "Check the number against the carrier's label before you sync.";
    /// The check digit fails for the carrier's format.
    TrackingInvalidCheckDigit = "tracking.invalid_check_digit", Error, Tracking, &[],
        "The tracking number has the shape of this carrier's numbers, but its check digit is wrong: it likely has a typo.",
        "Correct the tracking number before syncing: a wrong number can be fixed only once at TikTok Shop.";
    /// The format belongs to another carrier.
    TrackingCarrierMismatch = "tracking.carrier_mismatch", Warning, Tracking, &[],
        "The tracking number's format belongs to another carrier than the one named; TikTok Shop may flag the mismatch.",
        "Check the carrier: choose the carrier the number belongs to, or confirm the number.";
    /// More than one tracking number: only the first is pushed.
    TrackingMultipleNumbers = "tracking.multiple_numbers", Warning, Tracking, &[],
        "The fulfillment has several tracking numbers, and a TikTok Shop package holds one.",
        "Only the first tracking number is pushed; split the fulfillment in Shopify to push the others.";
    /// The tracking number is already on another package of the order.
    TrackingDuplicate = "tracking.duplicate", Error, Tracking, &["21011025", "21034012", "21011026"],
        "This tracking number is already used by another package of the order, and TikTok Shop refuses duplicates.",
        "Use the tracking number of this shipment; if it really is the same parcel, add these items to the existing fulfillment.";
    /// The single tracking update is spent.
    TrackingUpdateLimitReached = "tracking.update_limit_reached", Error, TrackingPolicy, &["21011051", "21011052"],
        "The tracking number can only be updated once, and the update has already been used.",
        "Contact TikTok Shop support to correct the tracking information.";
    /// The 72-hour window is over.
    TrackingUpdateWindowExpired = "tracking.update_window_expired", Error, TrackingPolicy, &["21011050", "21011049"],
        "The tracking number can be updated only within 72 hours of fulfillment, and that time has passed.",
        "Contact TikTok Shop support to correct the tracking information.";
    /// The push would spend the last update.
    TrackingOnlyUpdateLeft = "tracking.only_update_left", Warning, TrackingPolicy, &[],
        "This sync changes the tracking number of a shipped package; TikTok Shop allows this only once.",
        "Check the carrier and the tracking number before you sync: after this update they cannot be changed.";
    /// The package is delivered: its tracking can no longer change.
    TrackingUpdateAfterDelivery = "tracking.update_after_delivery", Error, TrackingPolicy, &["21011030"],
        "The order is already delivered, and TikTok Shop does not change the tracking of a delivered package.",
        "Leave the tracking as it is, or contact TikTok Shop support.";
    /// When the package shipped is not known.
    TrackingShippedAtUnknown = "tracking.shipped_at_unknown", Warning, TrackingPolicy, &[],
        "It is not known when the package was shipped, so the 72-hour update window cannot be checked.",
        "Sync only if the package shipped less than 72 hours ago.";
    /// The items already shipped in another package.
    LineItemsAlreadyFulfilled = "line_items.already_fulfilled", Error, LineItems, ALREADY_SHIPPED,
        "These items are already fulfilled at TikTok Shop in another package, with different items or another tracking number.",
        "Ask TikTok Shop support to cancel the previous fulfillment, then sync again.";
    /// An item is not in the order.
    LineItemsNotInOrder = "line_items.not_in_order", Error, LineItems, &["21011029"],
        "An item of this fulfillment is not in the TikTok Shop order (no line item with its SKU).",
        "Check the item's SKU in Shopify against the seller SKU in TikTok Shop, or fulfil this item outside the sync.";
    /// More units than remain to ship.
    LineItemsQuantityExceedsRemaining = "line_items.quantity_exceeds_remaining", Error, LineItems, &[],
        "The fulfillment ships more units of an item than the TikTok Shop order has left to ship.",
        "Correct the quantity in the Shopify fulfillment to the units still to ship.";
    /// The units were cancelled.
    LineItemsCancelled = "line_items.cancelled", Error, LineItems, &["21011041", "21011042"],
        "Units of this item were cancelled in the TikTok Shop order and cannot be shipped.",
        "Remove the cancelled units from the fulfillment, or refund them in Shopify.";
    /// Components of a virtual bundle, but not all a bundle unit holds.
    LineItemsBundleIncomplete = "line_items.bundle_incomplete", Error, LineItems, &[],
        "This item is part of a TikTok Shop bundle, and a bundle ships whole: the fulfillment does not hold every item (and count) of a bundle unit.",
        "Fulfil every item of the bundle together in Shopify, then sync.";
    /// A unit the push ships has a cancellation (after-sale) request pending.
    LineItemsAfterSaleRequest = "line_items.after_sale_request", Error, LineItems, &["21011007", "21008044"],
        "A unit of this fulfillment has a cancellation request from the buyer pending at TikTok Shop, which refuses to ship it until the request is answered.",
        "Answer the request in TikTok Shop Seller Center, then sync again.";
    /// Some units of a SKU go in this package, others of the same SKU stay to ship.
    LineItemsSkuSplit = "line_items.sku_split", Warning, LineItems, &["21011036"],
        "This push ships some units of a SKU and leaves other units of the same SKU to ship later; TikTok Shop refuses splitting one SKU over packages where its market does not allow it.",
        "Ship every unit of the SKU in one fulfillment if you can, or check that the market allows split shipping.";
    /// The fulfillment has no items.
    LineItemsEmpty = "line_items.empty", Error, LineItems, &[],
        "The fulfillment has no items to ship.",
        "Add the items to the fulfillment in Shopify.";
    /// The order is cancelled.
    OrderCancelled = "order.cancelled", Error, Order, &["21011041", "21011042"],
        "The TikTok Shop order is cancelled and cannot be shipped.",
        "Do not ship; cancel the Shopify fulfillment or refund the order.";
    /// The order is not paid.
    OrderUnpaid = "order.unpaid", Error, Order, &["10007002"],
        "The TikTok Shop order is not paid yet and cannot be shipped.",
        "Wait until the buyer pays, then sync again.";
    /// The order is on hold.
    OrderOnHold = "order.on_hold", Error, Order, &["10007002"],
        "The TikTok Shop order is on hold (the buyer may still cancel) and cannot be shipped yet.",
        "Wait until the hold ends, then sync again.";
    /// The buyer asked to cancel.
    OrderCancellationRequested = "order.cancellation_requested", Error, Order, &["21011007", "21008044"],
        "The buyer asked to cancel this TikTok Shop order.",
        "Answer the cancellation request in TikTok Shop Seller Center before shipping.";
    /// TikTok fulfils the order.
    OrderFulfilledByTiktok = "order.fulfilled_by_tiktok", Error, Order, &["21008025", "21011004"],
        "This order is fulfilled by TikTok, so the seller cannot push a fulfillment.",
        "Nothing to push: TikTok fulfils this order.";
    /// TikTok ships the order with its own label.
    OrderShippedByTiktok = "order.shipped_by_tiktok", Error, Order, &["21008025", "21011004"],
        "This order ships with a TikTok Shipping label, so the seller cannot push a carrier and tracking number.",
        "Ship with the TikTok Shipping label from TikTok Shop Seller Center.";
    /// Past the order's ship-by time.
    OrderDispatchLate = "order.dispatch_late", Warning, Order, &[],
        "The order's ship-by time has passed: TikTok Shop counts this shipment as late dispatch, which weighs on the shop's performance.",
        "Sync now, and ship earlier next time.";
    /// Within a day of the order's ship-by time.
    OrderDispatchDueSoon = "order.dispatch_due_soon", Warning, Order, &[],
        "The order must be shipped within a day, by its ship-by time, or it counts as late dispatch.",
        "Sync before the deadline.";
    /// Within a day of the time TikTok Shop cancels the order if it is not shipped.
    OrderAutoCancelDue = "order.auto_cancel_due", Warning, Order, &[],
        "TikTok Shop cancels this order if it is not shipped within a day (or at any moment, when that time has passed).",
        "Sync now: a cancelled order cannot be shipped.";
    /// The Shopify fulfillment itself was cancelled or failed.
    FulfillmentNotSuccessful = "fulfillment.not_successful", Error, Order, &[],
        "The Shopify fulfillment is cancelled or failed, so there is nothing to ship.",
        "Create a new fulfillment in Shopify for the items you ship.";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! word {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The word, as the JSON form writes it.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }
        }

        impl ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                write_str(out, self.as_str());
            }
        }
    };
}

word!(Verdict { Ready => "ready", Blocked => "blocked", InSync => "in_sync" });
word!(Action { Ship => "ship", UpdateTracking => "update_tracking", None => "none" });
word!(Severity { Error => "error", Warning => "warning", Info => "info" });
word!(Rule {
    Carrier => "carrier",
    Tracking => "tracking",
    TrackingPolicy => "tracking_policy",
    LineItems => "line_items",
    Order => "order",
});

impl ToJson for Code {
    fn write_json(&self, out: &mut String) {
        write_str(out, self.as_str());
    }
}

impl ToJson for Timestamp {
    fn write_json(&self, out: &mut String) {
        write_str(out, &self.to_string());
    }
}

impl ToJson for Report {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("fulfillmentId", &self.fulfillment_id)
            .field("verdict", &self.verdict)
            .field("plan", &self.plan)
            .field("diagnostics", &self.diagnostics)
            .field("updateDeadline", &self.update_deadline)
            .end();
    }
}

impl ToJson for Plan {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("action", &self.action)
            .field("packageId", &self.package_id)
            .field("lineItemIds", &self.line_item_ids)
            .field("shippingProviderId", &self.shipping_provider_id)
            .field("shippingProviderName", &self.shipping_provider_name)
            .field("trackingNumber", &self.tracking_number)
            .end();
    }
}

impl ToJson for Diagnostic {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("code", &self.code)
            .field("severity", &self.severity)
            .field("rule", &self.rule)
            .field("reason", self.reason)
            .field("solution", self.solution)
            .field("field", &self.field)
            .field("data", &self.data)
            .field("ttsErrorCodes", self.tts_error_codes)
            .end();
    }
}

impl ToJson for ProviderRef {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("id", &self.id)
            .field("name", &self.name)
            .end();
    }
}

impl ToJson for PackageRef {
    fn write_json(&self, out: &mut String) {
        ObjectWriter::new(out)
            .field("packageId", &self.package_id)
            .field("trackingNumber", &self.tracking_number)
            .field("lineItemIds", &self.line_item_ids)
            .end();
    }
}

impl ToJson for Data {
    fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Self::Carrier {
                carrier,
                suggestions,
            } => o
                .field("carrier", carrier)
                .field("suggestions", suggestions),
            Self::Provider { provider } => o.field("provider", provider),
            Self::Tracking {
                tracking_number,
                carriers,
            } => o
                .field("trackingNumber", tracking_number)
                .field("carriers", carriers),
            Self::Window {
                shipped_at,
                deadline,
                updates_used,
                max_updates,
                current_tracking_number,
            } => o
                .field("shippedAt", shipped_at)
                .field("deadline", deadline)
                .field("updatesUsed", updates_used)
                .field("maxUpdates", max_updates)
                .field("currentTrackingNumber", current_tracking_number),
            Self::Packages { packages } => o.field("packages", packages),
            Self::Item {
                sku,
                requested,
                remaining,
            } => o
                .field("sku", sku)
                .field("requested", requested)
                .field("remaining", remaining),
            Self::Status { status } => o.field("status", status),
            Self::Deadline { deadline } => o.field("deadline", deadline),
            Self::Cleaned {
                tracking_number,
                cleaned,
            } => o
                .field("trackingNumber", tracking_number)
                .field("cleaned", cleaned),
            Self::PlatformRule { rule, from, source } => o
                .field("rule", rule.id())
                .field("from", from)
                .field("source", source),
        }
        .end();
    }
}

impl Read for Action {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let text = read::any_text(value, path)?.unwrap_or_default();
        [Self::Ship, Self::UpdateTracking, Self::None]
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                read::error(
                    InputErrorKind::InvalidValue,
                    path,
                    format!(
                        "unknown action `{text}`, expected `ship`, `update_tracking` or `none`"
                    ),
                )
            })
    }
}

/// A plan as [`Plan`]'s writer writes it (a stored push's plan reads back with it).
impl Read for Plan {
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError> {
        let o = Object::new(value, path, "a plan object")?;
        o.only(&[
            "action",
            "packageId",
            "lineItemIds",
            "shippingProviderId",
            "shippingProviderName",
            "trackingNumber",
        ])?;
        let id = |v: &Value<'_>, p: &Path<'_>| {
            read::id(v, p)?
                .ok_or_else(|| read::error(InputErrorKind::InvalidType, p, "expected an id"))
        };
        Ok(Self {
            action: o.required("action", |v, p| Action::read(v, p).map(Some))?,
            package_id: o.id("packageId")?,
            line_item_ids: o
                .optional("lineItemIds", |v, p| read::list(v, p, id))?
                .unwrap_or_default(),
            shipping_provider_id: o.id("shippingProviderId")?,
            shipping_provider_name: o.text("shippingProviderName")?,
            tracking_number: o.text("trackingNumber")?,
        })
    }
}
