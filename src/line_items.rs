//! Line-item conflicts and order state: which TikTok Shop units the fulfillment ships, whether some are
//! already shipped in another package, and whether the order may be shipped at all.
//!
//! Shopify items are matched to TikTok Shop unit line items by SKU (`sku` = `seller_sku`, without case or
//! surrounding spaces), falling back to the variant id against `sku_id` or `seller_sku`.

use std::collections::HashMap;

use crate::model::{
    BundleComponent, Fulfillment, FulfillmentLineItem, FulfillmentStatus, History, OrderStatus,
    PackageStatus, TtsLineItem, TtsOrder,
};
use crate::report::{Code, Data, Diagnostic, PackageRef};

/// What the fulfillment's items map to in the order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation<'a> {
    /// Units to mark as shipped, one per unit, when nothing was pushed yet.
    pub to_ship: Vec<&'a TtsLineItem>,
    /// The package already holding this fulfillment: from the history, the one whose tracking number is
    /// this fulfillment's, or (without history) the one shipped package holding exactly its units.
    pub package: Option<&'a str>,
}

/// The field of a unit a key list indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Field {
    SellerSku,
    SkuId,
}

/// Up to this many units, each item's candidates are found by scanning them; past it, through lists
/// of units by key, built once.
const FEW_UNITS: usize = 32;

/// A key as compared: without surrounding ASCII spaces, in ASCII lowercase.
fn normalize(key: &str) -> String {
    key.trim_ascii().to_ascii_lowercase()
}

/// Whether two keys are the same: without surrounding ASCII spaces, whatever their ASCII case.
fn same_key(a: &str, b: &str) -> bool {
    a.trim_ascii().eq_ignore_ascii_case(b.trim_ascii())
}

/// The keys an item is matched by, with the unit field each is compared with: its SKU with the unit's
/// `seller_sku`, its variant id with the unit's `sku_id`, then with its `seller_sku`.
fn item_keys(item: &FulfillmentLineItem) -> impl Iterator<Item = (Field, &str)> {
    let sku = item.sku.as_deref().filter(|s| !s.trim_ascii().is_empty());
    let variant = item.variant_id.as_deref();
    [
        sku.map(|k| (Field::SellerSku, k)),
        variant.map(|k| (Field::SkuId, k)),
        variant.map(|k| (Field::SellerSku, k)),
    ]
    .into_iter()
    .flatten()
}

/// A unit's keys, with the field each comes from.
fn unit_keys(unit: &TtsLineItem) -> impl Iterator<Item = (Field, &str)> {
    [
        (Field::SellerSku, unit.seller_sku.as_deref()),
        (Field::SkuId, unit.sku_id.as_deref()),
    ]
    .into_iter()
    .filter_map(|(field, key)| Some((field, key?)))
}

/// Whether a Shopify item and a TikTok Shop unit are the same product.
fn matches(item: &FulfillmentLineItem, unit: &TtsLineItem) -> bool {
    item_keys(item).any(|(field, key)| unit_keys(unit).any(|(f, k)| f == field && same_key(k, key)))
}

/// Lists of candidate units, and the lists of each item.
///
/// An item matches a unit when its SKU is the unit's `seller_sku`, or its variant id the unit's `sku_id`
/// or `seller_sku`. For a few units, each item has one list, found by scanning them; for many, units
/// are listed by key and an item's candidates are the union of at most three lists, each in unit order.
/// Either way building takes time and memory linear in units plus items, whatever the keys repeat.
struct Candidates {
    /// Unit indexes, list after list, each list ascending.
    flat: Vec<usize>,
    /// Where each list starts in `flat`, and one past the last list's end.
    starts: Vec<usize>,
    /// For each item, its lists (at most three, distinct; none when no unit matches).
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
    /// The units any of the first `items` items could match: each list once, so linear in the lists.
    fn units_of_any<'s, 'u: 's>(
        &'s self,
        items: usize,
        units: &'u [TtsLineItem],
    ) -> impl Iterator<Item = &'u TtsLineItem> + 's {
        let mut seen = vec![false; self.lists()];
        (0..items)
            .flat_map(|n| self.of(n))
            .filter(move |&&id| {
                seen.get_mut(id)
                    .is_some_and(|s| !std::mem::replace(s, true))
            })
            .flat_map(|&id| self.list(id))
            .filter_map(|&i| units.get(i))
    }

    fn new(units: &[TtsLineItem], items: &[&FulfillmentLineItem]) -> Self {
        if units.len() <= FEW_UNITS {
            Self::scanned(units, items)
        } else {
            Self::indexed(units, items)
        }
    }

    /// Each item's own list, from a scan of the units (at most [`FEW_UNITS`] of them).
    fn scanned(units: &[TtsLineItem], items: &[&FulfillmentLineItem]) -> Self {
        let mut flat = Vec::new();
        let mut starts = Vec::with_capacity(items.len() + 1);
        let mut of_item = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            let start = flat.len();
            starts.push(start);
            flat.extend(
                units
                    .iter()
                    .enumerate()
                    .filter(|(_, unit)| matches(item, unit))
                    .map(|(i, _)| i),
            );
            let mut lists = ItemLists::default();
            if flat.len() > start {
                lists.push(n);
            }
            of_item.push(lists);
        }
        starts.push(flat.len());
        Self {
            flat,
            starts,
            of_item,
        }
    }

    /// The units of each key, in one allocation (each list's units counted, then placed from the
    /// back), and each item's lists found by its keys.
    fn indexed(units: &[TtsLineItem], items: &[&FulfillmentLineItem]) -> Self {
        let mut keys: HashMap<(Field, String), usize> = HashMap::with_capacity(2 * units.len());
        let mut ends: Vec<usize> = Vec::new();
        for unit in units {
            for (field, key) in unit_keys(unit) {
                let id = *keys.entry((field, normalize(key))).or_insert_with(|| {
                    ends.push(0);
                    ends.len() - 1
                });
                if let Some(count) = ends.get_mut(id) {
                    *count += 1;
                }
            }
        }
        let mut total = 0;
        for end in &mut ends {
            total += *end;
            *end = total;
        }
        let mut flat = vec![0; total];
        for (i, unit) in units.iter().enumerate().rev() {
            for (field, key) in unit_keys(unit) {
                let end = keys
                    .get(&(field, normalize(key)))
                    .and_then(|&id| ends.get_mut(id));
                if let Some(end) = end {
                    *end -= 1;
                    if let Some(slot) = flat.get_mut(*end) {
                        *slot = i;
                    }
                }
            }
        }
        // Each list's end has moved to its start; the last list ends where `flat` does.
        let mut starts = ends;
        starts.push(total);
        let of_item = items
            .iter()
            .map(|item| {
                let mut lists = ItemLists::default();
                for (field, key) in item_keys(item) {
                    if let Some(&id) = keys.get(&(field, normalize(key))) {
                        lists.push(id);
                    }
                }
                lists
            })
            .collect();
        Self {
            flat,
            starts,
            of_item,
        }
    }

    /// How many lists there are.
    fn lists(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The lists of item `n`.
    fn of(&self, n: usize) -> &[usize] {
        self.of_item.get(n).map_or(&[], ItemLists::ids)
    }

    /// The units of list `id`.
    fn list(&self, id: usize) -> &[usize] {
        match (self.starts.get(id), self.starts.get(id + 1)) {
            (Some(&start), Some(&end)) => self.flat.get(start..end).unwrap_or(&[]),
            _ => &[],
        }
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
            cursors: vec![[0; KINDS]; candidates.lists()],
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
            let mut best: Option<usize> = None;
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
                    if best.is_none_or(|lowest| i < lowest) {
                        best = Some(i);
                    }
                }
            }
            let Some(i) = best else { break };
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
    // Built only when the history names no package: with one, nothing is matched.
    let candidates = std::cell::OnceCell::new();
    let candidates = || candidates.get_or_init(|| Candidates::new(units, &items));

    let package = history.and_then(|h| h.package_id.as_deref()).or_else(|| {
        let candidates = candidates();
        // Pushed before without a record: a shipped unit of ours carries this very number.
        let number = tracking_number?;
        candidates
            .units_of_any(items.len(), units)
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

    let candidates = candidates();
    let mut taker = Taker::new(candidates, units.len());
    let findings = out.len();
    let mut to_ship = Vec::new();
    let mut elsewhere = PackageGroups::default();
    let unit = |i: usize| units.get(i);
    // With virtual bundles in the order, what no unit matches is held back: bundle units may take it.
    let has_bundles = units.iter().any(|u| !u.combined_listing_skus.is_empty());
    let mut unmet: Vec<(usize, u32, Diagnostic)> = Vec::new();
    let mut report = |n: usize, need: u32, d: Diagnostic, out: &mut Vec<Diagnostic>| {
        if has_bundles {
            unmet.push((n, need, d));
        } else {
            out.push(d);
        }
    };
    for (n, item) in items.iter().enumerate() {
        let sku = item
            .sku
            .clone()
            .or_else(|| item.variant_id.clone())
            .unwrap_or_default();
        if candidates.of(n).is_empty() {
            let d = Diagnostic::new(
                Code::LineItemsNotInOrder,
                Some(field),
                Some(Data::Item {
                    sku,
                    requested: item.quantity,
                    remaining: 0,
                }),
            );
            report(n, item.quantity, d, out);
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
            let d = Diagnostic::new(
                Code::LineItemsQuantityExceedsRemaining,
                Some(field),
                Some(Data::Item {
                    sku,
                    requested: item.quantity,
                    remaining,
                }),
            );
            report(n, need, d, out);
        }
    }
    if has_bundles {
        let wanted: Vec<(usize, u32)> = unmet.iter().map(|(n, need, _)| (*n, *need)).collect();
        let bundled = bundles(units, &items, &wanted, &taker.taken, field);
        for unit in &bundled.elsewhere {
            elsewhere.add(unit);
        }
        to_ship.extend(bundled.ship);
        for (n, _, d) in unmet {
            if !bundled.items.get(n).copied().unwrap_or(false) {
                out.push(d);
            }
        }
        out.extend(bundled.incomplete);
    }
    // Without our history: every unit already shipped in one package that holds exactly these units is
    // that package, and a new number for it is its tracking update; unless another shipped package
    // could as well hold them (then which one is this fulfillment's is not known).
    if let ([shipped], true, true) = (
        elsewhere.packages.as_slice(),
        to_ship.is_empty(),
        out.len() == findings,
    ) {
        let held = units
            .iter()
            .filter(|u| !u.is_cancelled() && u.package_id.as_deref() == Some(&shipped.package_id))
            .count();
        let elsewhere_too = candidates
            .units_of_any(items.len(), units)
            .any(|u| u.is_shipped() && u.package_id.as_deref() != Some(&shipped.package_id));
        if held == shipped.line_item_ids.len() && !elsewhere_too {
            let package = units
                .iter()
                .find(|u| u.package_id.as_deref() == Some(&shipped.package_id))
                .and_then(|u| u.package_id.as_deref());
            return Allocation {
                to_ship: Vec::new(),
                package,
            };
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
    if to_ship.iter().any(|u| u.has_cancel_request()) {
        out.push(Diagnostic::new(
            Code::LineItemsAfterSaleRequest,
            Some(field),
            None,
        ));
    }
    if splits_a_sku(units, &to_ship) {
        out.push(Diagnostic::new(Code::LineItemsSkuSplit, Some(field), None));
    }
    Allocation {
        to_ship,
        package: None,
    }
}

/// What the bundle pass decided.
#[derive(Default)]
struct Bundled<'a> {
    /// Per item: it is a bundle's component, shipped (or reported) here.
    items: Vec<bool>,
    /// Available bundle units to ship.
    ship: Vec<&'a TtsLineItem>,
    /// Bundle units already shipped.
    elsewhere: Vec<&'a TtsLineItem>,
    /// `line_items.bundle_incomplete` for what is left of a component item.
    incomplete: Vec<Diagnostic>,
}

/// A component's keys, as items are matched to it: its seller SKU, its SKU id.
fn component_keys(c: &BundleComponent) -> impl Iterator<Item = (Field, String)> + '_ {
    [
        c.seller_sku
            .as_deref()
            .map(|k| (Field::SellerSku, normalize(k))),
        c.sku_id.as_deref().map(|k| (Field::SkuId, normalize(k))),
    ]
    .into_iter()
    .flatten()
}

/// The component items of one key: their indexes, a cursor past those used up, and what they still
/// hold in all.
#[derive(Default)]
struct ComponentList {
    items: Vec<usize>,
    cursor: usize,
    total: u64,
}

/// Virtual bundle units whose every component (`sku_count` of each) the `wanted` quantities of items
/// (what no unit of their own took) hold ship whole, available units before shipped ones, none the main
/// pass took (`taken`, by unit index). What is left of a component item, not enough for a whole bundle
/// unit, is `line_items.bundle_incomplete`. Linear: each item joins one list by key, and lists are used
/// up from the front.
fn bundles<'a>(
    units: &'a [TtsLineItem],
    items: &[&FulfillmentLineItem],
    wanted: &[(usize, u32)],
    taken: &[bool],
    field: &'static str,
) -> Bundled<'a> {
    let mut done = Bundled {
        items: vec![false; items.len()],
        ..Bundled::default()
    };
    let bundle_units: Vec<&TtsLineItem> = units
        .iter()
        .enumerate()
        .filter(|(i, u)| {
            !u.combined_listing_skus.is_empty()
                && !u.is_cancelled()
                && !taken.get(*i).copied().unwrap_or(false)
        })
        .map(|(_, u)| u)
        .collect();
    // Every component key, with its list of component items.
    let mut keys: HashMap<(Field, String), usize> = HashMap::new();
    let mut lists: Vec<ComponentList> = Vec::new();
    for key in bundle_units
        .iter()
        .flat_map(|u| &u.combined_listing_skus)
        .flat_map(component_keys)
    {
        keys.entry(key).or_insert_with(|| {
            lists.push(ComponentList::default());
            lists.len() - 1
        });
    }
    let mut left = vec![0u32; items.len()];
    for &(n, need) in wanted {
        let Some(item) = items.get(n) else { continue };
        let list = item_keys(item).find_map(|(f, k)| keys.get(&(f, normalize(k))).copied());
        if let Some(list) = list.and_then(|l| lists.get_mut(l)) {
            list.items.push(n);
            list.total += u64::from(need);
            if let Some(slot) = left.get_mut(n) {
                *slot = need;
            }
            if let Some(flag) = done.items.get_mut(n) {
                *flag = true;
            }
        }
    }
    // Available units first: a shipped one is only what the fulfillment already is.
    let (available, shipped): (Vec<&TtsLineItem>, Vec<&TtsLineItem>) =
        bundle_units.into_iter().partition(|u| is_available(u));
    for unit in available.into_iter().chain(shipped) {
        // What the unit needs, by list (a SKU listed twice counts twice).
        let mut needs: Vec<(usize, u64)> = Vec::new();
        let mut whole = true;
        for c in &unit.combined_listing_skus {
            let list = component_keys(c)
                .filter_map(|k| keys.get(&k).copied())
                .find(|&l| lists.get(l).is_some_and(|l| !l.items.is_empty()));
            let Some(list) = list else {
                whole = false;
                break;
            };
            match needs.iter_mut().find(|(l, _)| *l == list) {
                Some((_, n)) => *n += u64::from(c.sku_count),
                None => needs.push((list, u64::from(c.sku_count))),
            }
        }
        whole = whole
            && needs
                .iter()
                .all(|(l, n)| lists.get(*l).is_some_and(|l| l.total >= *n));
        if !whole {
            continue;
        }
        for (list, mut need) in needs {
            let Some(list) = lists.get_mut(list) else {
                continue;
            };
            list.total -= need;
            while need > 0 {
                let Some(slot) = list.items.get(list.cursor).and_then(|&n| left.get_mut(n)) else {
                    break;
                };
                let take = u32::try_from(need).unwrap_or(u32::MAX).min(*slot);
                *slot -= take;
                need -= u64::from(take);
                if *slot == 0 {
                    list.cursor += 1;
                }
            }
        }
        if is_available(unit) {
            done.ship.push(unit);
        } else if unit.is_shipped() {
            done.elsewhere.push(unit);
        }
    }
    for &(n, need) in wanted {
        let (Some(item), Some(&rest), Some(true)) =
            (items.get(n), left.get(n), done.items.get(n).copied())
        else {
            continue;
        };
        if rest > 0 {
            done.incomplete.push(Diagnostic::new(
                Code::LineItemsBundleIncomplete,
                Some(field),
                Some(Data::Item {
                    sku: item
                        .sku
                        .clone()
                        .or_else(|| item.variant_id.clone())
                        .unwrap_or_default(),
                    requested: need,
                    remaining: need - rest,
                }),
            ));
        }
    }
    done
}

/// Whether shipping `to_ship` leaves other units of one of their SKUs to ship (TikTok Shop's SKU id, else
/// the seller SKU).
fn splits_a_sku(units: &[TtsLineItem], to_ship: &[&TtsLineItem]) -> bool {
    let free = units.iter().filter(|u| is_available(u)).count();
    if to_ship.is_empty() || free == to_ship.len() {
        return false;
    }
    fn key(unit: &TtsLineItem) -> Option<String> {
        unit.sku_id.as_deref().map(str::to_owned).or_else(|| {
            unit.seller_sku
                .as_deref()
                .map(|s| s.trim().to_ascii_lowercase())
        })
    }
    let mut left: HashMap<String, isize> = HashMap::new();
    for unit in units.iter().filter(|u| is_available(u)) {
        if let Some(k) = key(unit) {
            *left.entry(k).or_default() += 1;
        }
    }
    for unit in to_ship {
        if let Some(k) = key(unit) {
            *left.entry(k).or_default() -= 1;
        }
    }
    to_ship
        .iter()
        .filter_map(|u| key(u))
        .any(|k| left.get(&k).is_some_and(|&n| n > 0))
}

/// How close to its dispatch deadlines an order ships: within this many hours is "soon".
pub const DISPATCH_WARNING_HOURS: u32 = 24;

/// The order's dispatch deadlines for a first push at `now`: past or within a day of the ship-by time
/// (`rts_sla_time`), within a day of the time TikTok Shop cancels an order not handed over
/// (`shipping_due_time`, or past it). Warnings: the push still goes.
pub fn check_dispatch(order: &TtsOrder, now: crate::Timestamp, out: &mut Vec<Diagnostic>) {
    let soon = |deadline: i64| {
        now.unix_seconds() >= deadline.saturating_sub(i64::from(DISPATCH_WARNING_HOURS) * 3600)
    };
    let data = |deadline: i64| {
        Some(Data::Deadline {
            deadline: crate::Timestamp::from_unix(deadline),
        })
    };
    if let Some(sla) = order.rts_sla_time {
        if now.unix_seconds() >= sla {
            out.push(Diagnostic::new(
                Code::OrderDispatchLate,
                Some("order.rts_sla_time"),
                data(sla),
            ));
        } else if soon(sla) {
            out.push(Diagnostic::new(
                Code::OrderDispatchDueSoon,
                Some("order.rts_sla_time"),
                data(sla),
            ));
        }
    }
    if let Some(due) = order.shipping_due_time.filter(|&due| soon(due)) {
        out.push(Diagnostic::new(
            Code::OrderAutoCancelDue,
            Some("order.shipping_due_time"),
            data(due),
        ));
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
