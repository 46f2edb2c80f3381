#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]
//! Each store (SQLite, and PostgreSQL when `cargo xtask test` names a server) under concurrent writers
//! on two instances of one database, as two processes would be, and after a process dies in the
//! middle of a push.

mod backends;

#[cfg(unix)]
use std::os::unix::process::ExitStatusExt as _;
use std::process::Command;
use std::sync::Arc;

use preflight_server::store::{
    request_fingerprint, FulfillmentQuery, FulfillmentWebhook, IdempotencyStart, PushState,
    PushTransition, SqliteStore, Store, StoreError, SystemClock, UpsertOutcome,
};

const A: &str = "acme.myshopify.com";
const PLAN: &str = r#"{"action":"ship","lineItemIds":["1"],"trackingNumber":"1Z5R89390357567127"}"#;
const TASKS: usize = 8;
const WRITES: usize = 100;
const CRASH_ENV: &str = "PREFLIGHT_STORE_CRASH_DB";
const CRASH_BACKEND_ENV: &str = "PREFLIGHT_STORE_CRASH_BACKEND";

async fn upsert(
    store: &dyn Store,
    id: &str,
    updated_at: &str,
) -> Result<UpsertOutcome, StoreError> {
    let payload = format!(r#"{{"id":"{id}","updated_at":"{updated_at}"}}"#);
    store
        .upsert_fulfillment(
            A,
            &FulfillmentWebhook {
                fulfillment_id: id,
                updated_at,
                payload_json: &payload,
                event_id: None,
            },
        )
        .await
}

async fn all_ids(store: &dyn Store) -> Vec<String> {
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
            .await
            .unwrap();
        out.extend(page.items.into_iter().map(|f| f.fulfillment_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// SQLite's own check of the file, on the SQLite backend.
fn integrity(backend: &backends::Backend) {
    if backend.name == "sqlite" {
        let store = SqliteStore::open(&backend.location).unwrap();
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_see_busy_and_lose_nothing() {
    for backend in backends::each().await {
        let stores = [backend.store.clone(), backend.instance().await];
        let writers: Vec<_> = (0..TASKS)
            .map(|t| {
                let store = stores[t % 2].clone();
                tokio::spawn(async move {
                    let mut acked = Vec::new();
                    for i in 0..WRITES {
                        let id = format!("t{t}-{i}");
                        // Errors surface here (a SQLITE_BUSY or a serialization failure would fail
                        // the test).
                        assert_eq!(
                            upsert(store.as_ref(), &id, "2026-11-20T10:00:00Z")
                                .await
                                .unwrap(),
                            UpsertOutcome::Inserted
                        );
                        acked.push(id);
                        // Every task also updates one shared row, with rising times.
                        let at = format!("2026-11-21T10:{:02}:{:02}.{t}Z", i / 60, i % 60);
                        upsert(store.as_ref(), "shared", &at).await.unwrap();
                    }
                    acked
                })
            })
            .collect();
        // Readers run beside the writers.
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let store = stores[r].clone();
                tokio::spawn(async move {
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
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for r in readers {
            r.await.unwrap();
        }
        let mut expected = Vec::new();
        for w in writers {
            expected.extend(w.await.unwrap());
        }

        let store = backend.instance().await;
        let mut stored = all_ids(store.as_ref()).await;
        stored.sort();
        assert_eq!(expected.len(), TASKS * WRITES, "{}", backend.name);
        expected.push("shared".to_owned());
        expected.sort();
        assert_eq!(stored, expected, "{}", backend.name);
        // The shared row holds the newest time any task wrote.
        let shared = store.fulfillment(A, "shared").await.unwrap().unwrap();
        let last = WRITES - 1;
        let newest = format!(
            "2026-11-21T10:{:02}:{:02}.{}Z",
            last / 60,
            last % 60,
            TASKS - 1
        );
        assert_eq!(shared.shopify_updated_at, newest, "{}", backend.name);
        integrity(&backend);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_requests_admit_exactly_one() {
    for backend in backends::each().await {
        let stores = [backend.store.clone(), backend.instance().await];
        upsert(stores[0].as_ref(), "5001", "2026-11-20T10:00:00Z")
            .await
            .unwrap();
        let fp = Arc::new(request_fingerprint(
            "POST",
            "/api/fulfillments/5001/sync",
            b"",
        ));

        let handles: Vec<_> = (0..TASKS)
            .map(|t| {
                let (store, fp) = (stores[t % 2].clone(), fp.clone());
                tokio::spawn(async move {
                    let key = store.begin_idempotent(A, "same-key", &fp).await;
                    let push = store.create_push(A, "5001", PLAN, None).await;
                    (key, push)
                })
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        let started = results
            .iter()
            .filter(|(k, _)| matches!(k, Ok(IdempotencyStart::Started)))
            .count();
        assert_eq!(started, 1, "{}", backend.name);
        assert!(results.iter().all(|(k, _)| matches!(
            k,
            Ok(IdempotencyStart::Started) | Err(StoreError::IdempotencyInProgress(_))
        )));
        let created: Vec<_> = results
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .collect();
        assert_eq!(created.len(), 1, "{}", backend.name);
        assert!(results
            .iter()
            .all(|(_, p)| matches!(p, Ok(_) | Err(StoreError::PushInFlight { .. }))));
        let push_id = created[0].id;

        // Racing workers moving it to sending: one wins.
        let handles: Vec<_> = (0..TASKS)
            .map(|t| {
                let store = stores[t % 2].clone();
                tokio::spawn(async move {
                    store
                        .transition_push(
                            A,
                            push_id,
                            &PushTransition::new(PushState::Pending, PushState::Sending),
                        )
                        .await
                })
            })
            .collect();
        let mut moved = Vec::new();
        for h in handles {
            moved.push(h.await.unwrap());
        }
        assert_eq!(
            moved.iter().filter(|r| r.is_ok()).count(),
            1,
            "{}",
            backend.name
        );
        assert!(moved
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(StoreError::PushStateChanged { .. }))));
        let push = stores[1].push(A, push_id).await.unwrap().unwrap();
        assert_eq!(push.attempts, 1, "{}", backend.name);
        integrity(&backend);
    }
}

/// The child side of the crash test: commits a push as `sending`, then dies without unwinding.
#[tokio::test]
async fn crash_child() {
    let (Ok(location), Ok(name)) = (std::env::var(CRASH_ENV), std::env::var(CRASH_BACKEND_ENV))
    else {
        return;
    };
    let store = backends::open(&name, &location, Arc::new(SystemClock)).await;
    upsert(store.as_ref(), "5001", "2026-11-20T10:00:00Z")
        .await
        .unwrap();
    upsert(store.as_ref(), "5002", "2026-11-20T10:00:00Z")
        .await
        .unwrap();
    let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");
    store.begin_idempotent(A, "k1", &fp).await.unwrap();
    let sending = store
        .create_push(A, "5001", PLAN, Some("k1"))
        .await
        .unwrap();
    store
        .transition_push(
            A,
            sending.id,
            &PushTransition::new(PushState::Pending, PushState::Sending),
        )
        .await
        .unwrap();
    let pending = store.create_push(A, "5002", PLAN, None).await.unwrap();
    assert_eq!(pending.state, PushState::Pending);
    std::process::abort();
}

#[cfg(unix)]
#[tokio::test]
async fn a_push_left_sending_by_a_crash_becomes_unknown_at_start() {
    for backend in backends::each().await {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CRASH_ENV, &backend.location)
            .env(CRASH_BACKEND_ENV, backend.name)
            .output()
            .unwrap();
        assert_eq!(
            child.status.signal(),
            Some(6),
            "the child must abort: {}",
            String::from_utf8_lossy(&child.stderr)
        );

        let store = backend.instance().await;
        integrity(&backend);
        let open = store.open_push(A, "5001").await.unwrap().unwrap();
        assert_eq!(open.state, PushState::Sending);
        assert_eq!(open.attempts, 1);
        let fp = request_fingerprint("POST", "/api/fulfillments/5001/sync", b"");
        assert_eq!(
            store
                .begin_idempotent(A, "k1", &fp)
                .await
                .unwrap_err()
                .code(),
            "idempotency.in_progress"
        );

        let recovery = store.recover_interrupted().await.unwrap();
        assert_eq!(recovery.pushes.len(), 1, "{}", backend.name);
        let (shop, push) = &recovery.pushes[0];
        assert_eq!(shop, A);
        assert_eq!((push.id, push.state), (open.id, PushState::Unknown));
        assert_eq!(recovery.idempotency_keys_released, 1);
        // Still open: never retried blindly, and no second push can start.
        assert_eq!(
            store
                .create_push(A, "5001", PLAN, None)
                .await
                .unwrap_err()
                .code(),
            "push.in_flight"
        );
        // The pending push was not sent: it stays pending.
        assert_eq!(
            store.open_push(A, "5002").await.unwrap().unwrap().state,
            PushState::Pending
        );
        // The retried request may take its key again.
        assert_eq!(
            store.begin_idempotent(A, "k1", &fp).await.unwrap(),
            IdempotencyStart::Started
        );

        // Recovery is idempotent.
        let again = store.recover_interrupted().await.unwrap();
        assert!(again.pushes.is_empty());
        // Reconciliation: TikTok Shop already holds it.
        store
            .transition_push(
                A,
                open.id,
                &PushTransition::new(PushState::Unknown, PushState::Sent),
            )
            .await
            .unwrap();
        assert_eq!(store.open_push(A, "5001").await.unwrap(), None);
    }
}
