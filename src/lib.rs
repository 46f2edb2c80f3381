//! Fulfillment Preflight: checks a Shopify fulfillment before it is pushed to TikTok Shop.
//!
//! Three failures dominate at TikTok Shop, and each is final or costly once it happens: a carrier that is
//! not an integrated shipping provider, a tracking number changed more than once or after 72 hours, and
//! line items already fulfilled in another package. The engine predicts all three, and more, from the
//! payloads as Shopify and TikTok Shop send them. It is pure: no clock, no I/O; `now` is an input.
//!
//! ```
//! use preflight::{Validator, Verdict};
//!
//! let validator = Validator::from_json(r#"{"region": "US",
//!     "carrierMappings": [{"from": "Other", "to": "UniUni"}]}"#)?;
//! let input = r#"{
//!   "fulfillment": {"id": 4711, "status": "success", "tracking_company": "UPS",
//!                   "tracking_number": "1Z999AA10123456784",
//!                   "line_items": [{"id": 1, "variant_id": 2, "sku": "MUG", "quantity": 1}]},
//!   "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
//!             "line_items": [{"id": "577086512123755123", "seller_sku": "MUG"}]},
//!   "history": null }"#;
//! let report = validator.validate_json(input, "2026-11-24T12:00:00Z")?;
//! assert!(report.contains(r#""verdict":"ready""#));
//!
//! let typed = preflight::from_json(input)?;
//! let now = preflight::Timestamp::parse("2026-11-24T12:00:00Z")?;
//! assert_eq!(validator.validate(&typed, now).verdict, Verdict::Ready);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod carrier;
pub mod error;
pub mod json;
pub mod line_items;
pub mod model;
pub mod platform_rules;
pub mod report;
mod time;
pub mod tracking_policy;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{InputError, InputErrorKind};
pub use model::read::from_json;
pub use model::{
    CarrierMapping, DeliveryOptionProviders, History, Input, PlatformRule, Policy, Region,
    RuleOverride, SellerType, Settings, TrackingValidation,
};
pub use report::{Action, Code, Diagnostic, Plan, Report, Severity, Verdict};
pub use time::{Timestamp, TimestampError};

use carrier::{CarrierIndex, How, Resolution};
use json::ToJson;
use report::Data;

/// The engine, built once from the settings, validating any number of fulfillments.
#[derive(Clone, Debug)]
pub struct Validator {
    settings: Settings,
    carriers: CarrierIndex,
}

/// A batch request in JSON: `{"inputs": [...]}`.
struct Batch {
    inputs: Vec<Input>,
}

impl model::read::Read for Batch {
    fn read(value: &json::Value<'_>, path: &model::read::Path<'_>) -> Result<Self, InputError> {
        let o = model::read::Object::new(value, path, "an object with `inputs`")?;
        o.only(&["inputs"])?;
        Ok(Self {
            inputs: o.required("inputs", model::read::list_of)?,
        })
    }
}

impl Validator {
    /// Builds a validator: indexes the region's providers, the delivery option's and the mappings.
    ///
    /// # Errors
    /// `input.unknown_provider` when a carrier mapping points at no provider of the region.
    pub fn new(settings: Settings) -> Result<Self, InputError> {
        let carriers = CarrierIndex::new(&settings)?;
        Ok(Self { settings, carriers })
    }

    /// Builds a validator from settings in JSON.
    ///
    /// # Errors
    /// An [`InputError`] for malformed settings: an unknown region, a misspelt field, a mapping to no
    /// provider.
    pub fn from_json(settings: &str) -> Result<Self, InputError> {
        Self::new(model::read::from_json(settings)?)
    }

    /// The settings it was built with.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The provider index, for listing and lookups.
    #[must_use]
    pub fn carriers(&self) -> &CarrierIndex {
        &self.carriers
    }

    /// Replaces the carrier mappings and rebuilds their index, keeping everything else.
    ///
    /// # Errors
    /// `input.unknown_provider` or `input.invalid_value` for a bad mapping; the validator is unchanged.
    pub fn set_carrier_mappings(
        &mut self,
        mappings: Vec<CarrierMapping>,
    ) -> Result<(), InputError> {
        self.carriers.set_mappings(&mappings)?;
        self.settings.carrier_mappings = mappings;
        Ok(())
    }

    /// Validates one fulfillment at `now`.
    #[must_use]
    pub fn validate(&self, input: &Input, now: Timestamp) -> Report {
        let fulfillment = &input.fulfillment;
        let order = &input.order;
        let history = input.history.as_ref();
        let shape = fulfillment.shape;
        let mut diagnostics = Vec::new();

        if fulfillment.tracking_numbers.len() > 1 {
            diagnostics.push(Diagnostic::new(
                Code::TrackingMultipleNumbers,
                Some(shape.tracking_field()),
                None,
            ));
        }
        let mut tracking = carrier::clean_tracking_number(
            fulfillment.tracking_numbers.first().map(String::as_str),
            shape.tracking_field(),
            &mut diagnostics,
        );
        let recognition = tracking.as_ref().map(|t| t.recognition).unwrap_or_default();
        // The id pushed: the order's delivery option may give the provider its own.
        let mut provider_id: Option<&str> = None;
        let provider = match self.carriers.resolve_for(
            fulfillment.tracking_company.as_deref(),
            recognition,
            shape.carrier_field(),
            order.delivery_option_id.as_deref(),
        ) {
            Resolution::Resolved { provider, how } => {
                provider_id = self
                    .carriers
                    .pushed_id(provider, order.delivery_option_id.as_deref());
                let provider = self.carriers.provider(provider);
                if let (How::Inferred, Some(p), Some(id)) = (how, provider, provider_id) {
                    diagnostics.push(Diagnostic::new(
                        Code::CarrierInferred,
                        Some(shape.carrier_field()),
                        Some(Data::Provider {
                            provider: report::ProviderRef {
                                id: id.to_owned(),
                                name: p.name.clone(),
                            },
                        }),
                    ));
                }
                provider
            }
            Resolution::Unresolved(diagnostic) => {
                diagnostics.push(*diagnostic);
                None
            }
        };
        if let Some(t) = &mut tracking {
            carrier::settle_separators(t, provider, shape.tracking_field(), &mut diagnostics);
        }
        if let Some(p) = provider {
            if let Some(t) = &tracking {
                carrier::check_number_fits(
                    &self.carriers,
                    p,
                    t,
                    shape.tracking_field(),
                    &mut diagnostics,
                );
            }
            if p.couriers.contains(carrier::tracking::Courier::Usps) {
                let number = tracking.as_ref().map(|t| t.number.as_str());
                self.check_usps_label(input, number, now, &mut diagnostics);
            }
        }
        let number = tracking.as_ref().map(|t| t.number.as_str());
        let allocation =
            line_items::allocate(fulfillment, order, history, number, &mut diagnostics);

        let mut plan = Plan {
            shipping_provider_id: provider_id.map(str::to_owned),
            shipping_provider_name: provider.map(|p| p.name.clone()),
            // Never a number TikTok Shop refuses.
            tracking_number: tracking
                .as_ref()
                .filter(|t| t.pushable)
                .map(|t| t.number.clone()),
            ..Plan::default()
        };
        let mut update_deadline = None;
        match allocation.package {
            Some(package_id) => {
                let shipment = tracking_policy::Shipment::new(package_id, order, history);
                let update = tracking_policy::Update {
                    provider_id,
                    tracking_number: number,
                    order,
                    now,
                    field: shape.tracking_field(),
                };
                let decision = tracking_policy::decide(
                    &self.settings.policy,
                    &shipment,
                    &update,
                    &mut diagnostics,
                );
                plan.action = decision.action;
                plan.package_id = Some(package_id.to_owned());
                update_deadline = decision.deadline;
            }
            None => {
                plan.action = Action::Ship;
                plan.line_item_ids = allocation.to_ship.iter().map(|u| u.id.clone()).collect();
            }
        }

        let verdict = if plan.action == Action::None {
            // TikTok Shop already holds this: findings about a push that will not happen are moot.
            diagnostics.retain(|d| d.severity != Severity::Error);
            Verdict::InSync
        } else {
            line_items::check_order(fulfillment, order, &mut diagnostics);
            if plan.action == Action::Ship {
                line_items::check_dispatch(order, now, &mut diagnostics);
            }
            if diagnostics.iter().any(|d| d.severity == Severity::Error) {
                Verdict::Blocked
            } else {
                Verdict::Ready
            }
        };
        order_by_severity(&mut diagnostics);
        Report {
            fulfillment_id: fulfillment.id.clone(),
            verdict,
            plan,
            diagnostics,
            update_deadline,
        }
    }

    /// A USPS provider under the rule that USPS labels come from TikTok Shipping: refused unless TikTok Shop
    /// issued the number (its Get Tracking Validation says so, or the order ships with TikTok Shipping).
    fn check_usps_label(
        &self,
        input: &Input,
        number: Option<&str>,
        now: Timestamp,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let rule = PlatformRule::UspsLabelsViaTiktokShipping;
        let Some(in_force) = platform_rules::in_force(rule, &self.settings, now) else {
            return;
        };
        let issued_by_tiktok = number.is_some_and(|number| {
            // Compared as TikTok Shop reads numbers: letters and digits, any case.
            let bare = |s: &str| {
                s.chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_uppercase())
                    .collect::<String>()
            };
            let validated = input
                .tracking_validation
                .as_ref()
                .is_some_and(|v| v.is_tiktok_shipping && bare(&v.tracking_number) == bare(number));
            // An order TikTok Shipping ships carries TikTok Shipping's labels.
            validated || input.order.shipped_by_tiktok()
        });
        if issued_by_tiktok {
            return;
        }
        diagnostics.push(Diagnostic::new(
            platform_rules::code(rule),
            Some(input.fulfillment.shape.carrier_field()),
            Some(Data::PlatformRule {
                rule,
                from: in_force.scope.map(|s| s.from),
                source: in_force.scope.map(|s| s.source),
            }),
        ));
    }

    /// Validates many fulfillments at one instant.
    #[must_use]
    pub fn validate_batch(&self, inputs: &[Input], now: Timestamp) -> Vec<Report> {
        inputs
            .iter()
            .map(|input| self.validate(input, now))
            .collect()
    }

    /// Validates one fulfillment given as JSON, at `now` (RFC 3339), answering the report as JSON.
    ///
    /// # Errors
    /// An [`InputError`] with the path of the bad field for malformed input or `now`.
    pub fn validate_json(&self, input: &str, now: &str) -> Result<String, InputError> {
        let now = parse_now(now)?;
        let input: Input = model::read::from_json(input)?;
        Ok(self.validate(&input, now).to_json())
    }

    /// Validates a batch given as JSON `{"inputs": [...]}`, answering a JSON array of reports.
    ///
    /// # Errors
    /// An [`InputError`] with the path of the bad field (like `inputs[3].order.id`).
    pub fn validate_batch_json(&self, batch: &str, now: &str) -> Result<String, InputError> {
        let now = parse_now(now)?;
        let batch: Batch = model::read::from_json(batch)?;
        Ok(self.validate_batch(&batch.inputs, now).to_json())
    }
}

/// Puts errors first, then warnings, then infos, keeping the order within each (no sort: small code).
fn order_by_severity(diagnostics: &mut Vec<Diagnostic>) {
    if diagnostics.is_sorted_by_key(|d| d.severity) {
        return;
    }
    let all = std::mem::take(diagnostics);
    let (errors, rest): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|d| d.severity == Severity::Error);
    let (warnings, infos): (Vec<_>, Vec<_>) = rest
        .into_iter()
        .partition(|d| d.severity == Severity::Warning);
    *diagnostics = errors;
    diagnostics.extend(warnings);
    diagnostics.extend(infos);
}

/// Parses the instant to validate at.
///
/// # Errors
/// `input.invalid_timestamp` at path `now`.
pub fn parse_now(now: &str) -> Result<Timestamp, InputError> {
    Timestamp::parse(now).map_err(|e| {
        InputError::new(
            InputErrorKind::InvalidTimestamp,
            "now",
            time::timestamp_message(now, e),
        )
    })
}
