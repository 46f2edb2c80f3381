//! The engine against the TikTok Shop simulator, which models the platform without the engine: for
//! every golden vector whose order has nothing shipped yet and whose plan is a ship, the planned push
//! is made at the simulator. A `ready` verdict must be accepted, or refused only as one of its warnings
//! said it might be; a refusal must be one the report predicted; and an order-level error must see the
//! push refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::Path;

use preflight::{Region, Validator};
use preflight_server::tts::simulator::Simulator;
use preflight_server::tts::types::Order;
use preflight_server::tts::{MarkPackageShippedRequest, ShippingProvider};
use serde_json::Value;

const SHOP: &str = "acme.myshopify.com";
const DELIVERY_OPTION: &str = "DO-DIFF";

#[test]
fn the_engine_predicts_what_the_simulator_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut compared, mut accepted, mut refused) = (0, 0, 0);
    for file in files {
        let vector: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Ok(validator) = Validator::from_json(&vector["settings"].to_string()) else {
            continue;
        };
        let Value::Object(_) = &vector["input"] else {
            continue;
        };
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
        let Ok(mut order) = serde_json::from_value::<Order>(vector["input"]["order"].clone())
        else {
            continue;
        };
        let shipped = order.line_items.iter().any(|u| {
            u.tracking_number.as_deref().is_some_and(|t| !t.is_empty())
                || matches!(
                    u.package_status.as_deref(),
                    Some("FULFILLING" | "COMPLETED")
                )
        });
        if plan["action"] != "ship" || units.is_empty() || shipped {
            continue;
        }

        // The delivery option offers the settings' providers, or every provider of the region.
        let providers: Vec<ShippingProvider> =
            match vector["settings"]["shippingProviders"].as_array() {
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
        order.delivery_option_id = Some(DELIVERY_OPTION.into());
        let sim = Simulator::new("k", "s");
        sim.add_providers(DELIVERY_OPTION, providers);
        let order_id = order.id.clone();
        sim.add_order(SHOP, order);
        let outcome = sim.ship(
            SHOP,
            &order_id,
            &MarkPackageShippedRequest {
                order_line_item_ids: units,
                tracking_number: tracking.to_owned(),
                shipping_provider_id: provider.to_owned(),
            },
        );

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
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        compared += 1;
        match (report["verdict"].as_str().unwrap(), outcome) {
            ("ready", Ok(_)) => accepted += 1,
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
            (_, Ok(_)) => {
                // The order's own state refuses any push; a line-item conflict only refuses the
                // units it names, which the plan leaves out.
                let order_level: Vec<&str> = report["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| {
                        d["severity"] == "error"
                            && d["code"].as_str().unwrap().starts_with("order.")
                    })
                    .map(|d| d["code"].as_str().unwrap())
                    .collect();
                assert!(
                    order_level.is_empty(),
                    "{name}: blocked by {order_level:?}, but tiktok shop accepts"
                );
            }
        }
    }
    eprintln!("{compared} vectors pushed: {accepted} accepted, {refused} refused");
    assert!(compared >= 30, "only {compared} vectors compared");
    assert!(
        accepted > 0 && refused > 0,
        "{accepted} accepted, {refused} refused"
    );
}
