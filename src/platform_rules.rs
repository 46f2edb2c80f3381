//! TikTok Shop's rules that hold only for some markets, seller types and dates, as one table: each row
//! says where and from when a rule holds, and its public source. The engine applies the rows in force at
//! `now` for the shop's market and seller type; a shop's `ruleOverrides` win over the table.
//!
//! A date the source gives without a time is taken as 00:00 UTC of that day.

use crate::model::{PlatformRule, Region, SellerType, Settings};
use crate::report::Code;
use crate::Timestamp;

/// One row of the table: `rule` holds in `market` for `seller_types` from `from` until `until`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The rule.
    pub rule: PlatformRule,
    /// The TikTok Shop market.
    pub market: Region,
    /// The seller types it holds for.
    pub seller_types: &'static [SellerType],
    /// When it took effect.
    pub from: Timestamp,
    /// When it ended; `None` while in force.
    pub until: Option<Timestamp>,
    /// Where TikTok Shop says so.
    pub source: &'static str,
}

impl Scope {
    /// Whether this row holds for a shop of `market` and `seller_type` at `now`.
    #[must_use]
    pub fn holds(&self, market: Region, seller_type: SellerType, now: Timestamp) -> bool {
        self.market == market
            && self.seller_types.contains(&seller_type)
            && self.from <= now
            && self.until.is_none_or(|until| now < until)
    }
}

/// 2025-10-27T00:00:00Z.
const OCT_27_2025: Timestamp = Timestamp::from_unix(1_761_523_200);
/// 2026-01-01T00:00:00Z.
const JAN_1_2026: Timestamp = Timestamp::from_unix(1_767_225_600);

/// Every row, by rule and then by date.
pub const TABLE: &[Scope] = &[
    Scope {
        rule: PlatformRule::UspsLabelsViaTiktokShipping,
        market: Region::Us,
        seller_types: &[SellerType::CrossBorder],
        from: OCT_27_2025,
        until: None,
        source: "TikTok Shop partner changelog, \"US market: POP USPS label restriction\" \
                 (partner.tiktokshop.com/docv2/page/69015eaf5b602804822560ba): cross-border and ACCU \
                 sellers, from 2025-10-27",
    },
    Scope {
        rule: PlatformRule::UspsLabelsViaTiktokShipping,
        market: Region::Us,
        seller_types: &[SellerType::Local],
        from: JAN_1_2026,
        until: None,
        source: "TikTok Shop US seller notices of November 2025, as the trade press reported them \
                 (ecomwatch.com, geekseller.com, tacticallogistic.com): all US sellers, from 2026-01-01",
    },
];

/// Whether `rule` holds for the shop at `now`: its override if it has one, else the table. Answers the
/// row that holds, if any (`None` for an override).
#[must_use]
pub fn in_force(rule: PlatformRule, settings: &Settings, now: Timestamp) -> Option<InForce> {
    match settings.rule_override(rule) {
        Some(true) => Some(InForce { scope: None }),
        Some(false) => None,
        None => TABLE
            .iter()
            .find(|s| s.rule == rule && s.holds(settings.region, settings.seller_type, now))
            .map(|scope| InForce { scope: Some(scope) }),
    }
}

/// A rule in force for a shop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InForce {
    /// The table's row, or `None` when the shop's override applies the rule.
    pub scope: Option<&'static Scope>,
}

/// The diagnostic a rule draws when a push breaks it.
#[must_use]
pub const fn code(rule: PlatformRule) -> Code {
    match rule {
        PlatformRule::UspsLabelsViaTiktokShipping => Code::CarrierUspsSelfShipping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"))
    }

    fn shop(seller_type: SellerType) -> Settings {
        Settings {
            seller_type,
            ..Settings::new(Region::Us)
        }
    }

    const USPS: PlatformRule = PlatformRule::UspsLabelsViaTiktokShipping;

    #[test]
    fn the_dates_are_the_sources() {
        assert_eq!(OCT_27_2025, at("2025-10-27T00:00:00Z"));
        assert_eq!(JAN_1_2026, at("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn usps_rule_by_seller_type_and_date() {
        let cross_border = shop(SellerType::CrossBorder);
        let local = shop(SellerType::Local);
        assert!(in_force(USPS, &cross_border, at("2025-10-26T23:59:59Z")).is_none());
        assert!(in_force(USPS, &cross_border, at("2025-10-27T00:00:00Z")).is_some());
        assert!(in_force(USPS, &local, at("2025-12-31T23:59:59Z")).is_none());
        assert!(in_force(USPS, &local, at("2026-01-01T00:00:00Z")).is_some());
        assert!(in_force(USPS, &Settings::new(Region::Uk), at("2026-11-29T00:00:00Z")).is_none());
    }

    #[test]
    fn an_override_wins_over_the_table() {
        let mut exempt = shop(SellerType::Local);
        exempt.rule_overrides.push(crate::model::RuleOverride {
            rule: USPS,
            applies: false,
        });
        assert!(in_force(USPS, &exempt, at("2026-11-29T00:00:00Z")).is_none());
        let mut early = shop(SellerType::Local);
        early.rule_overrides.push(crate::model::RuleOverride {
            rule: USPS,
            applies: true,
        });
        let forced = in_force(USPS, &early, at("2025-01-01T00:00:00Z"));
        assert_eq!(forced, Some(InForce { scope: None }));
    }

    #[test]
    fn every_rule_has_a_row_and_every_row_a_source() {
        for rule in PlatformRule::ALL {
            assert!(TABLE.iter().any(|s| s.rule == rule), "{rule:?}");
        }
        for scope in TABLE {
            assert!(!scope.seller_types.is_empty() && !scope.source.is_empty());
            assert!(scope.until.is_none_or(|until| scope.from < until));
        }
    }
}
