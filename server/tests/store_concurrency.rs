#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]
//! The SQLite store under concurrent writers, and after a process dies in the middle of a push.

#[cfg(unix)]
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;

use preflight_server::store::{
    request_fingerprint, FulfillmentQuery, FulfillmentWebhook, IdempotencyStart, PushState,
    PushTransition, SqliteStore, Store, StoreError, UpsertOutcome,
};
use tempfile::TempDir;

const A: &str = "acme.myshopify.com";
const PLAN: &str = r#"{"action":"ship","lineItemIds":["1"],"trackingNumber":"1Z5R89390357567127"}"#;
const THREADS: usize = 8;
const WRITES: usize = 100;
const CRASH_ENV: &str = "PREFLIGHT_STORE_CRASH_DB";

fn upsert(store: &dyn Store, id: &str, updated_at: &str) -> Result<UpsertOutcome, StoreError> {
    let payload = format!(r#"{{"id":"{id}","updated_at":"{updated_at}"}}"#);
    store.upsert_fulfillment(
        A,
        &FulfillmentWebhook {
            fulfillment_id: id,
            updated_at,
            payload_json: &payload,
            event_id: None,
        },
    )
}

fn all_ids(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_fulfillments(
                A,
                &FulfillmentQuery {
                    status: None,
                    cursor,
                    limit: 250,
                },
            )
            .unwrap();
        out.extend(page.items.into_iter().map(|f| f.fulfillment_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[test]
fn concurrent_writers_never_see_busy_and_lose_nothing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("preflight.db");
    // Two stores on one file, as two processes would be.
    let stores = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];
    let acked: Vec<Vec<String>> = std::thread::scope(|s| {
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = &stores[t % 2];
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0..WRITES {
                        let id = format!("t{t}-{i}");
                        // Errors surface here (a SQLITE_BUSY would fail the test).
                        assert_eq!(
                            upsert(store, &id, "2026-11-20T10:00:00Z").unwrap(),
                            UpsertOutcome::Inserted
                        );
                        acked.push(id);
                        // Every thread also updates one shared row, with rising times.
                        let at = format!("2026-11-21T10:{:02}:{:02}.{t}Z", i / 60, i % 60);
                        upsert(store, "shared", &at).unwrap();
                    }
                    acked
                })
            })
            .collect();
        // Readers run beside the writers.
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let store = &stores[r];
                s.spawn(move || {
                    for _ in 0..50 {
                        store
                            .list_fulfillments(
                                A,
                                &FulfillmentQuery {
                                    status: None,
                                    cursor: None,
                                    limit: 50,
                                },
                            )
                            .unwrap();
                    }
                })
            })
            .collect();
        for r in readers {
            r.join().unwrap();
        }
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    drop(stores);

    let store = SqliteStore::open(&path).unwrap();
    let mut stored = all_ids(&store);
    stored.sort();
    let mut expected: Vec<String> = acked.into_iter().flatten().collect();
    assert_eq!(expected.len(), THREADS * WRITES);
    expected.push("shared".to_owned());
    expected.sort();
    assert_eq!(stored, expected);
    // The shared row holds the newest time any thread wrote.
    let shared = store.fulfillment(A, "shared").unwrap().unwrap();
    let last = WRITES - 1;
    let newest = format!(
        "2026-11-21T10:{:02}:{:02}.{}Z",
        last / 60,
        last % 60,
        THREADS - 1
    );
    assert_eq!(shared.shopify_updated_at, newest);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn racing_requests_admit_exactly_one() {
    let dir = TempDir::new().unwrap();
    let store = SqliteStore::open(dir.path().join("preflight.db")).unwrap();
    upsert(&store, "5001", "2026-11-20T10:00:00Z").unwrap();
    let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");

    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let store = &store;
                let fp = &fp;
                s.spawn(move || {
                    let key = store.begin_idempotent(A, "same-key", fp);
                    let push = store.create_push(A, "5001", PLAN, None);
                    (key, push)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let started = results
        .iter()
        .filter(|(k, _)| matches!(k, Ok(IdempotencyStart::Started)))
        .count();
    assert_eq!(started, 1);
    assert!(results.iter().all(|(k, _)| matches!(
        k,
        Ok(IdempotencyStart::Started) | Err(StoreError::IdempotencyInProgress(_))
    )));
    let created: Vec<_> = results
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok())
        .collect();
    assert_eq!(created.len(), 1);
    assert!(results
        .iter()
        .all(|(_, p)| matches!(p, Ok(_) | Err(StoreError::PushInFlight { .. }))));
    let push_id = created[0].id;

    // Racing workers moving it to sending: one wins.
    let moved: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let store = &store;
                s.spawn(move || {
                    store.transition_push(
                        A,
                        push_id,
                        &PushTransition::new(PushState::Pending, PushState::Sending),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(moved.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(moved
        .iter()
        .all(|r| matches!(r, Ok(_) | Err(StoreError::PushStateChanged { .. }))));
    assert_eq!(store.push(A, push_id).unwrap().unwrap().attempts, 1);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// The child side of the crash test: commits a push as `sending`, then dies without unwinding.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_ENV) else {
        return;
    };
    let store = SqliteStore::open(&path).unwrap();
    upsert(&store, "5001", "2026-11-20T10:00:00Z").unwrap();
    upsert(&store, "5002", "2026-11-20T10:00:00Z").unwrap();
    let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");
    store.begin_idempotent(A, "k1", &fp).unwrap();
    let sending = store.create_push(A, "5001", PLAN, Some("k1")).unwrap();
    store
        .transition_push(
            A,
            sending.id,
            &PushTransition::new(PushState::Pending, PushState::Sending),
        )
        .unwrap();
    let pending = store.create_push(A, "5002", PLAN, None).unwrap();
    assert_eq!(pending.state, PushState::Pending);
    std::process::abort();
}

#[cfg(unix)]
#[test]
fn a_push_left_sending_by_a_crash_becomes_unknown_at_start() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("preflight.db");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &path)
        .output()
        .unwrap();
    assert_eq!(
        child.status.signal(),
        Some(6),
        "the child must abort: {}",
        String::from_utf8_lossy(&child.stderr)
    );

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let open = store.open_push(A, "5001").unwrap().unwrap();
    assert_eq!(open.state, PushState::Sending);
    assert_eq!(open.attempts, 1);
    let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");
    assert_eq!(
        store.begin_idempotent(A, "k1", &fp).unwrap_err().code(),
        "idempotency.in_progress"
    );

    let recovery = store.recover_interrupted().unwrap();
    assert_eq!(recovery.pushes.len(), 1);
    let (shop, push) = &recovery.pushes[0];
    assert_eq!(shop, A);
    assert_eq!((push.id, push.state), (open.id, PushState::Unknown));
    assert_eq!(recovery.idempotency_keys_released, 1);
    // Still open: never retried blindly, and no second push can start.
    assert_eq!(
        store.create_push(A, "5001", PLAN, None).unwrap_err().code(),
        "push.in_flight"
    );
    // The pending push was not sent: it stays pending.
    assert_eq!(
        store.open_push(A, "5002").unwrap().unwrap().state,
        PushState::Pending
    );
    // The retried request may take its key again.
    assert_eq!(
        store.begin_idempotent(A, "k1", &fp).unwrap(),
        IdempotencyStart::Started
    );

    // Recovery is idempotent.
    let again = store.recover_interrupted().unwrap();
    assert!(again.pushes.is_empty());
    // Reconciliation: TikTok Shop already holds it.
    store
        .transition_push(
            A,
            open.id,
            &PushTransition::new(PushState::Unknown, PushState::Sent),
        )
        .unwrap();
    assert_eq!(store.open_push(A, "5001").unwrap(), None);
}
