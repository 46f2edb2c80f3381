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

#[cfg(feature = "js-api")]
mod api;
#[cfg(feature = "js-api")]
mod types;
#[cfg(feature = "js-api")]
pub use api::{carriers, version, JsValidator};

/// The allocator: smaller and faster than the standard library's dlmalloc on wasm.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

// What the module asks of JS: functions that catch whatever the caller's values throw and answer data.
// An exception crossing into the module would unwind past Rust frames that never finish, leaving the
// `Validator` borrowed and the module's stack pointer moved for good. They are declared `catch` all the
// same, so that what they cannot catch themselves (the JS stack running out inside them) cannot unwind
// either. The module's other imports (wasm-bindgen's typeof checks and string copies, the getters of a
// `Failure`) cannot throw; `tests/js/node.test.mjs` lists them all.
#[wasm_bindgen(module = "/src/wasm/boundary.js")]
extern "C" {
    /// A `PreflightError`: an `Error` with its own `name`, `code`, `path` and `detail`.
    #[wasm_bindgen(catch, js_name = "preflightError")]
    fn preflight_error_js(
        message: &str,
        code: &str,
        path: &str,
        detail: &str,
    ) -> Result<JsValue, JsValue>;

    /// What was thrown, as one line: an `Error`'s message, a string as it is.
    #[wasm_bindgen(catch, js_name = "describeThrown")]
    fn describe_thrown_js(thrown: &JsValue) -> Result<String, JsValue>;
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

/// A JS `Error` named `PreflightError` with its own `code`, `path` and `detail`, as the JS API throws
/// them (for crates that add to that API); the message alone, as a string, in the one case it cannot
/// be built: the JS stack run out.
#[must_use]
pub fn preflight_error(message: &str, code: &str, path: &str, detail: &str) -> JsValue {
    preflight_error_js(message, code, path, detail).unwrap_or_else(|_| JsValue::from_str(message))
}

/// What JS code threw (a rejected promise, a callback that threw), as one line: an `Error`'s message,
/// a string as it is, else a stock phrase. Reading it never throws, whatever was thrown.
#[must_use]
pub fn describe_thrown(thrown: &JsValue) -> String {
    describe_thrown_js(thrown).unwrap_or_else(|_| "a value was thrown".to_owned())
}
