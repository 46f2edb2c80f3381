//! Property tests: any input gives a report or a typed error, never a panic, and the same input gives the
//! same report.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

use preflight::{Validator, Verdict};
use proptest::prelude::*;
use serde_json::{json, Value};

const NOW: &str = "2026-11-21T09:30:00Z";

fn validator() -> Validator {
    Validator::from_json(
        r#"{"region": "US", "carrierMappings": [{"from": "Acme", "to": "UPS"}, {"from": "*", "to": "USPS"}]}"#,
    )
    .unwrap()
}

/// A valid input whose parts the strategies below replace.
fn base() -> Value {
    json!({
        "fulfillment": {"id": 5012345678901u64, "status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784", "created_at": "2026-11-20T10:00:00Z",
            "line_items": [{"id": 1, "variant_id": 11, "sku": "TEE", "quantity": 2},
                           {"id": 2, "variant_id": 12, "sku": "MUG", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
            "line_items": [
                {"id": "577086512123755101", "seller_sku": "TEE"},
                {"id": "577086512123755102", "seller_sku": "TEE", "package_id": "1153132168123859001",
                 "package_status": "FULFILLING", "tracking_number": "1Z5R89390357567127",
                 "shipping_provider_id": "7117859084333745966", "rts_time": 1795168800},
                {"id": "577086512123755103", "seller_sku": "MUG"}]},
        "history": {"packageId": "1153132168123859001", "trackingNumber": "1Z5R89390357567127",
            "shippedAt": "2026-11-20T10:00:00Z", "trackingUpdatesUsed": 0}
    })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::String),
        prop_oneof![
            Just("2026-11-20T10:00:00Z"),
            Just("2026-11-20T10:00:00"),
            Just("UPS"),
            Just("Other"),
            Just("1Z999AA10123456784"),
            Just("FULFILLING"),
            Just("CANCELLED"),
            Just(""),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,12}",
                    Just("id".to_string()),
                    Just("quantity".to_string()),
                    Just("sku".to_string()),
                    Just("seller_sku".to_string()),
                    Just("package_id".to_string()),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Paths into [`base`] that a mutation may replace.
const PATHS: &[&[&str]] = &[
    &["fulfillment"],
    &["fulfillment", "id"],
    &["fulfillment", "status"],
    &["fulfillment", "tracking_company"],
    &["fulfillment", "tracking_number"],
    &["fulfillment", "tracking_numbers"],
    &["fulfillment", "line_items"],
    &["fulfillment", "line_items", "0"],
    &["fulfillment", "line_items", "0", "quantity"],
    &["fulfillment", "line_items", "1", "sku"],
    &["fulfillment", "created_at"],
    &["fulfillment", "trackingInfo"],
    &["order"],
    &["order", "id"],
    &["order", "status"],
    &["order", "line_items"],
    &["order", "line_items", "1"],
    &["order", "line_items", "1", "package_id"],
    &["order", "line_items", "1", "rts_time"],
    &["order", "line_items", "1", "tracking_number"],
    &["order", "is_buyer_request_cancel"],
    &["history"],
    &["history", "shippedAt"],
    &["history", "trackingUpdatesUsed"],
    &["history", "packageId"],
];

fn replace(mut value: Value, path: &[&str], new: Value) -> Value {
    let mut slot = &mut value;
    for key in path {
        slot = match slot {
            Value::Object(map) => map.entry((*key).to_owned()).or_insert(Value::Null),
            Value::Array(items) => match key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => item,
                None => return value,
            },
            _ => return value,
        };
    }
    *slot = new;
    value
}

fn check(validator: &Validator, text: &str) {
    match validator.validate_json(text, NOW) {
        Ok(report) => {
            let parsed: Value = serde_json::from_str(&report).unwrap();
            assert!(parsed["verdict"].is_string());
            assert_eq!(Ok(report), validator.validate_json(text, NOW));
        }
        Err(e) => {
            assert!(e.code().starts_with("input."), "{e:?}");
            assert!(!e.message.is_empty());
            assert_eq!(Err(e), validator.validate_json(text, NOW));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_json_gives_a_report_or_a_typed_error(value in any_json()) {
        check(&validator(), &value.to_string());
    }

    #[test]
    fn any_mutation_of_a_valid_input_gives_a_report_or_a_typed_error(
        path in prop::sample::select(PATHS),
        new in any_json(),
    ) {
        check(&validator(), &replace(base(), path, new).to_string());
    }

    #[test]
    fn any_text_gives_a_report_or_a_typed_error(text in ".{0,200}") {
        check(&validator(), &text);
    }

    #[test]
    fn any_carrier_and_number_give_a_consistent_verdict(
        carrier in prop_oneof![".{0,20}", "[A-Za-z -]{0,20}"],
        number in prop_oneof![".{0,40}", "[0-9A-Z ]{0,36}", "1Z[0-9A-Z]{16}", "9[0-9]{21}"],
        now in prop_oneof![Just("2026-11-21T09:30:00Z"), Just("2026-11-23T10:00:00+00:00"), Just("2026-11-30T00:00:00-05:00")],
    ) {
        let mut input = base();
        input["fulfillment"]["tracking_company"] = Value::String(carrier);
        input["fulfillment"]["tracking_number"] = Value::String(number);
        let validator = validator();
        let report: Value = serde_json::from_str(&validator.validate_json(&input.to_string(), now).unwrap()).unwrap();
        let errors = report["diagnostics"].as_array().unwrap().iter().filter(|d| d["severity"] == "error").count();
        let verdict: Verdict = match report["verdict"].as_str().unwrap() {
            "ready" => Verdict::Ready,
            "blocked" => Verdict::Blocked,
            _ => Verdict::InSync,
        };
        prop_assert_eq!(verdict == Verdict::Blocked, errors > 0);
    }
}

/// The engine's JSON value of a serde_json value, for comparing the two parsers.
fn same(ours: &preflight::json::Value<'_>, theirs: &Value) -> bool {
    use preflight::json::{Number, Value as V};
    match (ours, theirs) {
        (V::Null, Value::Null) => true,
        (V::Bool(a), Value::Bool(b)) => a == b,
        // serde_json reads `-0` as a float.
        (V::Number(Number::U64(a)), Value::Number(b)) => {
            b.as_u64() == Some(*a) || (*a == 0 && b.as_f64() == Some(0.0))
        }
        (V::Number(Number::I64(a)), Value::Number(b)) => b.as_i64() == Some(*a),
        (V::Number(Number::Wide(_) | Number::Float(_)), Value::Number(b)) => b.is_f64(),
        (V::String(a), Value::String(b)) => a == b,
        (V::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (V::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k.as_ref()).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_json_parser_reads_what_serde_json_writes(value in any_json()) {
        let text = serde_json::to_string_pretty(&value).unwrap();
        let ours = preflight::json::parse(&text).unwrap();
        prop_assert!(same(&ours, &value), "{text}");
    }

    #[test]
    fn the_json_parser_agrees_with_serde_json_on_any_text(text in prop_oneof![".{0,64}", "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,48}"]) {
        let ours = preflight::json::parse(&text);
        let theirs = serde_json::from_str::<Value>(&text);
        // What serde_json accepts, we accept. We accept a little more: lone surrogates (read as
        // U+FFFD) and exponents past the range of a float (kept as text).
        if theirs.is_ok() {
            prop_assert!(ours.is_ok(), "{}", text);
        }
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert!(same(&ours, &theirs), "{}", text);
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    // Ids and names as they come: digits, letters, spaces, quotes, backslashes, any Unicode.
    prop_oneof!["[0-9]{1,19}", "[ -~]{1,12}", "\\PC{1,6}"]
}

fn settings() -> impl Strategy<Value = preflight::Settings> {
    let mapping = (text(), text()).prop_map(|(from, to)| preflight::CarrierMapping { from, to });
    let provider =
        (text(), text()).prop_map(|(id, name)| preflight::model::ShippingProvider { id, name });
    (
        prop::sample::select(preflight::Region::ALL.to_vec()),
        prop::collection::vec(mapping, 0..4),
        prop::option::of(prop::collection::vec(provider, 0..4)),
        (any::<u32>(), any::<u32>()),
        prop::sample::select(preflight::SellerType::ALL.to_vec()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(
            |(
                region,
                carrier_mappings,
                shipping_providers,
                (hours, updates),
                seller_type,
                usps,
            )| {
                let mut settings = preflight::Settings::new(region);
                settings.seller_type = seller_type;
                settings.carrier_mappings = carrier_mappings;
                settings.delivery_option_providers = shipping_providers
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, p)| preflight::DeliveryOptionProviders {
                        delivery_option_id: format!("70911466632296547{i:02}"),
                        providers: vec![p.clone()],
                    })
                    .collect();
                settings.shipping_providers = shipping_providers;
                settings.policy = preflight::Policy {
                    update_window_hours: hours,
                    max_tracking_updates: updates,
                };
                settings.rule_overrides = usps
                    .map(|applies| preflight::RuleOverride {
                        rule: preflight::PlatformRule::UspsLabelsViaTiktokShipping,
                        applies,
                    })
                    .into_iter()
                    .collect();
                settings
            },
        )
}

fn history() -> impl Strategy<Value = preflight::History> {
    (
        prop::option::of("[0-9]{1,19}"),
        prop::option::of("[0-9]{1,19}"),
        prop::option::of(text()),
        prop::option::of(0i64..4_102_444_800),
        any::<u32>(),
    )
        .prop_map(
            |(package_id, shipping_provider_id, tracking_number, shipped_at, used)| {
                preflight::History {
                    package_id,
                    shipping_provider_id,
                    tracking_number,
                    shipped_at: shipped_at.map(preflight::Timestamp::from_unix),
                    tracking_updates_used: used,
                }
            },
        )
}

fn plan() -> impl Strategy<Value = preflight::Plan> {
    let ids = prop::collection::vec("[0-9]{1,19}", 0..4);
    (
        prop::sample::select(vec![
            preflight::Action::Ship,
            preflight::Action::UpdateTracking,
            preflight::Action::None,
        ]),
        prop::option::of("[0-9]{1,19}"),
        ids,
        prop::option::of("[0-9]{1,19}"),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            |(action, package_id, line_item_ids, provider, name, tracking)| preflight::Plan {
                action,
                package_id,
                line_item_ids,
                shipping_provider_id: provider,
                shipping_provider_name: name,
                tracking_number: tracking,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One codec: what the engine writes of its own types, its reader reads back as it was.
    #[test]
    fn our_types_read_back_as_written(settings in settings(), history in history(), plan in plan()) {
        use preflight::json::ToJson;
        prop_assert_eq!(preflight::from_json::<preflight::Settings>(&settings.to_json()).unwrap(), settings);
        prop_assert_eq!(preflight::from_json::<preflight::History>(&history.to_json()).unwrap(), history);
        prop_assert_eq!(preflight::from_json::<preflight::Plan>(&plan.to_json()).unwrap(), plan);
    }
}
