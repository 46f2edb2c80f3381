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

/// What the fulfillment's items map to in the order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation<'a> {
    /// Units to mark as shipped, one per unit, when nothing was pushed yet.
    pub to_ship: Vec<&'a TtsLineItem>,
    /// The package already holding this fulfillment: from the history, or the one whose tracking number
    /// is this fulfillment's.
    pub package: Option<&'a str>,
}

/// The field of a unit a key list indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Field {
    SellerSku,
    SkuId,
}

/// Up to this many units, keys are found by a scan that allocates nothing; past it, by hashing.
const FEW_UNITS: usize = 32;

/// Each key's list: keys compared without surrounding ASCII spaces or ASCII case.
enum Keys<'u> {
    /// A typical order: its few keys, as they are in the units, scanned.
    Few(Vec<(Field, &'u str, usize)>),
    /// A large order: keys trimmed and lowercased, hashed.
    Many(HashMap<(Field, String), usize>),
}

impl<'u> Keys<'u> {
    fn for_units(units: usize) -> Self {
        if units <= FEW_UNITS {
            Self::Few(Vec::with_capacity(2 * units))
        } else {
            Self::Many(HashMap::with_capacity(2 * units))
        }
    }

    fn get(&self, field: Field, key: &str) -> Option<usize> {
        let key = key.trim_ascii();
        match self {
            Self::Few(keys) => keys
                .iter()
                .find(|(f, k, _)| *f == field && k.eq_ignore_ascii_case(key))
                .map(|&(_, _, id)| id),
            Self::Many(keys) => keys.get(&(field, key.to_ascii_lowercase())).copied(),
        }
    }

    /// The list of `key`, a new one (`next`) when it has none yet.
    fn get_or_insert(&mut self, field: Field, key: &'u str, next: usize) -> usize {
        if let Some(id) = self.get(field, key) {
            return id;
        }
        let key = key.trim_ascii();
        match self {
            Self::Few(keys) => keys.push((field, key, next)),
            Self::Many(keys) => {
                keys.insert((field, key.to_ascii_lowercase()), next);
            }
        }
        next
    }
}

/// The units of each key, and the key lists of each item.
///
/// An item matches a unit when its SKU is the unit's `seller_sku`, or its variant id the unit's `sku_id`
/// or `seller_sku`: its candidates are the union of at most three lists, each in unit order. Building
/// takes time and memory linear in units plus items, whatever the keys repeat.
struct Candidates {
    /// Unit indexes of each key, ascending.
    lists: Vec<Vec<usize>>,
    /// For each item, its lists (at most three, distinct).
    of_item: Vec<ItemLists>,
}

/// The lists of one item, without repeats.
#[derive(Clone, Copy, Default)]
struct ItemLists {
    ids: [usize; 3],
    len: usize,
}

impl ItemLists {
    fn push(&mut self, id: usize) {
        let known = self
            .ids
            .get(..self.len)
            .is_some_and(|ids| ids.contains(&id));
        if let (false, Some(slot)) = (known, self.ids.get_mut(self.len)) {
            *slot = id;
            self.len += 1;
        }
    }

    fn ids(&self) -> &[usize] {
        self.ids.get(..self.len).unwrap_or(&[])
    }
}

impl Candidates {
    fn new(units: &[TtsLineItem], items: &[&FulfillmentLineItem]) -> Self {
        let mut keys = Keys::for_units(units.len());
        let mut lists: Vec<Vec<usize>> = Vec::new();
        for (i, unit) in units.iter().enumerate() {
            let fields = [
                (Field::SellerSku, unit.seller_sku.as_deref()),
                (Field::SkuId, unit.sku_id.as_deref()),
            ];
            for (field, key) in fields {
                let Some(key) = key else { continue };
                let id = keys.get_or_insert(field, key, lists.len());
                if id == lists.len() {
                    lists.push(Vec::new());
                }
                if let Some(list) = lists.get_mut(id) {
                    list.push(i);
                }
            }
        }
        let of_item = items
            .iter()
            .map(|item| {
                let sku = item.sku.as_deref().filter(|s| !s.trim_ascii().is_empty());
                let variant = item.variant_id.as_deref();
                let wanted = [
                    sku.map(|k| (Field::SellerSku, k)),
                    variant.map(|k| (Field::SkuId, k)),
                    variant.map(|k| (Field::SellerSku, k)),
                ];
                let mut found = ItemLists::default();
                for (field, key) in wanted.into_iter().flatten() {
                    if let Some(id) = keys.get(field, key) {
                        found.push(id);
                    }
                }
                found
            })
            .collect();
        Self { lists, of_item }
    }

    /// The lists of item `n`.
    fn of(&self, n: usize) -> &[usize] {
        self.of_item.get(n).map_or(&[], ItemLists::ids)
    }

    /// The units of list `id`.
    fn list(&self, id: usize) -> &[usize] {
        self.lists.get(id).map_or(&[], Vec::as_slice)
    }
}

/// Takes units for items in order, each item its lowest free candidates of a kind first.
///
/// Each list keeps one cursor per kind of unit, past which no unit of that kind is free: a unit once
/// taken stays taken and its kind never changes, so cursors only move forward and taking is linear in
/// the lists' total length, however many items share a list.
struct Taker<'c> {
    candidates: &'c Candidates,
    taken: Vec<bool>,
    cursors: Vec<[usize; KINDS]>,
}

/// The kinds of unit taken, in order: free, shipped, cancelled.
const KINDS: usize = 3;

impl<'c> Taker<'c> {
    fn new(candidates: &'c Candidates, units: usize) -> Self {
        Self {
            candidates,
            taken: vec![false; units],
            cursors: vec![[0; KINDS]; candidates.lists.len()],
        }
    }

    /// Takes up to `need` units of `kind` (those `is_kind` accepts) among item `n`'s candidates, lowest
    /// index first; answers their indexes and lowers `need`.
    fn take(
        &mut self,
        n: usize,
        kind: usize,
        units: &[TtsLineItem],
        is_kind: impl Fn(&TtsLineItem) -> bool,
        need: &mut u32,
    ) -> Vec<usize> {
        let mut picked = Vec::new();
        let lists = self.candidates.of(n);
        while *need > 0 {
            // The lowest free unit of this kind at the head of any of the item's lists.
            let mut best: Option<(usize, usize)> = None;
            for &id in lists {
                let list = self.candidates.list(id);
                let Some(cursor) = self.cursors.get_mut(id).and_then(|c| c.get_mut(kind)) else {
                    continue;
                };
                while let Some(&i) = list.get(*cursor) {
                    let free = !self.taken.get(i).copied().unwrap_or(true)
                        && units.get(i).is_some_and(&is_kind);
                    if free {
                        break;
                    }
                    *cursor += 1;
                }
                if let Some(&i) = list.get(*cursor) {
                    if best.is_none_or(|(lowest, _)| i < lowest) {
                        best = Some((i, id));
                    }
                }
            }
            let Some((i, _)) = best else { break };
            if let Some(slot) = self.taken.get_mut(i) {
                *slot = true;
            }
            *need -= 1;
            picked.push(i);
        }
        picked
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
        let mut seen = vec![false; candidates.lists.len()];
        (0..items.len())
            .flat_map(|n| candidates.of(n))
            .filter(|&&id| {
                seen.get_mut(id)
                    .is_some_and(|s| !std::mem::replace(s, true))
            })
            .flat_map(|&id| candidates.list(id))
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

    let mut taker = Taker::new(&candidates, units.len());
    let mut to_ship = Vec::new();
    let mut elsewhere = PackageGroups::default();
    let unit = |i: usize| units.get(i);
    for (n, item) in items.iter().enumerate() {
        let sku = item
            .sku
            .clone()
            .or_else(|| item.variant_id.clone())
            .unwrap_or_default();
        if candidates.of(n).is_empty() {
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
        let available = taker.take(n, 0, units, is_available, &mut need);
        let remaining = u32::try_from(available.len()).unwrap_or(u32::MAX);
        to_ship.extend(available.into_iter().filter_map(unit));
        for shipped in taker.take(n, 1, units, TtsLineItem::is_shipped, &mut need) {
            if let Some(u) = unit(shipped) {
                elsewhere.add(u);
            }
        }
        let cancelled = taker.take(n, 2, units, TtsLineItem::is_cancelled, &mut need);
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
