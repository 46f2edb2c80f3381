//! Rows read back as records: the column lists the statements select, in the order these readers
//! take them, and the stored names read as their types (an unexpected one fails the read).

use std::error::Error;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Row;

use crate::store::rules::ts;
use crate::store::{
    BackfillState, FulfillmentRecord, Platform, PushRecord, PushState, SyncFailure, SyncStatus,
    SyncStatusKind, Writeback, WritebackState,
};

/// A push's columns, as [`push`] reads them.
macro_rules! push_columns {
    () => {
        "id, fulfillment_id, state, plan_json, attempts, response_json, failure_code, \
         failure_reason, failure_solution, idempotency_key, created_at, updated_at, sending_at"
    };
}
pub(super) use push_columns;

/// A fulfillment's write-back columns, as [`writeback`] reads them.
macro_rules! writeback_columns {
    () => {
        "writeback_state, writeback_number, writeback_company, writeback_replaces, \
         writeback_attempts, writeback_error_code, writeback_error_message, writeback_next_at"
    };
}
pub(super) use writeback_columns;

/// A fulfillment's columns and its latest push's (all null without one), as [`fulfillment`] reads
/// them: the statement goes on with `WHERE` on `f`.
macro_rules! select_fulfillment {
    () => {
        concat!(
            "SELECT f.id, f.fulfillment_id, f.shopify_json, f.shopify_updated_at, f.tts_order_json, \
             f.history_json, f.report_json, f.sync_status, f.failure_code, f.failure_reason, \
             f.failure_solution, f.created_at, f.updated_at, f.link_json, ",
            $crate::store::postgres::rows::writeback_columns!(),
            ", p.* FROM fulfillments f LEFT JOIN LATERAL (SELECT ",
            $crate::store::postgres::rows::push_columns!(),
            " FROM pushes WHERE pushes.shop = f.shop AND pushes.fulfillment_id = f.fulfillment_id \
             ORDER BY pushes.id DESC LIMIT 1) p ON TRUE"
        )
    };
}
pub(super) use select_fulfillment;

/// Where [`select_fulfillment`]'s write-back columns start.
const FULFILLMENT_WRITEBACK: usize = 14;
/// Where [`select_fulfillment`]'s push columns start.
const FULFILLMENT_PUSH: usize = 22;

/// A count stored as `BIGINT`, read as the unsigned type it is kept in.
pub(super) struct Count<T>(pub T);

impl<'a, T: TryFrom<i64>> FromSql<'a> for Count<T> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let n = i64::from_sql(ty, raw)?;
        T::try_from(n)
            .map(Count)
            .map_err(|_| format!("count `{n}` out of range").into())
    }

    fn accepts(ty: &Type) -> bool {
        <i64 as FromSql>::accepts(ty)
    }
}

/// `FromSql` for a type stored by its name.
macro_rules! from_name {
    ($($ty:ty => $parse:expr),* $(,)?) => {$(
        impl<'a> FromSql<'a> for $ty {
            fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
                let name = <&str as FromSql>::from_sql(ty, raw)?;
                let parse: fn(&str) -> Option<Self> = $parse;
                parse(name).ok_or_else(|| {
                    format!("unexpected {} `{name}`", stringify!($ty)).into()
                })
            }

            fn accepts(ty: &Type) -> bool {
                <&str as FromSql>::accepts(ty)
            }
        }
    )*};
}

from_name! {
    PushState => PushState::parse,
    SyncStatusKind => SyncStatusKind::parse,
    WritebackState => WritebackState::parse,
    BackfillState => |name| {
        [BackfillState::Running, BackfillState::Done, BackfillState::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    },
    Platform => |name| {
        [Platform::Shopify, Platform::Tiktok]
            .into_iter()
            .find(|p| p.as_str() == name)
    },
}

/// A failure from its code, reason and solution columns at `at`: none without a code.
fn failure(row: &Row, at: usize) -> Result<Option<SyncFailure>, tokio_postgres::Error> {
    let Some(code) = row.try_get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(SyncFailure {
        code,
        reason: row
            .try_get::<_, Option<String>>(at + 1)?
            .unwrap_or_default(),
        solution: row
            .try_get::<_, Option<String>>(at + 2)?
            .unwrap_or_default(),
    }))
}

/// A push from [`push_columns`] at `at`.
pub(super) fn push(row: &Row, at: usize) -> Result<PushRecord, tokio_postgres::Error> {
    Ok(PushRecord {
        id: row.try_get(at)?,
        fulfillment_id: row.try_get(at + 1)?,
        state: row.try_get(at + 2)?,
        plan_json: row.try_get(at + 3)?,
        attempts: row.try_get::<_, Count<u32>>(at + 4)?.0,
        response_json: row.try_get(at + 5)?,
        failure: failure(row, at + 6)?,
        idempotency_key: row.try_get(at + 9)?,
        created_at: ts(row.try_get(at + 10)?),
        updated_at: ts(row.try_get(at + 11)?),
        sending_at: row.try_get::<_, Option<i64>>(at + 12)?.map(ts),
    })
}

/// A write-back from [`writeback_columns`] at `at`, when the fulfillment has one.
pub(super) fn writeback(row: &Row, at: usize) -> Result<Option<Writeback>, tokio_postgres::Error> {
    let Some(state) = row.try_get::<_, Option<WritebackState>>(at)? else {
        return Ok(None);
    };
    let code: Option<String> = row.try_get(at + 5)?;
    let message: Option<String> = row.try_get(at + 6)?;
    Ok(Some(Writeback {
        state,
        tracking_number: row
            .try_get::<_, Option<String>>(at + 1)?
            .unwrap_or_default(),
        company: row.try_get(at + 2)?,
        replaces: row.try_get(at + 3)?,
        attempts: row.try_get::<_, Count<u32>>(at + 4)?.0,
        error: code.map(|c| (c, message.unwrap_or_default())),
        next_attempt_at: row.try_get::<_, Option<i64>>(at + 7)?.map(ts),
    }))
}

/// A fulfillment and its latest push from [`select_fulfillment`], with its row id (the pagination
/// key).
pub(super) fn fulfillment(row: &Row) -> Result<(i64, FulfillmentRecord), tokio_postgres::Error> {
    let sync_status = match row.try_get::<_, SyncStatusKind>(7)? {
        SyncStatusKind::NotSynced => SyncStatus::NotSynced,
        SyncStatusKind::Synced => SyncStatus::Synced,
        // The code is read as required: a failure without one fails the read.
        SyncStatusKind::SyncFailed => SyncStatus::SyncFailed(SyncFailure {
            code: row.try_get(8)?,
            reason: row.try_get::<_, Option<String>>(9)?.unwrap_or_default(),
            solution: row.try_get::<_, Option<String>>(10)?.unwrap_or_default(),
        }),
    };
    let latest_push = match row.try_get::<_, Option<i64>>(FULFILLMENT_PUSH)? {
        Some(_) => Some(push(row, FULFILLMENT_PUSH)?),
        None => None,
    };
    Ok((
        row.try_get(0)?,
        FulfillmentRecord {
            fulfillment_id: row.try_get(1)?,
            shopify_json: row.try_get(2)?,
            shopify_updated_at: row.try_get(3)?,
            tts_order_json: row.try_get(4)?,
            history_json: row.try_get(5)?,
            report_json: row.try_get(6)?,
            sync_status,
            created_at: ts(row.try_get(11)?),
            updated_at: ts(row.try_get(12)?),
            latest_push,
            link_json: row.try_get(13)?,
            writeback: writeback(row, FULFILLMENT_WRITEBACK)?,
        },
    ))
}
