//! Where a Shopify order keeps its TikTok Shop order id: the resolver chain.
//!
//! Connectors leave the id in different places (EcomSend in the order's additional details; AfterShip
//! Feed in the note, the order name with a prefix or suffix, and tags; see `TTS_FACTS.md`). The chain
//! reads them in this order, and the first place holding a candidate that TikTok Shop confirms wins:
//! 1. the app's own order metafield (written once a link is confirmed);
//! 2. the order's additional details (`customAttributes`) under a key connectors use ("TikTok order
//!    id", "TTS Order ID", "tiktok_order_id", …);
//! 3. the order note; 4. its tags; 5. its name; 6. its source identifier.
//!
//! A candidate is a run of 18 or 19 digits (TikTok Shop order ids are decimal strings such as
//! `576461413038785752`, the partner docs' samples; newer ids reach 19 digits). It is confirmed when
//! TikTok Shop has the order and its items share a SKU with the Shopify order's.

use super::admin::ShopifyOrder;

/// Where a candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The app's own order metafield.
    Metafield,
    /// The order's additional details.
    CustomAttributes,
    /// The order note.
    Note,
    /// The order's tags.
    Tags,
    /// The order's name.
    Name,
    /// The order's source identifier.
    SourceIdentifier,
    /// TikTok Shop's external order reference of the Shopify order (Search Order by External Order
    /// Reference), asked when no place of the order links.
    ExternalReference,
    /// Set by the merchant (an override the chain never replaces).
    Manual,
}

impl Source {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Metafield => "metafield",
            Self::CustomAttributes => "customAttributes",
            Self::Note => "note",
            Self::Tags => "tags",
            Self::Name => "name",
            Self::SourceIdentifier => "sourceIdentifier",
            Self::ExternalReference => "externalOrder",
            Self::Manual => "manual",
        }
    }

    /// How the merchant reads it.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Metafield => "the app's order metafield",
            Self::CustomAttributes => "the order's additional details",
            Self::Note => "the order note",
            Self::Tags => "the order tags",
            Self::Name => "the order name",
            Self::SourceIdentifier => "the order's source identifier",
            Self::ExternalReference => "TikTok Shop's external order reference",
            Self::Manual => "a manual link",
        }
    }
}

/// The candidates of one place: distinct ids, in the order found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidates {
    /// Where.
    pub source: Source,
    /// The ids.
    pub ids: Vec<String>,
}

/// The most ids one place may name before it is ignored as noise (a note listing many numbers).
const MAX_IDS_PER_SOURCE: usize = 5;

/// Whether `s` is a TikTok Shop order id: 18 or 19 ASCII digits.
#[must_use]
pub fn is_order_id(s: &str) -> bool {
    (18..=19).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// The runs of 18–19 digits in `text` (a longer run of digits is no order id).
fn ids_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| is_order_id(run))
        .map(str::to_owned)
        .collect()
}

/// A key of the additional details lowercased with only its letters and digits.
fn squash(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether an additional-details key names a TikTok Shop order: it names TikTok (or TTS) and an order,
/// or a marketplace/channel order id.
fn is_order_key(key: &str) -> bool {
    let k = squash(key);
    let tiktok = k.contains("tiktok") || k.starts_with("tts");
    let order = k.contains("order");
    (tiktok && order)
        || [
            "marketplaceorderid",
            "marketplaceordernumber",
            "channelorderid",
            "externalorderid",
        ]
        .contains(&k.as_str())
}

/// Whether a tag speaks of TikTok Shop (`TikTok`, `TTS`, `tiktok_order:…`).
fn tiktok_tag(tag: &str) -> bool {
    let k = squash(tag);
    k.contains("tiktok") || k.starts_with("tts")
}

fn push_distinct(out: &mut Vec<String>, ids: impl IntoIterator<Item = String>) {
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
}

/// The candidates of each place, in the chain's order; places holding none are left out, and so are
/// places naming more than a few ids.
#[must_use]
pub fn candidates(order: &ShopifyOrder) -> Vec<Candidates> {
    let mut chain = Vec::new();
    let mut add = |source, ids: Vec<String>| {
        let mut distinct = Vec::new();
        push_distinct(&mut distinct, ids);
        if !distinct.is_empty() && distinct.len() <= MAX_IDS_PER_SOURCE {
            chain.push(Candidates {
                source,
                ids: distinct,
            });
        }
    };
    add(
        Source::Metafield,
        order
            .linked_order_id()
            .map(str::trim)
            .filter(|v| is_order_id(v))
            .map(str::to_owned)
            .into_iter()
            .collect(),
    );
    add(
        Source::CustomAttributes,
        order
            .custom_attributes
            .iter()
            .filter(|a| is_order_key(&a.key))
            .filter_map(|a| a.value.as_deref())
            .flat_map(ids_in)
            .collect(),
    );
    add(
        Source::Note,
        order.note.as_deref().map(ids_in).unwrap_or_default(),
    );
    // A tag that is an id alone, or one that names TikTok Shop with the id in it.
    add(
        Source::Tags,
        order
            .tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| is_order_id(t) || tiktok_tag(t))
            .flat_map(ids_in)
            .collect(),
    );
    add(Source::Name, ids_in(&order.name));
    add(
        Source::SourceIdentifier,
        order
            .source_identifier
            .as_deref()
            .map(ids_in)
            .unwrap_or_default(),
    );
    chain
}

/// What TikTok Shop says of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// The order exists and shares a SKU with the Shopify order.
    Confirmed,
    /// TikTok Shop has no such order.
    NotFound,
    /// The order exists but none of its SKUs is the Shopify order's.
    ItemsDiffer,
}

/// What the chain decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Linked to this order, found there.
    Linked {
        /// The TikTok Shop order id.
        order_id: String,
        /// Where it was found.
        source: Source,
    },
    /// Not linked: a stable code and the reason, for the merchant.
    NotLinked {
        /// `link.no_candidate`, `link.ambiguous`, `link.not_found` or `link.items_differ`.
        code: &'static str,
        /// Why, naming the place and the ids.
        reason: String,
    },
}

/// Every id the chain may ask TikTok Shop about, once each.
#[must_use]
pub fn all_ids(chain: &[Candidates]) -> Vec<String> {
    let mut ids = Vec::new();
    for c in chain {
        push_distinct(&mut ids, c.ids.iter().cloned());
    }
    ids
}

/// Walks the chain with TikTok Shop's answer for each id (`check`): the first place with exactly one
/// confirmed id links; a place with several confirmed ids is ambiguous and stops the chain; places
/// whose ids are all refused are passed over, and the first refusal is the reason when nothing links.
pub fn resolve(chain: &[Candidates], check: impl Fn(&str) -> Check) -> Resolution {
    let mut refusal: Option<(&'static str, String)> = None;
    for place in chain {
        let confirmed: Vec<&String> = place
            .ids
            .iter()
            .filter(|id| {
                let answer = check(id);
                if refusal.is_none() {
                    refusal = match answer {
                        Check::Confirmed => None,
                        Check::NotFound => Some((
                            "link.not_found",
                            format!(
                                "{} names TikTok Shop order {id}, which TikTok Shop does not have.",
                                capitalized(place.source.label())
                            ),
                        )),
                        Check::ItemsDiffer => Some((
                            "link.items_differ",
                            format!(
                                "{} names TikTok Shop order {id}, whose items are not this order's.",
                                capitalized(place.source.label())
                            ),
                        )),
                    };
                }
                answer == Check::Confirmed
            })
            .collect();
        match confirmed.as_slice() {
            [one] => {
                return Resolution::Linked {
                    order_id: (*one).clone(),
                    source: place.source,
                }
            }
            [] => {}
            several => {
                let ids: Vec<&str> = several.iter().map(|s| s.as_str()).collect();
                return Resolution::NotLinked {
                    code: "link.ambiguous",
                    reason: format!(
                        "{} names several TikTok Shop orders with these items ({}): link the right one by hand.",
                        capitalized(place.source.label()),
                        ids.join(", ")
                    ),
                };
            }
        }
    }
    let (code, reason) = refusal.unwrap_or_else(|| {
        (
            "link.no_candidate",
            "No TikTok Shop order id was found in the order's metafield, additional details, note, \
             tags, name or source identifier."
                .to_owned(),
        )
    });
    Resolution::NotLinked { code, reason }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "576461413038785752";
    const B: &str = "5764614130387857521";

    fn order(
        note: Option<&str>,
        tags: &[&str],
        attributes: &[(&str, &str)],
        name: &str,
        source_identifier: Option<&str>,
        metafield: Option<&str>,
    ) -> ShopifyOrder {
        ShopifyOrder::for_linking(
            name,
            note,
            tags,
            attributes,
            source_identifier,
            metafield,
            &["SKU-1"],
        )
    }

    #[test]
    fn each_place_is_read_in_the_chains_order() {
        let o = order(
            Some(&format!("TikTok order {B}")),
            &["TikTok", &format!("TTS-{A}")],
            &[("TikTok order id", A), ("Gift message", B)],
            &format!("#TT{A}"),
            Some(A),
            Some(B),
        );
        let chain = candidates(&o);
        let sources: Vec<Source> = chain.iter().map(|c| c.source).collect();
        assert_eq!(
            sources,
            [
                Source::Metafield,
                Source::CustomAttributes,
                Source::Note,
                Source::Tags,
                Source::Name,
                Source::SourceIdentifier
            ]
        );
        // A key that is not an order key is not read.
        assert_eq!(chain[1].ids, [A]);
        assert_eq!(all_ids(&chain), [B, A]);
    }

    #[test]
    fn only_18_or_19_digits_make_an_id() {
        assert_eq!(
            ids_in("17 digits 12345678901234567, 20: 12345678901234567890"),
            Vec::<String>::new()
        );
        assert_eq!(ids_in(&format!("a{A}b")), [A]);
        let o = order(
            None,
            &["1001", "wholesale 576461413038785752"],
            &[],
            "#1001",
            None,
            None,
        );
        // A tag naming neither TikTok Shop nor being an id alone is not read.
        assert!(candidates(&o).is_empty());
        assert!(is_order_key("TTS Order ID") && is_order_key("tiktok_order_number"));
        assert!(!is_order_key("Order note") && !is_order_key("TikTok handle"));
    }

    #[test]
    fn the_first_confirmed_place_links_and_refusals_are_passed_over() {
        let o = order(Some(B), &[A], &[], "#1", None, None);
        let chain = candidates(&o);
        // The note's id is refused, the tag's confirmed.
        let resolved = resolve(&chain, |id| {
            if id == A {
                Check::Confirmed
            } else {
                Check::NotFound
            }
        });
        assert_eq!(
            resolved,
            Resolution::Linked {
                order_id: A.into(),
                source: Source::Tags
            }
        );
        // Nothing confirmed: the first refusal is the reason.
        let resolved = resolve(&chain, |id| {
            if id == A {
                Check::ItemsDiffer
            } else {
                Check::NotFound
            }
        });
        assert!(
            matches!(resolved, Resolution::NotLinked { code: "link.not_found", ref reason } if reason.contains(B) && reason.starts_with("The order note"))
        );
    }

    #[test]
    fn two_confirmed_ids_in_one_place_are_ambiguous_and_one_is_not() {
        let o = order(Some(&format!("{A} / {B}")), &[], &[], "#1", None, None);
        let chain = candidates(&o);
        let resolved = resolve(&chain, |_| Check::Confirmed);
        assert!(matches!(
            resolved,
            Resolution::NotLinked {
                code: "link.ambiguous",
                ..
            }
        ));
        let resolved = resolve(&chain, |id| {
            if id == B {
                Check::Confirmed
            } else {
                Check::NotFound
            }
        });
        assert_eq!(
            resolved,
            Resolution::Linked {
                order_id: B.into(),
                source: Source::Note
            }
        );
        let empty = order(None, &[], &[], "#1", None, None);
        assert!(matches!(
            resolve(&candidates(&empty), |_| Check::Confirmed),
            Resolution::NotLinked {
                code: "link.no_candidate",
                ..
            }
        ));
    }
}
