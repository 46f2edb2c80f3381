//! A small JSON parser: the one reader of every input, natively and in the browser.
//!
//! Numbers are kept exact: integers as `u64`/`i64`, or as their digits when wider; numbers with a
//! fraction or an exponent as their text (the engine never computes with them). Only JSON written by
//! the browser boundary ([`parse_from_js`]) carries what JSON cannot: an integer past 2^53 is a rounded
//! JS number, and the boundary's marks are read back; see [`Js`]. [`parse`] knows none of this.

use std::borrow::Cow;
use std::fmt;

use crate::error::{InputError, InputErrorKind};

/// How deep arrays and objects may nest.
pub const MAX_DEPTH: usize = 128;

/// A JSON value, borrowing its strings from the text where it can.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object, its members in order.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
    /// A JS value that JSON cannot carry, marked by the browser boundary.
    Js(Js),
}

/// A JSON number, exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Number {
    /// A non-negative integer that fits 64 bits.
    U64(u64),
    /// A negative integer that fits 64 bits.
    I64(i64),
    /// An integer wider than 64 bits, as its digits.
    Wide(Box<str>),
    /// A number with a fraction or an exponent, as written.
    Float(Box<str>),
}

/// A JS value that JSON cannot carry, as the browser boundary marks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Js {
    /// A `BigInt`, exact.
    BigInt(Box<str>),
    /// An integer past 2^53 from a JS number: its digits are already rounded.
    UnsafeInteger(Box<str>),
    /// `undefined`, a function or a symbol where a value was given.
    Other(Box<str>),
}

/// The browser boundary's mark of a `BigInt`, followed by its digits (`src/wasm/boundary.js`).
const BIGINT_MARK: &str = "\u{0}js:bigint:";

/// A string of JSON written by the browser boundary, which marks `BigInt`s and escapes the caller's
/// strings that start with U+0000 by one more U+0000: a mark, or the caller's string unescaped.
fn read_js_string(text: Cow<'_, str>) -> Value<'_> {
    if let Some(digits) = text.strip_prefix(BIGINT_MARK) {
        return Value::Js(Js::BigInt(digits.into()));
    }
    if text.starts_with("\u{0}\u{0}") {
        return Value::String(match text {
            Cow::Borrowed(t) => Cow::Borrowed(t.get(1..).unwrap_or_default()),
            Cow::Owned(mut t) => {
                t.remove(0);
                Cow::Owned(t)
            }
        });
    }
    Value::String(text)
}

impl fmt::Display for Value<'_> {
    /// How a value is named in error messages: its kind, and a short form of scalars.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "boolean `{b}`"),
            Self::Number(Number::U64(n)) => write!(f, "integer `{n}`"),
            Self::Number(Number::I64(n)) => write!(f, "integer `{n}`"),
            Self::Number(Number::Wide(t) | Number::Float(t)) => write!(f, "number `{t}`"),
            Self::String(s) => {
                let shown: String = s.chars().take(40).collect();
                write!(f, "string `{shown}`")
            }
            Self::Array(_) => f.write_str("an array"),
            Self::Object(_) => f.write_str("an object"),
            Self::Js(Js::BigInt(t)) => write!(f, "BigInt `{t}`"),
            Self::Js(Js::UnsafeInteger(t)) => write!(f, "number `{t}` (past 2^53)"),
            Self::Js(Js::Other(kind)) => write!(f, "a JavaScript {kind}"),
        }
    }
}

/// Parses JSON text.
///
/// # Errors
/// `input.malformed_json` with the line and column, or `input.too_deep` past [`MAX_DEPTH`].
pub fn parse(text: &str) -> Result<Value<'_>, InputError> {
    parse_with(text, false)
}

/// Parses JSON text written by `JSON.stringify` from JS values: an integer past 2^53 there was a JS
/// number, already rounded, and reads as [`Js::UnsafeInteger`].
///
/// # Errors
/// As [`parse`].
pub fn parse_from_js(text: &str) -> Result<Value<'_>, InputError> {
    parse_with(text, true)
}

fn parse_with(text: &str, from_js: bool) -> Result<Value<'_>, InputError> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        from_js,
    };
    p.skip_space();
    let value = p.value()?;
    p.skip_space();
    if p.pos < p.bytes.len() {
        return Err(p.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    from_js: bool,
}

/// 2^53: JS numbers are exact integers below it.
const JS_SAFE_LIMIT: u64 = 1 << 53;

impl<'a> Parser<'a> {
    fn error(&self, what: &str) -> InputError {
        let before = self.bytes.get(..self.pos).unwrap_or(self.bytes);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
        let kind = if what.starts_with("recursion") {
            InputErrorKind::TooDeep
        } else {
            InputErrorKind::MalformedJson
        };
        InputError::new(kind, "", format!("{what} at line {line} column {column}"))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, InputError> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self) -> Result<Value<'a>, InputError> {
        match self.peek() {
            Some(b'{') => {
                self.enter()?;
                let value = self.object();
                self.depth -= 1;
                value
            }
            Some(b'[') => {
                self.enter()?;
                let value = self.array();
                self.depth -= 1;
                value
            }
            Some(b'"') => {
                let s = self.string()?;
                Ok(if self.from_js {
                    read_js_string(s)
                } else {
                    Value::String(s)
                })
            }
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("EOF while parsing a value")),
        }
    }

    fn enter(&mut self) -> Result<(), InputError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.depth += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Value<'a>, InputError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_space();
            items.push(self.value()?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.error("EOF while parsing a list")),
                Some(_) => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self) -> Result<Value<'a>, InputError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.error("EOF while parsing an object")),
                Some(_) => return Err(self.error("expected a key in double quotes")),
            }
            let key = self.string()?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:`"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.value()?;
            members.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                None => return Err(self.error("EOF while parsing an object")),
                Some(_) => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, InputError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return Err(self.error("invalid escape")),
            };
            value = value * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(value)
    }

    fn string(&mut self) -> Result<Cow<'a, str>, InputError> {
        self.pos += 1;
        let mut out: Option<String> = None;
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // The input is a &str and a run stops only at ASCII bytes: a char boundary.
            let bytes: &'a [u8] = self.bytes;
            let run = match std::str::from_utf8(bytes.get(start..self.pos).unwrap_or_default()) {
                Ok(run) => run,
                Err(_) => return Err(self.error("invalid UTF-8")),
            };
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(match out {
                        None => Cow::Borrowed(run),
                        Some(mut owned) => {
                            owned.push_str(run);
                            Cow::Owned(owned)
                        }
                    });
                }
                Some(b'\\') => {
                    let owned = out.get_or_insert_with(String::new);
                    owned.push_str(run);
                    self.pos += 1;
                    let escape = self.peek();
                    self.pos += 1;
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    if let Some(owned) = out.as_mut() {
                        owned.push(c);
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("EOF while parsing a string")),
            }
        }
    }

    /// The character of a `\\uXXXX` escape (after the `u`), joining surrogate pairs; a lone surrogate
    /// becomes U+FFFD, as browsers do when decoding.
    fn unicode_escape(&mut self) -> Result<char, InputError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first)
            && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
        {
            let save = self.pos;
            self.pos += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            } else {
                self.pos = save;
                first
            }
        } else {
            first
        };
        Ok(char::from_u32(code).unwrap_or('\u{FFFD}'))
    }

    fn number(&mut self) -> Result<Value<'a>, InputError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.pos;
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
            p.pos - from
        };
        let int_start = self.pos;
        let int_len = digits(self);
        let leading_zero = int_len > 1 && self.bytes.get(int_start) == Some(&b'0');
        if int_len == 0 || leading_zero {
            return Err(self.error("invalid number"));
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
            float = true;
        }
        let bytes: &'a [u8] = self.bytes;
        let text =
            std::str::from_utf8(bytes.get(start..self.pos).unwrap_or_default()).unwrap_or_default();
        if float {
            return Ok(Value::Number(Number::Float(text.into())));
        }
        let magnitude = text.trim_start_matches('-');
        if self.from_js
            && magnitude
                .parse::<u64>()
                .map_or(true, |m| m >= JS_SAFE_LIMIT)
        {
            return Ok(Value::Js(Js::UnsafeInteger(text.into())));
        }
        let number = match (negative, magnitude.parse::<u64>()) {
            (false, Ok(n)) => Number::U64(n),
            (true, Ok(0)) => Number::U64(0),
            (true, Ok(_)) => text
                .parse::<i64>()
                .map_or_else(|_| Number::Wide(text.into()), Number::I64),
            (_, Err(_)) => Number::Wide(text.into()),
        };
        Ok(Value::Number(number))
    }
}

/// Writes a value as JSON text: the one writer of reports, natively and in the browser.
pub trait ToJson {
    /// Appends the JSON of `self` to `out`.
    fn write_json(&self, out: &mut String);

    /// The JSON of `self`.
    fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_json(&mut out);
        out
    }
}

/// Appends a JSON string: quotes, backslashes and control characters escaped, the rest as it is.
pub fn write_str(out: &mut String, text: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(text.get(run..i).unwrap_or_default());
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(
                HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'),
            ));
            out.push(char::from(
                HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'),
            ));
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(text.get(run..).unwrap_or_default());
    out.push('"');
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for u32 {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, out: &mut String) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(value) => value.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

/// Writes a JSON object member by member.
pub struct ObjectWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjectWriter<'a> {
    /// Opens an object.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Writes a member; `key` is plain ASCII and written as it is.
    pub fn field<T: ToJson + ?Sized>(&mut self, key: &str, value: &T) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        value.write_json(self.out);
        self
    }

    /// Closes the object.
    pub fn end(&mut self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_exactly() {
        let v = parse(
            r#" {"a": [1, -2, 18446744073709551616, 1.5e3, "x\u00e9\ud83d\ude00", true, null]} "#,
        )
        .unwrap();
        let Value::Object(members) = v else { panic!() };
        let Value::Array(items) = &members[0].1 else {
            panic!()
        };
        assert_eq!(items[0], Value::Number(Number::U64(1)));
        assert_eq!(items[1], Value::Number(Number::I64(-2)));
        assert_eq!(
            items[2],
            Value::Number(Number::Wide("18446744073709551616".into()))
        );
        assert_eq!(items[3], Value::Number(Number::Float("1.5e3".into())));
        assert_eq!(items[4], Value::String("xé😀".into()));
        assert_eq!(
            parse(r#""\ud800x""#).unwrap(),
            Value::String("\u{FFFD}x".into())
        );
    }

    #[test]
    fn reads_the_boundary_marks_only_from_the_boundary() {
        let marked = r#""\u0000js:bigint:123""#;
        assert_eq!(
            parse_from_js(marked).unwrap(),
            Value::Js(Js::BigInt("123".into()))
        );
        // Natively a mark is a string like any other.
        assert_eq!(
            parse(marked).unwrap(),
            Value::String("\u{0}js:bigint:123".into())
        );
        // The boundary escapes the caller's strings that start with U+0000: they read back as given.
        assert_eq!(
            parse_from_js(r#""\u0000\u0000js:bigint:abc def""#).unwrap(),
            Value::String("\u{0}js:bigint:abc def".into())
        );
        assert_eq!(
            parse(r#""\u0000\u0000x""#).unwrap(),
            Value::String("\u{0}\u{0}x".into())
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\u{1}\"",
            "nul",
            "[1] x",
            "\"\\x\"",
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.code(), "input.malformed_json", "{text}: {e}");
        }
        let deep = "[".repeat(10_000);
        assert_eq!(parse(&deep).unwrap_err().code(), "input.too_deep");
    }
}
