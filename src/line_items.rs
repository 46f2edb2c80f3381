//! Line-item conflicts and order state: which TikTok Shop units the fulfillment ships, whether some are
//! already shipped in another package, and whether the order may be shipped at all.
//!
//! Shopify items are matched to TikTok Shop unit line items by SKU (`sku` = `seller_sku`, without case or
//! surrounding spaces), falling back to the variant id against `sku_id` or `seller_sku`.

use std::collections::HashMap;
use std::ops::Range;

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
        (Some(a), Some(b)) => a.trim_ascii().eq_ignore_ascii_case(b.trim_ascii()),
        _ => false,
    };
    let sku = item.sku.as_deref().filter(|s| !s.trim_ascii().is_empty());
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
        .map(|k| k.trim_ascii().to_ascii_lowercase())
}

/// The candidate units of each item, as shared lists: items with the same SKU and variant share one, so
/// that a large fulfillment against a large order stays linear.
struct Candidates {
    /// The lists' unit indexes, one list after another, each in order.
    flat: Vec<usize>,
    /// Each list's span of `flat`.
    spans: Vec<Range<usize>>,
    /// For each item, its list.
    of_item: Vec<usize>,
}

impl Candidates {
    fn new(units: &[TtsLineItem], items: &[&FulfillmentLineItem]) -> Self {
        let mut flat = Vec::new();
        let mut spans = Vec::new();
        if units.len().saturating_mul(items.len()) <= SCAN_LIMIT {
            for item in items {
                let start = flat.len();
                flat.extend(
                    units
                        .iter()
                        .enumerate()
                        .filter(|(_, u)| matches(item, u))
                        .map(|(i, _)| i),
                );
                spans.push(start..flat.len());
            }
            let of_item = (0..spans.len()).collect();
            return Self {
                flat,
                spans,
                of_item,
            };
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
        let norm = |k: Option<&str>| k.map(|k| k.trim_ascii().to_ascii_lowercase());
        let mut seen: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
        let mut of_item = Vec::with_capacity(items.len());
        for item in items {
            let key = (norm(item.sku.as_deref()), norm(item.variant_id.as_deref()));
            let list = *seen.entry(key).or_insert_with_key(|(sku, variant)| {
                let list = |k: &Option<String>| {
                    k.as_ref()
                        .and_then(|k| index.get(k))
                        .map_or(&[][..], Vec::as_slice)
                };
                let start = flat.len();
                merge_ascending(list(sku), list(variant), &mut flat, |i| {
                    units.get(i).is_some_and(|u| matches(item, u))
                });
                let end = flat.len();
                spans.push(start..end);
                spans.len() - 1
            });
            of_item.push(list);
        }
        Self {
            flat,
            spans,
            of_item,
        }
    }

    /// All candidate units, each list once.
    fn all(&self) -> &[usize] {
        &self.flat
    }

    fn lists(&self) -> usize {
        self.spans.len()
    }

    fn of(&self, item: usize) -> (usize, &[usize]) {
        let list = self.of_item.get(item).copied().unwrap_or(usize::MAX);
        let found = self
            .spans
            .get(list)
            .and_then(|span| self.flat.get(span.clone()))
            .unwrap_or(&[]);
        (list, found)
    }
}

/// Appends the union of two ascending lists, each value once, keeping those `keep` accepts.
fn merge_ascending(a: &[usize], b: &[usize], out: &mut Vec<usize>, keep: impl Fn(usize) -> bool) {
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(&&x), Some(&&y)) if x < y => a.next(),
            (Some(&&x), Some(&&y)) if y < x => b.next(),
            (Some(_), Some(_)) => {
                b.next();
                a.next()
            }
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => None,
        };
        match next {
            Some(&i) if keep(i) => out.push(i),
            Some(_) => {}
            None => break,
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
    let candidates = Candidates::new(units, &items);

    let package = history.and_then(|h| h.package_id.as_deref()).or_else(|| {
        // Pushed before without a record: a shipped unit of ours carries this very number.
        let number = tracking_number?;
        candidates
            .all()
            .iter()
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

    // Units are taken in order; each list keeps a cursor per kind of unit, past which no unit of that
    // kind is free, so taking stays linear however many items share a list.
    let mut taken = vec![false; units.len()];
    let mut cursors = vec![[0usize; 3]; candidates.lists()];
    let mut to_ship = Vec::new();
    let mut elsewhere = PackageGroups::default();
    for (n, item) in items.iter().enumerate() {
        let sku = item
            .sku
            .clone()
            .or_else(|| item.variant_id.clone())
            .unwrap_or_default();
        let (list, found) = candidates.of(n);
        if found.is_empty() {
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
        let mut take = |kind: usize, pred: &dyn Fn(&TtsLineItem) -> bool| {
            let mut picked = Vec::new();
            let Some(cursor) = cursors.get_mut(list).and_then(|c| c.get_mut(kind)) else {
                return picked;
            };
            while need > 0 {
                let Some(&i) = found.get(*cursor) else { break };
                *cursor += 1;
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
        let available = take(0, &is_available);
        let remaining = u32::try_from(available.len()).unwrap_or(u32::MAX);
        to_ship.extend(available);
        for unit in take(1, &TtsLineItem::is_shipped) {
            elsewhere.add(unit);
        }
        let cancelled = take(2, &TtsLineItem::is_cancelled);
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
    if !elsewhere.packages.is_empty() {
        out.push(Diagnostic::new(
            Code::LineItemsAlreadyFulfilled,
            Some(field),
            Some(Data::Packages {
                packages: elsewhere.packages,
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
    let mut groups = PackageGroups::default();
    for unit in units {
        let Some(package_id) = unit.package_id.as_deref() else {
            continue;
        };
        if Some(package_id) != ours
            && !unit.is_cancelled()
            && same_number(unit.tracking_number.as_deref(), number)
        {
            groups.add(unit);
        }
    }
    if !groups.packages.is_empty() {
        out.push(Diagnostic::new(
            Code::TrackingDuplicate,
            Some(fulfillment.shape.tracking_field()),
            Some(Data::Packages {
                packages: groups.packages,
            }),
        ));
    }
}

/// Units grouped by their package, in first-seen order.
#[derive(Default)]
struct PackageGroups {
    packages: Vec<PackageRef>,
    position: HashMap<String, usize>,
}

impl PackageGroups {
    fn add(&mut self, unit: &TtsLineItem) {
        let package_id = unit.package_id.clone().unwrap_or_default();
        match self
            .position
            .get(&package_id)
            .and_then(|&i| self.packages.get_mut(i))
        {
            Some(p) => p.line_item_ids.push(unit.id.clone()),
            None => {
                self.position
                    .insert(package_id.clone(), self.packages.len());
                self.packages.push(PackageRef {
                    package_id,
                    tracking_number: unit.tracking_number.clone(),
                    line_item_ids: vec![unit.id.clone()],
                });
            }
        }
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
