//! Input errors: malformed input, with a stable code and the path of the bad field.
//!
//! Only malformed input is an error. A fulfillment that would fail at TikTok Shop is not an error but a
//! report with diagnostics.

use std::fmt::{self, Display, Write as _};

use serde::{Deserialize, Deserializer, Serialize};

/// What is wrong with an input, as a stable code callers switch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum InputErrorKind {
    /// Not well-formed JSON (or trailing characters after it).
    #[serde(rename = "input.malformed_json")]
    MalformedJson,
    /// Nested deeper than the parser allows.
    #[serde(rename = "input.too_deep")]
    TooDeep,
    /// A value of the wrong type, like a string where a number belongs.
    #[serde(rename = "input.invalid_type")]
    InvalidType,
    /// A value of the right type but not allowed, like a negative quantity.
    #[serde(rename = "input.invalid_value")]
    InvalidValue,
    /// A required field is absent.
    #[serde(rename = "input.missing_field")]
    MissingField,
    /// A field our own settings do not know (a typo would silently change a verdict).
    #[serde(rename = "input.unknown_field")]
    UnknownField,
    /// A timestamp that is not RFC 3339 with an offset.
    #[serde(rename = "input.invalid_timestamp")]
    InvalidTimestamp,
    /// A TikTok Shop region the catalog does not cover.
    #[serde(rename = "input.unknown_region")]
    UnknownRegion,
    /// A carrier mapping that points at no TikTok Shop provider of the region.
    #[serde(rename = "input.unknown_provider")]
    UnknownProvider,
    /// An id sent as a number that a float cannot hold exactly (past 2^53).
    #[serde(rename = "input.imprecise_id")]
    ImpreciseId,
}

impl InputErrorKind {
    /// The stable code, like `input.missing_field`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MalformedJson => "input.malformed_json",
            Self::TooDeep => "input.too_deep",
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
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputError {
    /// What is wrong.
    #[serde(rename = "code")]
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

    /// Classifies a deserializer's message. Serde's own messages and this crate's custom ones have fixed
    /// prefixes, so the classification lives here, once, and no caller ever parses message text.
    pub(crate) fn from_message(path: String, message: String) -> Self {
        use InputErrorKind::*;
        let kind = if message.starts_with("invalid timestamp") {
            InvalidTimestamp
        } else if message.starts_with("unknown region") {
            UnknownRegion
        } else if message.starts_with("imprecise id") {
            ImpreciseId
        } else if message.starts_with("missing field") {
            MissingField
        } else if message.starts_with("unknown field") {
            UnknownField
        } else if message.starts_with("invalid type") {
            InvalidType
        } else if message.starts_with("recursion limit exceeded") {
            TooDeep
        } else {
            InvalidValue
        };
        // Serde reports a missing field at its struct; point at the field itself.
        let path = match (kind, backticked(&message)) {
            (MissingField, Some(field)) => join_path(&path, field),
            _ => path,
        };
        Self {
            kind,
            path,
            message: first_line(message),
        }
    }
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message.get(start..)?.find('`')?;
    message.get(start..start + len)
}

fn first_line(mut message: String) -> String {
    if let Some(end) = message.find('\n') {
        message.truncate(end);
    }
    message
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            // A position the parser could not name (inside malformed text): the path stops before it.
            Segment::Unknown => {}
        }
    }
    out
}

/// Deserializes a `T` from any serde deserializer, turning its error into an [`InputError`] with the
/// path of the bad field. The JSON form and the JS form both come through here.
///
/// # Errors
/// An [`InputError`] for any value `T` does not accept.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<T, InputError>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
    D::Error: Display,
{
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = render_path(err.path());
        InputError::from_message(path, err.into_inner().to_string())
    })
}

/// Parses a `T` from JSON text, with typed errors carrying the path of the bad field.
///
/// # Errors
/// `input.malformed_json` for text that is not JSON, otherwise whatever [`deserialize`] reports.
pub fn from_json<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, InputError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    let value = T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .map_err(|err| json_error(render_path(&track.path()), &err));
    let value = value?;
    de.end().map_err(|err| json_error(String::new(), &err))?;
    Ok(value)
}

fn json_error(path: String, err: &serde_json::Error) -> InputError {
    use serde_json::error::Category;
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            let mut message = err.to_string();
            if message.starts_with("recursion limit exceeded") {
                return InputError::new(InputErrorKind::TooDeep, path, message);
            }
            // serde_json appends " at line L column C"; keep it, it is how people find the spot.
            message = first_line(message);
            InputError::new(InputErrorKind::MalformedJson, path, message)
        }
        Category::Data => {
            // Drop serde_json's position suffix: the path says where.
            let message = err.to_string();
            let message = match message.rfind(" at line ") {
                Some(end) => message.get(..end).unwrap_or(&message).to_owned(),
                None => message,
            };
            InputError::from_message(path, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        quantity: u32,
        at: Option<crate::Timestamp>,
    }

    fn err(text: &str) -> InputError {
        from_json::<Outer>(text).unwrap_err()
    }

    #[test]
    fn reports_codes_and_paths() {
        let e = err(r#"{"items":[{"quantity":1},{"quantity":-1}]}"#);
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.invalid_value", "items[1].quantity")
        );
        let e = err(r#"{"items":[{"quantity":"2"}]}"#);
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.invalid_type", "items[0].quantity")
        );
        let e = err(r#"{"items":[{}]}"#);
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.missing_field", "items[0].quantity")
        );
        let e = err(r#"{"items":[],"itemz":1}"#);
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.unknown_field", "itemz")
        );
        let e = err(r#"{"items":[{"quantity":1,"at":"2026-01-01T00:00:00"}]}"#);
        assert_eq!(
            (e.code(), e.path.as_str()),
            ("input.invalid_timestamp", "items[0].at")
        );
        assert_eq!(err("{").code(), "input.malformed_json");
        assert_eq!(err(r#"{"items":[]} x"#).code(), "input.malformed_json");
        let deep = "[".repeat(10_000);
        let e = from_json::<serde_json::Value>(&format!(r#"{{"items":{deep}"#)).unwrap_err();
        assert_eq!(e.code(), "input.too_deep");
    }

    #[test]
    fn messages_are_one_line() {
        let e = err(r#"{"items":[{"quantity":1.5}]}"#);
        assert!(!e.message.contains('\n'));
        assert_eq!(e.to_string(), format!("items[0].quantity: {}", e.message));
    }
}
