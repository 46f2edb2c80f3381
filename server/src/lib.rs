//! The sync API's parts: authentication of Shopify requests, storage on embedded SQLite, and TikTok
//! Shop, live or simulated, behind one trait.

pub mod api;
pub mod auth;
pub mod demo;
pub mod engine;
pub mod error;
pub mod serve;
pub mod store;
pub mod sync;
pub mod tts;

pub use serve::{serve, ServeConfig};
