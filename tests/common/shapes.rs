//! Large line-item shapes, the hardest for matching items to units: shared by the tests, which check
//! their reports, and the benchmark, which times them at n and 2n.

use serde_json::{json, Value};

/// A shape of fulfillment and order, each with `n` lines.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Every item has the same SKU and its own variant id; every unit has that SKU: each item's
    /// candidates are all the units.
    OneSku,
    /// Every item has SKU `A` and variant `B`; the units are split between `seller_sku` `A`, `sku_id`
    /// `B` and `seller_sku` `B`: each item draws from three long lists at once.
    ThreeLists,
    /// Every unit is shipped, each in its own package, or cancelled: each item looks past every free
    /// unit, then takes a shipped one, and the report names `n / 2` packages.
    ShippedElsewhere,
    /// Every item has a SKU the order lacks: one diagnostic per item.
    NotInOrder,
    /// One item of quantity `n` against `n` units of its SKU, and the same SKU on `n - 1` more items.
    Quantities,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Self; 5] = [
        Self::OneSku,
        Self::ThreeLists,
        Self::ShippedElsewhere,
        Self::NotInOrder,
        Self::Quantities,
    ];

    /// Its name in test and benchmark output.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OneSku => "one SKU, a variant id each",
            Self::ThreeLists => "three lists per item",
            Self::ShippedElsewhere => "shipped or cancelled elsewhere",
            Self::NotInOrder => "no item in the order",
            Self::Quantities => "one item takes every unit",
        }
    }

    /// The input (`{fulfillment, order, history}`) with `n` items and `n` units.
    pub fn input(self, n: usize) -> Value {
        let items: Vec<Value> = (0..n)
            .map(|k| match self {
                Self::OneSku | Self::ShippedElsewhere => {
                    json!({"id": k, "sku": "A", "quantity": 1, "variant_id": k + 1})
                }
                Self::ThreeLists => json!({"id": k, "sku": "A", "quantity": 1, "variant_id": "B"}),
                Self::NotInOrder => json!({"id": k, "sku": format!("X{k}"), "quantity": 1}),
                Self::Quantities => {
                    let quantity = if k == 0 { n } else { 1 };
                    json!({"id": k, "sku": "A", "quantity": quantity})
                }
            })
            .collect();
        let units: Vec<Value> = (0..n)
            .map(|k| {
                let id = k.to_string();
                match self {
                    Self::OneSku | Self::NotInOrder | Self::Quantities => {
                        json!({"id": id, "seller_sku": "A"})
                    }
                    Self::ThreeLists => match k % 3 {
                        0 => json!({"id": id, "seller_sku": "A"}),
                        1 => json!({"id": id, "sku_id": "B"}),
                        _ => json!({"id": id, "seller_sku": "B"}),
                    },
                    Self::ShippedElsewhere if k % 2 == 0 => json!({
                        "id": id, "seller_sku": "A", "package_id": format!("P{k}"),
                        "package_status": "FULFILLING", "tracking_number": format!("T{k}")
                    }),
                    Self::ShippedElsewhere => {
                        json!({"id": id, "seller_sku": "A", "package_status": "CANCELLED"})
                    }
                }
            })
            .collect();
        json!({
            "fulfillment": {"id": 1, "status": "success", "tracking_company": "UPS",
                            "tracking_number": "1Z999AA10123456784", "line_items": items},
            "order": {"id": "576461413038785752", "status": "AWAITING_SHIPMENT", "line_items": units},
            "history": null
        })
    }
}
