//! Input errors: malformed input, with a stable code and the path of the bad field.
//!
//! Only malformed input is an error. A fulfillment that would fail at TikTok Shop is not an error but a
//! report with diagnostics.

use std::fmt::{self, Display};

/// What is wrong with an input, as a stable code callers switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// Not well-formed JSON (or trailing characters after it).
    MalformedJson,
    /// Nested deeper than the parser allows.
    TooDeep,
    /// Larger than the browser boundary takes (its JSON text), or than JS can write at all.
    TooLarge,
    /// A value of the wrong type, like a string where a number belongs.
    InvalidType,
    /// A value of the right type but not allowed, like a negative quantity.
    InvalidValue,
    /// A required field is absent.
    MissingField,
    /// A field our own settings do not know (a typo would silently change a verdict).
    UnknownField,
    /// A timestamp that is not RFC 3339 with an offset.
    InvalidTimestamp,
    /// A TikTok Shop region the catalog does not cover.
    UnknownRegion,
    /// A carrier mapping that points at no TikTok Shop provider of the region.
    UnknownProvider,
    /// An id sent as a number that a float cannot hold exactly (past 2^53).
    ImpreciseId,
}

impl InputErrorKind {
    /// The stable code, like `input.missing_field`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MalformedJson => "input.malformed_json",
            Self::TooDeep => "input.too_deep",
            Self::TooLarge => "input.too_large",
            Self::InvalidType => "input.invalid_type",
            Self::InvalidValue => "input.invalid_value",
            Self::MissingField => "input.missing_field",
            Self::UnknownField => "input.unknown_field",
            Self::InvalidTimestamp => "input.invalid_timestamp",
            Self::UnknownRegion => "input.unknown_region",
            Self::UnknownProvider => "input.unknown_provider",
            Self::ImpreciseId => "input.imprecise_id",
        }
    }
}

/// Malformed input: a stable code, the path of the bad field, and a one-line message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    /// What is wrong.
    pub kind: InputErrorKind,
    /// Where, like `fulfillment.line_items[2].quantity`; empty for the whole document.
    pub path: String,
    /// A one-line message for people: lowercase, no final period.
    pub message: String,
}

impl Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl InputError {
    /// An error of `kind` at `path`.
    pub fn new(kind: InputErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The stable code, like `input.missing_field`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The same error with `prefix` put in front of its path (`settings` + `region` → `settings.region`).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}
