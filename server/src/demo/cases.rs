//! The demo's cases and their stories: what each fulfillment went through before the merchant opens
//! the widget, told to the driver step by step.

use axum::http::StatusCode;

use preflight::carrier::tracking::{recognize, Courier};

use super::data::{
    fulfillment_id, hours, minutes, off_by_one, product, seed_error, Ago, Case, Digits, Product,
    ECONOMY_DELIVERY, MAPPING_FROM, STANDARD_DELIVERY, UPS_ID, USPS_ID, WALK_CHECK_DIGIT,
    WALK_CHECK_DIGIT_FIX, WALK_MAPPING, WALK_MAPPING_TWIN, WALK_RECHECK, WALK_RECHECK_NAME,
    WALK_XSS, XSS_CARRIER,
};
use super::driver::Seeder;
use crate::error::ApiError;

pub(super) const TEE_BLACK: Product = product(
    "Organic Cotton Tee",
    "Black / M",
    "TEE-BLK-M",
    "28.00",
    44_871_236_501_011,
);
pub(super) const TEE_WHITE: Product = product(
    "Organic Cotton Tee",
    "White / L",
    "TEE-WHT-L",
    "28.00",
    44_871_236_501_012,
);
pub(super) const SOCKS: Product = product(
    "Merino Crew Socks",
    "3-Pack / M",
    "SOCK-MER-3P-M",
    "24.00",
    44_871_236_501_020,
);
pub(super) const TOTE: Product = product(
    "Canvas Tote Bag",
    "Natural",
    "TOTE-NAT",
    "32.00",
    44_871_236_501_031,
);
pub(super) const POUR_OVER: Product = product(
    "Ceramic Pour-Over Set",
    "Matte White",
    "POUR-WHT",
    "54.00",
    44_871_236_501_042,
);
pub(super) const MUG: Product = product(
    "Stoneware Mug",
    "Speckled / 12 oz",
    "MUG-SPK-12",
    "22.00",
    44_871_236_501_053,
);
pub(super) const PILLOW: Product = product(
    "Linen Throw Pillow Cover",
    "Sage / 18x18",
    "PIL-SAG-18",
    "38.00",
    44_871_236_501_064,
);
pub(super) const CANDLE: Product = product(
    "Beeswax Candle",
    "Honey / 8 oz",
    "CNDL-HNY-8",
    "19.00",
    44_871_236_501_075,
);
pub(super) const BOARD: Product = product(
    "Bamboo Cutting Board",
    "Large",
    "BRD-BMB-L",
    "45.00",
    44_871_236_501_086,
);
pub(super) const BEANIE: Product = product(
    "Wool Beanie",
    "Charcoal",
    "BEAN-CHR",
    "26.00",
    44_871_236_501_097,
);
pub(super) const BOTTLE: Product = product(
    "Recycled Water Bottle",
    "Sea Blue / 24 oz",
    "BTL-SEA-24",
    "30.00",
    44_871_236_501_108,
);
pub(super) const CARD_HOLDER: Product = product(
    "Leather Card Holder",
    "Tan",
    "CARD-TAN",
    "35.00",
    44_871_236_501_119,
);

/// An error of the seed itself.
/// The order number of [`WALK_CHECK_DIGIT`].
const TYPO_NUMBER: u32 = 1069;

/// A case on the standard delivery option.
pub(super) fn case(
    number: u32,
    carrier: &'static str,
    tracking: String,
    lines: &[(Product, u32)],
    created: Ago,
) -> Case {
    Case {
        number,
        carrier,
        tracking,
        lines: lines.to_vec(),
        delivery_option: STANDARD_DELIVERY,
        created,
    }
}

pub(super) async fn seed_cases(s: &mut Seeder<'_>) -> Result<(), ApiError> {
    let mut d = Digits(0x5eed_1042);
    let ok = StatusCode::OK;

    // Synced: pushed through the real sync, hours to days ago.
    let synced = [
        case(1001, "UPS", d.ups()?, &[(TEE_BLACK, 1)], hours(52)),
        case(1003, "UPS", d.ups()?, &[(SOCKS, 2)], hours(47)),
        case(
            1004,
            "FedEx",
            d.fedex()?,
            &[(POUR_OVER, 1), (MUG, 2)],
            hours(30),
        ),
        case(1006, "Amazon", d.amazon()?, &[(TOTE, 1)], hours(26)),
        case(1008, "FedEx", d.fedex()?, &[(CANDLE, 3)], hours(20)),
        case(
            1009,
            "UPS",
            d.ups()?,
            &[(BEANIE, 1), (CARD_HOLDER, 1)],
            hours(9),
        ),
        case(1011, "OnTrac", d.ontrac()?, &[(BOARD, 1)], hours(4)),
        case(
            1013,
            "FedEx Home Delivery",
            d.fedex()?,
            &[(PILLOW, 2)],
            hours(2),
        ),
    ];
    let duplicated = synced
        .first()
        .map(|c| c.tracking.clone())
        .unwrap_or_default();
    for c in &synced {
        s.create(c, minutes(c.created.minutes - 5)).await?;
        expect(s.sync(c, minutes(c.created.minutes - 10)).await?, ok, c)?;
    }
    // Synced after its one tracking update.
    let updated = case(1015, "FedEx", d.fedex()?, &[(BOTTLE, 1)], hours(40));
    s.create(&updated, hours(40)).await?;
    expect(s.sync(&updated, hours(40)).await?, ok, &updated)?;
    let second = d.fedex()?;
    s.webhook(&updated, &second, hours(38)).await?;
    expect(s.sync(&updated, hours(38)).await?, ok, &updated)?;

    // tracking.update_limit_reached: shipped, its one update spent, and Shopify has yet another number.
    for (c, shipped, fixed, next) in [
        (
            case(1014, "UPS", d.ups()?, &[(TEE_WHITE, 1)], hours(50)),
            hours(50),
            hours(44),
            d.ups()?,
        ),
        (
            case(
                1019,
                "FedEx",
                d.fedex()?,
                &[(MUG, 1), (CANDLE, 1)],
                hours(30),
            ),
            hours(30),
            hours(28),
            d.fedex()?,
        ),
    ] {
        s.create(&c, shipped).await?;
        expect(s.sync(&c, shipped).await?, ok, &c)?;
        let between = if c.carrier == "UPS" {
            d.ups()?
        } else {
            d.fedex()?
        };
        s.webhook(&c, &between, fixed).await?;
        expect(s.sync(&c, fixed).await?, ok, &c)?;
        s.webhook(&c, &next, minutes(25)).await?;
    }

    // tracking.update_window_expired: pushed about four days ago, a new number now.
    for (c, next) in [
        (
            case(1002, "FedEx", d.fedex()?, &[(BOARD, 1)], hours(96)),
            d.fedex()?,
        ),
        (
            case(1005, "UPS", d.ups()?, &[(SOCKS, 1), (TOTE, 1)], hours(100)),
            d.ups()?,
        ),
    ] {
        s.create(&c, c.created).await?;
        expect(s.sync(&c, c.created).await?, ok, &c)?;
        s.webhook(&c, &next, minutes(40)).await?;
    }

    // Ready update with the window closing in about five hours: the only update left.
    let closing = case(1007, "UPS", d.ups()?, &[(PILLOW, 1)], hours(67));
    s.create(&closing, hours(67)).await?;
    expect(s.sync(&closing, hours(67)).await?, ok, &closing)?;
    let next = d.ups()?;
    s.webhook(&closing, &next, minutes(15)).await?;

    // Shipped from Seller Center, never by us. #1021: one of its two items went out in a package
    // (line_items.already_fulfilled). #1024: both went out in a package of exactly them, so Shopify's
    // number is that package's one tracking update.
    for (c, shipped, theirs, provider) in [
        (
            case(1021, "UPS", d.ups()?, &[(BEANIE, 1), (SOCKS, 1)], hours(6)),
            1,
            d.usps()?,
            USPS_ID,
        ),
        (
            case(1024, "FedEx", d.fedex()?, &[(TEE_BLACK, 2)], hours(5)),
            2,
            d.ups()?,
            UPS_ID,
        ),
    ] {
        s.add_order(c.order());
        let units = c.unit_ids().into_iter().take(shipped).collect();
        s.ship_in_seller_center(&c, units, &theirs, provider, hours(30))?;
        s.create_fulfillment(&c, c.created).await?;
        s.link(&c, c.created).await?;
    }

    // Order states TikTok Shop refuses.
    let cancelled = case(1026, "UPS", d.ups()?, &[(BOTTLE, 1)], hours(8));
    let mut order = cancelled.order();
    order.status = "CANCELLED".to_owned();
    s.create_with(&cancelled, order).await?;

    let by_tiktok = case(1027, "USPS", d.usps()?, &[(CARD_HOLDER, 1)], hours(7));
    let mut order = by_tiktok.order();
    order.fulfillment_type = Some("FULFILLMENT_BY_TIKTOK".to_owned());
    order.shipping_type = Some("TIKTOK".to_owned());
    s.create_with(&by_tiktok, order).await?;

    let cancel_asked = case(1029, "FedEx", d.fedex()?, &[(MUG, 1)], hours(3));
    let mut order = cancel_asked.order();
    order.is_buyer_request_cancel = true;
    s.create_with(&cancel_asked, order).await?;

    let on_hold = case(1030, "UPS", d.ups()?, &[(TOTE, 2)], minutes(30));
    let mut order = on_hold.order();
    order.status = "ON_HOLD".to_owned();
    order.is_on_hold_order = true;
    s.create_with(&on_hold, order).await?;

    // carrier.not_integrated (and carrier.missing): free text TikTok Shop cannot resolve.
    let xss = case(1063, XSS_CARRIER, d.ups()?, &[(SOCKS, 1)], minutes(50));
    for c in [
        case(
            1031,
            "Bob's Local Courier",
            format!("BLC{}", d.take(9)),
            &[(CANDLE, 2)],
            hours(5),
        ),
        case(
            1032,
            "Other",
            format!("LOC{}", d.take(8)),
            &[(BOARD, 1)],
            hours(4),
        ),
        case(
            1033,
            "Fedx",
            d.fedex()?,
            &[(TEE_WHITE, 1), (BEANIE, 1)],
            hours(3),
        ),
        case(
            1035,
            "Sunrise Courier Co.",
            format!("SRC{}", d.take(10)),
            &[(POUR_OVER, 1)],
            hours(2),
        ),
    ] {
        s.create(&c, c.created).await?;
    }

    // Fixed by one carrier mapping: the 3PL's own name on labels UPS delivers.
    let mapping = case(1053, MAPPING_FROM, d.ups()?, &[(MUG, 2)], hours(3));
    let twin = case(
        1054,
        MAPPING_FROM,
        d.ups()?,
        &[(TOTE, 1), (CANDLE, 1)],
        hours(2),
    );
    for c in [&twin, &mapping] {
        s.create(c, c.created).await?;
    }

    // carrier.not_in_delivery_option: the economy delivery option offers USPS and UPS only, as
    // TikTok Shop lists its providers.
    for c in [
        Case {
            delivery_option: ECONOMY_DELIVERY,
            ..case(1041, "FedEx", d.fedex()?, &[(PILLOW, 1)], hours(6))
        },
        Case {
            delivery_option: ECONOMY_DELIVERY,
            ..case(1044, "Amazon", d.amazon()?, &[(BOTTLE, 2)], hours(5))
        },
    ] {
        s.create(&c, c.created).await?;
    }

    // sync_failed: the preview is fine, TikTok Shop refuses the push. A number pasted from another
    // order: TikTok Shop holds it on another package already.
    let failed = case(1046, "UPS", duplicated, &[(TEE_BLACK, 1)], hours(1));
    s.create(&failed, failed.created).await?;
    expect(
        s.sync(&failed, minutes(failed.created.minutes - 5)).await?,
        ok,
        &failed,
    )?;

    // Ready to ship.
    let other_ups = d.ups()?;
    for c in [
        case(1048, "FedEx", d.fedex()?, &[(BEANIE, 1)], hours(3)),
        case(1049, "UPS", d.ups()?, &[(TEE_BLACK, 3)], hours(2)),
        case(
            1050,
            "FedEx",
            d.fedex()?,
            &[(POUR_OVER, 1), (MUG, 1), (BOARD, 1)],
            minutes(100),
        ),
        case(
            1051,
            "Lasership",
            d.lasership()?,
            &[(CARD_HOLDER, 1)],
            minutes(80),
        ),
        case(1052, "Other", other_ups, &[(SOCKS, 2)], minutes(70)),
        case(1057, "Amazon", d.amazon()?, &[(BOTTLE, 1)], minutes(20)),
    ] {
        s.create(&c, c.created).await?;
    }

    // carrier.usps_self_shipping_not_allowed: a USPS label bought in Shopify, which TikTok Shop US
    // refuses since 2026-01-01 (only TikTok Shipping's USPS labels count).
    let usps = case(
        1055,
        "USPS Priority Mail",
        d.usps()?,
        &[(PILLOW, 1), (CANDLE, 2)],
        minutes(45),
    );
    s.create(&usps, usps.created).await?;

    // tracking.invalid_check_digit: a UPS number one digit off (the walk's), and a FedEx one.
    let fedex_typo = off_by_one(&d.fedex()?, Courier::Fedex)?;
    if !recognize(WALK_CHECK_DIGIT_FIX).valid.contains(Courier::Ups) {
        return Err(seed_error(format!(
            "`{WALK_CHECK_DIGIT_FIX}` is no valid UPS number"
        )));
    }
    let walk_typo = off_by_one(WALK_CHECK_DIGIT_FIX, Courier::Ups)?;
    for c in [
        case(1059, "FedEx", fedex_typo, &[(TEE_WHITE, 2)], minutes(35)),
        case(
            TYPO_NUMBER,
            "UPS",
            walk_typo,
            &[(BOARD, 1), (TOTE, 1)],
            minutes(30),
        ),
    ] {
        s.create(&c, c.created).await?;
    }

    // The walk's markup carrier, then the re-check: ready when linked, shipped in Seller Center since.
    s.create(&xss, xss.created).await?;
    let recheck = case(1077, "UPS", d.ups()?, &[(BEANIE, 1), (MUG, 1)], minutes(25));
    s.create(&recheck, minutes(24)).await?;
    let theirs = d.usps()?;
    // One of its two items: the other is still to ship, so the re-check sees a conflict.
    let first = recheck.unit_ids().into_iter().take(1).collect();
    s.ship_in_seller_center(&recheck, first, &theirs, USPS_ID, minutes(10))?;

    check_walk(&mapping, &twin, &recheck, &xss)
}

/// The walk's consts name the cases seeded for them.
pub(super) fn check_walk(
    mapping: &Case,
    twin: &Case,
    recheck: &Case,
    xss: &Case,
) -> Result<(), ApiError> {
    for (id, expected) in [
        (WALK_MAPPING, mapping.fulfillment_id()),
        (WALK_MAPPING_TWIN, twin.fulfillment_id()),
        (WALK_CHECK_DIGIT, fulfillment_id(TYPO_NUMBER)),
        (WALK_RECHECK, recheck.fulfillment_id()),
        (WALK_XSS, xss.fulfillment_id()),
    ] {
        if id != expected {
            return Err(seed_error(format!(
                "the walk names `{id}`, the seed made `{expected}`"
            )));
        }
    }
    if format!("#{}.1", recheck.number) != WALK_RECHECK_NAME {
        return Err(seed_error("the re-check case's name moved"));
    }
    Ok(())
}

pub(super) fn expect(got: StatusCode, want: StatusCode, case: &Case) -> Result<(), ApiError> {
    if got == want {
        Ok(())
    } else {
        Err(seed_error(format!(
            "the sync of `#{}.1` answered {got}, expected {want}",
            case.number
        )))
    }
}
