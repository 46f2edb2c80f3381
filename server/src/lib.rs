//! The sync API's parts: authentication of Shopify requests, storage on embedded SQLite or on
//! PostgreSQL shared by several instances, and TikTok Shop and Shopify, live or simulated.
//!
//! Floors, each using only those below it: `api` (routes; `demo` seeds through them; `webhooks`, Shopify's
//! lifecycle and privacy webhooks; `settle`, open pushes settled in the background) → `sync` (the
//! at-most-once push) → `delivery_options` (each delivery option's providers) → `state`, `wire` (our records as JSON), `engine` (its pool) → `error` →
//! `store`, `tts`, `shopify` (its token endpoint; a simulator), `auth`, `tokens` (access tokens sealed
//! at rest).

pub mod api;
pub mod auth;
pub mod backfill;
pub mod connect;
pub mod delivery_options;
pub mod demo;
pub mod engine;
pub mod error;
pub mod linking;
mod refresh;
pub mod serve;
pub mod settle;
pub mod shopify;
pub mod state;
pub mod store;
pub mod sync;
pub mod tiktok_events;
pub mod tokens;
pub mod tts;
pub mod webhooks;
pub mod wire;
pub mod writeback;

pub use serve::{serve, ServeConfig};
