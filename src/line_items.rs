//! Line-item conflicts and order state: which TikTok Shop units the fulfillment ships, whether some are
//! already shipped in another package, and whether the order may be shipped at all.
//!
//! Shopify items are matched to TikTok Shop unit line items by SKU (`sku` = `seller_sku`, without case or
//! surrounding spaces), falling back to the variant id against `sku_id` or `seller_sku`.

use std::collections::HashMap;

use crate::model::{
    Fulfillment, FulfillmentLineItem, FulfillmentStatus, History, OrderStatus, PackageStatus,
    TtsLineItem, TtsOrder,
};
use crate::report::{Code, Data, Diagnostic, PackageRef};

/// Above this many item × unit comparisons, units are indexed by key instead of scanned.
const SCAN_LIMIT: usize = 4096;

/// What the fulfillment's items map to in the order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation<'a> {
    /// Units to mark as shipped, one per unit, when nothing was pushed yet.
    pub to_ship: Vec<&'a TtsLineItem>,
    /// The package already holding this fulfillment: from the history, or the one whose tracking number
    /// is this fulfillment's.
    pub package: Option<&'a str>,
}

/// Whether a Shopify item and a TikTok Shop unit are the same product.
fn matches(item: &FulfillmentLineItem, unit: &TtsLineItem) -> bool {
    let same = |a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => false,
    };
    let sku = item.sku.as_deref().filter(|s| !s.trim().is_empty());
    let variant = item.variant_id.as_deref();
    same(sku, unit.seller_sku.as_deref())
        || same(variant, unit.sku_id.as_deref())
        || same(variant, unit.seller_sku.as_deref())
}

/// The keys a unit can be found by, normalized for the index.
fn unit_keys(unit: &TtsLineItem) -> impl Iterator<Item = String> + '_ {
    [unit.seller_sku.as_deref(), unit.sku_id.as_deref()]
        .into_iter()
        .flatten()
        .map(|k| k.trim().to_ascii_lowercase())
}

/// Candidate units of an item: a scan for small orders, an index for large ones.
enum Finder<'a> {
    Scan(&'a [TtsLineItem]),
    Index(&'a [TtsLineItem], HashMap<String, Vec<usize>>),
}

impl<'a> Finder<'a> {
    fn new(units: &'a [TtsLineItem], items: usize) -> Self {
        if units.len().saturating_mul(items) <= SCAN_LIMIT {
            return Self::Scan(units);
        }
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, unit) in units.iter().enumerate() {
            for key in unit_keys(unit) {
                let slot = index.entry(key).or_default();
                if slot.last() != Some(&i) {
                    slot.push(i);
                }
            }
        }
        Self::Index(units, index)
    }

    /// Indexes of the units matching `item`, in order.
    fn find(&self, item: &FulfillmentLineItem) -> Vec<usize> {
        match self {
            Self::Scan(units) => units
                .iter()
                .enumerate()
                .filter(|(_, u)| matches(item, u))
                .map(|(i, _)| i)
                .collect(),
            Self::Index(units, index) => {
                let mut found: Vec<usize> = [item.sku.as_deref(), item.variant_id.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter_map(|k| index.get(&k.trim().to_ascii_lowercase()))
                    .flatten()
                    .copied()
                    .filter(|&i| units.get(i).is_some_and(|u| matches(item, u)))
                    .collect();
                found.sort_unstable();
                found.dedup();
                found
            }
        }
    }
}

/// Whether a unit can still be shipped in a new package.
fn is_available(unit: &TtsLineItem) -> bool {
    !unit.is_cancelled()
        && !unit.is_shipped()
        && matches!(
            unit.package_status,
            PackageStatus::ToFulfill | PackageStatus::Processing | PackageStatus::Unknown
        )
}

fn same_number(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

/// Maps the fulfillment's items to the order's units and reports conflicts.
///
/// `tracking_number` is the cleaned number this fulfillment would push.
pub fn allocate<'a>(
    fulfillment: &Fulfillment,
    order: &'a TtsOrder,
    history: Option<&'a History>,
    tracking_number: Option<&str>,
    out: &mut Vec<Diagnostic>,
) -> Allocation<'a> {
    let field = fulfillment.shape.line_items_field();
    let units = order.line_items.as_slice();
    let items: Vec<&FulfillmentLineItem> = fulfillment
        .line_items
        .iter()
        .filter(|i| i.quantity > 0)
        .collect();
    if items.is_empty() {
        out.push(Diagnostic::new(Code::LineItemsEmpty, Some(field), None));
        return Allocation::default();
    }
    let finder = Finder::new(units, items.len());
    let found: Vec<Vec<usize>> = items.iter().map(|item| finder.find(item)).collect();

    let package = history.and_then(|h| h.package_id.as_deref()).or_else(|| {
        // Pushed before without a record: a shipped unit of ours carries this very number.
        let number = tracking_number?;
        found
            .iter()
            .flatten()
            .filter_map(|&i| units.get(i))
            .find(|u| u.is_shipped() && same_number(u.tracking_number.as_deref(), number))
            .and_then(|u| u.package_id.as_deref())
    });
    if let Some(number) = tracking_number {
        check_duplicate(units, package, number, fulfillment, out);
    }
    if package.is_some() {
        return Allocation {
            to_ship: Vec::new(),
            package,
        };
    }

    let mut taken = vec![false; units.len()];
    let mut to_ship = Vec::new();
    let mut elsewhere: Vec<PackageRef> = Vec::new();
    for (item, candidates) in items.iter().zip(&found) {
        let sku = item
            .sku
            .clone()
            .or_else(|| item.variant_id.clone())
            .unwrap_or_default();
        if candidates.is_empty() {
            out.push(Diagnostic::new(
                Code::LineItemsNotInOrder,
                Some(field),
                Some(Data::Item {
                    sku,
                    requested: item.quantity,
                    remaining: 0,
                }),
            ));
            continue;
        }
        let mut need = item.quantity;
        let mut take = |pred: &dyn Fn(&TtsLineItem) -> bool, taken: &mut [bool]| {
            let mut picked = Vec::new();
            for &i in candidates {
                if need == 0 {
                    break;
                }
                let (Some(unit), Some(slot)) = (units.get(i), taken.get_mut(i)) else {
                    continue;
                };
                if !*slot && pred(unit) {
                    *slot = true;
                    need -= 1;
                    picked.push(unit);
                }
            }
            picked
        };
        let available = take(&is_available, &mut taken);
        let remaining = u32::try_from(available.len()).unwrap_or(u32::MAX);
        to_ship.extend(available);
        let shipped = take(&|u: &TtsLineItem| u.is_shipped(), &mut taken);
        for unit in shipped {
            let package_id = unit.package_id.clone().unwrap_or_default();
            match elsewhere.iter_mut().find(|p| p.package_id == package_id) {
                Some(p) => p.line_item_ids.push(unit.id.clone()),
                None => elsewhere.push(PackageRef {
                    package_id,
                    tracking_number: unit.tracking_number.clone(),
                    line_item_ids: vec![unit.id.clone()],
                }),
            }
        }
        let cancelled = take(&TtsLineItem::is_cancelled, &mut taken);
        if !cancelled.is_empty() {
            out.push(Diagnostic::new(
                Code::LineItemsCancelled,
                Some(field),
                Some(Data::Item {
                    sku: sku.clone(),
                    requested: item.quantity,
                    remaining,
                }),
            ));
        }
        if need > 0 {
            out.push(Diagnostic::new(
                Code::LineItemsQuantityExceedsRemaining,
                Some(field),
                Some(Data::Item {
                    sku,
                    requested: item.quantity,
                    remaining,
                }),
            ));
        }
    }
    if !elsewhere.is_empty() {
        out.push(Diagnostic::new(
            Code::LineItemsAlreadyFulfilled,
            Some(field),
            Some(Data::Packages {
                packages: elsewhere,
            }),
        ));
    }
    Allocation {
        to_ship,
        package: None,
    }
}

/// The same tracking number on another package of the order.
fn check_duplicate(
    units: &[TtsLineItem],
    ours: Option<&str>,
    number: &str,
    fulfillment: &Fulfillment,
    out: &mut Vec<Diagnostic>,
) {
    let mut packages: Vec<PackageRef> = Vec::new();
    for unit in units {
        let Some(package_id) = unit.package_id.as_deref() else {
            continue;
        };
        if Some(package_id) == ours
            || unit.is_cancelled()
            || !same_number(unit.tracking_number.as_deref(), number)
        {
            continue;
        }
        match packages.iter_mut().find(|p| p.package_id == package_id) {
            Some(p) => p.line_item_ids.push(unit.id.clone()),
            None => packages.push(PackageRef {
                package_id: package_id.to_owned(),
                tracking_number: unit.tracking_number.clone(),
                line_item_ids: vec![unit.id.clone()],
            }),
        }
    }
    if !packages.is_empty() {
        out.push(Diagnostic::new(
            Code::TrackingDuplicate,
            Some(fulfillment.shape.tracking_field()),
            Some(Data::Packages { packages }),
        ));
    }
}

/// Order and fulfillment states that stop any push.
pub fn check_order(fulfillment: &Fulfillment, order: &TtsOrder, out: &mut Vec<Diagnostic>) {
    let status = |s: &str| {
        Some(Data::Status {
            status: s.to_owned(),
        })
    };
    if matches!(
        fulfillment.status,
        FulfillmentStatus::Cancelled | FulfillmentStatus::Error | FulfillmentStatus::Failure
    ) {
        out.push(Diagnostic::new(
            Code::FulfillmentNotSuccessful,
            Some("fulfillment.status"),
            None,
        ));
    }
    if order.fulfilled_by_tiktok() {
        out.push(Diagnostic::new(
            Code::OrderFulfilledByTiktok,
            Some("order.fulfillment_type"),
            status("FULFILLMENT_BY_TIKTOK"),
        ));
    } else if order.shipped_by_tiktok() {
        out.push(Diagnostic::new(
            Code::OrderShippedByTiktok,
            Some("order.shipping_type"),
            status("TIKTOK"),
        ));
    }
    let state = match order.status {
        OrderStatus::Cancelled => Some(Code::OrderCancelled),
        OrderStatus::Unpaid => Some(Code::OrderUnpaid),
        OrderStatus::OnHold => Some(Code::OrderOnHold),
        _ if order.is_on_hold_order => Some(Code::OrderOnHold),
        _ => None,
    };
    if let Some(code) = state {
        out.push(Diagnostic::new(
            code,
            Some("order.status"),
            status(order.status.as_str()),
        ));
    }
    if order.is_buyer_request_cancel && order.status != OrderStatus::Cancelled {
        out.push(Diagnostic::new(
            Code::OrderCancellationRequested,
            Some("order.is_buyer_request_cancel"),
            None,
        ));
    }
}
