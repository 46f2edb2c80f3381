//! The engine's JS API (the `js-api` feature): `Validator`, `carriers` and `version`, with the
//! boundary that reads JS values into the engine and writes reports back.

use wasm_bindgen::prelude::*;

use super::preflight_error;
use crate::error::{InputError, InputErrorKind};
use crate::json::ToJson;
use crate::model::read::{Path, Read};
use crate::{CarrierMapping, Input, Region, Settings, Timestamp};

// The boundary's functions the JS API alone needs (see `super` for why each is `catch`).
#[wasm_bindgen(module = "/src/wasm/boundary.js")]
extern "C" {
    /// `JSON.stringify` with `BigInt`s marked and strings that could pass for a mark escaped: the
    /// text, `undefined` when nothing is written, or a [`Failure`].
    #[wasm_bindgen(catch, js_name = "toJson")]
    fn to_json_text(value: &JsValue) -> Result<JsValue, JsValue>;

    /// `now` as given: a string as it is, a `Date`'s milliseconds, the current time for nothing,
    /// `null` for anything else.
    #[wasm_bindgen(catch, js_name = "timeOf")]
    fn time_of(value: &JsValue) -> Result<JsValue, JsValue>;

    /// JSON text the module wrote, as JS values (`JSON.parse` as it was when the module loaded).
    #[wasm_bindgen(catch, js_name = "fromJson")]
    fn from_json_text(text: &str) -> Result<JsValue, JsValue>;

    /// Why writing a value failed: `{failed: "too_deep" | "too_large" | "invalid", message, path}`, a
    /// plain object of the boundary's own; `path` names the value that threw, or is empty.
    type Failure;
    #[wasm_bindgen(method, getter)]
    fn failed(this: &Failure) -> String;
    #[wasm_bindgen(method, getter)]
    fn message(this: &Failure) -> String;
    #[wasm_bindgen(method, getter)]
    fn path(this: &Failure) -> String;
}

/// An [`InputError`] as a thrown JS `Error` named `PreflightError`, with `code`, `path` and `detail`.
fn js_error(e: &InputError) -> JsValue {
    preflight_error(&e.to_string(), e.code(), &e.path, &e.message)
}

/// The error of an import that threw, which the boundary's functions never do.
fn thrown(path: &str) -> InputError {
    InputError::new(
        InputErrorKind::InvalidValue,
        path,
        "invalid value: reading it threw an exception",
    )
}

/// Reads a `T` from a JS value: one `JSON.stringify` across the boundary, then the engine's own reader,
/// the same as for JSON text. `JSON.stringify` writes `NaN` and `Infinity` as `null` and leaves out
/// `undefined`, functions and symbols; the reader then names the field as missing or of the wrong type.
/// Whatever the value throws while written (a getter, `toJSON`, a Proxy trap, a cycle) is an
/// `input.invalid_value` naming it; nesting past the engine's depth is `input.too_deep`, and JSON text
/// past 16 Mi characters `input.too_large`.
fn from_js<T: Read>(value: &JsValue) -> Result<T, InputError> {
    let written = to_json_text(value).map_err(|_| thrown(""))?;
    if let Some(text) = written.as_string() {
        return T::read(&crate::json::parse_from_js(&text)?, &Path::Root);
    }
    if written.is_undefined() {
        // `undefined`, a function or a symbol: JSON.stringify writes nothing.
        return T::read(
            &crate::json::Value::Js(crate::json::Js::Other("undefined".into())),
            &Path::Root,
        );
    }
    let failure: Failure = written.unchecked_into();
    let reason = failure.message();
    Err(match failure.failed().as_str() {
        "too_deep" => InputError::new(
            InputErrorKind::TooDeep,
            failure.path(),
            format!("recursion limit exceeded: the value is nested too deeply ({reason})"),
        ),
        "too_large" => InputError::new(
            InputErrorKind::TooLarge,
            failure.path(),
            format!("too large: {reason}"),
        ),
        _ => InputError::new(
            InputErrorKind::InvalidValue,
            failure.path(),
            format!("invalid value: reading it threw, or it holds itself ({reason})"),
        ),
    })
}

/// A plain JS object of a value: written as JSON in the module, parsed once by the host.
fn to_js<T: ToJson + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    from_json_text(&value.to_json())
}

/// `now` as given: an RFC 3339 string, a `Date`, or nothing for the current time.
fn instant(now: Option<js_sys::Object>) -> Result<Timestamp, InputError> {
    // The parameter is typed `Object` only to be optional in TypeScript: it may hold any JS value.
    let time = time_of(&JsValue::from(now)).map_err(|_| thrown("now"))?;
    if let Some(text) = time.as_string() {
        return crate::parse_now(&text);
    }
    let Some(millis) = time.as_f64() else {
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
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a count or a duration, far within the range of the other type"
    )]
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
