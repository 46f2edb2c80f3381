//! Steps that several operations share, each run on the caller's transaction (or, for a read, on a
//! connection): statements prepared once per connection, records loaded, a fulfillment's row locked,
//! patched and settled, pushes created and moved, a write-back released, an idempotency key completed.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::rows::{self, push_columns, select_fulfillment};
use crate::store::{
    FulfillmentPatch, FulfillmentRecord, PushRecord, PushState, PushTransition, StoreError,
    StoredResponse, SyncStatus,
};

/// The states of an open push, as SQL: a fulfillment has at most one (`pushes_one_open`).
macro_rules! open_states {
    () => {
        "('pending', 'sending', 'unknown', 'needs_review')"
    };
}
pub(super) use open_states;

/// A statement's parameters.
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The row a statement answers, or `None` (it answers one at most).
pub(super) async fn opt<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

/// The rows a statement answers.
pub(super) async fn all<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// How many rows a statement changed.
pub(super) async fn execute<C: GenericClient>(
    client: &C,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// One push of the shop, or `None`.
pub(super) async fn load_push<C: GenericClient>(
    client: &C,
    shop: &str,
    push_id: i64,
) -> Result<Option<PushRecord>, StoreError> {
    let sql = concat!(
        "SELECT ",
        push_columns!(),
        " FROM pushes WHERE shop = $1 AND id = $2"
    );
    let row = opt(client, sql, &[&shop, &push_id]).await?;
    Ok(row.map(|row| rows::push(&row, 0)).transpose()?)
}

/// One fulfillment of the shop with its latest push, or `None`.
pub(super) async fn load_fulfillment<C: GenericClient>(
    client: &C,
    shop: &str,
    fulfillment_id: &str,
) -> Result<Option<FulfillmentRecord>, StoreError> {
    let sql = concat!(
        select_fulfillment!(),
        " WHERE f.shop = $1 AND f.fulfillment_id = $2"
    );
    let row = opt(client, sql, &[&shop, &fulfillment_id]).await?;
    Ok(row
        .map(|row| rows::fulfillment(&row))
        .transpose()?
        .map(|(_, record)| record))
}

/// Locks the fulfillment's row until the transaction ends (before its pushes: every writer takes them
/// in that order); `false` when it does not exist.
pub(super) async fn lock_fulfillment_row<C: GenericClient>(
    tx: &C,
    shop: &str,
    fulfillment_id: &str,
) -> Result<bool, StoreError> {
    let sql = "SELECT 1 FROM fulfillments WHERE shop = $1 AND fulfillment_id = $2 \
               FOR NO KEY UPDATE";
    Ok(opt(tx, sql, &[&shop, &fulfillment_id]).await?.is_some())
}

/// Sets the given fields of a fulfillment, in one statement.
///
/// # Errors
/// [`StoreError::NotFound`] when the shop has no such fulfillment.
pub(super) async fn apply_patch<C: GenericClient>(
    tx: &C,
    shop: &str,
    fulfillment_id: &str,
    patch: &FulfillmentPatch,
    now: i64,
) -> Result<(), StoreError> {
    let sql = "UPDATE fulfillments SET tts_order_json = COALESCE($3, tts_order_json), \
               history_json = COALESCE($4, history_json), report_json = COALESCE($5, report_json), \
               updated_at = $6, shopify_json = COALESCE($7, shopify_json), \
               sync_status = COALESCE($8, sync_status), \
               failure_code = CASE WHEN $8::text IS NULL THEN failure_code ELSE $9::text END, \
               failure_reason = CASE WHEN $8::text IS NULL THEN failure_reason ELSE $10::text END, \
               failure_solution = CASE WHEN $8::text IS NULL THEN failure_solution \
                                  ELSE $11::text END, \
               link_json = COALESCE($12, link_json), \
               writeback_state = CASE WHEN $13 THEN 'held' ELSE writeback_state END, \
               writeback_number = CASE WHEN $13 THEN $14::text ELSE writeback_number END, \
               writeback_company = CASE WHEN $13 THEN $15::text ELSE writeback_company END, \
               writeback_replaces = CASE WHEN $13 THEN $16::text ELSE writeback_replaces END, \
               writeback_attempts = CASE WHEN $13 THEN 0 ELSE writeback_attempts END, \
               writeback_error_code = CASE WHEN $13 THEN NULL ELSE writeback_error_code END, \
               writeback_error_message = CASE WHEN $13 THEN NULL \
                                         ELSE writeback_error_message END, \
               writeback_next_at = CASE WHEN $13 THEN NULL ELSE writeback_next_at END \
               WHERE shop = $1 AND fulfillment_id = $2";
    let status = patch.sync_status.as_ref().map(|s| s.kind().as_str());
    let failure = match &patch.sync_status {
        Some(SyncStatus::SyncFailed(failure)) => Some(failure),
        _ => None,
    };
    let fix = patch.hold_writeback.as_ref();
    let changed = execute(
        tx,
        sql,
        &[
            &shop,
            &fulfillment_id,
            &patch.tts_order_json,
            &patch.history_json,
            &patch.report_json,
            &now,
            &patch.shopify_json,
            &status,
            &failure.map(|f| f.code.as_str()),
            &failure.map(|f| f.reason.as_str()),
            &failure.map(|f| f.solution.as_str()),
            &patch.link_json,
            &fix.is_some(),
            &fix.map(|f| f.number.as_str()),
            &fix.and_then(|f| f.company.as_deref()),
            &fix.and_then(|f| f.replaces.as_deref()),
        ],
    )
    .await?;
    if changed == 0 {
        return Err(StoreError::not_found("fulfillment", fulfillment_id));
    }
    Ok(())
}

/// Creates a push, `pending`, or already `sending` (one attempt), unless the fulfillment has an open
/// one. The caller holds the fulfillment's row.
///
/// # Errors
/// [`StoreError::PushInFlight`].
pub(super) async fn insert_push<C: GenericClient>(
    tx: &C,
    shop: &str,
    fulfillment_id: &str,
    plan_json: &str,
    idempotency_key: Option<&str>,
    sending: bool,
    now: i64,
) -> Result<PushRecord, StoreError> {
    let open = concat!(
        "SELECT id FROM pushes WHERE shop = $1 AND fulfillment_id = $2 AND state IN ",
        open_states!()
    );
    if let Some(row) = opt(tx, open, &[&shop, &fulfillment_id]).await? {
        return Err(StoreError::PushInFlight {
            fulfillment_id: fulfillment_id.to_owned(),
            push_id: row.try_get(0)?,
        });
    }
    let insert = concat!(
        "INSERT INTO pushes (shop, fulfillment_id, state, plan_json, attempts, idempotency_key, \
         created_at, updated_at, sending_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
         RETURNING ",
        push_columns!()
    );
    let state = if sending {
        PushState::Sending
    } else {
        PushState::Pending
    };
    let row = opt(
        tx,
        insert,
        &[
            &shop,
            &fulfillment_id,
            &state.as_str(),
            &plan_json,
            &i64::from(sending),
            &idempotency_key,
            &now,
            &sending.then_some(now),
        ],
    )
    .await?
    .ok_or_else(|| StoreError::not_found("fulfillment", fulfillment_id))?;
    Ok(rows::push(&row, 0)?)
}

/// Moves a push (checked by [`crate::store::rules::check_transition`]) with its effect on the
/// fulfillment, whose row it locks first.
///
/// # Errors
/// [`StoreError::NotFound`]; [`StoreError::PushStateChanged`].
pub(super) async fn apply_transition<C: GenericClient>(
    tx: &C,
    shop: &str,
    push_id: i64,
    transition: &PushTransition,
    now: i64,
) -> Result<PushRecord, StoreError> {
    let PushTransition {
        from,
        to,
        response_json,
        failure,
        history_json,
        tts_order_json,
        report_json,
        writeback_number,
        attempts,
    } = transition;
    let (from, to) = (*from, *to);
    let attempts = attempts.map(i64::from);
    let not_found = || StoreError::not_found("push", push_id.to_string());
    let lock = "SELECT p.fulfillment_id FROM pushes p JOIN fulfillments f \
                ON f.shop = p.shop AND f.fulfillment_id = p.fulfillment_id \
                WHERE p.shop = $1 AND p.id = $2 FOR NO KEY UPDATE OF f";
    let fulfillment_id: String = opt(tx, lock, &[&shop, &push_id])
        .await?
        .ok_or_else(not_found)?
        .try_get(0)?;
    let update = concat!(
        "UPDATE pushes SET state = $3, updated_at = $4, \
         attempts = attempts + CASE WHEN $5 THEN 1 ELSE 0 END, \
         sending_at = CASE WHEN $5 THEN $4 ELSE sending_at END, \
         response_json = COALESCE($6, response_json), \
         failure_code = CASE WHEN $7::text IS NOT NULL THEN $7::text WHEN $3 = 'sent' THEN NULL \
                        ELSE failure_code END, \
         failure_reason = CASE WHEN $7::text IS NOT NULL THEN $8::text WHEN $3 = 'sent' THEN NULL \
                          ELSE failure_reason END, \
         failure_solution = CASE WHEN $7::text IS NOT NULL THEN $9::text \
                            WHEN $3 = 'sent' THEN NULL ELSE failure_solution END \
         WHERE shop = $1 AND id = $2 AND state = $10 \
         AND ($11::BIGINT IS NULL OR attempts = $11) RETURNING ",
        push_columns!()
    );
    let moved = opt(
        tx,
        update,
        &[
            &shop,
            &push_id,
            &to.as_str(),
            &now,
            &(to == PushState::Sending),
            response_json,
            &failure.as_ref().map(|f| f.code.as_str()),
            &failure.as_ref().map(|f| f.reason.as_str()),
            &failure.as_ref().map(|f| f.solution.as_str()),
            &from.as_str(),
            &attempts,
        ],
    )
    .await?;
    let Some(moved) = moved else {
        let actual = load_push(tx, shop, push_id).await?.ok_or_else(not_found)?;
        return Err(StoreError::PushStateChanged {
            push_id,
            expected: from,
            actual: actual.state,
        });
    };
    match (to, failure) {
        (PushState::Sent, _) => {
            let synced = "UPDATE fulfillments SET sync_status = 'synced', failure_code = NULL, \
                          failure_reason = NULL, failure_solution = NULL, updated_at = $3, \
                          history_json = COALESCE($4, history_json), \
                          tts_order_json = COALESCE($5, tts_order_json), \
                          report_json = COALESCE($6, report_json) \
                          WHERE shop = $1 AND fulfillment_id = $2";
            execute(
                tx,
                synced,
                &[
                    &shop,
                    &fulfillment_id,
                    &now,
                    history_json,
                    tts_order_json,
                    report_json,
                ],
            )
            .await?;
            if let Some(number) = writeback_number {
                // TikTok Shop has the fix: Shopify is told now.
                release(tx, shop, &fulfillment_id, number, now).await?;
            }
        }
        (PushState::Failed | PushState::NeedsReview, Some(failure)) => {
            let failed = "UPDATE fulfillments SET sync_status = 'sync_failed', failure_code = $3, \
                          failure_reason = $4, failure_solution = $5, updated_at = $6 \
                          WHERE shop = $1 AND fulfillment_id = $2";
            execute(
                tx,
                failed,
                &[
                    &shop,
                    &fulfillment_id,
                    &failure.code,
                    &failure.reason,
                    &failure.solution,
                    &now,
                ],
            )
            .await?;
        }
        _ => {}
    }
    Ok(rows::push(&moved, 0)?)
}

/// A `held` or `failed` write-back made `pending` for `number`, due at `now`: whether there was one.
pub(super) async fn release<C: GenericClient>(
    tx: &C,
    shop: &str,
    fulfillment_id: &str,
    number: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let sql = "UPDATE fulfillments SET writeback_state = 'pending', writeback_number = $3, \
               writeback_next_at = $4, writeback_error_code = NULL, writeback_error_message = NULL \
               WHERE shop = $1 AND fulfillment_id = $2 AND writeback_state IN ('held', 'failed')";
    Ok(execute(tx, sql, &[&shop, &fulfillment_id, &number, &now]).await? == 1)
}

/// Records the answer of the request holding an idempotency key.
///
/// # Errors
/// [`StoreError::NotFound`] when no request with this key and fingerprint is in progress.
pub(super) async fn complete_key<C: GenericClient>(
    tx: &C,
    shop: &str,
    key: &str,
    fingerprint: &str,
    response: &StoredResponse,
    now: i64,
) -> Result<(), StoreError> {
    let sql = "UPDATE idempotency_keys SET state = 'completed', response_status = $4, \
               response_body = $5, completed_at = $6 \
               WHERE shop = $1 AND key = $2 AND fingerprint = $3 AND state = 'in_progress'";
    let params: &Params<'_> = &[
        &shop,
        &key,
        &fingerprint,
        &i64::from(response.status),
        &response.body,
        &now,
    ];
    if execute(tx, sql, params).await? == 0 {
        return Err(StoreError::not_found("idempotency key", key));
    }
    Ok(())
}
