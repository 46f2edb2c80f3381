//! [`Store`] for [`SqliteStore`]: each call runs the store's blocking operation on tokio's blocking
//! pool, with its arguments copied, so that a write waiting on SQLite's lock never holds up an async
//! thread.

use super::{
    Answer, Backfill, DeliveryOptionRecord, FulfillmentGuard, FulfillmentPage, FulfillmentPatch,
    FulfillmentQuery, FulfillmentRecord, FulfillmentWebhook, IdempotencyStart, Platform, Purged,
    PushRecord, PushTransition, Recovery, ShopCredentials, SqliteStore, Store, StoreError,
    StoredResponse, TiktokEvent, TiktokShop, UpsertOutcome, Writeback, WritebackOutcome,
};

/// Runs a blocking store call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
}

/// A webhook's fields, owned, to cross to the blocking pool.
struct OwnedWebhook {
    fulfillment_id: String,
    updated_at: String,
    payload_json: String,
    event_id: Option<String>,
}

impl OwnedWebhook {
    fn from(webhook: &FulfillmentWebhook<'_>) -> Self {
        Self {
            fulfillment_id: webhook.fulfillment_id.to_owned(),
            updated_at: webhook.updated_at.to_owned(),
            payload_json: webhook.payload_json.to_owned(),
            event_id: webhook.event_id.map(str::to_owned),
        }
    }

    fn borrow(&self) -> FulfillmentWebhook<'_> {
        FulfillmentWebhook {
            fulfillment_id: &self.fulfillment_id,
            updated_at: &self.updated_at,
            payload_json: &self.payload_json,
            event_id: self.event_id.as_deref(),
        }
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn settings(&self, shop: &str) -> Result<Option<String>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.settings(&shop)).await
    }

    async fn put_settings(&self, shop: &str, settings_json: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let settings_json = settings_json.to_owned();
        blocking(move || store.put_settings(&shop, &settings_json)).await
    }

    async fn upsert_fulfillment(
        &self,
        shop: &str,
        webhook: &FulfillmentWebhook<'_>,
    ) -> Result<UpsertOutcome, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let webhook = OwnedWebhook::from(webhook);
        blocking(move || store.upsert_fulfillment(&shop, &webhook.borrow())).await
    }

    async fn fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<FulfillmentRecord>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        blocking(move || store.fulfillment(&shop, &fulfillment_id)).await
    }

    async fn update_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
    ) -> Result<FulfillmentRecord, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let patch = patch.clone();
        blocking(move || store.update_fulfillment(&shop, &fulfillment_id, &patch)).await
    }

    async fn list_fulfillments(
        &self,
        shop: &str,
        query: &FulfillmentQuery,
    ) -> Result<FulfillmentPage, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let query = query.clone();
        blocking(move || store.list_fulfillments(&shop, &query)).await
    }

    async fn create_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let plan_json = plan_json.to_owned();
        let idempotency_key = idempotency_key.map(str::to_owned);
        blocking(move || {
            store.create_push(
                &shop,
                &fulfillment_id,
                &plan_json,
                idempotency_key.as_deref(),
            )
        })
        .await
    }

    async fn start_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let patch = patch.clone();
        let plan_json = plan_json.to_owned();
        let idempotency_key = idempotency_key.map(str::to_owned);
        blocking(move || {
            store.start_push(
                &shop,
                &fulfillment_id,
                &patch,
                &plan_json,
                idempotency_key.as_deref(),
            )
        })
        .await
    }

    async fn push(&self, shop: &str, push_id: i64) -> Result<Option<PushRecord>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.push(&shop, push_id)).await
    }

    async fn open_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<PushRecord>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        blocking(move || store.open_push(&shop, &fulfillment_id)).await
    }

    async fn pushes(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Vec<PushRecord>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        blocking(move || store.pushes(&shop, &fulfillment_id)).await
    }

    async fn transition_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
    ) -> Result<PushRecord, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let transition = transition.clone();
        blocking(move || store.transition_push(&shop, push_id, &transition)).await
    }

    async fn finish_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
        key: &str,
        fingerprint: &str,
        answer: Answer,
    ) -> Result<StoredResponse, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let transition = transition.clone();
        let key = key.to_owned();
        let fingerprint = fingerprint.to_owned();
        blocking(move || {
            store.finish_push(&shop, push_id, &transition, &key, &fingerprint, &*answer)
        })
        .await
    }

    async fn recover_interrupted(&self) -> Result<Recovery, StoreError> {
        let store = self.clone();
        blocking(move || store.recover_interrupted()).await
    }

    async fn begin_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyStart, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let key = key.to_owned();
        let fingerprint = fingerprint.to_owned();
        blocking(move || store.begin_idempotent(&shop, &key, &fingerprint)).await
    }

    async fn complete_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let key = key.to_owned();
        let fingerprint = fingerprint.to_owned();
        let response = response.clone();
        blocking(move || store.complete_idempotent(&shop, &key, &fingerprint, &response)).await
    }

    async fn release_idempotent(&self, shop: &str, key: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let key = key.to_owned();
        blocking(move || store.release_idempotent(&shop, &key)).await
    }

    async fn purge_expired(&self) -> Result<Purged, StoreError> {
        let store = self.clone();
        blocking(move || store.purge_expired()).await
    }

    async fn first_delivery(&self, shop: &str, webhook_id: &str) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let webhook_id = webhook_id.to_owned();
        blocking(move || store.first_delivery(&shop, &webhook_id)).await
    }

    async fn delete_shop(&self, shop: &str) -> Result<Vec<(&'static str, usize)>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.delete_shop(&shop)).await
    }

    async fn credentials(
        &self,
        shop: &str,
        platform: Platform,
    ) -> Result<Option<ShopCredentials>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.credentials(&shop, platform)).await
    }

    async fn swap_credentials(
        &self,
        shop: &str,
        platform: Platform,
        expected_refresh: Option<&str>,
        credentials: &ShopCredentials,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let expected_refresh = expected_refresh.map(str::to_owned);
        let credentials = credentials.clone();
        blocking(move || {
            store.swap_credentials(&shop, platform, expected_refresh.as_deref(), &credentials)
        })
        .await
    }

    async fn mark_reconnect(
        &self,
        shop: &str,
        platform: Platform,
        refused: Option<&str>,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let refused = refused.map(str::to_owned);
        blocking(move || store.mark_reconnect(&shop, platform, refused.as_deref())).await
    }

    async fn all_credentials(
        &self,
    ) -> Result<Vec<(String, Platform, ShopCredentials)>, StoreError> {
        let store = self.clone();
        blocking(move || store.all_credentials()).await
    }

    async fn delete_credentials(&self, shop: &str, platform: Platform) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.delete_credentials(&shop, platform)).await
    }

    async fn record_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
        outcome: &WritebackOutcome,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let tracking_number = tracking_number.to_owned();
        let outcome = outcome.clone();
        blocking(move || store.record_writeback(&shop, &fulfillment_id, &tracking_number, &outcome))
            .await
    }

    async fn release_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let tracking_number = tracking_number.to_owned();
        blocking(move || store.release_writeback(&shop, &fulfillment_id, &tracking_number)).await
    }

    async fn claim_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        now_millis: i64,
        lease_until_millis: i64,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        blocking(move || {
            store.claim_writeback(&shop, &fulfillment_id, now_millis, lease_until_millis)
        })
        .await
    }

    async fn due_writebacks(
        &self,
        now_millis: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, Writeback)>, StoreError> {
        let store = self.clone();
        blocking(move || store.due_writebacks(now_millis, limit)).await
    }

    async fn shopify_tracking_seen(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: Option<&str>,
    ) -> Result<Option<Writeback>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let fulfillment_id = fulfillment_id.to_owned();
        let tracking_number = tracking_number.map(str::to_owned);
        blocking(move || {
            store.shopify_tracking_seen(&shop, &fulfillment_id, tracking_number.as_deref())
        })
        .await
    }

    async fn backfill(&self, shop: &str) -> Result<Option<Backfill>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.backfill(&shop)).await
    }

    async fn put_backfill(&self, shop: &str, backfill: &Backfill) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let backfill = backfill.clone();
        blocking(move || store.put_backfill(&shop, &backfill)).await
    }

    async fn tiktok_shop(&self, shop: &str) -> Result<Option<TiktokShop>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.tiktok_shop(&shop)).await
    }

    async fn put_tiktok_shop(&self, shop: &str, tiktok: &TiktokShop) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let tiktok = tiktok.clone();
        blocking(move || store.put_tiktok_shop(&shop, &tiktok)).await
    }

    async fn put_oauth_state(
        &self,
        shop: &str,
        state: &str,
        now_millis: i64,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let state = state.to_owned();
        blocking(move || store.put_oauth_state(&shop, &state, now_millis)).await
    }

    async fn take_oauth_state(
        &self,
        state: &str,
        now_millis: i64,
        max_age_millis: i64,
    ) -> Result<Option<String>, StoreError> {
        let store = self.clone();
        let state = state.to_owned();
        blocking(move || store.take_oauth_state(&state, now_millis, max_age_millis)).await
    }

    async fn shop_of_tiktok(&self, tts_shop_id: &str) -> Result<Option<String>, StoreError> {
        let store = self.clone();
        let tts_shop_id = tts_shop_id.to_owned();
        blocking(move || store.shop_of_tiktok(&tts_shop_id)).await
    }

    async fn set_tiktok_expiry(&self, shop: &str, expires_at: i64) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.set_tiktok_expiry(&shop, expires_at)).await
    }

    async fn enqueue_tiktok_event(&self, event: &TiktokEvent) -> Result<bool, StoreError> {
        let store = self.clone();
        let event = event.clone();
        blocking(move || store.enqueue_tiktok_event(&event)).await
    }

    async fn claim_tiktok_events(
        &self,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<TiktokEvent>, StoreError> {
        let store = self.clone();
        blocking(move || store.claim_tiktok_events(limit, lease_millis)).await
    }

    async fn finish_tiktok_event(&self, notification_id: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let notification_id = notification_id.to_owned();
        blocking(move || store.finish_tiktok_event(&notification_id)).await
    }

    async fn fulfillments_of_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let order_id = order_id.to_owned();
        blocking(move || store.fulfillments_of_order(&shop, &order_id)).await
    }

    async fn shop_version(&self, shop: &str) -> Result<i64, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.shop_version(&shop)).await
    }

    async fn delivery_options(&self, shop: &str) -> Result<Vec<DeliveryOptionRecord>, StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.delivery_options(&shop)).await
    }

    async fn put_delivery_option(
        &self,
        shop: &str,
        option: &DeliveryOptionRecord,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        let option = option.clone();
        blocking(move || store.put_delivery_option(&shop, &option)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let store = self.clone();
        blocking(move || store.ping()).await
    }

    async fn lock_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<FulfillmentGuard, StoreError> {
        super::rules::check_shop(shop)?;
        let held = tokio::time::timeout(
            super::LOCK_WAIT,
            SqliteStore::lock_fulfillment(self, shop, fulfillment_id),
        )
        .await
        .map_err(|_| super::rules::held_too_long())?;
        Ok(FulfillmentGuard::new(held))
    }

    async fn claim_unsettled_pushes(
        &self,
        limit: u32,
        stale_millis: i64,
        lease_millis: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let store = self.clone();
        blocking(move || store.claim_unsettled_pushes(limit, stale_millis, lease_millis)).await
    }

    async fn claim_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let (shop, owner) = (shop.to_owned(), owner.to_owned());
        blocking(move || store.claim_refresh(&shop, platform, &owner, lease_millis)).await
    }

    async fn release_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        let (shop, owner) = (shop.to_owned(), owner.to_owned());
        blocking(move || store.release_refresh(&shop, platform, &owner)).await
    }

    async fn settings_and_delivery_options(
        &self,
        shop: &str,
    ) -> Result<(Option<String>, Vec<DeliveryOptionRecord>), StoreError> {
        let store = self.clone();
        let shop = shop.to_owned();
        blocking(move || store.settings_and_delivery_options(&shop)).await
    }

    async fn claim_backfill(
        &self,
        shop: &str,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        let store = self.clone();
        let (shop, owner) = (shop.to_owned(), owner.to_owned());
        blocking(move || store.claim_backfill(&shop, &owner, lease_millis)).await
    }

    async fn release_backfill(&self, shop: &str, owner: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let (shop, owner) = (shop.to_owned(), owner.to_owned());
        blocking(move || store.release_backfill(&shop, &owner)).await
    }
}
