#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]
//! The store's contract, on every backend (SQLite on a real file; PostgreSQL when
//! `PREFLIGHT_TEST_POSTGRES` names a server): shop scoping, webhook ordering and dedupe, listing, the
//! push state machine, idempotency keys, credentials, leases on TikTok Shop's events and on backfills. And SQLite's
//! own: pragmas, migrations, the file.

mod backends;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use backends::Backend;
use preflight_server::store::{
    request_fingerprint, Backfill, BackfillState, Clock, DeliveryOptionRecord, FulfillmentPatch,
    FulfillmentQuery, FulfillmentWebhook, IdempotencyStart, PushState, PushTransition,
    SqliteOptions, SqliteStore, Store, StoreError, StoredResponse, SyncFailure, SyncStatus,
    SyncStatusKind, SystemClock, TiktokEvent, UpsertOutcome, IDEMPOTENCY_LOCK_TIMEOUT,
};
use tempfile::TempDir;

const A: &str = "acme.myshopify.com";
const B: &str = "bravo.myshopify.com";
const PLAN: &str = r#"{"action":"ship","packageId":null,"lineItemIds":["1","2"],"shippingProviderId":"7117859084333745966","trackingNumber":"1Z5R89390357567127"}"#;
const START: i64 = 1_795_000_000_000;

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl ManualClock {
    fn at_start() -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(START)))
    }

    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn open(dir: &TempDir) -> SqliteStore {
    SqliteStore::open(dir.path().join("preflight.db")).unwrap()
}

/// Every backend, on the system clock.
async fn each() -> Vec<Backend> {
    backends::each_on(Arc::new(SystemClock)).await
}

/// Every backend, each on a clock of its own that starts at [`START`].
async fn each_on_manual_clocks() -> Vec<(Backend, Arc<ManualClock>)> {
    let mut all = Vec::new();
    let clock = ManualClock::at_start();
    all.push((backends::sqlite(clock.clone()).await, clock));
    let clock = ManualClock::at_start();
    if let Some(postgres) = backends::postgres(clock.clone()).await {
        all.push((postgres, clock));
    }
    all
}

fn webhook<'a>(id: &'a str, updated_at: &'a str, payload: &'a str) -> FulfillmentWebhook<'a> {
    FulfillmentWebhook {
        fulfillment_id: id,
        updated_at,
        payload_json: payload,
        event_id: None,
    }
}

async fn add_fulfillment(store: &dyn Store, shop: &str, id: &str) {
    let payload = format!(r#"{{"id":{id},"tracking_number":"1Z5R89390357567127"}}"#);
    let outcome = store
        .upsert_fulfillment(shop, &webhook(id, "2026-11-20T10:00:00Z", &payload))
        .await
        .unwrap();
    assert_eq!(outcome, UpsertOutcome::Inserted);
}

fn failure(code: &str) -> SyncFailure {
    SyncFailure {
        code: code.to_owned(),
        reason: "The reason.".to_owned(),
        solution: "The solution.".to_owned(),
    }
}

async fn step(
    store: &dyn Store,
    push_id: i64,
    from: PushState,
    to: PushState,
) -> Result<(), StoreError> {
    let mut t = PushTransition::new(from, to);
    if matches!(to, PushState::Failed | PushState::NeedsReview) {
        t.failure = Some(failure("push.test"));
    }
    store.transition_push(A, push_id, &t).await.map(|_| ())
}

#[test]
fn pragmas_read_back() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    let p = store.pragmas().unwrap();
    assert_eq!(p.journal_mode, "wal");
    assert_eq!(p.synchronous, 2);
    assert_eq!(p.busy_timeout_ms, 5000);
    assert_eq!(p.foreign_keys, 1);

    let other = SqliteStore::open_with(
        dir.path().join("other.db"),
        SqliteOptions {
            busy_timeout: std::time::Duration::from_millis(1234),
            ..SqliteOptions::default()
        },
    )
    .unwrap();
    assert_eq!(other.pragmas().unwrap().busy_timeout_ms, 1234);
    assert_eq!(store.integrity_check().unwrap(), "ok");
    store.ping().unwrap();
}

#[test]
fn a_pragma_that_does_not_take_refuses_to_open() {
    // An in-memory database cannot be WAL: journal_mode reads back `memory`.
    let err = SqliteStore::open(":memory:").unwrap_err();
    assert_eq!(err.code(), "store.pragma_not_applied");
    assert!(
        matches!(
            err,
            StoreError::Pragma {
                name: "journal_mode",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn migrations_are_idempotent_on_reopen() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("preflight.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SqliteStore::latest_schema_version()
        );
        store.put_settings(A, r#"{"region":"US"}"#).unwrap();
    }
    for _ in 0..3 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SqliteStore::latest_schema_version()
        );
        assert_eq!(
            store.settings(A).unwrap().as_deref(),
            Some(r#"{"region":"US"}"#)
        );
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = raw
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, SqliteStore::latest_schema_version());
    let user_version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(user_version, SqliteStore::latest_schema_version());

    // A database from a newer build is refused.
    raw.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)",
        [],
    )
    .unwrap();
    drop(raw);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 999, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_shop_sees_and_changes_only_its_own_rows() {
    for backend in each().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        store.put_settings(A, r#"{"region":"US"}"#).await.unwrap();
        add_fulfillment(store, A, "5001").await;
        let push = store
            .create_push(A, "5001", PLAN, Some("key-1"))
            .await
            .unwrap();
        let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");
        assert_eq!(
            store.begin_idempotent(A, "key-1", &fp).await.unwrap(),
            IdempotencyStart::Started
        );

        assert_eq!(store.settings(B).await.unwrap(), None);
        assert_eq!(store.fulfillment(B, "5001").await.unwrap(), None);
        let page = store
            .list_fulfillments(B, &FulfillmentQuery::default())
            .await
            .unwrap();
        assert!(page.items.is_empty());
        assert_eq!(store.push(B, push.id).await.unwrap(), None);
        assert_eq!(store.open_push(B, "5001").await.unwrap(), None);
        assert!(store.pushes(B, "5001").await.unwrap().is_empty());

        let patch = FulfillmentPatch {
            report_json: Some("{}".to_owned()),
            ..FulfillmentPatch::default()
        };
        let err = store
            .update_fulfillment(B, "5001", &patch)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        let err = store.create_push(B, "5001", PLAN, None).await.unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        let t = PushTransition::new(PushState::Pending, PushState::Sending);
        let err = store.transition_push(B, push.id, &t).await.unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        let err = store
            .complete_idempotent(
                B,
                "key-1",
                &fp,
                &StoredResponse {
                    status: 200,
                    body: String::new(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        store.release_idempotent(B, "key-1").await.unwrap();

        // The same key in shop B is another key: no mismatch, no in-progress.
        let other_fp = request_fingerprint("POST", "/elsewhere", b"{}");
        assert_eq!(
            store.begin_idempotent(B, "key-1", &other_fp).await.unwrap(),
            IdempotencyStart::Started
        );

        // Shop B's own fulfillment with the same id is its own row.
        add_fulfillment(store, B, "5001").await;
        store.put_settings(B, r#"{"region":"UK"}"#).await.unwrap();

        // Shop A's rows are untouched.
        let a = store.fulfillment(A, "5001").await.unwrap().unwrap();
        assert_eq!(a.report_json, None);
        assert_eq!(a.latest_push.unwrap().state, PushState::Pending);
        assert_eq!(
            store.push(A, push.id).await.unwrap().unwrap().state,
            PushState::Pending
        );
        assert_eq!(
            store.settings(A).await.unwrap().as_deref(),
            Some(r#"{"region":"US"}"#)
        );
        assert_eq!(
            store
                .begin_idempotent(A, "key-1", &fp)
                .await
                .unwrap_err()
                .code(),
            "idempotency.in_progress"
        );
    }
}

#[tokio::test]
async fn settings_and_delivery_options_read_together_as_apart() {
    for backend in each().await {
        let store: &dyn Store = &*backend.store;
        assert_eq!(
            store.settings_and_delivery_options(A).await.unwrap(),
            (None, Vec::new()),
            "{}",
            backend.name
        );
        store.put_settings(A, r#"{"region":"US"}"#).await.unwrap();
        for (id, at) in [("DO-2", START), ("DO-1", START + 1)] {
            let option = DeliveryOptionRecord {
                delivery_option_id: id.into(),
                providers_json: r#"[{"id":"7117859084333745966","name":"UPS"}]"#.into(),
                fetched_at: at,
            };
            store.put_delivery_option(A, &option).await.unwrap();
        }
        let (settings, options) = store.settings_and_delivery_options(A).await.unwrap();
        assert_eq!(settings, store.settings(A).await.unwrap());
        assert_eq!(options, store.delivery_options(A).await.unwrap());
        let ids: Vec<&str> = options
            .iter()
            .map(|o| o.delivery_option_id.as_str())
            .collect();
        assert_eq!(ids, ["DO-1", "DO-2"], "{}", backend.name);
        // Another shop's are its own.
        assert_eq!(
            store.settings_and_delivery_options(B).await.unwrap(),
            (None, Vec::new())
        );
    }
}

#[tokio::test]
async fn a_backfill_is_claimed_by_one_instance_renewed_by_it_and_taken_over_once_its_lease_passed()
{
    for (backend, clock) in each_on_manual_clocks().await {
        let store: &dyn Store = &*backend.store;
        // Nothing to claim before the backfill is stored.
        assert!(!store.claim_backfill(A, "one", 60_000).await.unwrap());
        let backfill = Backfill {
            state: BackfillState::Running,
            since: "2026-10-31T00:00:00Z".into(),
            cursor: None,
            orders_read: 0,
            fulfillments_read: 0,
            error_code: None,
            started_at: START,
        };
        store.put_backfill(A, &backfill).await.unwrap();
        assert!(store.claim_backfill(A, "one", 60_000).await.unwrap());
        assert!(!store.claim_backfill(A, "two", 60_000).await.unwrap());
        // Its holder renews it, and storing progress keeps it.
        clock.advance_secs(50);
        assert!(store.claim_backfill(A, "one", 60_000).await.unwrap());
        store.put_backfill(A, &backfill).await.unwrap();
        clock.advance_secs(50);
        assert!(!store.claim_backfill(A, "two", 60_000).await.unwrap());
        // Its holder stalls past the lease: another takes over, and the first has lost it.
        clock.advance_secs(11);
        assert!(
            store.claim_backfill(A, "two", 60_000).await.unwrap(),
            "{}",
            backend.name
        );
        assert!(!store.claim_backfill(A, "one", 60_000).await.unwrap());
        // Only the holder lets go.
        store.release_backfill(A, "one").await.unwrap();
        assert!(!store.claim_backfill(A, "three", 60_000).await.unwrap());
        store.release_backfill(A, "two").await.unwrap();
        assert!(store.claim_backfill(A, "three", 60_000).await.unwrap());
        // Stored done, it lets go of its claim in the same write.
        let done = Backfill {
            state: BackfillState::Done,
            ..backfill.clone()
        };
        store.put_backfill(A, &done).await.unwrap();
        assert!(store.claim_backfill(A, "four", 60_000).await.unwrap());
        // Another shop's is its own.
        assert!(!store.claim_backfill(B, "three", 60_000).await.unwrap());
    }
}

#[tokio::test]
async fn a_move_at_an_attempt_taken_over_since_is_refused() {
    for backend in each().await {
        let store: &dyn Store = &*backend.store;
        add_fulfillment(store, A, "5001").await;
        let push = store.create_push(A, "5001", PLAN, None).await.unwrap();
        let first = PushTransition::new(PushState::Pending, PushState::Sending).at_attempt(0);
        let first = store.transition_push(A, push.id, &first).await.unwrap();
        assert_eq!(first.attempts, 1);
        // Taken for abandoned and sent again by another request: attempt 2.
        for (from, to) in [
            (PushState::Sending, PushState::Unknown),
            (PushState::Unknown, PushState::Sending),
        ] {
            store
                .transition_push(A, push.id, &PushTransition::new(from, to))
                .await
                .unwrap();
        }
        // The first request's late outcome does not move the second attempt.
        let late = PushTransition::new(PushState::Sending, PushState::Unknown).at_attempt(1);
        assert_eq!(
            store
                .transition_push(A, push.id, &late)
                .await
                .unwrap_err()
                .code(),
            "push.state_changed",
            "{}",
            backend.name
        );
        let own = PushTransition::new(PushState::Sending, PushState::Sent).at_attempt(2);
        let sent = store.transition_push(A, push.id, &own).await.unwrap();
        assert_eq!((sent.state, sent.attempts), (PushState::Sent, 2));
    }
}

#[tokio::test]
async fn webhooks_keep_the_newest_version_and_drop_repeated_events() {
    for backend in each().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        let up = async |updated_at: &str, payload: &str, event: Option<&str>| {
            store
                .upsert_fulfillment(
                    A,
                    &FulfillmentWebhook {
                        fulfillment_id: "5001",
                        updated_at,
                        payload_json: payload,
                        event_id: event,
                    },
                )
                .await
                .unwrap()
        };
        let stored = async || store.fulfillment(A, "5001").await.unwrap().unwrap();

        assert_eq!(
            up("2026-11-20T10:00:00Z", r#"{"v":1}"#, Some("e1")).await,
            UpsertOutcome::Inserted
        );
        // 10:00:00-05:00 is 15:00Z: newer.
        assert_eq!(
            up("2026-11-20T10:00:00-05:00", r#"{"v":3}"#, Some("e3")).await,
            UpsertOutcome::Updated
        );
        // Delivered late: older, ignored.
        assert_eq!(
            up("2026-11-20T14:59:59.5Z", r#"{"v":2}"#, Some("e2")).await,
            UpsertOutcome::Stale
        );
        assert_eq!(stored().await.shopify_json, r#"{"v":3}"#);
        assert_eq!(
            stored().await.shopify_updated_at,
            "2026-11-20T10:00:00-05:00"
        );
        // The same instant, written otherwise: unchanged.
        assert_eq!(
            up("2026-11-20T15:00:00Z", r#"{"v":3}"#, Some("e3b")).await,
            UpsertOutcome::Unchanged
        );
        assert_eq!(
            up("2026-11-20T15:00:00.001Z", r#"{"v":4}"#, None).await,
            UpsertOutcome::Updated
        );
        assert_eq!(stored().await.shopify_json, r#"{"v":4}"#);

        // A repeated event id is dropped, even carrying a newer payload.
        assert_eq!(
            up("2026-11-21T00:00:00Z", r#"{"v":5}"#, Some("e1")).await,
            UpsertOutcome::DuplicateEvent
        );
        assert_eq!(
            up("2026-11-21T00:00:00Z", r#"{"v":5}"#, Some("e2")).await,
            UpsertOutcome::DuplicateEvent
        );
        assert_eq!(stored().await.shopify_json, r#"{"v":4}"#);
        // Event ids are per shop.
        let b = store
            .upsert_fulfillment(
                B,
                &FulfillmentWebhook {
                    fulfillment_id: "5001",
                    updated_at: "2026-11-20T10:00:00Z",
                    payload_json: "{}",
                    event_id: Some("e1"),
                },
            )
            .await
            .unwrap();
        assert_eq!(b, UpsertOutcome::Inserted);

        let err = store
            .upsert_fulfillment(A, &webhook("5001", "2026-11-20T10:00:00", "{}"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.invalid_input");
        let err = store
            .upsert_fulfillment(A, &webhook("5001", "2026-11-22T10:00:00Z", "{not json"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.invalid_input");
        assert_eq!(stored().await.shopify_json, r#"{"v":4}"#);
    }
}

#[tokio::test]
async fn fulfillments_are_patched_and_listed_by_status_with_a_stable_cursor() {
    for backend in each().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        for i in 1..=7 {
            add_fulfillment(store, A, &format!("{i}")).await;
        }
        let synced = FulfillmentPatch {
            sync_status: Some(SyncStatus::Synced),
            report_json: Some(r#"{"verdict":"in_sync"}"#.to_owned()),
            tts_order_json: Some(r#"{"id":"577"}"#.to_owned()),
            history_json: Some(r#"{"packageId":"1"}"#.to_owned()),
            shopify_json: Some(r#"{"id":2,"tracking_number":"1Z2"}"#.to_owned()),
            ..FulfillmentPatch::default()
        };
        let record = store.update_fulfillment(A, "2", &synced).await.unwrap();
        assert_eq!(record.sync_status, SyncStatus::Synced);
        assert_eq!(record.shopify_json, r#"{"id":2,"tracking_number":"1Z2"}"#);
        assert_eq!(
            record.report_json.as_deref(),
            Some(r#"{"verdict":"in_sync"}"#)
        );
        let failed = FulfillmentPatch {
            sync_status: Some(SyncStatus::SyncFailed(failure("carrier.not_integrated"))),
            ..FulfillmentPatch::default()
        };
        store.update_fulfillment(A, "5", &failed).await.unwrap();
        // A patch without a field leaves it.
        let record = store
            .update_fulfillment(A, "2", &FulfillmentPatch::default())
            .await
            .unwrap();
        assert_eq!(record.tts_order_json.as_deref(), Some(r#"{"id":"577"}"#));
        let bad = FulfillmentPatch {
            report_json: Some("nope".to_owned()),
            ..FulfillmentPatch::default()
        };
        assert_eq!(
            store
                .update_fulfillment(A, "2", &bad)
                .await
                .unwrap_err()
                .code(),
            "store.invalid_input"
        );

        let ids = async |status: Option<SyncStatusKind>| -> Vec<String> {
            let mut out = Vec::new();
            let mut cursor = None;
            loop {
                let page = store
                    .list_fulfillments(
                        A,
                        &FulfillmentQuery {
                            status,
                            cursor,
                            limit: 2,
                        },
                    )
                    .await
                    .unwrap();
                assert!(page.items.len() <= 2);
                out.extend(page.items.into_iter().map(|f| f.fulfillment_id));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => return out,
                }
            }
        };
        assert_eq!(ids(None).await, ["7", "6", "5", "4", "3", "2", "1"]);
        assert_eq!(
            ids(Some(SyncStatusKind::NotSynced)).await,
            ["7", "6", "4", "3", "1"]
        );
        assert_eq!(ids(Some(SyncStatusKind::Synced)).await, ["2"]);
        let failed_page = store
            .list_fulfillments(
                A,
                &FulfillmentQuery {
                    status: Some(SyncStatusKind::SyncFailed),
                    cursor: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(failed_page.items.len(), 1);
        assert_eq!(
            failed_page.items[0].sync_status,
            SyncStatus::SyncFailed(failure("carrier.not_integrated"))
        );

        // A row added or updated between pages neither repeats nor shifts the pages.
        let first = store
            .list_fulfillments(
                A,
                &FulfillmentQuery {
                    status: None,
                    cursor: None,
                    limit: 3,
                },
            )
            .await
            .unwrap();
        add_fulfillment(store, A, "8").await;
        store
            .upsert_fulfillment(A, &webhook("6", "2026-11-21T10:00:00Z", "{}"))
            .await
            .unwrap();
        let second = store
            .list_fulfillments(
                A,
                &FulfillmentQuery {
                    status: None,
                    cursor: first.next_cursor.clone(),
                    limit: 3,
                },
            )
            .await
            .unwrap();
        let got: Vec<_> = first
            .items
            .iter()
            .chain(&second.items)
            .map(|f| f.fulfillment_id.as_str())
            .collect();
        assert_eq!(got, ["7", "6", "5", "4", "3", "2"]);

        // The latest push rides along.
        let push = store.create_push(A, "3", PLAN, None).await.unwrap();
        let page = store
            .list_fulfillments(
                A,
                &FulfillmentQuery {
                    status: None,
                    cursor: None,
                    limit: 250,
                },
            )
            .await
            .unwrap();
        let three = page.items.iter().find(|f| f.fulfillment_id == "3").unwrap();
        assert_eq!(three.latest_push.as_ref().map(|p| p.id), Some(push.id));
        assert_eq!(page.items.len(), 8);
        assert_eq!(page.next_cursor, None);

        for bad in ["", "nope", "Zm9v", "ZjE6LTE", "!!"] {
            let err = store
                .list_fulfillments(
                    A,
                    &FulfillmentQuery {
                        status: None,
                        cursor: Some(bad.to_owned()),
                        limit: 2,
                    },
                )
                .await
                .unwrap_err();
            assert_eq!(err.code(), "store.invalid_cursor", "{bad}");
        }
        assert_eq!(
            SyncStatusKind::parse("sync_failed"),
            Some(SyncStatusKind::SyncFailed)
        );
        assert_eq!(SyncStatusKind::parse("bogus"), None);
    }
}

#[test]
fn push_state_machine_edges() {
    use PushState::{Failed, NeedsReview, Pending, Sending, Sent, Unknown};
    let legal = [
        (Pending, Sending),
        (Pending, Failed),
        (Sending, Sent),
        (Sending, Unknown),
        (Sending, Failed),
        (Sending, Pending),
        (Unknown, Sending),
        (Unknown, Sent),
        (Unknown, NeedsReview),
        (Unknown, Failed),
        (NeedsReview, Sent),
        (NeedsReview, Failed),
    ];
    for from in PushState::ALL {
        for to in PushState::ALL {
            assert_eq!(
                from.can_become(to),
                legal.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
        assert_eq!(PushState::parse(from.as_str()), Some(from));
    }
}

/// Brings a fresh push of a fresh fulfillment to `state` along legal edges.
async fn push_in_state(store: &dyn Store, fulfillment_id: &str, state: PushState) -> i64 {
    use PushState::{Failed, NeedsReview, Pending, Sending, Sent, Unknown};
    add_fulfillment(store, A, fulfillment_id).await;
    let id = store
        .create_push(A, fulfillment_id, PLAN, None)
        .await
        .unwrap()
        .id;
    let path: &[PushState] = match state {
        Pending => &[Pending],
        Sending => &[Pending, Sending],
        Sent => &[Pending, Sending, Sent],
        Unknown => &[Pending, Sending, Unknown],
        NeedsReview => &[Pending, Sending, Unknown, NeedsReview],
        Failed => &[Pending, Failed],
    };
    for pair in path.windows(2) {
        step(store, id, pair[0], pair[1]).await.unwrap();
    }
    id
}

#[tokio::test]
async fn every_transition_is_applied_or_refused_as_the_machine_says() {
    for backend in each().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        let mut n = 0;
        for from in PushState::ALL {
            for to in PushState::ALL {
                n += 1;
                let fid = format!("{n}");
                let id = push_in_state(store, &fid, from).await;
                let result = step(store, id, from, to).await;
                let now = store.push(A, id).await.unwrap().unwrap();
                if from.can_become(to) {
                    result.unwrap();
                    assert_eq!(now.state, to, "{from} -> {to}");
                } else {
                    let err = result.unwrap_err();
                    assert!(
                        matches!(err, StoreError::IllegalTransition { from: f, to: t } if f == from && t == to),
                        "{from} -> {to}: {err:?}"
                    );
                    assert_eq!(err.code(), "push.illegal_transition");
                    assert_eq!(now.state, from, "{from} -> {to} must not apply");
                }
            }
        }
    }
}

#[tokio::test]
async fn a_push_goes_through_its_states_with_its_effects() {
    for backend in each().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        add_fulfillment(store, A, "5001").await;
        let push = store
            .create_push(A, "5001", PLAN, Some("k1"))
            .await
            .unwrap();
        assert_eq!(push.state, PushState::Pending);
        assert_eq!(push.attempts, 0);
        assert_eq!(push.plan_json, PLAN);
        assert_eq!(push.idempotency_key.as_deref(), Some("k1"));

        // One open push per fulfillment.
        let err = store.create_push(A, "5001", PLAN, None).await.unwrap_err();
        assert!(
            matches!(err, StoreError::PushInFlight { push_id, .. } if push_id == push.id),
            "{err:?}"
        );
        assert_eq!(err.code(), "push.in_flight");
        assert_eq!(
            store
                .create_push(A, "nope", PLAN, None)
                .await
                .unwrap_err()
                .code(),
            "store.not_found"
        );
        assert_eq!(
            store
                .create_push(A, "5001", "{", None)
                .await
                .unwrap_err()
                .code(),
            "store.invalid_input"
        );

        let sending = store
            .transition_push(
                A,
                push.id,
                &PushTransition::new(PushState::Pending, PushState::Sending),
            )
            .await
            .unwrap();
        assert_eq!(sending.attempts, 1);
        assert!(sending.sending_at.is_some());
        // A stale reader cannot move it again.
        let err = store
            .transition_push(
                A,
                push.id,
                &PushTransition::new(PushState::Pending, PushState::Sending),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::PushStateChanged {
                    expected: PushState::Pending,
                    actual: PushState::Sending,
                    ..
                }
            ),
            "{err:?}"
        );
        // Timeout: outcome unknown; reconciliation finds nothing at TikTok Shop, so it is sent again.
        store
            .transition_push(
                A,
                push.id,
                &PushTransition::new(PushState::Sending, PushState::Unknown),
            )
            .await
            .unwrap();
        assert_eq!(
            store.open_push(A, "5001").await.unwrap().unwrap().state,
            PushState::Unknown
        );
        assert_eq!(
            store
                .create_push(A, "5001", PLAN, None)
                .await
                .unwrap_err()
                .code(),
            "push.in_flight"
        );
        let again = store
            .transition_push(
                A,
                push.id,
                &PushTransition::new(PushState::Unknown, PushState::Sending),
            )
            .await
            .unwrap();
        assert_eq!(again.attempts, 2);
        // Failed needs its failure.
        let err = store
            .transition_push(
                A,
                push.id,
                &PushTransition::new(PushState::Sending, PushState::Failed),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.invalid_input");

        let sent = store
            .transition_push(
                A,
                push.id,
                &PushTransition {
                    response_json: Some(r#"{"code":0}"#.to_owned()),
                    history_json: Some(r#"{"packageId":"115","trackingUpdatesUsed":0}"#.to_owned()),
                    ..PushTransition::new(PushState::Sending, PushState::Sent)
                },
            )
            .await
            .unwrap();
        assert_eq!(sent.state, PushState::Sent);
        assert_eq!(sent.response_json.as_deref(), Some(r#"{"code":0}"#));
        let f = store.fulfillment(A, "5001").await.unwrap().unwrap();
        assert_eq!(f.sync_status, SyncStatus::Synced);
        assert_eq!(
            f.history_json.as_deref(),
            Some(r#"{"packageId":"115","trackingUpdatesUsed":0}"#)
        );
        assert_eq!(f.latest_push.unwrap().id, push.id);
        assert_eq!(store.open_push(A, "5001").await.unwrap(), None);

        // The next push (a tracking update) may start; this one fails at TikTok Shop.
        let update = store.create_push(A, "5001", PLAN, None).await.unwrap();
        step(store, update.id, PushState::Pending, PushState::Sending)
            .await
            .unwrap();
        // A 429 surely did not apply: back to pending with the error noted, then again.
        let retry = store
            .transition_push(
                A,
                update.id,
                &PushTransition {
                    failure: Some(failure("tts.rate_limited")),
                    ..PushTransition::new(PushState::Sending, PushState::Pending)
                },
            )
            .await
            .unwrap();
        assert_eq!(retry.failure.unwrap().code, "tts.rate_limited");
        step(store, update.id, PushState::Pending, PushState::Sending)
            .await
            .unwrap();
        store
            .transition_push(
                A,
                update.id,
                &PushTransition {
                    failure: Some(failure("21011051")),
                    ..PushTransition::new(PushState::Sending, PushState::Failed)
                },
            )
            .await
            .unwrap();
        let f = store.fulfillment(A, "5001").await.unwrap().unwrap();
        assert_eq!(f.sync_status, SyncStatus::SyncFailed(failure("21011051")));
        assert_eq!(
            store
                .pushes(A, "5001")
                .await
                .unwrap()
                .iter()
                .map(|p| p.state)
                .collect::<Vec<_>>(),
            [PushState::Sent, PushState::Failed]
        );
        assert_eq!(store.push(A, update.id).await.unwrap().unwrap().attempts, 2);

        // needs_review blocks new pushes until settled.
        let third = store.create_push(A, "5001", PLAN, None).await.unwrap();
        for (from, to) in [
            (PushState::Pending, PushState::Sending),
            (PushState::Sending, PushState::Unknown),
            (PushState::Unknown, PushState::NeedsReview),
        ] {
            step(store, third.id, from, to).await.unwrap();
        }
        assert_eq!(
            store
                .create_push(A, "5001", PLAN, None)
                .await
                .unwrap_err()
                .code(),
            "push.in_flight"
        );
        assert_eq!(
            store
                .fulfillment(A, "5001")
                .await
                .unwrap()
                .unwrap()
                .sync_status
                .kind(),
            SyncStatusKind::SyncFailed
        );
    }
}

#[tokio::test]
async fn idempotency_keys_replay_mismatch_in_progress_and_purge() {
    for (backend, clock) in each_on_manual_clocks().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", br#"{"a":1}"#);
        let other = request_fingerprint("POST", "/api/fulfillments/5001/sync", br#"{"a":2}"#);
        assert_ne!(fp, other);
        assert_ne!(
            fp,
            request_fingerprint("POST", "/api/fulfillments/5002/sync", br#"{"a":1}"#)
        );
        assert_ne!(
            fp,
            request_fingerprint("PUT", "/api/fulfillments/5001/sync", br#"{"a":1}"#)
        );
        assert_ne!(
            request_fingerprint("a", "bc", b""),
            request_fingerprint("ab", "c", b"")
        );
        assert_eq!(
            fp,
            request_fingerprint("POST", "/api/fulfillments/5001/sync", br#"{"a":1}"#)
        );

        assert_eq!(
            store.begin_idempotent(A, "k1", &fp).await.unwrap(),
            IdempotencyStart::Started
        );
        // Still running: 409; another body: 422 (checked first).
        let err = store.begin_idempotent(A, "k1", &fp).await.unwrap_err();
        assert!(
            matches!(err, StoreError::IdempotencyInProgress(ref k) if k == "k1"),
            "{err:?}"
        );
        assert_eq!(err.code(), "idempotency.in_progress");
        let err = store.begin_idempotent(A, "k1", &other).await.unwrap_err();
        assert!(
            matches!(err, StoreError::IdempotencyMismatch(ref k) if k == "k1"),
            "{err:?}"
        );
        assert_eq!(err.code(), "idempotency.key_reused");

        let answer = StoredResponse {
            status: 201,
            body: r#"{"status":"synced"}"#.to_owned(),
        };
        let err = store
            .complete_idempotent(A, "k1", &other, &answer)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.not_found");
        store
            .complete_idempotent(A, "k1", &fp, &answer)
            .await
            .unwrap();
        assert_eq!(
            store.begin_idempotent(A, "k1", &fp).await.unwrap(),
            IdempotencyStart::Replay(answer.clone())
        );
        assert_eq!(
            store
                .begin_idempotent(A, "k1", &other)
                .await
                .unwrap_err()
                .code(),
            "idempotency.key_reused"
        );
        // Completing twice is refused: the first answer stands.
        assert_eq!(
            store
                .complete_idempotent(A, "k1", &fp, &answer)
                .await
                .unwrap_err()
                .code(),
            "store.not_found"
        );

        // A released key may be used again, with any request.
        assert_eq!(
            store.begin_idempotent(A, "k2", &fp).await.unwrap(),
            IdempotencyStart::Started
        );
        store.release_idempotent(A, "k2").await.unwrap();
        assert_eq!(
            store.begin_idempotent(A, "k2", &other).await.unwrap(),
            IdempotencyStart::Started
        );

        // A request that died holding its key: after the lock timeout another takes it over.
        let timeout = i64::try_from(IDEMPOTENCY_LOCK_TIMEOUT.as_secs()).unwrap();
        clock.advance_secs(timeout - 1);
        assert_eq!(
            store
                .begin_idempotent(A, "k2", &other)
                .await
                .unwrap_err()
                .code(),
            "idempotency.in_progress"
        );
        clock.advance_secs(1);
        assert_eq!(
            store.begin_idempotent(A, "k2", &other).await.unwrap(),
            IdempotencyStart::Started
        );
        assert_eq!(
            store
                .begin_idempotent(A, "k2", &other)
                .await
                .unwrap_err()
                .code(),
            "idempotency.in_progress"
        );

        for bad in ["", &"k".repeat(256)] {
            assert_eq!(
                store
                    .begin_idempotent(A, bad, &fp)
                    .await
                    .unwrap_err()
                    .code(),
                "store.invalid_input"
            );
        }
        assert_eq!(
            store
                .begin_idempotent(A, &"k".repeat(255), &fp)
                .await
                .unwrap(),
            IdempotencyStart::Started
        );

        // Webhook event ids, kept 7 days.
        store
            .upsert_fulfillment(
                A,
                &FulfillmentWebhook {
                    event_id: Some("ev-old"),
                    ..webhook("1", "2026-11-20T10:00:00Z", "{}")
                },
            )
            .await
            .unwrap();

        // Retention: 24 hours after the first request.
        assert_eq!(store.purge_expired().await.unwrap().idempotency_keys, 0);
        clock.advance_secs(24 * 3600 - timeout - 1);
        assert_eq!(
            store.begin_idempotent(A, "k1", &fp).await.unwrap(),
            IdempotencyStart::Replay(answer)
        );
        store.begin_idempotent(A, "k3", &fp).await.unwrap();
        clock.advance_secs(1);
        // k1 is past 24 hours: gone for lookups even before the purge, then a new key.
        assert_eq!(
            store.begin_idempotent(A, "k1", &other).await.unwrap(),
            IdempotencyStart::Started
        );
        let purged = store.purge_expired().await.unwrap();
        assert_eq!(purged.idempotency_keys, 1, "k2");
        assert_eq!(purged.webhook_events, 0);
        clock.advance_secs(6 * 24 * 3600 + timeout + 1);
        let purged = store.purge_expired().await.unwrap();
        assert_eq!(purged.idempotency_keys, 3, "the long key, k1 and k3");
        assert_eq!(purged.webhook_events, 1);
        // Purged: the event is new again (and stale against the stored version).
        let again = store
            .upsert_fulfillment(
                A,
                &FulfillmentWebhook {
                    event_id: Some("ev-old"),
                    ..webhook("1", "2026-11-20T10:00:00Z", "{}")
                },
            )
            .await
            .unwrap();
        assert_eq!(again, UpsertOutcome::Unchanged);
        if backend.name == "sqlite" {
            let file = SqliteStore::open(&backend.location).unwrap();
            assert_eq!(file.integrity_check().unwrap(), "ok");
        }
    }
}

mod credentials {
    use super::*;
    use preflight_server::store::{Platform, ShopCredentials};
    use preflight_server::tokens::{ExposeSecret, KeyRing, Purpose, SecretString};

    fn ring() -> KeyRing {
        let spec = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned();
        KeyRing::parse(&SecretString::from(spec)).unwrap()
    }

    fn pair(ring: &KeyRing, shop: &str, n: u32, previous: Option<String>) -> ShopCredentials {
        let seal = |purpose, text: String| ring.seal(shop, purpose, &SecretString::from(text));
        ShopCredentials {
            access_token: seal(Purpose::ShopifyAccess, format!("shpat_{n}")),
            access_expires_at: Some(START + 3_600_000),
            refresh_token: Some(seal(Purpose::ShopifyRefresh, format!("shprt_{n}"))),
            refresh_expires_at: None,
            previous_refresh_token: previous,
            needs_reconnect: false,
        }
    }

    /// Every byte the backend keeps: the SQLite files, or PostgreSQL's credentials rows.
    async fn at_rest(backend: &Backend) -> Vec<u8> {
        if backend.name == "sqlite" {
            let dir = std::path::Path::new(&backend.location).parent().unwrap();
            let mut bytes = Vec::new();
            for file in std::fs::read_dir(dir).unwrap() {
                bytes.extend(std::fs::read(file.unwrap().path()).unwrap());
            }
            return bytes;
        }
        let (client, connection) =
            tokio_postgres::connect(&backend.location, tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        let rows = client
            .query("SELECT row_to_json(c)::text FROM shop_credentials c", &[])
            .await
            .unwrap();
        rows.iter()
            .flat_map(|row| row.get::<_, String>(0).into_bytes())
            .collect()
    }

    #[tokio::test]
    async fn sealed_pairs_rotate_atomically_per_shop_and_platform() {
        for backend in each().await {
            eprintln!("on {}", backend.name);
            let store: &dyn Store = &*backend.store;
            let ring = ring();
            assert_eq!(store.credentials(A, Platform::Shopify).await.unwrap(), None);

            let first = pair(&ring, A, 1, None);
            assert!(store
                .swap_credentials(A, Platform::Shopify, None, &first)
                .await
                .unwrap());
            let stored = store
                .credentials(A, Platform::Shopify)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored, first);
            let access = ring
                .open(A, Purpose::ShopifyAccess, &stored.access_token)
                .unwrap();
            assert_eq!(access.expose_secret(), "shpat_1");
            // Nothing plain at rest, and nothing of the tokens in Debug.
            assert!(!at_rest(&backend).await.windows(6).any(|w| w == b"shpat_"));
            assert!(!format!("{stored:?}").contains("v1."));

            // A refresh rotates the pair only from the refresh token it used.
            let old_refresh = first.refresh_token.clone().unwrap();
            let second = pair(&ring, A, 2, Some(old_refresh.clone()));
            assert!(store
                .swap_credentials(A, Platform::Shopify, Some(&old_refresh), &second)
                .await
                .unwrap());
            let third = pair(&ring, A, 3, Some(old_refresh.clone()));
            assert!(!store
                .swap_credentials(A, Platform::Shopify, Some(&old_refresh), &third)
                .await
                .unwrap());
            assert_eq!(
                store
                    .credentials(A, Platform::Shopify)
                    .await
                    .unwrap()
                    .unwrap(),
                second
            );

            // One claim on a refresh at a time; only its owner lets go of it; new credentials do.
            let lease = 60_000;
            assert!(store
                .claim_refresh(A, Platform::Shopify, "one", lease)
                .await
                .unwrap());
            assert!(!store
                .claim_refresh(A, Platform::Shopify, "two", lease)
                .await
                .unwrap());
            store
                .release_refresh(A, Platform::Shopify, "two")
                .await
                .unwrap();
            assert!(!store
                .claim_refresh(A, Platform::Shopify, "two", lease)
                .await
                .unwrap());
            store
                .release_refresh(A, Platform::Shopify, "one")
                .await
                .unwrap();
            assert!(store
                .claim_refresh(A, Platform::Shopify, "two", lease)
                .await
                .unwrap());
            let second_refresh = second.refresh_token.clone().unwrap();
            let fourth = pair(&ring, A, 4, Some(second_refresh.clone()));
            assert!(store
                .swap_credentials(A, Platform::Shopify, Some(&second_refresh), &fourth)
                .await
                .unwrap());
            assert!(store
                .claim_refresh(A, Platform::Shopify, "three", lease)
                .await
                .unwrap());
            assert!(!store
                .claim_refresh(B, Platform::Shopify, "one", lease)
                .await
                .unwrap());

            // A refusal of a refresh token no longer stored marks nothing.
            assert!(!store
                .mark_reconnect(A, Platform::Shopify, Some(&second_refresh))
                .await
                .unwrap());
            assert!(
                !store
                    .credentials(A, Platform::Shopify)
                    .await
                    .unwrap()
                    .unwrap()
                    .needs_reconnect
            );

            // Per shop and per platform; reconnect marks (and lets go of a claim); uninstall deletes.
            assert_eq!(store.credentials(B, Platform::Shopify).await.unwrap(), None);
            assert_eq!(store.credentials(A, Platform::Tiktok).await.unwrap(), None);
            assert!(store
                .mark_reconnect(A, Platform::Shopify, fourth.refresh_token.as_deref())
                .await
                .unwrap());
            assert!(store
                .claim_refresh(A, Platform::Shopify, "four", lease)
                .await
                .unwrap());
            assert!(
                store
                    .credentials(A, Platform::Shopify)
                    .await
                    .unwrap()
                    .unwrap()
                    .needs_reconnect
            );
            assert!(!store
                .mark_reconnect(B, Platform::Shopify, None)
                .await
                .unwrap());
            assert!(store
                .delete_credentials(A, Platform::Shopify)
                .await
                .unwrap());
            assert_eq!(store.credentials(A, Platform::Shopify).await.unwrap(), None);
            assert!(!store
                .delete_credentials(A, Platform::Shopify)
                .await
                .unwrap());
        }
    }

    #[tokio::test]
    async fn a_plain_token_is_refused() {
        for backend in each().await {
            eprintln!("on {}", backend.name);
            let store: &dyn Store = &*backend.store;
            let plain = ShopCredentials {
                access_token: "shpat_plain".to_owned(),
                access_expires_at: None,
                refresh_token: None,
                refresh_expires_at: None,
                previous_refresh_token: None,
                needs_reconnect: false,
            };
            let refused = store
                .swap_credentials(A, Platform::Shopify, None, &plain)
                .await;
            assert!(
                matches!(refused, Err(StoreError::InvalidInput { .. })),
                "{refused:?}"
            );
            assert_eq!(store.credentials(A, Platform::Shopify).await.unwrap(), None);
        }
    }
}

#[tokio::test]
async fn a_tiktok_shop_event_is_claimed_by_one_worker_and_left_to_another_once_its_lease_passed() {
    for (backend, clock) in each_on_manual_clocks().await {
        eprintln!("on {}", backend.name);
        let store: &dyn Store = &*backend.store;
        for (i, id) in ["7327112393000000001", "7327112393000000002"]
            .into_iter()
            .enumerate()
        {
            let fresh = store
                .enqueue_tiktok_event(&TiktokEvent {
                    notification_id: id.to_owned(),
                    shop: "a.myshopify.com".to_owned(),
                    event_type: 1,
                    data_json: r#"{"order_id": "5"}"#.to_owned(),
                    received_at: START + i64::try_from(i).unwrap(),
                })
                .await
                .unwrap();
            assert!(fresh);
        }
        let ids = |events: Vec<TiktokEvent>| -> Vec<String> {
            events.into_iter().map(|e| e.notification_id).collect()
        };
        // One worker claims both, oldest first; another finds none while the lease holds.
        let first = ids(store.claim_tiktok_events(10, 60_000).await.unwrap());
        assert_eq!(first, ["7327112393000000001", "7327112393000000002"]);
        assert!(store
            .claim_tiktok_events(10, 60_000)
            .await
            .unwrap()
            .is_empty());
        // The first is worked off; the worker dies with the second, which is claimed again after the lease.
        store
            .finish_tiktok_event("7327112393000000001")
            .await
            .unwrap();
        clock.advance_secs(59);
        assert!(store
            .claim_tiktok_events(10, 60_000)
            .await
            .unwrap()
            .is_empty());
        clock.advance_secs(2);
        let again = ids(store.claim_tiktok_events(10, 60_000).await.unwrap());
        assert_eq!(again, ["7327112393000000002"]);
        // A batch limit is kept.
        assert!(store
            .claim_tiktok_events(0, 60_000)
            .await
            .unwrap()
            .is_empty());
    }
}
