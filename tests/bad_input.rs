//! Malformed input gets a typed error with a stable code and the path of the bad field (or a report),
//! never a panic, and in time linear in its size.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use preflight::{Input, InputError, Settings, Validator, Verdict};
use serde_json::{json, Value};

const NOW: &str = "2026-11-24T12:00:00Z";

fn input() -> Value {
    json!({
        "fulfillment": {"id": 1001, "status": "success", "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "line_items": [{"id": 1, "sku": "TEE", "quantity": 1}]},
        "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT",
            "line_items": [{"id": "577086512123755101", "seller_sku": "TEE"}]},
        "history": null
    })
}

fn us() -> Validator {
    Validator::from_json(r#"{"region": "US"}"#).unwrap()
}

fn error(text: &str) -> InputError {
    us().validate_json(text, NOW).unwrap_err()
}

fn with(path: &[&str], value: Value) -> String {
    let mut v = input();
    let mut slot = &mut v;
    for key in path {
        slot = match key.parse::<usize>() {
            Ok(i) => &mut slot[i],
            Err(_) => &mut slot[*key],
        };
    }
    *slot = value;
    v.to_string()
}

#[test]
fn valid_input_is_ready() {
    let report: Value =
        serde_json::from_str(&us().validate_json(&input().to_string(), NOW).unwrap()).unwrap();
    assert_eq!(report["verdict"], "ready");
}

#[test]
fn each_malformed_input_names_its_code_and_path() {
    let cases: Vec<(String, &str, &str)> = vec![
        ("{".into(), "input.malformed_json", ""),
        ("".into(), "input.malformed_json", ""),
        (format!("{} trailing", input()), "input.malformed_json", ""),
        (
            with(&["fulfillment", "line_items", "0", "quantity"], json!("2")),
            "input.invalid_type",
            "fulfillment.line_items[0].quantity",
        ),
        (
            with(&["fulfillment", "line_items", "0", "quantity"], json!(-1)),
            "input.invalid_value",
            "fulfillment.line_items[0].quantity",
        ),
        (
            with(&["fulfillment", "line_items", "0", "quantity"], json!(1.5)),
            "input.invalid_type",
            "fulfillment.line_items[0].quantity",
        ),
        (
            with(&["fulfillment", "line_items"], json!("x")),
            "input.invalid_type",
            "fulfillment.line_items",
        ),
        (
            with(&["fulfillment", "created_at"], json!("2026-11-20T10:00:00")),
            "input.invalid_timestamp",
            "fulfillment.created_at",
        ),
        (
            with(&["fulfillment", "created_at"], json!("yesterday")),
            "input.invalid_timestamp",
            "fulfillment.created_at",
        ),
        (
            with(&["fulfillment", "id"], json!(1e20)),
            "input.imprecise_id",
            "fulfillment.id",
        ),
        (
            with(&["fulfillment", "id"], Value::Null),
            "input.missing_field",
            "fulfillment.id",
        ),
        (
            with(&["order", "id"], json!({})),
            "input.invalid_type",
            "order.id",
        ),
        (
            with(&["order", "line_items", "0", "id"], json!([])),
            "input.invalid_type",
            "order.line_items[0].id",
        ),
        (
            with(&["order"], Value::Null),
            "input.missing_field",
            "order",
        ),
        (with(&["order"], json!("x")), "input.invalid_type", "order"),
        (
            with(
                &["history"],
                json!({"packageId": "1", "shipedAt": "2026-11-20T10:00:00Z"}),
            ),
            "input.unknown_field",
            "history.shipedAt",
        ),
        (
            with(&["history"], json!({"shippedAt": "2026-11-20"})),
            "input.invalid_timestamp",
            "history.shippedAt",
        ),
        (
            with(&["histroy"], Value::Null),
            "input.unknown_field",
            "histroy",
        ),
        (
            r#"{"order": {"id": "1"}, "history": null}"#.into(),
            "input.missing_field",
            "fulfillment",
        ),
        ("[]".into(), "input.invalid_type", ""),
        ("null".into(), "input.invalid_type", ""),
        ("\"fulfillment\"".into(), "input.invalid_type", ""),
    ];
    for (text, code, path) in cases {
        let e = error(&text);
        assert_eq!((e.code(), e.path.as_str()), (code, path), "{text}: {e}");
        assert!(!e.message.is_empty() && !e.message.contains('\n'));
    }
}

#[test]
fn settings_errors_name_their_field() {
    for (settings, code, path) in [
        (r#"{"region": "XX"}"#, "input.unknown_region", "region"),
        (r#"{}"#, "input.missing_field", "region"),
        (
            r#"{"region": "US", "carrierMapping": []}"#,
            "input.unknown_field",
            "carrierMapping",
        ),
        (
            r#"{"region": "US", "carrierMappings": [{"from": "x", "to": "Nowhere Express"}]}"#,
            "input.unknown_provider",
            "carrierMappings[0].to",
        ),
        (
            r#"{"region": "US", "carrierMappings": [{"from": "x", "to": "UPS", "too": 1}]}"#,
            "input.unknown_field",
            "carrierMappings[0].too",
        ),
        (
            r#"{"region": "US", "carrierMappings": [{"from": " ", "to": "UPS"}]}"#,
            "input.invalid_value",
            "carrierMappings[0].from",
        ),
        (
            r#"{"region": "US", "policy": {"updateWindowHours": -1}}"#,
            "input.invalid_value",
            "policy.updateWindowHours",
        ),
        (
            r#"{"region": "US", "policy": {"windowHours": 24}}"#,
            "input.unknown_field",
            "policy.windowHours",
        ),
        (
            r#"{"region": "US", "shippingProviders": [{"name": "USPS"}]}"#,
            "input.missing_field",
            "shippingProviders[0].id",
        ),
    ] {
        let e = Validator::from_json(settings).unwrap_err();
        assert_eq!((e.code(), e.path.as_str()), (code, path), "{settings}: {e}");
    }
}

#[test]
fn now_must_carry_an_offset() {
    let v = us();
    for now in ["2026-11-24T12:00:00", "2026-11-24", "", "now"] {
        let e = v.validate_json(&input().to_string(), now).unwrap_err();
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.invalid_timestamp", "now")
        );
    }
}

#[test]
fn deep_nesting_is_an_error_never_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    // The parser refuses nesting past its limit wherever it is, before reading any field.
    for field in ["sku", "extra"] {
        let text = with(&["fulfillment", "line_items", "0", field], Value::Null)
            .replace(&format!("\"{field}\":null"), &format!("\"{field}\":{deep}"));
        assert_eq!(error(&text).code(), "input.too_deep");
    }
    let e = error(&format!("{{\"fulfillment\":{}", "{\"a\":".repeat(10_000)));
    assert_eq!(e.code(), "input.too_deep");
}

#[test]
fn a_million_line_items_give_a_report() {
    let items: Vec<Value> = (0..1_000_000)
        .map(|i| json!({"id": i, "sku": format!("S{}", i % 1000), "quantity": 1}))
        .collect();
    let units: Vec<Value> = (0..1_000_000)
        .map(|i| json!({"id": format!("5770865121237{i:06}"), "seller_sku": format!("S{}", i % 1000)}))
        .collect();
    let mut v = input();
    v["fulfillment"]["line_items"] = Value::Array(items);
    v["order"]["line_items"] = Value::Array(units);
    let report: Value =
        serde_json::from_str(&us().validate_json(&v.to_string(), NOW).unwrap()).unwrap();
    assert_eq!(report["verdict"], "ready");
    assert_eq!(
        report["plan"]["lineItemIds"].as_array().unwrap().len(),
        1_000_000
    );
}

#[test]
fn the_typed_form_agrees_with_the_json_form() {
    let v = us();
    let text = input().to_string();
    let typed: preflight::Input = preflight::from_json(&text).unwrap();
    let now = preflight::Timestamp::parse(NOW).unwrap();
    let report = v.validate(&typed, now);
    assert_eq!(report.verdict, Verdict::Ready);
    assert_eq!(
        preflight::json::ToJson::to_json(&report),
        v.validate_json(&text, NOW).unwrap()
    );
}

#[test]
fn a_string_shaped_like_the_browser_boundarys_mark_is_data() {
    // The browser boundary marks a BigInt as such a string; natively it is a string like any other.
    let forged = "\u{0}js:bigint:abc def";
    let text = with(&["fulfillment", "id"], json!(forged));
    let report: Value = serde_json::from_str(&us().validate_json(&text, NOW).unwrap()).unwrap();
    assert_eq!(report["fulfillmentId"], forged);
    let text = with(
        &["fulfillment", "line_items", "0", "quantity"],
        json!(forged),
    );
    assert_eq!(error(&text).code(), "input.invalid_type");
}

#[test]
fn from_json_reports_codes_and_paths() {
    let e = preflight::from_json::<Settings>(
        r#"{"region": "US", "policy": {"maxTrackingUpdates": -1}}"#,
    )
    .unwrap_err();
    assert_eq!(
        (e.code(), e.path.as_str()),
        ("input.invalid_value", "policy.maxTrackingUpdates")
    );
    let e = preflight::from_json::<Settings>(r#"{"region": 1}"#).unwrap_err();
    assert_eq!(
        (e.code(), e.path.as_str()),
        ("input.invalid_type", "region")
    );
    let e = preflight::from_json::<Settings>(r#"{"regoin": "US"}"#).unwrap_err();
    assert_eq!(
        (e.code(), e.path.as_str()),
        ("input.unknown_field", "regoin")
    );
    let e = preflight::from_json::<Settings>("{}").unwrap_err();
    assert_eq!(
        (e.code(), e.path.as_str()),
        ("input.missing_field", "region")
    );
    assert_eq!(
        preflight::from_json::<Input>("{").unwrap_err().code(),
        "input.malformed_json"
    );
}

#[test]
fn from_json_messages_are_one_line_and_prefixed_by_their_path() {
    let e = preflight::from_json::<Settings>(
        r#"{"region": "US", "carrierMappings": [{"from": "a", "to": 1.5}]}"#,
    )
    .unwrap_err();
    assert_eq!(e.path, "carrierMappings[0].to");
    assert!(!e.message.contains('\n'));
    assert_eq!(
        e.to_string(),
        format!("carrierMappings[0].to: {}", e.message)
    );
    assert_eq!(e.within("settings").path, "settings.carrierMappings[0].to");
}
