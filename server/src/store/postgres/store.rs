//! [`Store`] for [`PgStore`]: the SQLite store's semantics (its checks and rules are
//! [`crate::store::rules`]), correct with several instances writing at once.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::ops::{
    self, apply_patch, apply_transition, complete_key, insert_push, load_fulfillment, load_push,
    lock_fulfillment_row, open_states, Params,
};
use super::rows::{self, push_columns, select_fulfillment, writeback_columns, Count};
use super::PgStore;
use crate::store::rules::{
    check_id, check_idempotency_key, check_json, check_oauth_state, check_patch, check_providers,
    check_sealed, check_shop, check_transition, cut_page, decode_cursor, fix_to_reapply,
    held_too_long, millis, parse_updated_at, reuse_key, upsert_outcome,
    writeback_columns as writeback_outcome, KeyReuse, StoredKey, SHOP_TABLES,
};
use crate::store::{
    Answer, Backfill, DeliveryOptionRecord, FulfillmentGuard, FulfillmentPage, FulfillmentPatch,
    FulfillmentQuery, FulfillmentRecord, FulfillmentWebhook, IdempotencyStart, Platform, Purged,
    PushRecord, PushTransition, Recovery, ShopCredentials, Store, StoreError, StoredResponse,
    SyncStatusKind, TiktokEvent, TiktokShop, UpsertOutcome, Writeback, WritebackOutcome,
    IDEMPOTENCY_RETENTION, LOCK_WAIT, MAX_PAGE_LIMIT, WEBHOOK_EVENT_RETENTION,
};

/// How many times a write that found a row gone under it (deleted between its `INSERT … ON CONFLICT`
/// and its `SELECT … FOR UPDATE`) looks again before answering [`StoreError::Unavailable`].
const LOOKS: usize = 3;

/// A shop's settings.
const SETTINGS: &str = "SELECT settings_json FROM shop_settings WHERE shop = $1";

/// A shop's delivery options' providers, as [`delivery_option_records`] reads them.
const DELIVERY_OPTIONS: &str = "SELECT delivery_option_id, providers_json, fetched_at \
     FROM delivery_option_providers WHERE shop = $1 ORDER BY delivery_option_id COLLATE \"C\"";

/// The delivery options of [`DELIVERY_OPTIONS`]'s rows.
fn delivery_option_records(rows: &[Row]) -> Result<Vec<DeliveryOptionRecord>, StoreError> {
    Ok(rows
        .iter()
        .map(|row| {
            Ok(DeliveryOptionRecord {
                delivery_option_id: row.try_get(0)?,
                providers_json: row.try_get(1)?,
                fetched_at: row.try_get(2)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?)
}

/// A count of rows as the store answers it.
fn rows_count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// What a write answers when the row it works on keeps vanishing under it.
fn row_kept_vanishing(what: &str) -> StoreError {
    StoreError::Unavailable(format!("the {what} changed under the write; try again"))
}

impl PgStore {
    /// The row a statement answers on a pooled connection, or `None`.
    async fn read_opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>, StoreError> {
        on_connection!(self, |client| ops::opt(&client, sql, params)).await
    }

    /// The rows a statement answers on a pooled connection.
    async fn read_all(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        on_connection!(self, |client| ops::all(&client, sql, params)).await
    }

    /// One statement on its own (its own transaction), run again as [`super::retryable`] says: how
    /// many rows it changed.
    async fn write(&self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        retrying!(on_connection!(self, |client| ops::execute(
            &client, sql, params
        )))
    }

    /// One statement on its own that answers rows (`RETURNING`), run again as
    /// [`super::retryable`] says.
    async fn write_all(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        retrying!(on_connection!(self, |client| ops::all(
            &client, sql, params
        )))
    }
}

/// Credentials from `access_token` at `at` and the five columns after it.
fn credentials_at(row: &Row, at: usize) -> Result<ShopCredentials, tokio_postgres::Error> {
    Ok(ShopCredentials {
        access_token: row.try_get(at)?,
        access_expires_at: row.try_get(at + 1)?,
        refresh_token: row.try_get(at + 2)?,
        refresh_expires_at: row.try_get(at + 3)?,
        previous_refresh_token: row.try_get(at + 4)?,
        needs_reconnect: row.try_get(at + 5)?,
    })
}

/// A stored count as a `BIGINT`.
fn bigint(field: &'static str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::invalid(field, format!("`{n}` is too large")))
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn settings(&self, shop: &str) -> Result<Option<String>, StoreError> {
        let row = self.read_opt(SETTINGS, &[&shop]).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn put_settings(&self, shop: &str, settings_json: &str) -> Result<(), StoreError> {
        check_shop(shop)?;
        check_json("settings", settings_json)?;
        let sql =
            "INSERT INTO shop_settings (shop, settings_json, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (shop) DO UPDATE SET settings_json = excluded.settings_json, \
                   updated_at = excluded.updated_at";
        self.write(sql, &[&shop, &settings_json, &self.now()])
            .await
            .map(|_| ())
    }

    async fn upsert_fulfillment(
        &self,
        shop: &str,
        webhook: &FulfillmentWebhook<'_>,
    ) -> Result<UpsertOutcome, StoreError> {
        check_shop(shop)?;
        let id = webhook.fulfillment_id;
        check_id("fulfillment_id", id)?;
        let incoming = parse_updated_at(webhook.updated_at)?;
        check_json("fulfillment", webhook.payload_json)?;
        let event_id = webhook.event_id.filter(|e| !e.is_empty());
        if let Some(e) = event_id {
            check_id("event_id", e)?;
        }
        transaction!(self, |tx, now| {
            if let Some(event_id) = event_id {
                let sql = "INSERT INTO webhook_events (shop, event_id, seen_at) \
                           VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
                if ops::execute(tx, sql, &[&shop, &event_id, &now]).await? == 0 {
                    return Ok(UpsertOutcome::DuplicateEvent);
                }
            }
            let (payload, updated_at) = (webhook.payload_json, webhook.updated_at);
            for _ in 0..LOOKS {
                let insert = "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, \
                              shopify_updated_at, created_at, updated_at) \
                              VALUES ($1, $2, $3, $4, $5, $5) \
                              ON CONFLICT (shop, fulfillment_id) DO NOTHING";
                let params: &Params<'_> = &[&shop, &id, &payload, &updated_at, &now];
                if ops::execute(tx, insert, params).await? == 1 {
                    return Ok(UpsertOutcome::Inserted);
                }
                let stored = "SELECT shopify_updated_at FROM fulfillments \
                              WHERE shop = $1 AND fulfillment_id = $2 FOR NO KEY UPDATE";
                let Some(row) = ops::opt(tx, stored, &[&shop, &id]).await? else {
                    continue;
                };
                let outcome = upsert_outcome(incoming, row.try_get(0)?);
                if outcome == UpsertOutcome::Updated {
                    let update = "UPDATE fulfillments SET shopify_json = $3, \
                                  shopify_updated_at = $4, updated_at = $5 \
                                  WHERE shop = $1 AND fulfillment_id = $2";
                    ops::execute(tx, update, params).await?;
                }
                return Ok(outcome);
            }
            Err(row_kept_vanishing("fulfillment"))
        })
    }

    async fn fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<FulfillmentRecord>, StoreError> {
        on_connection!(self, |client| load_fulfillment(
            &client,
            shop,
            fulfillment_id
        ))
        .await
    }

    async fn update_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
    ) -> Result<FulfillmentRecord, StoreError> {
        check_patch(patch)?;
        transaction!(self, |tx, now| {
            apply_patch(tx, shop, fulfillment_id, patch, now).await?;
            load_fulfillment(tx, shop, fulfillment_id)
                .await?
                .ok_or_else(|| StoreError::not_found("fulfillment", fulfillment_id))
        })
    }

    async fn list_fulfillments(
        &self,
        shop: &str,
        query: &FulfillmentQuery,
    ) -> Result<FulfillmentPage, StoreError> {
        let before = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let limit = query.limit.clamp(1, MAX_PAGE_LIMIT);
        let fetch = i64::from(limit) + 1;
        let status = query.status.map(SyncStatusKind::as_str);
        let shop_param: &(dyn ToSql + Sync) = &shop;
        let (sql, params): (&str, Vec<&(dyn ToSql + Sync)>) = match (&status, &before) {
            (None, None) => (
                concat!(
                    select_fulfillment!(),
                    " WHERE f.shop = $1 ORDER BY f.id DESC LIMIT $2"
                ),
                vec![shop_param, &fetch],
            ),
            (Some(status), None) => (
                concat!(
                    select_fulfillment!(),
                    " WHERE f.shop = $1 AND f.sync_status = $2 ORDER BY f.id DESC LIMIT $3"
                ),
                vec![shop_param, status, &fetch],
            ),
            (None, Some(before)) => (
                concat!(
                    select_fulfillment!(),
                    " WHERE f.shop = $1 AND f.id < $2 ORDER BY f.id DESC LIMIT $3"
                ),
                vec![shop_param, before, &fetch],
            ),
            (Some(status), Some(before)) => (
                concat!(
                    select_fulfillment!(),
                    " WHERE f.shop = $1 AND f.sync_status = $2 AND f.id < $3 \
                     ORDER BY f.id DESC LIMIT $4"
                ),
                vec![shop_param, status, before, &fetch],
            ),
        };
        let found = self.read_all(sql, &params).await?;
        let mut page = found
            .iter()
            .map(rows::fulfillment)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = cut_page(&mut page, limit);
        Ok(FulfillmentPage {
            items: page.into_iter().map(|(_, record)| record).collect(),
            next_cursor,
        })
    }

    async fn create_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        check_json("plan", plan_json)?;
        transaction!(self, |tx, now| {
            if !lock_fulfillment_row(tx, shop, fulfillment_id).await? {
                return Err(StoreError::not_found("fulfillment", fulfillment_id));
            }
            insert_push(
                tx,
                shop,
                fulfillment_id,
                plan_json,
                idempotency_key,
                false,
                now,
            )
            .await
        })
    }

    async fn start_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError> {
        check_json("plan", plan_json)?;
        check_patch(patch)?;
        transaction!(self, |tx, now| {
            // The patch locks the fulfillment's row before its pushes are read.
            apply_patch(tx, shop, fulfillment_id, patch, now).await?;
            insert_push(
                tx,
                shop,
                fulfillment_id,
                plan_json,
                idempotency_key,
                true,
                now,
            )
            .await
        })
    }

    async fn push(&self, shop: &str, push_id: i64) -> Result<Option<PushRecord>, StoreError> {
        on_connection!(self, |client| load_push(&client, shop, push_id)).await
    }

    async fn open_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<PushRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            push_columns!(),
            " FROM pushes WHERE shop = $1 AND fulfillment_id = $2 AND state IN ",
            open_states!()
        );
        let row = self.read_opt(sql, &[&shop, &fulfillment_id]).await?;
        Ok(row.map(|row| rows::push(&row, 0)).transpose()?)
    }

    async fn pushes(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Vec<PushRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            push_columns!(),
            " FROM pushes WHERE shop = $1 AND fulfillment_id = $2 ORDER BY id"
        );
        let found = self.read_all(sql, &[&shop, &fulfillment_id]).await?;
        Ok(found
            .iter()
            .map(|row| rows::push(row, 0))
            .collect::<Result<_, _>>()?)
    }

    async fn transition_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
    ) -> Result<PushRecord, StoreError> {
        check_transition(transition)?;
        transaction!(self, |tx, now| {
            apply_transition(tx, shop, push_id, transition, now).await
        })
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
        check_transition(transition)?;
        transaction!(self, |tx, now| {
            let push = apply_transition(tx, shop, push_id, transition, now).await?;
            let record = load_fulfillment(tx, shop, &push.fulfillment_id)
                .await?
                .ok_or_else(|| StoreError::not_found("fulfillment", &push.fulfillment_id))?;
            let response = answer(&record);
            complete_key(tx, shop, key, fingerprint, &response, now).await?;
            Ok(response)
        })
    }

    async fn recover_interrupted(&self) -> Result<Recovery, StoreError> {
        // Only pushes past the longest a live request keeps one `sending`.
        let before = self.now().saturating_sub(millis(self.abandoned_after));
        let sending = self
            .read_all(
                "SELECT shop, fulfillment_id, id FROM pushes \
                 WHERE state = 'sending' AND updated_at <= $1 ORDER BY id",
                &[&before],
            )
            .await?;
        let mut recovery = Recovery::default();
        for row in &sending {
            let (shop, fulfillment_id, id): (String, String, i64) =
                (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            // Held: a live request sends it. Free: its request died with its instance.
            let Some(held) = self.try_hold(&shop, &fulfillment_id).await? else {
                continue;
            };
            let marked = transaction!(self, |tx, now| {
                let unknown = concat!(
                    "UPDATE pushes SET state = 'unknown', updated_at = $3 \
                     WHERE shop = $1 AND id = $2 AND state = 'sending' RETURNING ",
                    push_columns!()
                );
                let Some(row) = ops::opt(tx, unknown, &[&shop, &id, &now]).await? else {
                    return Ok(None);
                };
                let push = rows::push(&row, 0)?;
                let mut released = 0;
                if let Some(key) = &push.idempotency_key {
                    let free = "DELETE FROM idempotency_keys \
                                WHERE shop = $1 AND key = $2 AND state = 'in_progress'";
                    released = rows_count(ops::execute(tx, free, &[&shop, key]).await?);
                }
                Ok(Some((push, released)))
            });
            drop(held);
            if let Some((push, released)) = marked? {
                tracing::warn!(
                    shop = %shop,
                    push_id = push.id,
                    fulfillment_id = %push.fulfillment_id,
                    "push interrupted while sending: outcome unknown"
                );
                recovery.idempotency_keys_released += released;
                recovery.pushes.push((shop, push));
            }
        }
        Ok(recovery)
    }

    async fn lock_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<FulfillmentGuard, StoreError> {
        check_shop(shop)?;
        let held = tokio::time::timeout(LOCK_WAIT, self.hold(shop, fulfillment_id))
            .await
            .map_err(|_| held_too_long())??;
        Ok(FulfillmentGuard::new(held))
    }

    async fn claim_unsettled_pushes(
        &self,
        limit: u32,
        stale_millis: i64,
        lease_millis: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        // Pushes another worker is claiming now are skipped, not waited for.
        let sql = "UPDATE pushes SET settle_claimed_until = $2 \
                   WHERE id IN (SELECT id FROM pushes \
                       WHERE state IN ('pending', 'sending', 'unknown') AND updated_at <= $3 \
                       AND (settle_claimed_until IS NULL OR settle_claimed_until <= $4) \
                       ORDER BY updated_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
                   RETURNING shop, fulfillment_id, updated_at, id";
        let claimed = retrying!(on_connection!(self, |client| async {
            let now = self.now();
            let params: &Params<'_> = &[
                &i64::from(limit),
                &now.saturating_add(lease_millis),
                &now.saturating_sub(stale_millis),
                &now,
            ];
            ops::all(&client, sql, params).await
        }))?;
        let mut claimed = claimed
            .iter()
            .map(|row| {
                Ok((
                    row.try_get(2)?,
                    row.try_get(3)?,
                    row.try_get(0)?,
                    row.try_get(1)?,
                ))
            })
            .collect::<Result<Vec<(i64, i64, String, String)>, tokio_postgres::Error>>()?;
        claimed.sort();
        Ok(claimed
            .into_iter()
            .map(|(_, id, s, f)| (s, f, id))
            .collect())
    }

    async fn claim_backfill(
        &self,
        shop: &str,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE backfills SET claimed_by = $2, claimed_until = $3 WHERE shop = $1 \
                   AND (claimed_by IS NULL OR claimed_by = $2 OR claimed_until <= $4)";
        let now = self.now();
        let params: &Params<'_> = &[&shop, &owner, &now.saturating_add(lease_millis), &now];
        Ok(self.write(sql, params).await? == 1)
    }

    async fn release_backfill(&self, shop: &str, owner: &str) -> Result<(), StoreError> {
        let sql = "UPDATE backfills SET claimed_by = NULL, claimed_until = NULL \
                   WHERE shop = $1 AND claimed_by = $2";
        self.write(sql, &[&shop, &owner]).await?;
        Ok(())
    }

    async fn claim_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError> {
        let sql =
            "UPDATE shop_credentials SET refresh_claimed_by = $3, refresh_claimed_until = $4 \
                   WHERE shop = $1 AND platform = $2 \
                   AND (refresh_claimed_until IS NULL OR refresh_claimed_until <= $5)";
        let now = self.now();
        let params: &Params<'_> = &[
            &shop,
            &platform.as_str(),
            &owner,
            &now.saturating_add(lease_millis),
            &now,
        ];
        Ok(self.write(sql, params).await? == 1)
    }

    async fn release_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE shop_credentials SET refresh_claimed_by = NULL, \
                   refresh_claimed_until = NULL \
                   WHERE shop = $1 AND platform = $2 AND refresh_claimed_by = $3";
        self.write(sql, &[&shop, &platform.as_str(), &owner])
            .await?;
        Ok(())
    }

    async fn begin_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyStart, StoreError> {
        check_shop(shop)?;
        check_idempotency_key(key)?;
        check_id("fingerprint", fingerprint)?;
        transaction!(self, |tx, now| {
            for _ in 0..LOOKS {
                let stored = "SELECT fingerprint, state, response_status, response_body, \
                              created_at, locked_at FROM idempotency_keys \
                              WHERE shop = $1 AND key = $2 FOR UPDATE";
                let Some(row) = ops::opt(tx, stored, &[&shop, &key]).await? else {
                    let insert = "INSERT INTO idempotency_keys \
                                  (shop, key, fingerprint, state, created_at, locked_at) \
                                  VALUES ($1, $2, $3, 'in_progress', $4, $4) \
                                  ON CONFLICT (shop, key) DO NOTHING";
                    if ops::execute(tx, insert, &[&shop, &key, &fingerprint, &now]).await? == 1 {
                        return Ok(IdempotencyStart::Started);
                    }
                    // Another request took the key meanwhile: what it holds answers this one.
                    continue;
                };
                let stored = StoredKey {
                    fingerprint: row.try_get(0)?,
                    state: row.try_get(1)?,
                    status: row.try_get::<_, Option<Count<u16>>>(2)?.map(|c| c.0),
                    body: row.try_get(3)?,
                    created_at: row.try_get(4)?,
                    locked_at: row.try_get(5)?,
                };
                match reuse_key(key, fingerprint, stored, now)? {
                    KeyReuse::Replay(response) => return Ok(IdempotencyStart::Replay(response)),
                    KeyReuse::TakeOver => {
                        let take = "UPDATE idempotency_keys SET locked_at = $3 \
                                    WHERE shop = $1 AND key = $2";
                        ops::execute(tx, take, &[&shop, &key, &now]).await?;
                    }
                    KeyReuse::Expired => {
                        let renew = "UPDATE idempotency_keys SET fingerprint = $3, \
                                     state = 'in_progress', response_status = NULL, \
                                     response_body = NULL, created_at = $4, locked_at = $4, \
                                     completed_at = NULL WHERE shop = $1 AND key = $2";
                        ops::execute(tx, renew, &[&shop, &key, &fingerprint, &now]).await?;
                    }
                }
                return Ok(IdempotencyStart::Started);
            }
            Err(row_kept_vanishing("idempotency key"))
        })
    }

    async fn complete_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        retrying!(on_connection!(self, |client| complete_key(
            &client,
            shop,
            key,
            fingerprint,
            response,
            self.now()
        )))
    }

    async fn release_idempotent(&self, shop: &str, key: &str) -> Result<(), StoreError> {
        let sql =
            "DELETE FROM idempotency_keys WHERE shop = $1 AND key = $2 AND state = 'in_progress'";
        self.write(sql, &[&shop, &key]).await.map(|_| ())
    }

    async fn purge_expired(&self) -> Result<Purged, StoreError> {
        transaction!(self, |tx, now| {
            let keys = "DELETE FROM idempotency_keys WHERE created_at <= $1";
            let keys_before = now.saturating_sub(millis(IDEMPOTENCY_RETENTION));
            let events = "DELETE FROM webhook_events WHERE seen_at <= $1";
            let events_before = now.saturating_sub(millis(WEBHOOK_EVENT_RETENTION));
            Ok(Purged {
                idempotency_keys: rows_count(ops::execute(tx, keys, &[&keys_before]).await?),
                webhook_events: rows_count(ops::execute(tx, events, &[&events_before]).await?),
            })
        })
    }

    async fn first_delivery(&self, shop: &str, webhook_id: &str) -> Result<bool, StoreError> {
        check_shop(shop)?;
        check_id("webhook_id", webhook_id)?;
        let sql = "INSERT INTO webhook_events (shop, event_id, seen_at) VALUES ($1, $2, $3) \
                   ON CONFLICT DO NOTHING";
        Ok(self.write(sql, &[&shop, &webhook_id, &self.now()]).await? > 0)
    }

    async fn delete_shop(&self, shop: &str) -> Result<Vec<(&'static str, usize)>, StoreError> {
        transaction!(self, |tx, _| {
            // The shop's fulfillments first: no push starts on one while its pushes are deleted.
            let lock = "SELECT 1 FROM fulfillments WHERE shop = $1 ORDER BY id FOR UPDATE";
            ops::all(tx, lock, &[&shop]).await?;
            let mut deleted = Vec::with_capacity(SHOP_TABLES.len());
            for table in SHOP_TABLES {
                let sql = format!("DELETE FROM {table} WHERE shop = $1");
                deleted.push((table, rows_count(ops::execute(tx, &sql, &[&shop]).await?)));
            }
            Ok(deleted)
        })
    }

    async fn credentials(
        &self,
        shop: &str,
        platform: Platform,
    ) -> Result<Option<ShopCredentials>, StoreError> {
        let sql = "SELECT access_token, access_expires_at, refresh_token, refresh_expires_at, \
                   previous_refresh_token, needs_reconnect FROM shop_credentials \
                   WHERE shop = $1 AND platform = $2";
        let row = self.read_opt(sql, &[&shop, &platform.as_str()]).await?;
        Ok(row.map(|row| credentials_at(&row, 0)).transpose()?)
    }

    async fn swap_credentials(
        &self,
        shop: &str,
        platform: Platform,
        expected_refresh: Option<&str>,
        credentials: &ShopCredentials,
    ) -> Result<bool, StoreError> {
        check_shop(shop)?;
        check_sealed(credentials)?;
        transaction!(self, |tx, now| {
            let params: &Params<'_> = &[
                &shop,
                &platform.as_str(),
                &credentials.access_token,
                &credentials.access_expires_at,
                &credentials.refresh_token,
                &credentials.refresh_expires_at,
                &credentials.previous_refresh_token,
                &credentials.needs_reconnect,
                &now,
            ];
            for _ in 0..LOOKS {
                let stored = "SELECT refresh_token FROM shop_credentials \
                              WHERE shop = $1 AND platform = $2 FOR UPDATE";
                let Some(row) = ops::opt(tx, stored, &[&shop, &platform.as_str()]).await? else {
                    let insert = "INSERT INTO shop_credentials (shop, platform, access_token, \
                                  access_expires_at, refresh_token, refresh_expires_at, \
                                  previous_refresh_token, needs_reconnect, updated_at) \
                                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                                  ON CONFLICT (shop, platform) DO NOTHING";
                    if ops::execute(tx, insert, params).await? == 1 {
                        return Ok(true);
                    }
                    // Stored meanwhile: compared with what was stored.
                    continue;
                };
                let stored: Option<String> = row.try_get(0)?;
                if let Some(expected) = expected_refresh {
                    if stored.as_deref() != Some(expected) {
                        return Ok(false);
                    }
                }
                let update = "UPDATE shop_credentials SET access_token = $3, \
                              access_expires_at = $4, refresh_token = $5, refresh_expires_at = $6, \
                              previous_refresh_token = $7, needs_reconnect = $8, updated_at = $9, \
                              refresh_claimed_by = NULL, refresh_claimed_until = NULL \
                              WHERE shop = $1 AND platform = $2";
                ops::execute(tx, update, params).await?;
                return Ok(true);
            }
            Err(row_kept_vanishing("credentials"))
        })
    }

    async fn mark_reconnect(
        &self,
        shop: &str,
        platform: Platform,
        refused: Option<&str>,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE shop_credentials SET needs_reconnect = TRUE, updated_at = $3, \
                   refresh_claimed_by = NULL, refresh_claimed_until = NULL \
                   WHERE shop = $1 AND platform = $2 \
                   AND ($4::TEXT IS NULL OR refresh_token = $4)";
        let params: &Params<'_> = &[&shop, &platform.as_str(), &self.now(), &refused];
        Ok(self.write(sql, params).await? > 0)
    }

    async fn all_credentials(
        &self,
    ) -> Result<Vec<(String, Platform, ShopCredentials)>, StoreError> {
        let sql = "SELECT shop, platform, access_token, access_expires_at, refresh_token, \
                   refresh_expires_at, previous_refresh_token, needs_reconnect \
                   FROM shop_credentials ORDER BY shop COLLATE \"C\", platform COLLATE \"C\"";
        let found = self.read_all(sql, &[]).await?;
        Ok(found
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, credentials_at(row, 2)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }

    async fn delete_credentials(&self, shop: &str, platform: Platform) -> Result<bool, StoreError> {
        let sql = "DELETE FROM shop_credentials WHERE shop = $1 AND platform = $2";
        Ok(self.write(sql, &[&shop, &platform.as_str()]).await? > 0)
    }

    async fn record_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
        outcome: &WritebackOutcome,
    ) -> Result<bool, StoreError> {
        let (state, code, message, next_at) = writeback_outcome(outcome);
        let sql = "UPDATE fulfillments SET writeback_state = $4, \
                   writeback_attempts = writeback_attempts + 1, writeback_error_code = $5, \
                   writeback_error_message = $6, writeback_next_at = $7, updated_at = $8 \
                   WHERE shop = $1 AND fulfillment_id = $2 AND writeback_number = $3 \
                   AND writeback_state IN ('pending', 'failed')";
        let params: &Params<'_> = &[
            &shop,
            &fulfillment_id,
            &tracking_number,
            &state,
            &code,
            &message,
            &next_at,
            &self.now(),
        ];
        Ok(self.write(sql, params).await? == 1)
    }

    async fn release_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
    ) -> Result<bool, StoreError> {
        retrying!(on_connection!(self, |client| ops::release(
            &client,
            shop,
            fulfillment_id,
            tracking_number,
            self.now()
        )))
    }

    async fn claim_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        now_millis: i64,
        lease_until_millis: i64,
    ) -> Result<bool, StoreError> {
        // A second claimant waits for the first's row lock, then finds it no longer due.
        let sql = "UPDATE fulfillments SET writeback_next_at = $3 \
                   WHERE shop = $1 AND fulfillment_id = $2 AND writeback_state = 'pending' \
                   AND writeback_next_at <= $4";
        let params: &Params<'_> = &[&shop, &fulfillment_id, &lease_until_millis, &now_millis];
        Ok(self.write(sql, params).await? == 1)
    }

    async fn due_writebacks(
        &self,
        now_millis: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, Writeback)>, StoreError> {
        let sql = concat!(
            "SELECT shop, fulfillment_id, ",
            writeback_columns!(),
            " FROM fulfillments WHERE writeback_state = 'pending' AND writeback_next_at <= $1 \
             ORDER BY writeback_next_at LIMIT $2"
        );
        let found = self
            .read_all(sql, &[&now_millis, &i64::from(limit)])
            .await?;
        let mut due = Vec::with_capacity(found.len());
        for row in &found {
            if let Some(writeback) = rows::writeback(row, 2)? {
                due.push((row.try_get(0)?, row.try_get(1)?, writeback));
            }
        }
        Ok(due)
    }

    async fn shopify_tracking_seen(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: Option<&str>,
    ) -> Result<Option<Writeback>, StoreError> {
        transaction!(self, |tx, _| {
            if !lock_fulfillment_row(tx, shop, fulfillment_id).await? {
                return Ok(None);
            }
            let params: &Params<'_> = &[&shop, &fulfillment_id, &tracking_number];
            let done = "UPDATE fulfillments SET writeback_state = 'done', \
                        writeback_error_code = NULL, writeback_error_message = NULL, \
                        writeback_next_at = NULL \
                        WHERE shop = $1 AND fulfillment_id = $2 AND writeback_number = $3 \
                        AND writeback_state IN ('pending', 'failed')";
            ops::execute(tx, done, params).await?;
            // A third number: the merchant changed it in Shopify, and the fix held here is moot.
            let moot = "UPDATE fulfillments SET writeback_state = NULL, writeback_number = NULL, \
                        writeback_company = NULL, writeback_replaces = NULL, \
                        writeback_attempts = 0 \
                        WHERE shop = $1 AND fulfillment_id = $2 AND writeback_state = 'held' \
                        AND $3::text IS NOT NULL AND $3::text IS DISTINCT FROM writeback_number \
                        AND $3::text IS DISTINCT FROM writeback_replaces";
            ops::execute(tx, moot, params).await?;
            let now_held = concat!(
                "SELECT ",
                writeback_columns!(),
                " FROM fulfillments WHERE shop = $1 AND fulfillment_id = $2"
            );
            let row = ops::opt(tx, now_held, &[&shop, &fulfillment_id]).await?;
            let writeback = match row {
                Some(row) => rows::writeback(&row, 0)?,
                None => None,
            };
            Ok(fix_to_reapply(writeback, tracking_number))
        })
    }

    async fn backfill(&self, shop: &str) -> Result<Option<Backfill>, StoreError> {
        let sql = "SELECT state, since, cursor, orders_read, fulfillments_read, error_code, \
                   started_at FROM backfills WHERE shop = $1";
        let Some(row) = self.read_opt(sql, &[&shop]).await? else {
            return Ok(None);
        };
        Ok(Some(Backfill {
            state: row.try_get(0)?,
            since: row.try_get(1)?,
            cursor: row.try_get(2)?,
            orders_read: row.try_get::<_, Count<u64>>(3)?.0,
            fulfillments_read: row.try_get::<_, Count<u64>>(4)?.0,
            error_code: row.try_get(5)?,
            started_at: row.try_get(6)?,
        }))
    }

    async fn put_backfill(&self, shop: &str, backfill: &Backfill) -> Result<(), StoreError> {
        let orders_read = bigint("orders_read", backfill.orders_read)?;
        let fulfillments_read = bigint("fulfillments_read", backfill.fulfillments_read)?;
        let sql = "INSERT INTO backfills (shop, state, since, cursor, orders_read, \
                   fulfillments_read, error_code, started_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (shop) DO UPDATE SET state = excluded.state, since = excluded.since, \
                   cursor = excluded.cursor, orders_read = excluded.orders_read, \
                   fulfillments_read = excluded.fulfillments_read, \
                   error_code = excluded.error_code, started_at = excluded.started_at, \
                   updated_at = excluded.updated_at, \
                   claimed_by = CASE WHEN excluded.state = 'running' THEN backfills.claimed_by END, \
                   claimed_until = CASE WHEN excluded.state = 'running' \
                       THEN backfills.claimed_until END";
        let params: &Params<'_> = &[
            &shop,
            &backfill.state.as_str(),
            &backfill.since,
            &backfill.cursor,
            &orders_read,
            &fulfillments_read,
            &backfill.error_code,
            &backfill.started_at,
            &self.now(),
        ];
        self.write(sql, params).await.map(|_| ())
    }

    async fn tiktok_shop(&self, shop: &str) -> Result<Option<TiktokShop>, StoreError> {
        let sql = "SELECT tts_shop_id, shop_name, region, seller_type, cipher, open_id, \
                   connected_at, authorization_expires_at FROM tiktok_shops WHERE shop = $1";
        let Some(row) = self.read_opt(sql, &[&shop]).await? else {
            return Ok(None);
        };
        Ok(Some(TiktokShop {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            region: row.try_get(2)?,
            seller_type: row.try_get(3)?,
            cipher: row.try_get(4)?,
            open_id: row.try_get(5)?,
            connected_at: row.try_get(6)?,
            authorization_expires_at: row.try_get(7)?,
        }))
    }

    async fn put_tiktok_shop(&self, shop: &str, tiktok: &TiktokShop) -> Result<(), StoreError> {
        let sql = "INSERT INTO tiktok_shops (shop, tts_shop_id, shop_name, region, seller_type, \
                   cipher, open_id, connected_at, authorization_expires_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (shop) DO UPDATE SET tts_shop_id = excluded.tts_shop_id, \
                   shop_name = excluded.shop_name, region = excluded.region, \
                   seller_type = excluded.seller_type, cipher = excluded.cipher, \
                   open_id = excluded.open_id, connected_at = excluded.connected_at, \
                   authorization_expires_at = excluded.authorization_expires_at";
        let params: &Params<'_> = &[
            &shop,
            &tiktok.id,
            &tiktok.name,
            &tiktok.region,
            &tiktok.seller_type,
            &tiktok.cipher,
            &tiktok.open_id,
            &tiktok.connected_at,
            &tiktok.authorization_expires_at,
        ];
        self.write(sql, params).await.map(|_| ())
    }

    async fn put_oauth_state(
        &self,
        shop: &str,
        state: &str,
        now_millis: i64,
    ) -> Result<(), StoreError> {
        check_oauth_state(state)?;
        let sql = "INSERT INTO oauth_states (state, shop, created_at) VALUES ($1, $2, $3)";
        self.write(sql, &[&state, &shop, &now_millis])
            .await
            .map(|_| ())
    }

    async fn take_oauth_state(
        &self,
        state: &str,
        now_millis: i64,
        max_age_millis: i64,
    ) -> Result<Option<String>, StoreError> {
        let sql = "UPDATE oauth_states SET used_at = $2 WHERE state = $1 AND used_at IS NULL \
                   RETURNING shop, created_at";
        let taken = self.write_all(sql, &[&state, &now_millis]).await?;
        let Some(row) = taken.first() else {
            return Ok(None);
        };
        let created: i64 = row.try_get(1)?;
        if now_millis.saturating_sub(created) > max_age_millis {
            return Ok(None);
        }
        Ok(Some(row.try_get(0)?))
    }

    async fn shop_of_tiktok(&self, tts_shop_id: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT shop FROM tiktok_shops WHERE tts_shop_id = $1 LIMIT 1";
        let row = self.read_opt(sql, &[&tts_shop_id]).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn set_tiktok_expiry(&self, shop: &str, expires_at: i64) -> Result<(), StoreError> {
        let sql = "UPDATE tiktok_shops SET authorization_expires_at = $2 WHERE shop = $1";
        self.write(sql, &[&shop, &expires_at]).await.map(|_| ())
    }

    async fn enqueue_tiktok_event(&self, event: &TiktokEvent) -> Result<bool, StoreError> {
        let sql = "INSERT INTO tiktok_events (notification_id, shop, event_type, data_json, \
                   received_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
        let params: &Params<'_> = &[
            &event.notification_id,
            &event.shop,
            &event.event_type,
            &event.data_json,
            &event.received_at,
        ];
        Ok(self.write(sql, params).await? == 1)
    }

    async fn claim_tiktok_events(
        &self,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<TiktokEvent>, StoreError> {
        // Events another worker is claiming now are skipped, not waited for; one whose claim was
        // committed meanwhile is checked again, and left while its lease holds.
        let sql = "UPDATE tiktok_events SET claimed_until = $2 \
                   WHERE notification_id IN (SELECT notification_id FROM tiktok_events \
                       WHERE done_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $3) \
                       ORDER BY received_at, notification_id LIMIT $1 FOR UPDATE SKIP LOCKED) \
                   RETURNING notification_id, shop, event_type, data_json, received_at";
        let claimed = retrying!(on_connection!(self, |client| async {
            let now = self.now();
            let params: &Params<'_> = &[&i64::from(limit), &now.saturating_add(lease_millis), &now];
            ops::all(&client, sql, params).await
        }))?;
        let mut events = claimed
            .iter()
            .map(|row| {
                Ok(TiktokEvent {
                    notification_id: row.try_get(0)?,
                    shop: row.try_get(1)?,
                    event_type: row.try_get(2)?,
                    data_json: row.try_get(3)?,
                    received_at: row.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        events.sort_by(|a, b| {
            (a.received_at, &a.notification_id).cmp(&(b.received_at, &b.notification_id))
        });
        Ok(events)
    }

    async fn finish_tiktok_event(&self, notification_id: &str) -> Result<(), StoreError> {
        let sql = "UPDATE tiktok_events SET done_at = $2 WHERE notification_id = $1";
        self.write(sql, &[&notification_id, &self.now()])
            .await
            .map(|_| ())
    }

    async fn fulfillments_of_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        // The order's `id` as a JSON string, as SQLite's `json_extract` compares it.
        let sql = "SELECT fulfillment_id FROM fulfillments WHERE shop = $1 \
                   AND json_typeof(tts_order_json::json -> 'id') = 'string' \
                   AND tts_order_json::json ->> 'id' = $2 ORDER BY id";
        let found = self.read_all(sql, &[&shop, &order_id]).await?;
        Ok(found
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    async fn shop_version(&self, shop: &str) -> Result<i64, StoreError> {
        let sql = "SELECT version FROM shop_versions WHERE shop = $1";
        let row = self.read_opt(sql, &[&shop]).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
    }

    async fn delivery_options(&self, shop: &str) -> Result<Vec<DeliveryOptionRecord>, StoreError> {
        let found = self.read_all(DELIVERY_OPTIONS, &[&shop]).await?;
        delivery_option_records(&found)
    }

    async fn settings_and_delivery_options(
        &self,
        shop: &str,
    ) -> Result<(Option<String>, Vec<DeliveryOptionRecord>), StoreError> {
        // Both queries pipelined on one connection.
        let (settings, options) = on_connection!(self, |client| async {
            let params: &Params<'_> = &[&shop];
            tokio::try_join!(
                ops::opt(&client, SETTINGS, params),
                ops::all(&client, DELIVERY_OPTIONS, params)
            )
        })
        .await?;
        let settings = settings.map(|r| r.try_get(0)).transpose()?;
        Ok((settings, delivery_option_records(&options)?))
    }

    async fn put_delivery_option(
        &self,
        shop: &str,
        option: &DeliveryOptionRecord,
    ) -> Result<(), StoreError> {
        check_providers(&option.providers_json)?;
        let sql = "INSERT INTO delivery_option_providers \
                   (shop, delivery_option_id, providers_json, fetched_at) VALUES ($1, $2, $3, $4) \
                   ON CONFLICT (shop, delivery_option_id) DO UPDATE SET \
                   providers_json = excluded.providers_json, fetched_at = excluded.fetched_at";
        let params: &Params<'_> = &[
            &shop,
            &option.delivery_option_id,
            &option.providers_json,
            &option.fetched_at,
        ];
        self.write(sql, params).await.map(|_| ())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        PgStore::ping(self).await
    }
}
