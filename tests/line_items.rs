//! Matching items to units: the engine agrees with a plain reference on any small order, and the
//! largest shapes give their reports (matching is linear: `cargo xtask bench` times them at n and 2n).

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

#[path = "common/shapes.rs"]
mod shapes;

use preflight::Validator;
use proptest::prelude::*;
use serde_json::{json, Value};
use shapes::Shape;

const NOW: &str = "2026-11-24T12:00:00Z";

fn report(input: &Value) -> Value {
    let v = Validator::from_json(r#"{"region": "US"}"#).unwrap();
    serde_json::from_str(&v.validate_json(&input.to_string(), NOW).unwrap()).unwrap()
}

/// A unit: its keys and its state (0 free, 1 and 2 shipped in packages P1 and P2, 3 cancelled, 4 packed
/// in P3 but not shipped).
#[derive(Clone, Debug)]
struct Unit {
    seller_sku: Option<&'static str>,
    sku_id: Option<&'static str>,
    state: u8,
}

#[derive(Clone, Debug)]
struct Item {
    sku: Option<&'static str>,
    variant_id: Option<&'static str>,
    quantity: u32,
}

impl Unit {
    fn json(&self, k: usize) -> Value {
        let mut u = json!({"id": format!("U{k}")});
        if let Some(s) = self.seller_sku {
            u["seller_sku"] = json!(s);
        }
        if let Some(s) = self.sku_id {
            u["sku_id"] = json!(s);
        }
        match self.state {
            1 | 2 => {
                u["package_id"] = json!(format!("P{}", self.state));
                u["package_status"] = json!("FULFILLING");
                u["tracking_number"] = json!(format!("T{}", self.state));
            }
            3 => u["package_status"] = json!("CANCELLED"),
            4 => {
                u["package_id"] = json!("P3");
                u["package_status"] = json!("PROCESSING");
            }
            _ => {}
        }
        u
    }
    fn free(&self) -> bool {
        matches!(self.state, 0 | 4)
    }
    fn shipped(&self) -> bool {
        matches!(self.state, 1 | 2)
    }
    fn cancelled(&self) -> bool {
        self.state == 3
    }
}

fn same(a: Option<&str>, b: Option<&str>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if a.trim().eq_ignore_ascii_case(b.trim()))
}

fn matches(item: &Item, unit: &Unit) -> bool {
    let sku = item.sku.filter(|s| !s.trim().is_empty());
    same(sku, unit.seller_sku)
        || same(item.variant_id, unit.sku_id)
        || same(item.variant_id, unit.seller_sku)
}

/// The plan (units to ship, or the one package to update) and the line-item diagnostics, as the rules
/// state them: items in order, each taking its lowest matching free units, then shipped ones, then
/// cancelled ones. Nothing to ship and every unit in one shipped package that holds exactly them: that
/// package's tracking update.
fn reference(items: &[Item], units: &[Unit]) -> (Result<Vec<String>, String>, Vec<Value>) {
    let mut taken = vec![false; units.len()];
    let mut to_ship = Vec::new();
    let mut out = Vec::new();
    let mut packages: Vec<(String, Vec<String>)> = Vec::new();
    for item in items.iter().filter(|i| i.quantity > 0) {
        let sku = item.sku.or(item.variant_id).unwrap_or_default();
        if !units.iter().any(|u| matches(item, u)) {
            out.push(json!({"code": "line_items.not_in_order",
                "data": {"sku": sku, "requested": item.quantity, "remaining": 0}}));
            continue;
        }
        let mut need = item.quantity;
        let mut picked = [0u32; 3];
        let kinds: [fn(&Unit) -> bool; 3] = [Unit::free, Unit::shipped, Unit::cancelled];
        for (kind, is_kind) in kinds.iter().enumerate() {
            for (k, unit) in units.iter().enumerate() {
                if need > 0 && !taken[k] && matches(item, unit) && is_kind(unit) {
                    taken[k] = true;
                    need -= 1;
                    picked[kind] += 1;
                    match kind {
                        0 => to_ship.push(format!("U{k}")),
                        1 => {
                            let id = format!("P{}", unit.state);
                            match packages.iter_mut().find(|(p, _)| *p == id) {
                                Some((_, ids)) => ids.push(format!("U{k}")),
                                None => packages.push((id, vec![format!("U{k}")])),
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        let data = json!({"sku": sku, "requested": item.quantity, "remaining": picked[0]});
        if picked[2] > 0 {
            out.push(json!({"code": "line_items.cancelled", "data": data}));
        }
        if need > 0 {
            out.push(json!({"code": "line_items.quantity_exceeds_remaining", "data": data}));
        }
    }
    if let ([(package, ids)], true, true) =
        (packages.as_slice(), to_ship.is_empty(), out.is_empty())
    {
        let held = units
            .iter()
            .filter(|u| u.shipped() && format!("P{}", u.state) == *package)
            .count();
        // Another shipped package that could hold the items: not known which is this one.
        let elsewhere_too = units.iter().any(|u| {
            u.shipped()
                && format!("P{}", u.state) != *package
                && items.iter().any(|i| i.quantity > 0 && matches(i, u))
        });
        if held == ids.len() && !elsewhere_too {
            return (Err(package.clone()), out);
        }
    }
    if !packages.is_empty() {
        let packages: Vec<Value> = packages
            .into_iter()
            .map(|(id, ids)| {
                let number = format!("T{}", &id[1..]);
                json!({"packageId": id, "trackingNumber": number, "lineItemIds": ids})
            })
            .collect();
        out.push(json!({"code": "line_items.already_fulfilled", "data": {"packages": packages}}));
    }
    // A SKU (TikTok Shop's id, else the seller SKU) of which free units stay behind.
    let key = |u: &Unit| {
        u.sku_id
            .map(str::to_owned)
            .or_else(|| u.seller_sku.map(|s| s.trim().to_ascii_lowercase()))
    };
    let split = to_ship.iter().any(|id| {
        let k: usize = id[1..].parse().unwrap();
        let Some(sku) = key(&units[k]) else {
            return false;
        };
        units.iter().enumerate().any(|(j, u)| {
            u.free() && key(u).as_ref() == Some(&sku) && !to_ship.contains(&format!("U{j}"))
        })
    });
    if split {
        out.push(json!({"code": "line_items.sku_split", "data": null}));
    }
    (Ok(to_ship), out)
}

fn unit() -> impl Strategy<Value = Unit> {
    let key = |keys: &'static [&'static str]| prop::option::of(prop::sample::select(keys));
    (key(&["A", "B", "7"]), key(&["7", "A", "B"]), 0u8..5).prop_map(
        |(seller_sku, sku_id, state)| Unit {
            seller_sku,
            sku_id,
            state,
        },
    )
}

fn item() -> impl Strategy<Value = Item> {
    let key = |keys: &'static [&'static str]| prop::option::of(prop::sample::select(keys));
    (key(&["A", "a ", "B", " "]), key(&["7", "A", "b"]), 0u32..4).prop_map(
        |(sku, variant_id, quantity)| Item {
            sku,
            variant_id,
            quantity,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// With `padded`, 40 units no item matches follow: past 32 units the engine lists units by key
    /// instead of scanning them, and both ways must agree with the reference.
    #[test]
    fn matching_agrees_with_the_reference(
        items in prop::collection::vec(item(), 1..7),
        mut units in prop::collection::vec(unit(), 0..12),
        padded in any::<bool>(),
    ) {
        if padded {
            let none = Unit { seller_sku: Some("ZZZ"), sku_id: Some("ZZZ"), state: 0 };
            units.extend(std::iter::repeat_n(none, 40));
        }
        let line_items: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let mut v = json!({"id": k + 1, "quantity": i.quantity});
                if let Some(s) = i.sku {
                    v["sku"] = json!(s);
                }
                if let Some(s) = i.variant_id {
                    v["variant_id"] = json!(s);
                }
                v
            })
            .collect();
        let input = json!({
            "fulfillment": {"id": 1, "status": "success", "tracking_company": "UPS",
                            "tracking_number": "1Z999AA10123456784", "line_items": line_items},
            "order": {"id": "1", "status": "AWAITING_SHIPMENT",
                      "line_items": units.iter().enumerate().map(|(k, u)| u.json(k)).collect::<Vec<_>>()},
            "history": null
        });
        let report = report(&input);
        let (plan, diagnostics) = reference(&items, &units);
        match plan {
            Ok(to_ship) => {
                prop_assert_eq!(&report["plan"]["action"], "ship");
                prop_assert_eq!(&report["plan"]["lineItemIds"], &json!(to_ship));
            }
            Err(package) => {
                prop_assert_eq!(&report["plan"]["action"], "update_tracking");
                prop_assert_eq!(&report["plan"]["packageId"], &json!(package));
            }
        }
        let ours: Vec<Value> = report["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"].as_str().unwrap().starts_with("line_items."))
            .filter(|d| d["code"] != "line_items.empty")
            .map(|d| json!({"code": d["code"], "data": d["data"]}))
            .collect();
        prop_assert_eq!(ours, diagnostics);
    }
}

fn codes(report: &Value) -> Vec<&str> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect()
}

/// The shape that trapped the wasm module ("capacity overflow") and took the sync API 14.6 s.
#[test]
fn twenty_four_thousand_items_of_one_sku_ship_every_unit() {
    let n = 24_000;
    let report = report(&Shape::OneSku.input(n));
    assert_eq!(report["verdict"], "ready");
    let ids = report["plan"]["lineItemIds"].as_array().unwrap();
    assert_eq!(ids.len(), n);
    assert_eq!(ids[0], "0");
    assert_eq!(ids[n - 1], (n - 1).to_string());
}

#[test]
fn every_large_shape_gives_its_report() {
    let n = 20_000;
    for shape in Shape::ALL {
        let report = report(&shape.input(n));
        let codes = codes(&report);
        let count = |code: &str| codes.iter().filter(|&&c| c == code).count();
        let shipped = report["plan"]["lineItemIds"].as_array().unwrap().len();
        match shape {
            Shape::OneSku | Shape::ThreeLists => {
                assert_eq!(report["verdict"], "ready", "{}", shape.name());
                assert_eq!(shipped, n, "{}", shape.name());
            }
            Shape::ShippedElsewhere => {
                assert_eq!(shipped, 0);
                assert_eq!(count("line_items.already_fulfilled"), 1);
                assert_eq!(count("line_items.cancelled"), n / 2);
                let packages = report["diagnostics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["code"] == "line_items.already_fulfilled")
                    .unwrap()["data"]["packages"]
                    .as_array()
                    .unwrap()
                    .len();
                assert_eq!(packages, n / 2);
            }
            Shape::NotInOrder => assert_eq!(count("line_items.not_in_order"), n),
            Shape::Quantities => {
                assert_eq!(shipped, n);
                assert_eq!(count("line_items.quantity_exceeds_remaining"), n - 1);
            }
        }
    }
}
