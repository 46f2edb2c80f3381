//! What the widget asks of the page's DOM and of the host's callbacks, through `boundary.js`, whose
//! functions never throw: an exception that crossed into the module would unwind past Rust frames that
//! never finish.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/boundary.js")]
extern "C" {
    /// The document of a real HTML element (not a look-alike or a Proxy of one), or `null`.
    #[wasm_bindgen(catch, js_name = "documentOf")]
    fn document_of_js(element: &JsValue) -> Result<JsValue, JsValue>;

    /// A native promise of a value: a caller's promise or thenable followed, never called now.
    #[wasm_bindgen(catch, js_name = "settle")]
    fn settle_js(value: &JsValue) -> Result<js_sys::Promise, JsValue>;
}

/// The document of `element` when it is a real HTML element.
pub fn document_of(element: &JsValue) -> Option<web_sys::Document> {
    document_of_js(element)
        .ok()
        .filter(|d| !d.is_null() && !d.is_undefined())
        .map(JsCast::unchecked_into)
}

/// A native promise of `value` (a caller's promise, thenable or plain value), safe to await.
pub fn settle(value: &JsValue) -> js_sys::Promise {
    settle_js(value).unwrap_or_else(|thrown| js_sys::Promise::reject(&thrown))
}
