//! Reading the model from JSON values, with the path of a bad field in every error.
//!
//! One reader for every target: natively from parsed JSON text, in the browser from the JSON the
//! boundary writes. API payloads are read leniently (unknown fields ignored, `null` and `""` read as
//! absent); our own types refuse unknown fields.

use std::borrow::Cow;
use std::fmt;

use crate::error::{InputError, InputErrorKind};
use crate::json::{Js, Number, Value};
use crate::Timestamp;

/// Where a value sits: a chain from the root, rendered only when an error needs it.
#[derive(Clone, Copy, Debug)]
pub enum Path<'a> {
    /// The document itself.
    Root,
    /// A member of an object.
    Key(&'a Path<'a>, &'a str),
    /// An element of an array.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Key(Path::Root, key) => f.write_str(key),
            Self::Key(parent, key) => write!(f, "{parent}.{key}"),
            Self::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

impl<'a> Path<'a> {
    /// The path of member `key` below this one.
    #[must_use]
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    /// The path of element `index` below this one.
    #[must_use]
    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

/// A value the model reads, with what it expects in error messages.
pub trait Read: Sized {
    /// Reads a value at `path`.
    ///
    /// # Errors
    /// An [`InputError`] naming the bad field.
    fn read(value: &Value<'_>, path: &Path<'_>) -> Result<Self, InputError>;
}

/// An error of kind `kind` at `path`.
#[inline(never)]
pub fn error(kind: InputErrorKind, path: &Path<'_>, message: impl Into<String>) -> InputError {
    InputError::new(kind, path.to_string(), message)
}

/// A value of the wrong kind.
#[inline(never)]
pub fn invalid_type(value: &Value<'_>, expected: &str, path: &Path<'_>) -> InputError {
    error(
        InputErrorKind::InvalidType,
        path,
        format!("invalid type: {value}, expected {expected}"),
    )
}

/// A required member that is absent.
#[inline(never)]
pub fn missing(path: &Path<'_>, key: &str) -> InputError {
    error(
        InputErrorKind::MissingField,
        &path.key(key),
        format!("missing field `{key}`"),
    )
}

/// The members of an object.
#[derive(Clone, Copy)]
pub struct Object<'v, 'p> {
    members: &'v [(Cow<'v, str>, Value<'v>)],
    /// Where the object sits.
    pub path: &'p Path<'p>,
}

impl<'v, 'p> Object<'v, 'p> {
    /// The object `value` is, or an error naming what was expected.
    ///
    /// # Errors
    /// `input.invalid_type` when `value` is not an object.
    pub fn new(
        value: &'v Value<'v>,
        path: &'p Path<'p>,
        expected: &str,
    ) -> Result<Self, InputError> {
        match value {
            Value::Object(members) => Ok(Self { members, path }),
            other => Err(invalid_type(other, expected, path)),
        }
    }

    /// The member `key` (the last one, if repeated, as JavaScript reads it); `None` when absent.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'v Value<'v>> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The members' keys and values, in order (a repeated key more than once).
    pub fn members(&self) -> impl Iterator<Item = (&'v str, &'v Value<'v>)> {
        self.members.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Refuses members other than `known` (our own types: a typo would change a verdict).
    ///
    /// # Errors
    /// `input.unknown_field` at the first unknown member.
    pub fn only(&self, known: &[&str]) -> Result<(), InputError> {
        match self
            .members
            .iter()
            .find(|(k, _)| !known.contains(&k.as_ref()))
        {
            None => Ok(()),
            Some((key, _)) => {
                let expected: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                Err(error(
                    InputErrorKind::UnknownField,
                    &self.path.key(key),
                    format!(
                        "unknown field `{key}`, expected one of {}",
                        expected.join(", ")
                    ),
                ))
            }
        }
    }

    /// Reads a required member.
    ///
    /// # Errors
    /// `input.missing_field` when absent or `null`, else what reading it reports.
    pub fn required<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Value<'_>, &Path<'_>) -> Result<Option<T>, InputError>,
    ) -> Result<T, InputError> {
        let path = self.path.key(key);
        match self.get(key) {
            None | Some(Value::Null) => Err(missing(self.path, key)),
            Some(value) => read(value, &path)?.ok_or_else(|| missing(self.path, key)),
        }
    }

    /// Reads an optional member: absent and `null` give `None`.
    ///
    /// # Errors
    /// What reading it reports.
    pub fn optional<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Value<'_>, &Path<'_>) -> Result<Option<T>, InputError>,
    ) -> Result<Option<T>, InputError> {
        match self.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => read(value, &self.path.key(key)),
        }
    }

    // One non-generic method per kind of field, so that each field read is a call, not a copy.

    /// An optional string member (see [`text`]).
    ///
    /// # Errors
    /// As [`text`].
    #[inline(never)]
    pub fn text(&self, key: &str) -> Result<Option<String>, InputError> {
        self.optional(key, text)
    }

    /// An optional string member, `""` included (see [`any_text`]).
    ///
    /// # Errors
    /// As [`any_text`].
    #[inline(never)]
    pub fn any_text(&self, key: &str) -> Result<Option<String>, InputError> {
        self.optional(key, any_text)
    }

    /// An optional id member (see [`id`]).
    ///
    /// # Errors
    /// As [`id`].
    #[inline(never)]
    pub fn id(&self, key: &str) -> Result<Option<String>, InputError> {
        self.optional(key, id)
    }

    /// A required id member.
    ///
    /// # Errors
    /// `input.missing_field`, or as [`id`].
    #[inline(never)]
    pub fn required_id(&self, key: &str) -> Result<String, InputError> {
        self.required(key, id)
    }

    /// An optional boolean member (see [`flag`]).
    ///
    /// # Errors
    /// As [`flag`].
    #[inline(never)]
    pub fn flag(&self, key: &str) -> Result<Option<bool>, InputError> {
        self.optional(key, flag)
    }

    /// An optional count member (see [`count`]).
    ///
    /// # Errors
    /// As [`count`].
    #[inline(never)]
    pub fn count(&self, key: &str) -> Result<Option<u32>, InputError> {
        self.optional(key, count)
    }

    /// An optional timestamp member (see [`timestamp`]).
    ///
    /// # Errors
    /// As [`timestamp`].
    #[inline(never)]
    pub fn timestamp(&self, key: &str) -> Result<Option<Timestamp>, InputError> {
        self.optional(key, timestamp)
    }

    /// Reads a member of a [`Read`] type; absent and `null` give `None`.
    ///
    /// # Errors
    /// What reading it reports.
    pub fn read<T: Read>(&self, key: &str) -> Result<Option<T>, InputError> {
        self.optional(key, |v, p| T::read(v, p).map(Some))
    }
}

/// A string; `""` reads as absent, as TikTok Shop sends unset values.
///
/// # Errors
/// `input.invalid_type` for anything but a string.
pub fn text(value: &Value<'_>, path: &Path<'_>) -> Result<Option<String>, InputError> {
    match value {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.to_string())),
        other => Err(invalid_type(other, "a string", path)),
    }
}

/// A string, `""` included.
///
/// # Errors
/// `input.invalid_type` for anything but a string.
pub fn any_text(value: &Value<'_>, path: &Path<'_>) -> Result<Option<String>, InputError> {
    match value {
        Value::String(s) => Ok(Some(s.to_string())),
        other => Err(invalid_type(other, "a string", path)),
    }
}

/// An id, as a string or an integer, kept exact as decimal text; `""` reads as absent.
///
/// # Errors
/// `input.imprecise_id` for a number that cannot be exact (a fraction or exponent, or past 2^53 in
/// JavaScript); `input.invalid_type` for other kinds.
pub fn id(value: &Value<'_>, path: &Path<'_>) -> Result<Option<String>, InputError> {
    match value {
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.to_string())),
        Value::Number(Number::U64(n)) => Ok(Some(n.to_string())),
        Value::Number(Number::I64(n)) => Ok(Some(n.to_string())),
        Value::Number(Number::Wide(t)) | Value::Js(Js::BigInt(t)) => Ok(Some(t.to_string())),
        Value::Number(Number::Float(t)) | Value::Js(Js::UnsafeInteger(t)) => Err(error(
            InputErrorKind::ImpreciseId,
            path,
            format!("imprecise id `{t}`: a number past 2^53 or with a fraction loses digits, send the id as a string"),
        )),
        other => Err(invalid_type(other, "an id as a string or an integer", path)),
    }
}

/// A boolean; `null` reads as `false`.
///
/// # Errors
/// `input.invalid_type` for anything but a boolean.
pub fn flag(value: &Value<'_>, path: &Path<'_>) -> Result<Option<bool>, InputError> {
    match value {
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(invalid_type(other, "a boolean", path)),
    }
}

/// A count: a whole number that fits 32 bits.
///
/// # Errors
/// `input.invalid_value` for a negative or too large one, `input.invalid_type` for other kinds.
pub fn count(value: &Value<'_>, path: &Path<'_>) -> Result<Option<u32>, InputError> {
    const EXPECTED: &str = "a whole number from 0 to 4294967295";
    let out_of_range = || {
        error(
            InputErrorKind::InvalidValue,
            path,
            format!("invalid value: {value}, expected {EXPECTED}"),
        )
    };
    match value {
        Value::Number(Number::U64(n)) => u32::try_from(*n).map(Some).map_err(|_| out_of_range()),
        Value::Js(Js::BigInt(t)) => t.parse::<u32>().map(Some).map_err(|_| out_of_range()),
        Value::Number(Number::I64(_) | Number::Wide(_)) | Value::Js(Js::UnsafeInteger(_)) => {
            Err(out_of_range())
        }
        other => Err(invalid_type(other, EXPECTED, path)),
    }
}

/// A whole number of seconds, like TikTok Shop's Unix times.
///
/// # Errors
/// `input.invalid_type` for anything but an integer that fits 64 bits.
pub fn seconds(value: &Value<'_>, path: &Path<'_>) -> Result<Option<i64>, InputError> {
    match value {
        Value::Number(Number::U64(n)) => i64::try_from(*n)
            .map(Some)
            .map_err(|_| invalid_type(value, "Unix seconds", path)),
        Value::Number(Number::I64(n)) => Ok(Some(*n)),
        other => Err(invalid_type(other, "Unix seconds", path)),
    }
}

/// An RFC 3339 timestamp with an offset.
///
/// # Errors
/// `input.invalid_timestamp` for text that is not one; `input.invalid_type` for other kinds.
pub fn timestamp(value: &Value<'_>, path: &Path<'_>) -> Result<Option<Timestamp>, InputError> {
    match value {
        Value::String(s) => Timestamp::parse(s).map(Some).map_err(|e| {
            error(
                InputErrorKind::InvalidTimestamp,
                path,
                crate::time::timestamp_message(s, e),
            )
        }),
        other => Err(invalid_type(other, "an RFC 3339 timestamp string", path)),
    }
}

/// The most elements a list reserves room for before reading them; it grows past that as they read.
const PREALLOCATE: usize = 4096;

/// A list whose elements `item` reads.
///
/// # Errors
/// `input.invalid_type` for anything but an array, else the first element's error.
pub fn list<T>(
    value: &Value,
    path: &Path<'_>,
    mut item: impl FnMut(&Value<'_>, &Path<'_>) -> Result<T, InputError>,
) -> Result<Option<Vec<T>>, InputError> {
    match value {
        Value::Array(items) => {
            // A plain loop: collecting into a Result costs a copy of the iterator code per type. The
            // reservation is capped: millions of elements that are not a `T` must not reserve room for
            // millions of `T`s (past `isize::MAX` bytes on wasm32, a panic) before the first is refused.
            let mut out = Vec::with_capacity(items.len().min(PREALLOCATE));
            for (i, v) in items.iter().enumerate() {
                out.push(item(v, &path.index(i))?);
            }
            Ok(Some(out))
        }
        other => Err(invalid_type(other, "an array", path)),
    }
}

/// A list of a [`Read`] type.
///
/// # Errors
/// As [`list`].
pub fn list_of<T: Read>(value: &Value<'_>, path: &Path<'_>) -> Result<Option<Vec<T>>, InputError> {
    list(value, path, T::read)
}

/// Parses a `T` from JSON text, with typed errors carrying the path of the bad field.
///
/// # Errors
/// `input.malformed_json` or `input.too_deep` for text that is not JSON, otherwise what reading `T`
/// reports.
pub fn from_json<T: Read>(text: &str) -> Result<T, InputError> {
    T::read(&crate::json::parse(text)?, &Path::Root)
}
