//! The JavaScript API: a thin wasm-bindgen layer over the engine.
//!
//! ```js
//! import init, { Validator, carriers, version } from "fulfillment-preflight";
//! await init();
//! const v = new Validator(settings);
//! const report = v.validate(input, now);        // now: ISO string or Date; omitted = current time
//! ```
//!
//! Inputs and reports are plain JS objects with the same field names and values as the JSON form.
//! Malformed input throws a `PreflightError` (an `Error` whose `name` is `PreflightError`) carrying
//! `code`, `message` and `path`; the instance keeps working after any error.

use wasm_bindgen::prelude::*;

use crate::error::{InputError, InputErrorKind};
use crate::json::ToJson;
use crate::model::read::{Path, Read};
use crate::{CarrierMapping, Input, Region, Settings, Timestamp};

mod types;

/// The allocator: smaller and faster than the standard library's dlmalloc on wasm.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(module = "/src/wasm/boundary.js")]
extern "C" {
    /// `JSON.stringify`, with `BigInt`s marked; throws on a cycle, very deep nesting, or a throwing
    /// `toJSON` or getter.
    #[wasm_bindgen(catch, js_name = "toJson")]
    fn to_json_text(value: &JsValue) -> Result<JsValue, JsValue>;
}

/// Reports the message of a panic to the console. A last resort: no input should reach a panic.
#[wasm_bindgen(start, skip_typescript)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!(
            "fulfillment-preflight: {info}"
        )));
    }));
}

/// An [`InputError`] as a thrown JS `Error` named `PreflightError`, with `code` and `path`.
fn js_error(e: &InputError) -> JsValue {
    let error = js_sys::Error::new(&e.to_string());
    error.set_name("PreflightError");
    let object: &JsValue = error.as_ref();
    // Setting a property on a fresh Error cannot fail.
    let _ = js_sys::Reflect::set(object, &"code".into(), &e.code().into());
    let _ = js_sys::Reflect::set(object, &"path".into(), &e.path.as_str().into());
    let _ = js_sys::Reflect::set(object, &"detail".into(), &e.message.as_str().into());
    error.into()
}

/// Reads a `T` from a JS value: one `JSON.stringify` across the boundary, then the engine's own reader,
/// the same as for JSON text. `JSON.stringify` writes `NaN` and `Infinity` as `null` and leaves out
/// `undefined`, functions and symbols; the reader then names the field as missing or of the wrong type.
fn from_js<T: Read>(value: &JsValue) -> Result<T, InputError> {
    let text = to_json_text(value).map_err(|thrown| {
        // Anything may be thrown (a getter or `toJSON` of the caller's); only an Error has a name.
        let (name, reason) = match thrown.dyn_ref::<js_sys::Error>() {
            Some(error) => (String::from(error.name()), String::from(error.message())),
            None => (
                String::new(),
                "a value was thrown while writing it".to_owned(),
            ),
        };
        // JSON.stringify overflows its stack on very deep nesting, and throws a TypeError on a cycle.
        if name == "RangeError" {
            InputError::new(
                InputErrorKind::TooDeep,
                "",
                format!("recursion limit exceeded: the value is nested too deeply ({reason})"),
            )
        } else {
            InputError::new(
                InputErrorKind::InvalidValue,
                "",
                format!("invalid value: it cannot be written as JSON ({reason})"),
            )
        }
    })?;
    match text.as_string() {
        Some(text) => T::read(&crate::json::parse_from_js(&text)?, &Path::Root),
        // `undefined`, a function or a symbol: JSON.stringify writes nothing.
        None => T::read(
            &crate::json::Value::Js(crate::json::Js::Other("undefined".into())),
            &Path::Root,
        ),
    }
}

/// A plain JS object of a value: written as JSON in the module, parsed once by the host.
fn to_js<T: ToJson + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&value.to_json())
}

/// `now` as given: an RFC 3339 string, a `Date`, or nothing for the current time.
fn instant(now: Option<js_sys::Object>) -> Result<Timestamp, InputError> {
    // The parameter is typed `Object` only to be optional in TypeScript: it may hold any JS value.
    let now = JsValue::from(now);
    let millis = if now.is_undefined() || now.is_null() {
        js_sys::Date::now()
    } else if let Some(text) = now.as_string() {
        return crate::parse_now(&text);
    } else if let Some(date) = now.dyn_ref::<js_sys::Date>() {
        date.get_time()
    } else {
        return Err(InputError::new(
            InputErrorKind::InvalidType,
            "now",
            "invalid type: expected an RFC 3339 string or a Date",
        ));
    };
    if !millis.is_finite() || millis.abs() > 8.64e15 {
        return Err(InputError::new(
            InputErrorKind::InvalidTimestamp,
            "now",
            "invalid timestamp: the Date is invalid",
        ));
    }
    // A finite value within ±8.64e15 (the range of a JS Date) fits an i64.
    #[allow(clippy::cast_possible_truncation)]
    Ok(Timestamp::from_unix_millis(millis as i64))
}

/// Checks fulfillments against one shop's settings; build it once, validate many.
#[wasm_bindgen(js_name = "Validator")]
pub struct JsValidator {
    inner: crate::Validator,
}

#[wasm_bindgen(js_class = "Validator")]
impl JsValidator {
    /// Builds a validator from the shop's settings.
    ///
    /// # Errors
    /// A `PreflightError` for malformed settings.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "Settings")] settings: JsValue,
    ) -> Result<JsValidator, JsValue> {
        let settings: Settings = from_js(&settings).map_err(|e| js_error(&e))?;
        let inner = crate::Validator::new(settings).map_err(|e| js_error(&e))?;
        Ok(Self { inner })
    }

    /// Validates one fulfillment at `now` (an RFC 3339 string or a `Date`; omitted: the current time).
    ///
    /// # Errors
    /// A `PreflightError` for malformed input.
    #[wasm_bindgen(unchecked_return_type = "Report")]
    pub fn validate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Input")] input: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | Date")] now: Option<
            js_sys::Object,
        >,
    ) -> Result<JsValue, JsValue> {
        let now = instant(now).map_err(|e| js_error(&e))?;
        let input: Input = from_js(&input).map_err(|e| js_error(&e))?;
        to_js(&self.inner.validate(&input, now))
    }

    /// Validates many fulfillments at one instant.
    ///
    /// # Errors
    /// A `PreflightError` for malformed input, with a path like `inputs[3].order.id`.
    #[wasm_bindgen(js_name = "validateBatch", unchecked_return_type = "Report[]")]
    pub fn validate_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Input[]")] inputs: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string | Date")] now: Option<
            js_sys::Object,
        >,
    ) -> Result<JsValue, JsValue> {
        let now = instant(now).map_err(|e| js_error(&e))?;
        let inputs: Vec<Input> = from_js(&inputs).map_err(|e| js_error(&e.within("inputs")))?;
        to_js(&self.inner.validate_batch(&inputs, now))
    }

    /// Replaces the carrier mappings and rebuilds their index, keeping the rest.
    ///
    /// # Errors
    /// A `PreflightError` for a malformed mapping; the validator is then unchanged.
    #[wasm_bindgen(js_name = "setCarrierMappings")]
    pub fn set_carrier_mappings(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "CarrierMapping[]")] mappings: JsValue,
    ) -> Result<(), JsValue> {
        let mappings: Vec<CarrierMapping> =
            from_js(&mappings).map_err(|e| js_error(&e.within("carrierMappings")))?;
        self.inner
            .set_carrier_mappings(mappings)
            .map_err(|e| js_error(&e))
    }
}

/// The TikTok Shop providers of a region (`"US"`, `"UK"`): `[{id, name, aliases}]`.
///
/// # Errors
/// A `PreflightError` `input.unknown_region` for another region.
#[wasm_bindgen(unchecked_return_type = "Carrier[]")]
pub fn carriers(
    #[wasm_bindgen(unchecked_param_type = "Region")] region: JsValue,
) -> Result<JsValue, JsValue> {
    let region: Region = from_js(&region).map_err(|e| js_error(&e.within("region")))?;
    to_js(crate::carrier::catalog::providers(region))
}

/// The package version.
#[wasm_bindgen]
#[must_use]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
