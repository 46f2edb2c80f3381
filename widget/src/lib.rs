//! The widget: each fulfillment's sync status and the engine's preview of its push, each failure's
//! reason and solution, fixes in place (a carrier mapping, the tracking number) and re-sync, on the
//! sync API.
//!
//! ```js
//! import init, { mount } from "fulfillment-preflight/widget";
//! await init();
//! const widget = mount(element, { apiBase: "", getToken: () => shopify.idToken() });
//! widget.unmount();
//! ```
//!
//! Parts own their elements and their listeners (`gloo_events::EventListener`): dropping a part
//! detaches everything it added. The module exports the engine's JS API as well (`Validator`,
//! `carriers`, …: the `preflight` crate's `wasm` module, linked in), so a page that shows the widget
//! needs no second copy of the engine.

pub mod action;
pub mod model;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod detail;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod state;
#[cfg(target_arch = "wasm32")]
mod view;

#[cfg(target_arch = "wasm32")]
pub use app::{mount, MountError, Widget};
