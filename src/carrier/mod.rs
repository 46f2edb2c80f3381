//! Carrier-mapping resolution: which TikTok Shop provider a Shopify carrier name (and tracking number)
//! means, and whether the tracking number fits that carrier.
//!
//! Order of resolution: the merchant's mappings (including one for "Other"), then the catalog's exact
//! names and aliases, then service-level names ("UPS SurePost" → UPS), then the merchant's default
//! mapping (`"*"`), and, when the name is empty or "Other", the tracking number's format. When the
//! order's delivery option providers are known, only those are accepted.

pub mod catalog;
pub mod tracking;

use std::collections::HashMap;

use crate::error::{InputError, InputErrorKind};
use crate::model::{CarrierMapping, Region, Settings, ShippingProvider};
use crate::report::{Code, Data, Diagnostic, ProviderRef};
use tracking::{Courier, CourierSet, Recognition};

/// A provider the index knows: from the region's catalog or the delivery option's list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The provider id.
    pub id: String,
    /// The provider name.
    pub name: String,
    /// The couriers whose tracking-number formats it ships with.
    pub couriers: CourierSet,
}

impl Provider {
    fn to_ref(&self) -> ProviderRef {
        ProviderRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// The providers a list of a delivery option accepts, and the ids it gives them.
#[derive(Clone, Debug, Default)]
struct Restriction {
    /// Provider indexes (a delivery option lists a handful); `None`: every catalog provider.
    allowed: Option<Vec<usize>>,
    /// Catalog providers the list gives another id: that id is pushed.
    live_ids: Vec<(usize, String)>,
}

/// Which providers an order's delivery option accepts.
#[derive(Clone, Copy)]
struct Accepted<'a> {
    restriction: &'a Restriction,
    catalog_len: usize,
}

impl Accepted<'_> {
    fn has(self, index: usize) -> bool {
        match &self.restriction.allowed {
            Some(allowed) => allowed.contains(&index),
            None => index < self.catalog_len,
        }
    }
}

/// How a provider was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// A merchant mapping for the name.
    Mapping,
    /// The catalog's name or alias.
    Catalog,
    /// A service-level name starting with a catalog name.
    Service,
    /// The merchant's default mapping.
    Default,
    /// The tracking number's format.
    Inferred,
}

/// The outcome of resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// A provider that may be pushed.
    Resolved {
        /// Index into the index's providers.
        provider: usize,
        /// How it was found.
        how: How,
    },
    /// Nothing resolved; the diagnostic says why.
    Unresolved(Box<Diagnostic>),
}

/// The carrier index, built once from the settings.
#[derive(Clone, Debug)]
pub struct CarrierIndex {
    region: Region,
    providers: Vec<Provider>,
    /// How many providers the region's catalog has (the first ones).
    catalog_len: usize,
    /// The providers `shippingProviders` accepts (every catalog provider when not given).
    restriction: Restriction,
    /// Per delivery option id: the providers it accepts (from `deliveryOptionProviders`).
    by_option: HashMap<Box<str>, Restriction>,
    /// Normalized catalog names and aliases → provider indexes (several for an ambiguous name).
    names: HashMap<Box<str>, Vec<usize>>,
    longest_name: usize,
    /// The names with their letter-pair signatures, sorted, for suggestions.
    signatures: Vec<(Box<str>, Signature, Vec<usize>)>,
    mappings: HashMap<Box<str>, usize>,
    default: Option<usize>,
}

/// Lowercase ASCII letters and digits, other ASCII dropped: "Fed-Ex  Ground" and "fedex ground" are the
/// same name. Non-ASCII characters are kept as they are (no Unicode tables in the browser build).
#[must_use]
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !c.is_ascii() {
            out.push(c);
        }
    }
    out
}

const DEFAULT_MAPPING: &str = "*";
const OTHER: &str = "other";

impl CarrierIndex {
    /// Builds the index of a region's catalog, the delivery option's providers and the merchant's mappings.
    ///
    /// # Errors
    /// `input.unknown_provider` when a mapping points at no provider, with the path of its `to`.
    pub fn new(settings: &Settings) -> Result<Self, InputError> {
        let catalog = catalog::providers(settings.region);
        let mut providers: Vec<Provider> = catalog
            .iter()
            .map(|c| Provider {
                id: c.id.to_owned(),
                name: c.name.to_owned(),
                couriers: c.couriers,
            })
            .collect();
        let mut names: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        // The names in the order first seen, so that suggestions are deterministic.
        let mut order: Vec<Box<str>> = Vec::new();
        let mut add_name = |names: &mut HashMap<Box<str>, Vec<usize>>, name: &str, index: usize| {
            let key = normalize(name);
            if key.is_empty() {
                return;
            }
            let slot = names.entry(key.into_boxed_str()).or_insert_with_key(|key| {
                order.push(key.clone());
                Vec::new()
            });
            if !slot.contains(&index) {
                slot.push(index);
            }
        };
        for (index, c) in catalog.iter().enumerate() {
            add_name(&mut names, c.name, index);
            for alias in c.aliases {
                add_name(&mut names, alias, index);
            }
        }
        for (region, name, meant) in catalog::AMBIGUOUS {
            if *region == settings.region {
                for m in *meant {
                    if let Some(index) = catalog.iter().position(|c| c.name == *m) {
                        add_name(&mut names, name, index);
                    }
                }
            }
        }

        // The delivery options' providers: matched by id, then by name or alias (a live id differing from
        // the catalog's is the one pushed for that option's orders); others added under their own names.
        let catalog_len = providers.len();
        let mut by_id: HashMap<String, usize> = providers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let mut restrict = |providers: &mut Vec<Provider>,
                            names: &mut HashMap<Box<str>, Vec<usize>>,
                            list: &[ShippingProvider]| {
            let mut restriction = Restriction {
                allowed: Some(Vec::with_capacity(list.len())),
                live_ids: Vec::new(),
            };
            for sp in list {
                let by_name = || {
                    names
                        .get(normalize(&sp.name).as_str())
                        .filter(|found| found.len() == 1)
                        .and_then(|found| found.first().copied())
                };
                let index = match (by_id.get(&sp.id).copied(), by_name()) {
                    (Some(index), _) => index,
                    (None, Some(index)) => {
                        restriction.live_ids.push((index, sp.id.clone()));
                        index
                    }
                    (None, None) => {
                        providers.push(Provider {
                            id: sp.id.clone(),
                            name: sp.name.clone(),
                            couriers: CourierSet::EMPTY,
                        });
                        let index = providers.len() - 1;
                        by_id.insert(sp.id.clone(), index);
                        add_name(names, &sp.name, index);
                        index
                    }
                };
                if let Some(allowed) = restriction.allowed.as_mut() {
                    if !allowed.contains(&index) {
                        allowed.push(index);
                    }
                }
            }
            restriction
        };
        let default = match &settings.shipping_providers {
            Some(list) => restrict(&mut providers, &mut names, list),
            None => Restriction {
                allowed: None,
                live_ids: Vec::new(),
            },
        };
        let mut by_option = HashMap::new();
        for option in &settings.delivery_option_providers {
            let restriction = restrict(&mut providers, &mut names, &option.providers);
            by_option.insert(
                option.delivery_option_id.clone().into_boxed_str(),
                restriction,
            );
        }
        let longest_name = names.keys().map(|k| k.len()).max().unwrap_or(0);
        let signatures: Vec<(Box<str>, Signature, Vec<usize>)> = order
            .into_iter()
            .filter_map(|k| {
                let indexes = names.get(&k)?.clone();
                let sig = Signature::of(&k);
                Some((k, sig, indexes))
            })
            .collect();
        let mut index = Self {
            region: settings.region,
            providers,
            catalog_len,
            restriction: default,
            by_option,
            names,
            longest_name,
            signatures,
            mappings: HashMap::new(),
            default: None,
        };
        index.set_mappings(&settings.carrier_mappings)?;
        Ok(index)
    }

    /// Replaces the merchant's mappings, keeping the rest.
    ///
    /// # Errors
    /// `input.unknown_provider` when a mapping points at no provider; `input.invalid_value` when one maps
    /// from an empty name. The index is unchanged on error.
    pub fn set_mappings(&mut self, mappings: &[CarrierMapping]) -> Result<(), InputError> {
        let mut table = HashMap::with_capacity(mappings.len());
        let mut default = None;
        for (i, mapping) in mappings.iter().enumerate() {
            let Some(target) = self.find_provider(&mapping.to) else {
                let shown: String = mapping.to.chars().take(64).collect();
                return Err(InputError::new(
                    InputErrorKind::UnknownProvider,
                    format!("carrierMappings[{i}].to"),
                    format!(
                        "no {} shipping provider is named or numbered `{shown}`",
                        self.region.code()
                    ),
                ));
            };
            if mapping.from.trim() == DEFAULT_MAPPING {
                default = Some(target);
                continue;
            }
            let key = normalize(&mapping.from);
            if key.is_empty() {
                return Err(InputError::new(
                    InputErrorKind::InvalidValue,
                    format!("carrierMappings[{i}].from"),
                    "a mapping needs a carrier name to map from (use `*` for the default)",
                ));
            }
            table.insert(key.into_boxed_str(), target);
        }
        self.mappings = table;
        self.default = default;
        Ok(())
    }

    /// A provider by id, or by exact (normalized) name or alias when that is unambiguous.
    fn find_provider(&self, name_or_id: &str) -> Option<usize> {
        let text = name_or_id.trim();
        if let Some(index) = self.providers.iter().position(|p| p.id == text) {
            return Some(index);
        }
        match self.names.get(normalize(text).as_str()).map(Vec::as_slice) {
            Some([only]) => Some(*only),
            _ => None,
        }
    }

    /// The providers the index knows.
    #[must_use]
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// The provider at `index`.
    #[must_use]
    pub fn provider(&self, index: usize) -> Option<&Provider> {
        self.providers.get(index)
    }

    /// The providers a delivery option accepts: its own list when the settings give one, else
    /// `shippingProviders`, else all.
    fn accepted(&self, delivery_option: Option<&str>) -> Accepted<'_> {
        Accepted {
            restriction: delivery_option
                .filter(|_| !self.by_option.is_empty())
                .and_then(|id| self.by_option.get(id))
                .unwrap_or(&self.restriction),
            catalog_len: self.catalog_len,
        }
    }

    /// The catalog providers an order of `delivery_option` may be pushed with, in catalog order (the
    /// ones a carrier mapping may name): those its option's list names when the settings'
    /// `deliveryOptionProviders` give one, else those `shippingProviders` names when given, else the
    /// region's whole catalog.
    pub fn accepted_providers<'a>(
        &'a self,
        delivery_option: Option<&str>,
    ) -> impl Iterator<Item = &'a Provider> + 'a {
        let accepted = self.accepted(delivery_option);
        self.providers
            .iter()
            .take(self.catalog_len)
            .enumerate()
            .filter(move |(i, _)| accepted.has(*i))
            .map(|(_, p)| p)
    }

    /// Whether the providers an order of `delivery_option` may be pushed with are a list (its option's,
    /// or `shippingProviders`) rather than the region's whole catalog.
    #[must_use]
    pub fn restricts(&self, delivery_option: Option<&str>) -> bool {
        self.accepted(delivery_option).restriction.allowed.is_some()
    }

    /// The id pushed for the provider at `index` on an order of `delivery_option`: the id its delivery
    /// option's list gives it, else the provider's own.
    #[must_use]
    pub fn pushed_id(&self, index: usize, delivery_option: Option<&str>) -> Option<&str> {
        let restriction = self.accepted(delivery_option).restriction;
        match restriction.live_ids.iter().find(|(i, _)| *i == index) {
            Some((_, id)) => Some(id.as_str()),
            None => self.providers.get(index).map(|p| p.id.as_str()),
        }
    }

    /// Resolves a Shopify carrier name (empty or "Other" both mean no carrier was named), with the tracking number's recognition to infer or disambiguate.
    #[must_use]
    pub fn resolve(&self, name: Option<&str>, rec: Recognition, field: &'static str) -> Resolution {
        self.resolve_for(name, rec, field, None)
    }

    /// [`Self::resolve`] for an order of `delivery_option`: only the providers that option accepts count
    /// when the settings list them.
    #[must_use]
    pub fn resolve_for(
        &self,
        name: Option<&str>,
        rec: Recognition,
        field: &'static str,
        delivery_option: Option<&str>,
    ) -> Resolution {
        let accepted = self.accepted(delivery_option);
        let raw = name.unwrap_or("").trim();
        let key = normalize(raw);
        let resolved = |provider, how| Resolution::Resolved { provider, how };
        let found = if key.is_empty() {
            None
        } else if let Some(&index) = self.mappings.get(key.as_str()) {
            Some(Ok((index, How::Mapping)))
        } else if key == OTHER {
            None
        } else if let Some(found) = self.names.get(key.as_str()) {
            Some(self.pick(found, rec, accepted).map(|i| (i, How::Catalog)))
        } else {
            self.service(&key)
                .map(|found| self.pick(found, rec, accepted).map(|i| (i, How::Service)))
        };
        let found = match (found, self.default) {
            (Some(found), _) => Some(found),
            (None, Some(default)) => Some(Ok((default, How::Default))),
            (None, None) if key.is_empty() || key == OTHER => {
                Some(self.infer(rec, accepted).map(|i| (i, How::Inferred)))
            }
            (None, None) => None,
        };
        let diagnostic = |code, suggestions: Vec<usize>| {
            Resolution::Unresolved(Box::new(Diagnostic::new(
                code,
                Some(field),
                Some(Data::Carrier {
                    carrier: raw.to_owned(),
                    suggestions: suggestions
                        .into_iter()
                        .filter_map(|i| self.provider(i).map(Provider::to_ref))
                        .collect(),
                }),
            )))
        };
        match found {
            Some(Ok((index, how))) if accepted.has(index) => resolved(index, how),
            Some(Ok(_)) => diagnostic(
                Code::CarrierNotInDeliveryOption,
                self.suggest(&key, rec, accepted),
            ),
            Some(Err(candidates)) if candidates.is_empty() && (key.is_empty() || key == OTHER) => {
                diagnostic(Code::CarrierMissing, self.suggest(&key, rec, accepted))
            }
            Some(Err(candidates)) if candidates.is_empty() => {
                diagnostic(self.not_integrated(&key), self.suggest(&key, rec, accepted))
            }
            Some(Err(candidates)) => diagnostic(Code::CarrierAmbiguous, candidates),
            None => diagnostic(self.not_integrated(&key), self.suggest(&key, rec, accepted)),
        }
    }

    /// Why a name resolves to no provider: it is one of another market's (a UK shop naming USPS), or
    /// of none.
    fn not_integrated(&self, key: &str) -> Code {
        let elsewhere = Region::ALL
            .into_iter()
            .filter(|&r| r != self.region)
            .flat_map(catalog::providers)
            .any(|p| {
                std::iter::once(p.name)
                    .chain(p.aliases.iter().copied())
                    .any(|name| normalize(name) == key)
            });
        if elsewhere {
            Code::CarrierOtherRegion
        } else {
            Code::CarrierNotIntegrated
        }
    }

    /// The longest catalog name the carrier name starts with (at least three characters).
    fn service(&self, key: &str) -> Option<&Vec<usize>> {
        let max = key.len().min(self.longest_name);
        (3..=max)
            .rev()
            .filter(|&len| key.is_char_boundary(len))
            .find_map(|len| key.get(..len).and_then(|prefix| self.names.get(prefix)))
    }

    /// One provider of several: the allowed ones, then those the tracking number fits.
    fn pick(
        &self,
        found: &[usize],
        rec: Recognition,
        accepted: Accepted<'_>,
    ) -> Result<usize, Vec<usize>> {
        if let [only] = found {
            return Ok(*only);
        }
        let allowed: Vec<usize> = found.iter().copied().filter(|&i| accepted.has(i)).collect();
        match allowed.as_slice() {
            [only] => return Ok(*only),
            [] => return found.first().copied().ok_or_else(Vec::new),
            _ => {}
        }
        let fitting: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|&i| self.fits(i, rec.valid))
            .collect();
        match fitting.as_slice() {
            [only] => Ok(*only),
            _ => Err(allowed),
        }
    }

    fn fits(&self, index: usize, couriers: CourierSet) -> bool {
        self.provider(index)
            .is_some_and(|p| !p.couriers.intersection(couriers).is_empty())
    }

    /// The allowed providers the tracking number's valid formats point at.
    fn infer(&self, rec: Recognition, accepted: Accepted<'_>) -> Result<usize, Vec<usize>> {
        if rec.valid.is_empty() {
            return Err(Vec::new());
        }
        let candidates: Vec<usize> = (0..self.providers.len())
            .filter(|&i| accepted.has(i) && self.fits(i, rec.valid))
            .collect();
        match candidates.as_slice() {
            [only] => Ok(*only),
            _ => Err(candidates),
        }
    }

    /// Up to three allowed providers close to the name, or fitting the tracking number when there is no
    /// name to compare. Closeness is the Dice coefficient of the names' letter pairs, or one name
    /// starting with the other.
    fn suggest(&self, key: &str, rec: Recognition, accepted: Accepted<'_>) -> Vec<usize> {
        const MAX: usize = 3;
        let allowed = (0..self.providers.len()).filter(|&i| accepted.has(i));
        if key.is_empty() || key == OTHER {
            let couriers = rec.valid.union(rec.bad_check);
            return allowed
                .filter(|&i| self.fits(i, couriers))
                .take(MAX)
                .collect();
        }
        let sig = Signature::of(key);
        let mut scored: Vec<(u32, usize)> = Vec::new();
        for (name, name_sig, indexes) in &self.signatures {
            let prefix = key.len() >= 3
                && name.len() >= 3
                && (name.starts_with(key) || key.starts_with(&**name));
            let dice = sig.dice(*name_sig);
            if prefix || dice >= 500 {
                let score = if prefix { dice.max(900) } else { dice };
                scored.extend(
                    indexes
                        .iter()
                        .filter(|&&i| accepted.has(i))
                        .map(|&i| (score, i)),
                );
            }
        }
        // The best three, the first seen winning ties.
        let mut out = Vec::with_capacity(MAX);
        while out.len() < MAX {
            let best = scored
                .iter()
                .filter(|(_, i)| !out.contains(i))
                .min_by_key(|(score, _)| std::cmp::Reverse(*score));
            match best {
                Some(&(_, i)) => out.push(i),
                None => break,
            }
        }
        out
    }
}

/// The letter pairs of a normalized name, as a 64-bit set, for a quick similarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Signature {
    bits: u64,
}

impl Signature {
    fn of(key: &str) -> Self {
        let mut bits = 0u64;
        let mut prev: Option<char> = None;
        for c in key.chars() {
            let pair = prev.map_or(u32::from(c), |p| {
                u32::from(p).wrapping_mul(31).wrapping_add(u32::from(c))
            });
            bits |= 1 << (pair % 64);
            prev = Some(c);
        }
        Self { bits }
    }

    /// The Dice coefficient with another signature, in thousandths.
    fn dice(self, other: Self) -> u32 {
        let total = self.bits.count_ones() + other.bits.count_ones();
        if total == 0 {
            return 0;
        }
        2000 * (self.bits & other.bits).count_ones() / total
    }
}

/// A tracking number cleaned for the push, and what the cleaning found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingNumber {
    /// The number without whitespace, and without separators when that made it a known format's.
    pub number: String,
    /// Its recognition.
    pub recognition: Recognition,
    /// Whether TikTok Shop would take it as it is: letters and digits only, within the length bound.
    pub pushable: bool,
    /// The number as sent, when dashes or dots were taken out of it and the provider is yet to say
    /// whether that stands ([`settle_separators`]).
    pub separators_in: Option<String>,
}

/// The longest tracking number pushed, in characters (Unicode scalar values), on every path: a webhook's
/// fulfillment, the merchant's edit, the JS API.
///
/// TikTok Shop's partner docs give `tracking_number` no length (Mark Package As Shipped, Ship Package,
/// Update Package Shipping Info: a required string; archived API reference, 2025-12). The longest number
/// of any format the engine knows is a USPS IMpb with its ZIP routing code, 34 characters; 64 leaves room
/// for formats it does not know while refusing what cannot be a tracking number at all.
pub const MAX_TRACKING_NUMBER_CHARS: usize = 64;

/// Cleans the tracking number as TikTok Shop will read it (letters and digits only, 21004012):
/// whitespace is removed (info); dashes and dots are removed when what remains is a valid number of a
/// known format (info, `tracking.separators_removed`); any other character is an error naming the cleaned
/// candidate. A number longer than [`MAX_TRACKING_NUMBER_CHARS`] is an error. Returns `None` with
/// `tracking.missing` when there is no number.
pub fn clean_tracking_number(
    raw: Option<&str>,
    field: &'static str,
    out: &mut Vec<Diagnostic>,
) -> Option<TrackingNumber> {
    let raw = raw.unwrap_or("");
    let mut number: String = if raw.chars().any(char::is_whitespace) {
        raw.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        raw.to_owned()
    };
    if number.is_empty() {
        out.push(Diagnostic::new(Code::TrackingMissing, Some(field), None));
        return None;
    }
    if number.len() != raw.len() {
        out.push(Diagnostic::new(Code::TrackingWhitespace, Some(field), None));
    }
    if number.chars().nth(MAX_TRACKING_NUMBER_CHARS).is_some() {
        // No carrier's format is that long.
        out.push(Diagnostic::new(Code::TrackingTooLong, Some(field), None));
        return Some(TrackingNumber {
            number,
            recognition: Recognition::default(),
            pushable: false,
            separators_in: None,
        });
    }
    let mut pushable = true;
    let mut separators_in = None;
    if !is_alphanumeric(&number) {
        let without_separators: String =
            number.chars().filter(|c| !matches!(c, '-' | '.')).collect();
        let cleaned = |cleaned: Option<String>| Data::Cleaned {
            tracking_number: raw.to_owned(),
            cleaned,
        };
        if is_alphanumeric(&without_separators)
            && !tracking::recognize(&without_separators).valid.is_empty()
        {
            // Whether they go depends on the carrier: see `settle_separators`.
            separators_in = Some(raw.to_owned());
            number = without_separators;
        } else {
            let letters_and_digits: String =
                number.chars().filter(char::is_ascii_alphanumeric).collect();
            let suggestion = known_number_within(&letters_and_digits, None)
                .map(str::to_owned)
                .or_else(|| Some(letters_and_digits).filter(|s| !s.is_empty()));
            out.push(Diagnostic::new(
                Code::TrackingInvalidCharacters,
                Some(field),
                Some(cleaned(suggestion)),
            ));
            pushable = false;
        }
    }
    let recognition = tracking::recognize(&number);
    Some(TrackingNumber {
        number,
        recognition,
        pushable,
        separators_in,
    })
}

/// Once the provider is known: dashes and dots taken out of a number go for good when what remains is a
/// number of the provider's own formats (info); otherwise the number is refused as TikTok Shop would
/// refuse it, with the cleaned candidate.
pub fn settle_separators(
    tracking: &mut TrackingNumber,
    provider: Option<&Provider>,
    field: &'static str,
    out: &mut Vec<Diagnostic>,
) {
    let Some(raw) = tracking.separators_in.take() else {
        return;
    };
    let own = provider.map_or(CourierSet::EMPTY, |p| p.couriers);
    let code = if own.intersection(tracking.recognition.valid).is_empty() {
        tracking.pushable = false;
        Code::TrackingInvalidCharacters
    } else {
        Code::TrackingSeparatorsRemoved
    };
    out.push(Diagnostic::new(
        code,
        Some(field),
        Some(Data::Cleaned {
            tracking_number: raw,
            cleaned: Some(tracking.number.clone()),
        }),
    ));
}

fn is_alphanumeric(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A valid number of a known format (of `couriers`, when given) inside `text` once letters around it
/// are taken away (a label like `AWB`, a carrier's name): the longest such, or `None`.
fn known_number_within(text: &str, couriers: Option<CourierSet>) -> Option<&str> {
    let fits = |candidate: &str| {
        let valid = tracking::recognize(candidate).valid;
        match couriers {
            Some(own) => !own.intersection(valid).is_empty(),
            None => !valid.is_empty(),
        }
    };
    if fits(text) {
        return Some(text);
    }
    let bytes = text.as_bytes();
    let lead = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let trail = bytes
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    // Longest first: the fewest letters taken away.
    let mut best: Option<&str> = None;
    for start in 0..=lead {
        for end in (text.len().saturating_sub(trail)..=text.len()).rev() {
            let Some(candidate) = text.get(start..end) else {
                continue;
            };
            if candidate.len() < text.len()
                && best.is_none_or(|b| candidate.len() > b.len())
                && fits(candidate)
            {
                best = Some(candidate);
            }
        }
    }
    best
}

/// Checks the number's format against the resolved provider's couriers: a failed check digit on the
/// carrier's own format, or on a UPU S10 number whatever the carrier, is an error; the carrier's number
/// with other text around it is an error; formats that all belong to other carriers are a warning, and so
/// is a number of none of the carrier's known formats.
pub fn check_number_fits(
    index: &CarrierIndex,
    provider: &Provider,
    tracking: &TrackingNumber,
    field: &'static str,
    out: &mut Vec<Diagnostic>,
) {
    let rec = tracking.recognition;
    let own = provider.couriers;
    if !own.intersection(rec.valid).is_empty() || !tracking.pushable {
        return;
    }
    let data = |couriers: CourierSet| Data::Tracking {
        tracking_number: tracking.number.clone(),
        carriers: index.courier_names(couriers),
    };
    let own_bad = own.intersection(rec.bad_check);
    if !own_bad.is_empty() || rec.s10_bad_check {
        let couriers = if own_bad.is_empty() {
            rec.bad_check
        } else {
            own_bad
        };
        out.push(Diagnostic::new(
            Code::TrackingInvalidCheckDigit,
            Some(field),
            Some(data(couriers)),
        ));
    } else if own.is_empty() {
        // A carrier whose formats we do not know: nothing more to say.
    } else if let Some(inner) = known_number_within(&tracking.number, Some(own)) {
        out.push(Diagnostic::new(
            Code::TrackingExtraText,
            Some(field),
            Some(Data::Cleaned {
                tracking_number: tracking.number.clone(),
                cleaned: Some(inner.to_owned()),
            }),
        ));
    } else if !rec.valid.is_empty() {
        out.push(Diagnostic::new(
            Code::TrackingCarrierMismatch,
            Some(field),
            Some(data(rec.valid)),
        ));
    } else {
        out.push(Diagnostic::new(
            Code::TrackingUnknownFormat,
            Some(field),
            Some(data(own)),
        ));
    }
}

impl CarrierIndex {
    /// The names of the region's providers for some couriers, or the couriers' own names when the region
    /// has no provider for them.
    fn courier_names(&self, couriers: CourierSet) -> Vec<String> {
        couriers
            .iter()
            .map(|c: Courier| {
                self.providers
                    .iter()
                    .find(|p| p.couriers.contains(c))
                    .map_or_else(|| c.name().to_owned(), |p| p.name.clone())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeliveryOptionProviders, ShippingProvider};

    fn index(region: Region, mappings: &[(&str, &str)]) -> CarrierIndex {
        let mut settings = Settings::new(region);
        settings.carrier_mappings = mappings
            .iter()
            .map(|(from, to)| CarrierMapping {
                from: (*from).into(),
                to: (*to).into(),
            })
            .collect();
        CarrierIndex::new(&settings).unwrap()
    }

    fn name_of(index: &CarrierIndex, r: &Resolution) -> String {
        match r {
            Resolution::Resolved { provider, .. } => {
                index.provider(*provider).unwrap().name.clone()
            }
            Resolution::Unresolved(d) => d.code.as_str().to_owned(),
        }
    }

    #[test]
    fn resolves_in_order() {
        let idx = index(
            Region::Us,
            &[
                ("Other", "Cainiao US"),
                ("My Courier", "7117859084333745966"),
            ],
        );
        let none = Recognition::default();
        let f = "f";
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("Lasership"), none, f)),
            "LaserShip"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("fed-ex HOME delivery"), none, f)),
            "FedEx"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("USPS Priority Mail"), none, f)),
            "USPS"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("UPS SurePost"), none, f)),
            "UPS"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("other"), none, f)),
            "Cainiao US"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("my-courier"), none, f)),
            "UPS"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("Bob's Trucks"), none, f)),
            "carrier.not_integrated"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(None, none, f)),
            "carrier.missing"
        );
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("DHL"), none, f)),
            "carrier.ambiguous"
        );
    }

    #[test]
    fn suggests_close_providers() {
        let idx = index(Region::Us, &[]);
        let Resolution::Unresolved(d) = idx.resolve(Some("Fedx"), Recognition::default(), "f")
        else {
            panic!("resolved");
        };
        let Some(Data::Carrier { suggestions, .. }) = &d.data else {
            panic!()
        };
        assert_eq!(suggestions[0].name, "FedEx");
    }

    #[test]
    fn an_options_accepted_providers_are_its_list() {
        let mut settings = Settings::new(Region::Us);
        settings.delivery_option_providers = vec![DeliveryOptionProviders {
            delivery_option_id: "DO1".to_owned(),
            providers: vec![ShippingProvider {
                id: "7117859084333745966".to_owned(),
                name: "UPS".to_owned(),
            }],
        }];
        let index = CarrierIndex::new(&settings).unwrap();
        let names = |option| {
            index
                .accepted_providers(option)
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Some("DO1")), ["UPS"]);
        assert!(index.restricts(Some("DO1")));
        assert!(!index.restricts(Some("DO2")) && !index.restricts(None));
        assert_eq!(
            names(Some("DO2")).len(),
            catalog::providers(Region::Us).len()
        );
        assert_eq!(names(None).len(), catalog::providers(Region::Us).len());
    }

    #[test]
    fn only_delivery_option_providers_count() {
        let mut settings = Settings::new(Region::Us);
        settings.shipping_providers = Some(vec![ShippingProvider {
            id: "7117858858072016686".into(),
            name: "USPS".into(),
        }]);
        let idx = CarrierIndex::new(&settings).unwrap();
        let none = Recognition::default();
        assert_eq!(name_of(&idx, &idx.resolve(Some("USPS"), none, "f")), "USPS");
        assert_eq!(
            name_of(&idx, &idx.resolve(Some("UPS"), none, "f")),
            "carrier.not_in_delivery_option"
        );
    }

    #[test]
    fn unknown_mapping_target_is_an_input_error() {
        let mut settings = Settings::new(Region::Uk);
        settings.carrier_mappings = vec![CarrierMapping {
            from: "x".into(),
            to: "Nope".into(),
        }];
        let e = CarrierIndex::new(&settings).unwrap_err();
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.unknown_provider", "carrierMappings[0].to")
        );
    }
}
