//! The engine against the TikTok Shop simulator, which models the platform without the engine. For
//! every golden vector with a plan to push, the order is rebuilt at the simulator (packages already
//! shipped are shipped again at their time, with the updates they spent), then the plan is pushed.
//! A `ready` verdict must be accepted, or refused only as one of its warnings said it might be; a
//! refusal must be one the report predicted; an order-level error must see the push refused.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use preflight::{Region, Timestamp, Validator};
use preflight_server::tts::simulator::{ShopProfile, Simulator};
use preflight_server::tts::types::Order;
use preflight_server::tts::{
    MarkPackageShippedRequest, ShippingProvider, TtsError, UpdateShippingInfoRequest,
};
use serde_json::Value;

const SHOP: &str = "acme.myshopify.com";
const DELIVERY_OPTION: &str = "DO-DIFF";

fn seconds(text: &str) -> i64 {
    Timestamp::parse(text).unwrap().unix_seconds()
}

/// A package of the vector's order, as TikTok Shop holds it.
struct Shipped {
    units: Vec<String>,
    tracking: String,
    provider: String,
    rts: Option<i64>,
}

/// Rebuilds the vector's order at a new simulator: answers it with the vector's package ids mapped to
/// the simulator's, or `None` when the order cannot be rebuilt (a package of no known provider).
fn rebuild(
    vector: &Value,
    providers: Vec<ShippingProvider>,
) -> Option<(Simulator, String, BTreeMap<String, String>)> {
    let mut order: Order = serde_json::from_value(vector["input"]["order"].clone()).ok()?;
    let history = &vector["input"]["history"];
    let mut packages: BTreeMap<String, Shipped> = BTreeMap::new();
    for unit in &mut order.line_items {
        let tracking = unit.tracking_number.clone().filter(|t| !t.is_empty());
        let shipped = tracking.is_some()
            || matches!(
                unit.package_status.as_deref(),
                Some("FULFILLING" | "COMPLETED")
            );
        if let (true, Some(package)) = (shipped, unit.package_id.clone().filter(|p| !p.is_empty()))
        {
            let entry = packages.entry(package).or_insert_with(|| Shipped {
                units: Vec::new(),
                tracking: tracking.clone().unwrap_or_default(),
                provider: unit.shipping_provider_id.clone().unwrap_or_default(),
                rts: None,
            });
            entry.units.push(unit.id.clone());
            entry.rts = match (entry.rts, unit.rts_time.filter(|&t| t > 0)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        // The simulator keeps its own packages.
        unit.package_id = None;
        unit.package_status = None;
        unit.tracking_number = None;
        unit.shipping_provider_id = None;
        unit.shipping_provider_name = None;
    }
    let status = order.status.clone();
    let order_id = order.id.clone();
    order.delivery_option_id = Some(DELIVERY_OPTION.into());
    let (fulfillment_type, shipping_type) =
        (order.fulfillment_type.take(), order.shipping_type.take());
    order.status = "AWAITING_SHIPMENT".into();
    let sim = Simulator::new("k", "s");
    sim.add_providers(DELIVERY_OPTION, providers);
    sim.add_order(SHOP, order);
    // Who the shop is at TikTok Shop, and the labels TikTok Shipping sold: what the settings and the
    // tracking validation say of them.
    let settings = &vector["settings"];
    let exempt = settings["ruleOverrides"]["usps_labels_via_tiktok_shipping"] == false;
    let forced = settings["ruleOverrides"]["usps_labels_via_tiktok_shipping"] == true
        || settings["policy"]["allowUspsSelfShipping"] == false;
    sim.set_shop_profile(
        SHOP,
        ShopProfile {
            region: settings["region"]
                .as_str()
                .unwrap_or("US")
                .replace("GB", "UK")
                .to_ascii_uppercase(),
            seller_type: settings["sellerType"]
                .as_str()
                .unwrap_or("LOCAL")
                .to_owned(),
            usps_exception: exempt,
            ..ShopProfile::default()
        },
    );
    // A shop the restriction reached early is another platform than the one simulated.
    if forced && seconds(vector["now"].as_str()?) < seconds("2026-01-01T00:00:00Z") {
        return None;
    }
    let validation = &vector["input"]["trackingValidation"];
    if validation["isTiktokShipping"] == true {
        // The label's number as TikTok Shop holds it: letters and digits.
        let number: String = validation["trackingNumber"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        sim.add_tiktok_shipping_label(&number);
    }

    let now = seconds(vector["now"].as_str()?);
    let mut mapped = BTreeMap::new();
    for (n, (package, shipped)) in packages.into_iter().enumerate() {
        let ours = history["packageId"].as_str() == Some(package.as_str());
        let shipped_at = ours
            .then(|| history["shippedAt"].as_str().map(seconds))
            .flatten()
            .or(shipped.rts)
            .unwrap_or(now - 3600);
        // The package shows another number than the one we pushed last: an update spent elsewhere.
        let pushed = history["trackingNumber"].as_str().filter(|_| ours);
        let elsewhere = pushed.is_some_and(|p| {
            !shipped.tracking.is_empty() && !p.eq_ignore_ascii_case(&shipped.tracking)
        });
        let used = if ours {
            history["trackingUpdatesUsed"].as_u64().unwrap_or(0)
        } else {
            0
        } + u64::from(elsewhere);
        let provider = if shipped.provider.is_empty() {
            history["shippingProviderId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        } else {
            shipped.provider
        };
        sim.set_now(shipped_at);
        // TikTok Shop accepted these packages: a USPS label among them was TikTok Shipping's.
        sim.add_tiktok_shipping_label(&shipped.tracking);
        let first = match pushed {
            Some(pushed) if elsewhere => pushed.to_owned(),
            _ if used > 0 => format!("REPLAY{n}"),
            _ => shipped.tracking.clone(),
        };
        sim.add_tiktok_shipping_label(&first);
        let made = sim
            .ship(
                SHOP,
                &order_id,
                &MarkPackageShippedRequest {
                    order_line_item_ids: shipped.units,
                    tracking_number: first,
                    shipping_provider_id: provider.clone(),
                },
            )
            .ok()?;
        if used > 0 {
            sim.set_now(shipped_at + 60);
            sim.update_shipping_info(
                SHOP,
                &made.package_id,
                &UpdateShippingInfoRequest {
                    tracking_number: shipped.tracking,
                    shipping_provider_id: provider,
                },
            )
            .ok()?;
        }
        if matches!(status.as_str(), "DELIVERED" | "COMPLETED") {
            sim.deliver_package(&made.package_id);
        }
        mapped.insert(package, made.package_id);
    }
    sim.set_now(now);
    // The order as the vector has it: its state, who fulfils and ships it.
    sim.set_order_status(&order_id, &status);
    sim.set_order_types(&order_id, fulfillment_type, shipping_type);
    Some((sim, order_id, mapped))
}

#[test]
fn the_engine_predicts_what_the_simulator_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut compared, mut accepted, mut refused, mut updates) = (0, 0, 0, 0);
    for file in files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Ok(validator) = Validator::from_json(&vector["settings"].to_string()) else {
            continue;
        };
        let Value::Object(_) = &vector["input"] else {
            continue;
        };
        // The simulator holds TikTok Shop's own rules: a policy set otherwise is another platform.
        let policy = validator.settings().policy;
        if (policy.update_window_hours, policy.max_tracking_updates) != (72, 1) {
            continue;
        }
        let Ok(report) = validator.validate_json(
            &vector["input"].to_string(),
            vector["now"].as_str().unwrap(),
        ) else {
            continue;
        };
        let report: Value = serde_json::from_str(&report).unwrap();
        let plan = &report["plan"];
        let (Some(provider), Some(tracking)) = (
            plan["shippingProviderId"].as_str(),
            plan["trackingNumber"].as_str(),
        ) else {
            continue;
        };
        let units: Vec<String> = plan["lineItemIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_owned())
            .collect();
        if plan["action"] == "none" || (plan["action"] == "ship" && units.is_empty()) {
            continue;
        }
        // The order's delivery option offers its own providers when the settings list them, else the
        // settings' providers, else every provider of the region.
        let option = vector["input"]["order"]["delivery_option_id"]
            .as_str()
            .unwrap_or_default();
        let listed = vector["settings"]["deliveryOptionProviders"][option].as_array();
        let providers: Vec<ShippingProvider> =
            match listed.or(vector["settings"]["shippingProviders"].as_array()) {
                Some(list) => list
                    .iter()
                    .map(|p| {
                        ShippingProvider::new(
                            p["id"].as_str().unwrap(),
                            p["name"].as_str().unwrap_or(""),
                        )
                    })
                    .collect(),
                None => {
                    let region =
                        Region::from_code(vector["settings"]["region"].as_str().unwrap()).unwrap();
                    preflight::carrier::catalog::providers(region)
                        .iter()
                        .map(|p| ShippingProvider::new(p.id, p.name))
                        .collect()
                }
            };
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let Some((sim, order_id, mapped)) = rebuild(&vector, providers) else {
            continue;
        };
        let outcome: Result<(), TtsError> = if plan["action"] == "ship" {
            sim.ship(
                SHOP,
                &order_id,
                &MarkPackageShippedRequest {
                    order_line_item_ids: units,
                    tracking_number: tracking.to_owned(),
                    shipping_provider_id: provider.to_owned(),
                },
            )
            .map(|_| ())
        } else {
            let Some(package) = plan["packageId"].as_str().and_then(|p| mapped.get(p)) else {
                continue;
            };
            updates += 1;
            sim.update_shipping_info(
                SHOP,
                package,
                &UpdateShippingInfoRequest {
                    tracking_number: tracking.to_owned(),
                    shipping_provider_id: provider.to_owned(),
                },
            )
        };

        // The TikTok Shop codes the report's errors predict, and those its warnings say may come.
        let predicted = |severity: &str| -> BTreeSet<u64> {
            report["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == severity)
                .flat_map(|d| d["ttsErrorCodes"].as_array().unwrap().iter())
                .map(|c| c.as_str().unwrap().parse().unwrap())
                .collect()
        };
        let (errors, warnings) = (predicted("error"), predicted("warning"));
        compared += 1;
        match (report["verdict"].as_str().unwrap(), outcome) {
            ("ready", Ok(())) => accepted += 1,
            ("ready", Err(e)) => {
                refused += 1;
                let code = e.code().unwrap();
                assert!(
                    warnings.contains(&code),
                    "{name}: ready with no warning of {code}, but tiktok shop refuses: {e}"
                );
            }
            (_, Err(e)) => {
                refused += 1;
                let code = e.code().unwrap();
                assert!(
                    errors.contains(&code) || warnings.contains(&code),
                    "{name}: refused with {code}, predicted {errors:?}"
                );
            }
            (_, Ok(())) => {
                // The order's own state and the update policy refuse any such push; a line-item
                // conflict only refuses the units it names, which the plan leaves out.
                let binding: Vec<&str> = report["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["severity"] == "error")
                    .map(|d| d["code"].as_str().unwrap())
                    .filter(|c| {
                        c.starts_with("order.")
                            || matches!(
                                *c,
                                "tracking.update_limit_reached"
                                    | "tracking.update_window_expired"
                                    | "tracking.update_after_delivery"
                                    | "carrier.usps_self_shipping_not_allowed"
                            )
                    })
                    .collect();
                assert!(
                    binding.is_empty(),
                    "{name}: blocked by {binding:?}, but tiktok shop accepts"
                );
            }
        }
    }
    eprintln!(
        "{compared} vectors pushed ({updates} updates): {accepted} accepted, {refused} refused"
    );
    assert!(compared >= 100, "only {compared} vectors compared");
    assert!(updates >= 10, "only {updates} updates compared");
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}
