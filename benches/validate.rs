//! Throughput of the engine on one core: a typical fulfillment, a batch of 10,000 mixed ones, and the
//! largest line-item shapes at n and 2n lines (matching is linear: 2n takes about twice as long).
//!
//! Run with `cargo xtask bench`. Inputs are parsed once, outside the timed loops; the figures are
//! validations per second of the typed call, and of the JSON call (parse + validate + serialize).

#![expect(
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "a benchmark on fixed inputs: counts far within an f64's exact range"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use preflight::{from_json, Input, InputError, Timestamp, Validator};

#[path = "../tests/common/shapes.rs"]
mod shapes;

const SETTINGS: &str = r#"{"region": "US", "carrierMappings": [
    {"from": "Acme Freight", "to": "UPS"}, {"from": "Other", "to": "UniUni"}]}"#;
const NOW: &str = "2026-11-21T09:30:00Z";

/// Three items, the carrier by mapping, shipped once and now taking its one tracking update.
const TYPICAL: &str = r#"{
  "fulfillment": {"id": 5012345678901, "order_id": 4012345678901, "status": "success",
    "tracking_company": "Acme Freight", "tracking_number": "1Z5R89390357567127",
    "created_at": "2026-11-20T10:00:00-05:00",
    "line_items": [{"id": 1, "variant_id": 11, "sku": "TEE-M", "quantity": 1},
                   {"id": 2, "variant_id": 12, "sku": "MUG", "quantity": 1},
                   {"id": 3, "variant_id": 13, "sku": "CAP", "quantity": 1}]},
  "order": {"id": "576461413038785752", "status": "IN_TRANSIT",
    "fulfillment_type": "FULFILLMENT_BY_SELLER", "shipping_type": "SELLER",
    "line_items": [
      {"id": "577086512123755101", "seller_sku": "TEE-M", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800},
      {"id": "577086512123755102", "seller_sku": "MUG", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800},
      {"id": "577086512123755103", "seller_sku": "CAP", "package_id": "1153132168123859001",
       "package_status": "FULFILLING", "tracking_number": "1Z999AA10123456784",
       "shipping_provider_id": "7117859084333745966", "rts_time": 1795186800}],
    "packages": [{"id": "1153132168123859001"}]},
  "history": {"packageId": "1153132168123859001", "shippingProviderId": "7117859084333745966",
    "trackingNumber": "1Z999AA10123456784", "shippedAt": "2026-11-20T15:00:00Z",
    "trackingUpdatesUsed": 0}
}"#;

/// Mixed kinds for the batch: new shipments, in sync, unknown carriers, conflicts, expired windows.
fn mixed(i: usize) -> String {
    let carrier = [
        "UPS",
        "Lasership",
        "Bob's Couriers",
        "Acme Freight",
        "Other",
        "FedEx Home Delivery",
    ][i % 6];
    let number = [
        "1Z999AA10123456784",
        "1Z5R89390357567127",
        "TBA123456789012",
        "9400 1118 9922 3197 4284 90",
    ][i % 4];
    let shipped = i % 3 == 0;
    let package = if shipped {
        format!(
            r#", "package_id": "11531321681238{i:05}", "package_status": "FULFILLING",
               "tracking_number": "1Z999AA10123456784", "shipping_provider_id": "7117859084333745966",
               "rts_time": {}"#,
            1_795_186_800 - (i % 5) as i64 * 40_000
        )
    } else {
        String::new()
    };
    let history = if shipped && i % 2 == 0 {
        format!(
            r#"{{"packageId": "11531321681238{i:05}", "trackingNumber": "1Z999AA10123456784",
                "shippedAt": "2026-11-2{}T15:00:00Z", "trackingUpdatesUsed": {}}}"#,
            i % 3,
            i % 2
        )
    } else {
        "null".into()
    };
    format!(
        r#"{{"fulfillment": {{"id": {id}, "status": "success", "tracking_company": "{carrier}",
             "tracking_number": "{number}",
             "line_items": [{{"id": 1, "sku": "SKU-{a}", "quantity": 1}},
                            {{"id": 2, "sku": "SKU-{b}", "quantity": {q}}}]}},
            "order": {{"id": "57646141303878{i:05}", "status": "AWAITING_SHIPMENT",
             "line_items": [{{"id": "5770865121237{i:05}1", "seller_sku": "SKU-{a}"{package}}},
                            {{"id": "5770865121237{i:05}2", "seller_sku": "SKU-{b}"}},
                            {{"id": "5770865121237{i:05}3", "seller_sku": "SKU-{b}"}}]}},
            "history": {history}}}"#,
        id = 5_000_000_000_000u64 + i as u64,
        a = i % 7,
        b = i % 7 + 100,
        q = 1 + i % 3,
    )
}

/// Runs `f` repeatedly for about `budget`, answering the best per-iteration time of five rounds.
fn measure(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut iterations = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        if start.elapsed() > budget / 10 {
            break;
        }
        iterations = iterations.saturating_mul(2);
    }
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed() / iterations
        })
        .min()
        .unwrap_or_default()
}

fn per_second(per: Duration, count: usize) -> f64 {
    count as f64 / per.as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let validator = Validator::from_json(SETTINGS)?;
    let now = Timestamp::parse(NOW)?;
    let budget = Duration::from_secs(2);

    let typical: Input = from_json(TYPICAL)?;
    let report = validator.validate(&typical, now);
    println!(
        "typical fulfillment: verdict {:?}, plan {:?}",
        report.verdict, report.plan.action
    );
    let per = measure(budget, || {
        black_box(validator.validate(black_box(&typical), now));
    });
    println!(
        "typical, typed:      {:>12.0} validations/s  ({:.0} ns each)",
        per_second(per, 1),
        per.as_nanos()
    );
    let per = measure(budget, || {
        black_box(validator.validate_json(black_box(TYPICAL), NOW).ok());
    });
    println!(
        "typical, JSON:       {:>12.0} validations/s  ({:.0} ns each, parse and serialize included)",
        per_second(per, 1),
        per.as_nanos()
    );

    let texts: Vec<String> = (0..10_000).map(mixed).collect();
    let batch: Vec<Input> = texts
        .iter()
        .map(|t| from_json(t))
        .collect::<Result<_, _>>()?;
    let per = measure(budget, || {
        black_box(validator.validate_batch(black_box(&batch), now));
    });
    println!(
        "batch of 10,000 mixed, typed: {:>12.0} validations/s  ({:.0} ns each)",
        per_second(per, batch.len()),
        per.as_nanos() as f64 / batch.len() as f64
    );
    let body = format!(r#"{{"inputs": [{}]}}"#, texts.join(","));
    let per = measure(budget, || {
        black_box(validator.validate_batch_json(black_box(&body), NOW).ok());
    });
    println!(
        "batch of 10,000 mixed, JSON:  {:>12.0} validations/s  ({:.0} ns each)",
        per_second(per, batch.len()),
        per.as_nanos() as f64 / batch.len() as f64
    );

    let n = 50_000;
    for shape in shapes::Shape::ALL {
        let [small, large] = [n, 2 * n].map(|lines| -> Result<Duration, InputError> {
            let input: Input = from_json(&shape.input(lines).to_string())?;
            Ok(measure(budget, || {
                black_box(validator.validate(black_box(&input), now));
            }))
        });
        let (small, large) = (small?, large?);
        println!(
            "line items, {:<32} n = {n}: {:>7.2} ms   2n: {:>7.2} ms   (2n / n = {:.2})",
            shape.name(),
            small.as_secs_f64() * 1e3,
            large.as_secs_f64() * 1e3,
            large.as_secs_f64() / small.as_secs_f64()
        );
    }
    Ok(())
}
