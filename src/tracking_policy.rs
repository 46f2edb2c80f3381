//! The single-update tracking policy: once a package is shipped, TikTok Shop lets its tracking number
//! (or provider) change once, and only within 72 hours of shipping.
//!
//! The window is half-open: an update at `shipped_at + 72:00:00` exactly is expired; one second before
//! is still in time. Instants are compared in UTC whatever offset they were written with.

use crate::model::{History, OrderStatus, Policy, TtsOrder};
use crate::report::{Action, Code, Data, Diagnostic};
use crate::Timestamp;

/// What TikTok Shop holds for a package already shipped for this fulfillment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment<'a> {
    /// The package.
    pub package_id: &'a str,
    /// The tracking number it carries.
    pub tracking_number: Option<&'a str>,
    /// The provider it carries.
    pub shipping_provider_id: Option<&'a str>,
    /// When it shipped.
    pub shipped_at: Option<Timestamp>,
    /// Tracking updates already spent.
    pub updates_used: u32,
}

impl<'a> Shipment<'a> {
    /// The shipment of `package_id`, from the order's units (TikTok Shop's word wins) and our history.
    /// When the package shows another number than the one our history pushed last, one more update
    /// counts as spent.
    #[must_use]
    pub fn new(package_id: &'a str, order: &'a TtsOrder, history: Option<&'a History>) -> Self {
        let mut units = order
            .line_items
            .iter()
            .filter(|u| u.package_id.as_deref() == Some(package_id));
        let first = units.clone().next();
        let rts = units
            .by_ref()
            .filter_map(|u| u.rts_time)
            .filter(|&t| t > 0)
            .min()
            .map(Timestamp::from_unix);
        let ours = history.filter(|h| h.package_id.as_deref() == Some(package_id));
        let shown = first.and_then(|u| u.tracking_number.as_deref());
        let pushed = ours.and_then(|h| h.tracking_number.as_deref());
        // The package carries another number than the one we pushed last: its update was spent
        // elsewhere (Seller Center, another app, a 3PL's own link).
        let spent_elsewhere = match (shown, pushed) {
            (Some(shown), Some(pushed)) => !shown.eq_ignore_ascii_case(pushed),
            _ => false,
        };
        Self {
            package_id,
            tracking_number: shown.or(pushed),
            shipping_provider_id: first
                .and_then(|u| u.shipping_provider_id.as_deref())
                .or_else(|| ours.and_then(|h| h.shipping_provider_id.as_deref())),
            shipped_at: ours.and_then(|h| h.shipped_at).or(rts),
            updates_used: ours
                .map_or(0, |h| h.tracking_updates_used)
                .saturating_add(u32::from(spent_elsewhere)),
        }
    }
}

/// What the policy decides for a shipped package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// `None` when TikTok Shop already holds the same carrier and number, else `UpdateTracking`.
    pub action: Action,
    /// Until when an update is allowed, while one is left.
    pub deadline: Option<Timestamp>,
}

/// What a push would send for a shipped package, against the order as TikTok Shop holds it.
#[derive(Clone, Copy, Debug)]
pub struct Update<'a> {
    /// The provider the push names, when resolved.
    pub provider_id: Option<&'a str>,
    /// The cleaned tracking number it pushes, when there is one.
    pub tracking_number: Option<&'a str>,
    /// The TikTok Shop order.
    pub order: &'a TtsOrder,
    /// The instant of the check.
    pub now: Timestamp,
    /// The field diagnostics name: the fulfillment's tracking number.
    pub field: &'static str,
}

/// Decides whether a shipped package is in sync or may take the new carrier and number.
pub fn decide(
    policy: &Policy,
    shipment: &Shipment<'_>,
    update: &Update<'_>,
    out: &mut Vec<Diagnostic>,
) -> Decision {
    let Update {
        provider_id,
        tracking_number,
        order,
        now,
        field,
    } = *update;
    let updates_left = policy
        .max_tracking_updates
        .saturating_sub(shipment.updates_used);
    let deadline = shipment
        .shipped_at
        .and_then(|at| at.plus_hours(policy.update_window_hours))
        .filter(|_| updates_left > 0);
    let same_number = match (tracking_number, shipment.tracking_number) {
        (Some(new), Some(old)) => new.eq_ignore_ascii_case(old),
        _ => false,
    };
    let same_provider = match (provider_id, shipment.shipping_provider_id) {
        (Some(new), Some(old)) => new == old,
        _ => true,
    };
    if same_number && same_provider {
        return Decision {
            action: Action::None,
            deadline,
        };
    }
    let window = || {
        Some(Data::Window {
            shipped_at: shipment.shipped_at,
            deadline: shipment
                .shipped_at
                .and_then(|at| at.plus_hours(policy.update_window_hours)),
            updates_used: shipment.updates_used,
            max_updates: policy.max_tracking_updates,
            current_tracking_number: shipment.tracking_number.map(str::to_owned),
        })
    };
    let mut blocked = false;
    if matches!(
        order.status,
        OrderStatus::Delivered | OrderStatus::Completed
    ) {
        out.push(Diagnostic::new(
            Code::TrackingUpdateAfterDelivery,
            Some("order.status"),
            window(),
        ));
        blocked = true;
    }
    if updates_left == 0 {
        out.push(Diagnostic::new(
            Code::TrackingUpdateLimitReached,
            Some(field),
            window(),
        ));
        blocked = true;
    }
    match shipment
        .shipped_at
        .and_then(|at| at.plus_hours(policy.update_window_hours))
    {
        Some(closes) if now >= closes => {
            out.push(Diagnostic::new(
                Code::TrackingUpdateWindowExpired,
                Some(field),
                window(),
            ));
            blocked = true;
        }
        Some(_) => {}
        None => out.push(Diagnostic::new(
            Code::TrackingShippedAtUnknown,
            Some(field),
            window(),
        )),
    }
    if !blocked && updates_left == 1 {
        out.push(Diagnostic::new(
            Code::TrackingOnlyUpdateLeft,
            Some(field),
            window(),
        ));
    }
    Decision {
        action: Action::UpdateTracking,
        deadline,
    }
}
