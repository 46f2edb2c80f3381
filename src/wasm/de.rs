//! Reads JS values into the engine's types, with the path of a bad field in every error.
//!
//! A serde deserializer over `JsValue` that knows where it is, so errors carry `path` without a wrapping
//! layer, and that never formats floats (both keep the `.wasm` small). Fields the engine ignores are
//! skipped without being read, so a huge or deeply nested unknown field costs nothing.

use std::fmt::{self, Display};

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Unexpected, Visitor};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::InputError;

/// How deep the engine's own types go, with room to spare; deeper input is refused.
const MAX_DEPTH: u32 = 64;

/// Deserializes a `T` from a JS value.
pub fn from_js<T: de::DeserializeOwned>(value: JsValue) -> Result<T, InputError> {
    let root = Path::Root;
    T::deserialize(JsDe {
        value,
        path: &root,
        depth: 0,
    })
    .map_err(|e| InputError::from_message(e.path.unwrap_or_default(), e.message))
}

/// Where a value sits: a chain from the root, rendered only when an error needs it.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, u32),
}

impl Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Key(Path::Root, key) => f.write_str(key),
            Self::Key(parent, key) => write!(f, "{parent}.{key}"),
            Self::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// A deserialization error: serde's message and, once known, the path where it happened.
#[derive(Debug)]
pub struct DeError {
    message: String,
    path: Option<String>,
}

impl DeError {
    #[inline(never)]
    fn at(mut self, path: &Path<'_>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }
}

impl Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

/// Describes an unexpected value, without serde's float and debug formatting (they weigh on the `.wasm`).
fn unexpected(unexp: &Unexpected<'_>) -> String {
    match *unexp {
        Unexpected::Bool(b) => format!("boolean `{b}`"),
        Unexpected::Unsigned(n) => format!("integer `{n}`"),
        Unexpected::Signed(n) => format!("integer `{n}`"),
        Unexpected::Float(v) if v.fract() == 0.0 && v.abs() < 1e15 => {
            // Integral and well inside i64.
            #[allow(clippy::cast_possible_truncation)]
            let whole = v as i64;
            format!("number `{whole}`")
        }
        Unexpected::Float(_) => "a number with a fraction".to_owned(),
        Unexpected::Char(c) => format!("character `{c}`"),
        Unexpected::Str(s) => format!("string `{}`", s.chars().take(64).collect::<String>()),
        Unexpected::Bytes(_) => "bytes".to_owned(),
        Unexpected::Unit => "null".to_owned(),
        Unexpected::Option => "an optional value".to_owned(),
        Unexpected::Seq => "an array".to_owned(),
        Unexpected::Map => "an object".to_owned(),
        Unexpected::Other(other) => other.to_owned(),
        _ => "another kind of value".to_owned(),
    }
}

impl de::Error for DeError {
    fn custom<T: Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            path: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid type: {}, expected {exp}",
            unexpected(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value: {}, expected {exp}",
            unexpected(&unexp)
        ))
    }
}

struct JsDe<'a> {
    value: JsValue,
    path: &'a Path<'a>,
    depth: u32,
}

#[inline(never)]
fn too_deep(path: &Path<'_>) -> DeError {
    DeError {
        message: "recursion limit exceeded: the value is nested too deeply".into(),
        path: Some(path.to_string()),
    }
}

/// What a JS value is, found once without generics so that each visitor's code stays small.
enum Kind {
    Unit,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    String(String),
    Array(js_sys::Array),
    /// An object, with its own enumerable keys.
    Object(js_sys::Array),
    Other,
}

impl Kind {
    #[inline(never)]
    fn of(value: &JsValue) -> Self {
        if value.is_undefined() || value.is_null() {
            Self::Unit
        } else if let Some(b) = value.as_bool() {
            Self::Bool(b)
        } else if let Some(n) = value.as_f64() {
            if js_sys::Number::is_safe_integer(value) {
                // A safe integer is exact in an i64.
                #[allow(clippy::cast_possible_truncation)]
                let int = n as i64;
                u64::try_from(int).map_or(Self::I64(int), Self::U64)
            } else {
                Self::F64(n)
            }
        } else if let Some(s) = value.as_string() {
            Self::String(s)
        } else if value.is_bigint() {
            let text: String = js_sys::BigInt::unchecked_from_js_ref(value)
                .to_string(10)
                .map(String::from)
                .unwrap_or_default();
            match (text.parse::<u64>(), text.parse::<i64>()) {
                (Ok(u), _) => Self::U64(u),
                (_, Ok(i)) => Self::I64(i),
                _ => Self::String(text),
            }
        } else if js_sys::Array::is_array(value) {
            Self::Array(value.clone().unchecked_into())
        } else if value.is_object() && !value.is_function() {
            Self::Object(js_sys::Object::keys(
                value.unchecked_ref::<js_sys::Object>(),
            ))
        } else {
            Self::Other
        }
    }
}

impl<'de> Deserializer<'de> for JsDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match Kind::of(&self.value) {
            Kind::Unit => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::U64(n) => visitor.visit_u64(n),
            Kind::I64(n) => visitor.visit_i64(n),
            Kind::F64(n) => visitor.visit_f64(n),
            Kind::String(s) => visitor.visit_string(s),
            Kind::Array(array) => {
                if self.depth >= MAX_DEPTH {
                    return Err(too_deep(self.path));
                }
                visitor.visit_seq(SeqAccess {
                    len: array.length(),
                    array,
                    next: 0,
                    path: self.path,
                    depth: self.depth + 1,
                })
            }
            Kind::Object(keys) => {
                if self.depth >= MAX_DEPTH {
                    return Err(too_deep(self.path));
                }
                visitor.visit_map(MapAccess {
                    object: &self.value,
                    len: keys.length(),
                    keys,
                    next: 0,
                    key: String::new(),
                    path: self.path,
                    depth: self.depth + 1,
                })
            }
            Kind::Other => Err(de::Error::invalid_type(
                Unexpected::Other("a JavaScript value of another kind"),
                &visitor,
            )),
        };
        result.map_err(|e| e.at(self.path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.value.is_undefined() || self.value.is_null() {
            visitor.visit_none().map_err(|e: DeError| e.at(self.path))
        } else {
            let path = self.path;
            visitor.visit_some(self).map_err(|e| e.at(path))
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    // Typed hints read only the kind they want: each visitor then carries little code.

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => Err(mismatch(&self.value, &visitor)),
        }
        .map_err(|e| e.at(self.path))
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match Kind::of(&self.value) {
            Kind::U64(n) => visitor.visit_u64(n),
            Kind::I64(n) => visitor.visit_i64(n),
            Kind::F64(n) => visitor.visit_f64(n),
            _ => Err(mismatch(&self.value, &visitor)),
        }
        .map_err(|e| e.at(self.path))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.as_string() {
            Some(s) => visitor.visit_string(s),
            None => Err(mismatch(&self.value, &visitor)),
        }
        .map_err(|e| e.at(self.path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !js_sys::Array::is_array(&self.value) {
            return Err(mismatch(&self.value, &visitor).at(self.path));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if js_sys::Array::is_array(&self.value) || !self.value.is_object() {
            return Err(mismatch(&self.value, &visitor).at(self.path));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u128 f32 f64 char bytes byte_buf unit
        unit_struct newtype_struct tuple tuple_struct enum
    }
}

/// The error of a value of the wrong kind, built once for every visitor.
#[inline(never)]
fn mismatch(value: &JsValue, expected: &dyn de::Expected) -> DeError {
    let unexp = match Kind::of(value) {
        Kind::Unit => Unexpected::Unit,
        Kind::Bool(b) => Unexpected::Bool(b),
        Kind::U64(n) => Unexpected::Unsigned(n),
        Kind::I64(n) => Unexpected::Signed(n),
        Kind::F64(n) => Unexpected::Float(n),
        Kind::String(_) => Unexpected::Other("a string"),
        Kind::Array(_) => Unexpected::Seq,
        Kind::Object(_) => Unexpected::Map,
        Kind::Other => Unexpected::Other("a JavaScript value of another kind"),
    };
    de::Error::invalid_type(unexp, expected)
}

struct SeqAccess<'a> {
    array: js_sys::Array,
    len: u32,
    next: u32,
    path: &'a Path<'a>,
    depth: u32,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        if self.next >= self.len {
            return Ok(None);
        }
        let index = self.next;
        self.next += 1;
        let path = Path::Index(self.path, index);
        seed.deserialize(JsDe {
            value: self.array.get(index),
            path: &path,
            depth: self.depth,
        })
        .map(Some)
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.len - self.next).ok()
    }
}

struct MapAccess<'a> {
    object: &'a JsValue,
    keys: js_sys::Array,
    len: u32,
    next: u32,
    key: String,
    path: &'a Path<'a>,
    depth: u32,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        if self.next >= self.len {
            return Ok(None);
        }
        self.key = self.keys.get(self.next).as_string().unwrap_or_default();
        self.next += 1;
        let de: de::value::StrDeserializer<'_, DeError> = self.key.as_str().into_deserializer();
        seed.deserialize(de)
            .map(Some)
            .map_err(|e| e.at(&Path::Key(self.path, &self.key)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let path = Path::Key(self.path, &self.key);
        let value = js_sys::Reflect::get(self.object, &JsValue::from_str(&self.key))
            .unwrap_or(JsValue::UNDEFINED);
        seed.deserialize(JsDe {
            value,
            path: &path,
            depth: self.depth,
        })
        .map_err(|e| e.at(&path))
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.len - self.next).ok()
    }
}
