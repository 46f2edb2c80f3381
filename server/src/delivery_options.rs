//! The shipping providers each delivery option accepts. TikTok Shop refuses a push naming a provider
//! the order's delivery option does not offer (partner docs, Logistics API "Get Shipping Providers",
//! `GET /logistics/202309/delivery_options/{delivery_option_id}/shipping_providers`), so each order's
//! option is listed once, kept per shop, listed again once older than [`FRESH_FOR_MS`], and handed to
//! the engine as the settings' `deliveryOptionProviders`: the sync API's checks and the widget (through
//! `GET /api/settings`) read the same lists.

use std::collections::HashMap;
use std::sync::Arc;

use preflight::model::{DeliveryOptionProviders, Settings, ShippingProvider};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::DeliveryOptionRecord;
use crate::tts::ShippingProvider as TtsProvider;
use crate::wire::settings_of;

/// How long a list is used before it is read again, in milliseconds: 6 hours. A shop's options
/// change when the seller edits them in Seller Center, rarely.
pub const FRESH_FOR_MS: i64 = 6 * 60 * 60 * 1000;

/// How long a listing that failed is not asked again, in milliseconds: 5 minutes.
pub const RETRY_AFTER_MS: i64 = 5 * 60 * 1000;

/// How long a list TikTok Shop could not read again is still used, in milliseconds: 7 days. Older, the
/// option is treated as unknown (any integrated provider passes the preview).
pub const USED_FOR_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// The shop's settings as the engine reads them: as stored, with the delivery options' lists.
#[derive(Clone, Debug)]
pub struct ShopSettings {
    stored: Option<String>,
    options: Vec<DeliveryOptionRecord>,
}

impl ShopSettings {
    /// Reads them (engine work: run it on the engine pool).
    ///
    /// # Errors
    /// 400 when the stored settings cannot be read. A stored list that is not JSON is left out.
    pub fn read(&self) -> Result<Settings, ApiError> {
        let mut settings = settings_of(self.stored.as_deref())?;
        for option in &self.options {
            // A list that is not JSON, or empty, says nothing of the option.
            let Ok(providers) = serde_json::from_str::<Vec<TtsProvider>>(&option.providers_json)
            else {
                continue;
            };
            if providers.is_empty() {
                continue;
            }
            let providers = providers
                .into_iter()
                .map(|p| ShippingProvider {
                    id: p.id,
                    name: p.name,
                })
                .collect();
            let listed = &mut settings.delivery_option_providers;
            listed.retain(|o| o.delivery_option_id != option.delivery_option_id);
            listed.push(DeliveryOptionProviders {
                delivery_option_id: option.delivery_option_id.clone(),
                providers,
            });
        }
        Ok(settings)
    }

    /// Whether the list of `option_id` kept is younger than [`FRESH_FOR_MS`] at `now`.
    fn fresh(&self, option_id: &str, now: i64) -> bool {
        self.options
            .iter()
            .any(|o| o.delivery_option_id == option_id && now - o.fetched_at < FRESH_FOR_MS)
    }
}

/// The shop's settings as stored, with each delivery option's list no older than [`USED_FOR_MS`].
///
/// # Errors
/// The store's.
pub(crate) async fn shop_settings(state: &AppState, shop: &str) -> Result<ShopSettings, ApiError> {
    let (stored, mut options) = state.store.settings_and_delivery_options(shop).await?;
    let now = state.clock.now_millis();
    options.retain(|o| now - o.fetched_at <= USED_FOR_MS);
    Ok(ShopSettings { stored, options })
}

/// The shop's settings as the engine reads them (the default, US and no mappings, when never saved),
/// with its delivery options' providers; read on the engine pool.
///
/// # Errors
/// The store's; 400 when the stored settings cannot be read.
pub(crate) async fn settings(state: &AppState, shop: &str) -> Result<Settings, ApiError> {
    let settings = shop_settings(state, shop).await?;
    state.engine.run(move || settings.read()).await?
}

#[derive(Deserialize)]
struct OptionOf {
    delivery_option_id: Option<String>,
}

/// When the listings of each (shop, delivery option) last failed.
fn failures(state: &AppState) -> std::sync::MutexGuard<'_, HashMap<(String, String), i64>> {
    state
        .listing_failures
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lists the providers of the delivery option of an order (its JSON as TikTok Shop gave it) when the
/// shop's settings as `known` hold no list of it younger than [`FRESH_FOR_MS`]: called where the order
/// was just read at TikTok Shop. Answers whether a new list was kept. When TikTok Shop cannot answer,
/// the last list stays in use (see [`USED_FOR_MS`]), the failure is logged, and the option is not
/// asked again for [`RETRY_AFTER_MS`].
pub(crate) async fn refresh_for(
    state: &Arc<AppState>,
    shop: &str,
    order_json: &str,
    known: &ShopSettings,
) -> bool {
    let Some(option_id) = serde_json::from_str::<OptionOf>(order_json)
        .ok()
        .and_then(|o| o.delivery_option_id)
        .filter(|id| !id.is_empty())
    else {
        return false;
    };
    let now = state.clock.now_millis();
    let key = (shop.to_owned(), option_id.clone());
    let failed_lately = failures(state)
        .get(&key)
        .is_some_and(|at| now - at < RETRY_AFTER_MS);
    if known.fresh(&option_id, now) || failed_lately {
        return false;
    }
    let listed = match crate::state::tiktok_context(state, shop).await {
        Ok(context) => state
            .tts
            .get_shipping_providers(&context, &option_id)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.code().to_owned()),
    };
    let providers = match listed {
        Ok(providers) => providers,
        Err(error) => {
            tracing::warn!(shop, delivery_option_id = %option_id, %error, "delivery option not listed");
            failures(state).insert(key, now);
            return false;
        }
    };
    failures(state).remove(&key);
    let Ok(providers_json) = serde_json::to_string(&providers) else {
        return false;
    };
    let record = DeliveryOptionRecord {
        delivery_option_id: option_id,
        providers_json,
        fetched_at: now,
    };
    match state.store.put_delivery_option(shop, &record).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(shop, code = error.code(), "delivery option not kept");
            false
        }
    }
}
