//! The public `tracking_number_data` corpus (its test numbers, in `tests/corpus/`): under the TikTok Shop
//! provider of each courier the corpus shares with our catalogs, every valid number stays Ready with that
//! provider and draws no tracking warning, and every invalid number draws a tracking warning or error.
//! Couriers no TikTok Shop catalog of ours carries are listed, not scored.
//!
//! The USPS label rule is not what this measures: the shop is exempt from it.

use preflight::{Severity, Validator, Verdict};
use serde_json::{json, Value};

/// The TikTok Shop region, the Shopify carrier name and the TikTok Shop provider a corpus format ships
/// under, or `None` when no catalog of ours has the courier.
fn carrier_of(
    courier: &str,
    format: &str,
    number: &str,
) -> Option<(&'static str, &'static str, &'static str)> {
    let compact: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    Some(match courier {
        "amazon" => ("US", "Amazon", "Amazon Logistics"),
        "dhl" if format.starts_with("DHL Express") => ("US", "DHL Express", "DHL express"),
        "dhl" => ("US", "DHL eCommerce", "DHL eCommerce"),
        "dpd" => ("UK", "DPD UK", "DPD UK"),
        "fedex" => ("US", "FedEx", "FedEx"),
        "gofo" => ("US", "Gofo", "Gofo Express"),
        "lasership" => ("US", "Lasership", "LaserShip"),
        "ontrac" => ("US", "OnTrac", "OnTrac"),
        "speedee" => ("US", "Spee-Dee Delivery", "Spee-Dee Delivery"),
        "ups" => ("US", "UPS", "UPS"),
        "usps" => ("US", "USPS", "USPS"),
        "yodel" => ("UK", "Yodel", "Yodel UK"),
        // An S10 number's post is its country's.
        "s10" if compact.ends_with("GB") => ("UK", "Royal Mail", "Royal Mail"),
        "s10" if compact.ends_with("US") => ("US", "USPS", "USPS"),
        _ => return None,
    })
}

fn input(carrier: &str, number: &str) -> String {
    json!({
        "fulfillment": {"id": 1, "status": "success", "tracking_company": carrier,
                        "tracking_number": number,
                        "line_items": [{"id": 1, "sku": "A", "quantity": 1}]},
        "order": {"id": "1", "status": "AWAITING_SHIPMENT",
                  "line_items": [{"id": "11", "seller_sku": "A"}]},
        "history": null
    })
    .to_string()
}

#[test]
fn the_public_corpus_valid_numbers_ready_invalid_numbers_flagged() {
    let corpus: Value =
        serde_json::from_str(include_str!("corpus/tracking_number_data.json")).unwrap();
    let validator = |region: &str| {
        Validator::from_json(
            &json!({"region": region,
                    "ruleOverrides": {"usps_labels_via_tiktok_shipping": false}})
            .to_string(),
        )
        .unwrap()
    };
    let (us, uk) = (validator("US"), validator("UK"));
    let now = preflight::Timestamp::parse("2026-11-24T12:00:00Z").unwrap();

    let (mut valid, mut valid_ok, mut invalid, mut invalid_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut unscored = Vec::new();
    for courier in corpus["couriers"].as_array().unwrap() {
        let code = courier["courier_code"].as_str().unwrap();
        for format in courier["formats"].as_array().unwrap() {
            let name = format["name"].as_str().unwrap();
            for (expect_valid, key) in [(true, "valid"), (false, "invalid")] {
                for number in format[key].as_array().unwrap() {
                    let number = number.as_str().unwrap();
                    let Some((region, carrier, provider_name)) = carrier_of(code, name, number)
                    else {
                        unscored.push(format!("{code}: {number}"));
                        continue;
                    };
                    let validator = if region == "US" { &us } else { &uk };
                    let typed = preflight::from_json(&input(carrier, number)).unwrap();
                    let report = validator.validate(&typed, now);
                    let tracking_findings: Vec<&str> = report
                        .diagnostics
                        .iter()
                        .filter(|d| d.code.as_str().starts_with("tracking."))
                        .filter(|d| d.severity != Severity::Info)
                        .map(|d| d.code.as_str())
                        .collect();
                    let provider = validator
                        .carriers()
                        .providers()
                        .iter()
                        .find(|p| p.name == provider_name)
                        .map(|p| p.id.clone());
                    if expect_valid {
                        valid += 1;
                        let ok = report.verdict == Verdict::Ready
                            && tracking_findings.is_empty()
                            && report.plan.shipping_provider_id.is_some()
                            && report.plan.shipping_provider_id == provider;
                        if ok {
                            valid_ok += 1;
                        } else {
                            let codes: Vec<&str> =
                                report.diagnostics.iter().map(|d| d.code.as_str()).collect();
                            failures.push(format!(
                                "valid {code} ({name}) {number:?} under {carrier}: {:?} {codes:?} provider {:?}",
                                report.verdict, report.plan.shipping_provider_id
                            ));
                        }
                    } else {
                        invalid += 1;
                        if tracking_findings.is_empty() {
                            let codes: Vec<&str> =
                                report.diagnostics.iter().map(|d| d.code.as_str()).collect();
                            failures.push(format!(
                                "invalid {code} ({name}) {number:?} under {carrier}: no tracking finding, {:?} {codes:?}",
                                report.verdict
                            ));
                        } else {
                            invalid_ok += 1;
                        }
                    }
                }
            }
        }
    }
    println!(
        "tracking_number_data: valid accepted {valid_ok}/{valid}, invalid flagged {invalid_ok}/{invalid}; \
         not scored (no TikTok Shop provider of ours): {}",
        unscored.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(valid > 150 && invalid > 60, "the corpus is all here");
}
