//! What can go wrong when calling TikTok Shop, with TikTok Shop's numeric error codes kept.

use std::time::Duration;

/// TikTok Shop error codes, as the API answers them in `code`.
pub mod codes {
    /// Success.
    pub const OK: u64 = 0;
    /// The signature is invalid.
    pub const INVALID_SIGNATURE: u64 = 106_001;
    /// Too many requests: the rate limit of the API for this app and shop is exceeded.
    pub const RATE_LIMITED: u64 = 36_009_002;
    /// Internal error: try again.
    pub const INTERNAL: u64 = 36_009_003;
    /// The `timestamp` is more than 5 minutes old or more than 30 seconds ahead.
    pub const INVALID_TIMESTAMP: u64 = 36_009_004;
    /// Invalid parameters.
    pub const INVALID_PARAMETERS: u64 = 21_001_001;
    /// The order's current status does not allow it (unpaid, on hold).
    pub const ORDER_STATUS: u64 = 10_007_002;
    /// The package was not shipped by the seller.
    pub const NOT_SELLER_SHIPPED: u64 = 21_011_004;
    /// The line items are already shipped.
    pub const ALREADY_SHIPPED: u64 = 21_011_006;
    /// A line item has an after-sale (cancellation) request.
    pub const AFTER_SALE: u64 = 21_011_007;
    /// Invalid tracking number or provider id.
    pub const INVALID_PROVIDER: u64 = 21_011_022;
    /// Duplicate tracking number.
    pub const DUPLICATE_TRACKING_NUMBER: u64 = 21_011_025;
    /// The package does not belong to the current shop.
    pub const PACKAGE_NOT_IN_SHOP: u64 = 21_011_028;
    /// A line item does not belong to the order.
    pub const LINE_ITEM_NOT_IN_ORDER: u64 = 21_011_029;
    /// The package is delivered: its tracking can no longer be updated.
    pub const DELIVERED: u64 = 21_011_030;
    /// The order is cancelled.
    pub const ORDER_CANCELLED: u64 = 21_011_041;
    /// The operation cannot complete on cancelled units.
    pub const CANCELLED: u64 = 21_011_042;
    /// The package has not been shipped yet.
    pub const NOT_SHIPPED: u64 = 21_011_043;
    /// The tracking number can be updated only within a number of hours of shipping.
    pub const UPDATE_WINDOW_EXPIRED: u64 = 21_011_050;
    /// The tracking number can be updated only once.
    pub const UPDATE_LIMIT_REACHED: u64 = 21_011_051;
    /// The tracking number has special characters.
    pub const TRACKING_NUMBER_SPECIAL_CHARACTERS: u64 = 21_004_012;
    /// The order is fulfilled by the platform: the seller cannot operate it.
    pub const FULFILLED_BY_PLATFORM: u64 = 21_008_025;
    /// One SKU's units may not be split over packages.
    pub const SKU_SPLIT_NOT_ALLOWED: u64 = 21_011_036;
    /// The provider cannot be matched for this shop (a USPS label bought outside TikTok Shipping).
    pub const MATCH_PROVIDER_FAILED: u64 = 21_022_032;
    /// The delivery option is invalid.
    pub const INVALID_DELIVERY_OPTION: u64 = 21_008_116;
}

/// The kind of a TikTok Shop error code, grouping the codes that mean the same to a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TtsErrorKind {
    /// 106001: the signature is invalid.
    InvalidSignature,
    /// 36009004: the timestamp is out of range.
    InvalidTimestamp,
    /// 36009002 (HTTP 429): rate limited.
    RateLimited,
    /// 36009003 and other internal errors: the request may or may not have been applied.
    Internal,
    /// 21001001: invalid parameters.
    InvalidParameters,
    /// 21011022, 21004015, 21004016, 11028006: the provider is not accepted for this tracking number.
    InvalidProvider,
    /// 21022032: USPS labels must be bought through TikTok Shipping.
    UspsSelfShippingRestricted,
    /// 21004012: the tracking number has special characters.
    TrackingNumberSpecialCharacters,
    /// 21011025, 21034012, 21011026: the tracking number is already used.
    DuplicateTrackingNumber,
    /// 21011051, 21011052: the one tracking update is spent.
    UpdateLimitReached,
    /// 21011050, 21011049: the update window (72 hours after shipping) has passed.
    UpdateWindowExpired,
    /// 21011030: the package is delivered.
    Delivered,
    /// 21011043: the package is not shipped yet.
    NotShipped,
    /// 21011006, 21011020, 21042056, 21008099, 11006021, 21011040: already shipped.
    AlreadyShipped,
    /// 10007002: the order's status does not allow it (unpaid, on hold).
    OrderStatus,
    /// 21011007: an after-sale request (the buyer asked to cancel).
    AfterSale,
    /// 21011041, 21011042: the order or the units are cancelled.
    Cancelled,
    /// 21008025: fulfilled or shipped by the platform.
    FulfilledByPlatform,
    /// 21011004: not shipped by the seller, or line items the operation cannot take.
    NotSellerShipped,
    /// 21011028, 21011029: the package or line item does not belong to the shop or order.
    NotFound,
    /// 21008116, 21008117: the delivery option is invalid.
    InvalidDeliveryOption,
    /// A code not listed here.
    Other,
}

impl TtsErrorKind {
    /// The kind of a TikTok Shop error code.
    #[must_use]
    pub const fn from_code(code: u64) -> Self {
        match code {
            106_001 => Self::InvalidSignature,
            36_009_004 => Self::InvalidTimestamp,
            36_009_002 => Self::RateLimited,
            36_009_003 | 11_001_027 | 11_001_031 => Self::Internal,
            21_001_001 | 11_050_001 => Self::InvalidParameters,
            21_011_022 | 21_004_015 | 21_004_016 | 11_028_006 => Self::InvalidProvider,
            21_022_032 => Self::UspsSelfShippingRestricted,
            21_004_012 => Self::TrackingNumberSpecialCharacters,
            21_011_025 | 21_034_012 | 21_011_026 => Self::DuplicateTrackingNumber,
            21_011_051 | 21_011_052 => Self::UpdateLimitReached,
            21_011_050 | 21_011_049 => Self::UpdateWindowExpired,
            21_011_030 => Self::Delivered,
            21_011_043 => Self::NotShipped,
            21_011_006 | 21_011_020 | 21_042_056 | 21_008_099 | 11_006_021 | 21_011_040 => {
                Self::AlreadyShipped
            }
            10_007_002 => Self::OrderStatus,
            21_011_007 => Self::AfterSale,
            21_011_041 | 21_011_042 => Self::Cancelled,
            21_008_025 => Self::FulfilledByPlatform,
            21_011_004 => Self::NotSellerShipped,
            21_011_028 | 21_011_029 => Self::NotFound,
            21_008_116 | 21_008_117 => Self::InvalidDeliveryOption,
            _ => Self::Other,
        }
    }
}

/// A failed call to TikTok Shop.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TtsError {
    /// TikTok Shop answered with a non-zero `code`.
    #[error("tiktok shop refused the request with code {code}: {message}")]
    Api {
        /// What the code means.
        kind: TtsErrorKind,
        /// The numeric code, as TikTok Shop sent it.
        code: u64,
        /// TikTok Shop's message.
        message: String,
        /// TikTok Shop's request id, for support.
        request_id: String,
        /// How long TikTok Shop asked to wait before retrying (`Retry-After`), when it did.
        retry_after: Option<Duration>,
    },
    /// The request could not be sent (connection refused, no route, DNS): it surely did not apply.
    #[error("could not reach tiktok shop: {0}")]
    Connect(String),
    /// The request was sent but no usable answer came back (a timeout, a dropped connection, an
    /// unreadable answer): it may have applied. Read the state at TikTok Shop before pushing again.
    #[error("the outcome at tiktok shop is unknown: {0}")]
    Unknown(String),
    /// A read answered HTTP 503: TikTok Shop served nothing, and reading again is safe.
    #[error("tiktok shop is unavailable: {0}")]
    Unavailable(String),
    /// The request could not be built; nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An order from TikTok Shop that the engine cannot read.
    #[error("invalid tiktok shop order: {0}")]
    InvalidOrder(String),
}

impl TtsError {
    /// An API error with the kind of its code.
    #[must_use]
    pub fn api(code: u64, message: impl Into<String>) -> Self {
        Self::Api {
            kind: TtsErrorKind::from_code(code),
            code,
            message: message.into(),
            request_id: String::new(),
            retry_after: None,
        }
    }

    /// The TikTok Shop error code, for API errors.
    #[must_use]
    pub const fn code(&self) -> Option<u64> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The kind of the TikTok Shop error code, for API errors.
    #[must_use]
    pub const fn kind(&self) -> Option<TtsErrorKind> {
        match self {
            Self::Api { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the request may have been applied at TikTok Shop: the outcome is unknown, or TikTok
    /// Shop failed internally. A push that may have applied must not be retried blindly.
    #[must_use]
    pub const fn may_have_applied(&self) -> bool {
        matches!(
            self,
            Self::Unknown(_)
                | Self::Api {
                    kind: TtsErrorKind::Internal,
                    ..
                }
        )
    }

    /// Whether the request surely did not apply and may be sent again: rate limited, never sent, or a
    /// read TikTok Shop could not serve.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Connect(_)
                | Self::Unavailable(_)
                | Self::Api {
                    kind: TtsErrorKind::RateLimited,
                    ..
                }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_codes() {
        assert_eq!(
            TtsErrorKind::from_code(21_011_051),
            TtsErrorKind::UpdateLimitReached
        );
        assert_eq!(
            TtsErrorKind::from_code(21_011_049),
            TtsErrorKind::UpdateWindowExpired
        );
        assert_eq!(
            TtsErrorKind::from_code(21_034_012),
            TtsErrorKind::DuplicateTrackingNumber
        );
        assert_eq!(
            TtsErrorKind::from_code(21_042_056),
            TtsErrorKind::AlreadyShipped
        );
        assert_eq!(TtsErrorKind::from_code(12), TtsErrorKind::Other);
        let e = TtsError::api(codes::RATE_LIMITED, "too many requests");
        assert!(e.is_retryable() && !e.may_have_applied());
        assert_eq!(e.code(), Some(36_009_002));
        assert!(TtsError::Unknown("timed out".into()).may_have_applied());
        assert_eq!(
            TtsError::api(codes::UPDATE_LIMIT_REACHED, "once").to_string(),
            "tiktok shop refused the request with code 21011051: once"
        );
    }
}
