//! The PostgreSQL store against a real server: `cargo xtask test` starts one (Debian's `postgresql`,
//! a cluster in `target/postgres/`) and names it in `PREFLIGHT_TEST_POSTGRES`; each test makes a
//! database of its own. Run alone with `cargo test`, without that variable, these tests say so and
//! check nothing.
//!
//! The schema migrated on connect, by one instance at a time when several start together; a database
//! migrated by a newer build refused; a server that cannot be reached, or connections it ended,
//! answered as unavailable (503); the shop's version kept by the schema's triggers; a fulfillment
//! locked across instances, and let go when its holder dies. And what several instances on one
//! database rely on: one open push per fulfillment, one request per idempotency key, one claimant per
//! TikTok Shop event and per write-back, one refresh per refresh token, one insert per new
//! fulfillment, and contended writes that never fail with a deadlock.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a test: a failure panics with what it found"
)]

mod backends;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use preflight_server::store::{
    Clock, FulfillmentPatch, FulfillmentWebhook, HeldFix, IdempotencyStart, PgOptions, PgStore,
    Platform, PushState, PushTransition, ShopCredentials, Store, StoreError, SyncFailure,
    SystemClock, TiktokEvent, UpsertOutcome,
};
use tokio_postgres::NoTls;

const A: &str = "acme.myshopify.com";
const PLAN: &str = r#"{"action":"ship","lineItemIds":["1"],"trackingNumber":"1Z5R89390357567127"}"#;

/// A fresh database on the test server: its URL, or `None` when no server is named.
async fn fresh_database() -> Option<String> {
    backends::fresh_postgres_database().await
}

/// Two instances on one fresh database, as two processes would have, or `None` without a server.
async fn two_instances() -> Option<[Arc<dyn Store>; 2]> {
    let url = fresh_database().await?;
    let options = PgOptions::default();
    let one = PgStore::connect(&url, &options).await.unwrap();
    let two = PgStore::connect(&url, &options).await.unwrap();
    Some([Arc::new(one), Arc::new(two)])
}

/// Runs `count` copies of `task` at once, the `i`th on instance `i % 2`, and answers their results
/// in order.
async fn race<T, F, Fut>(stores: &[Arc<dyn Store>; 2], count: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, Arc<dyn Store>) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = (0..count)
        .map(|i| tokio::spawn(task(i, stores[i % 2].clone())))
        .collect();
    let mut results = Vec::with_capacity(count);
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

async fn add_fulfillment(store: &dyn Store, id: &str) {
    let payload = format!(r#"{{"id":"{id}","tracking_number":"1Z5R89390357567127"}}"#);
    let webhook = FulfillmentWebhook {
        fulfillment_id: id,
        updated_at: "2026-11-20T10:00:00Z",
        payload_json: &payload,
        event_id: None,
    };
    assert_eq!(
        store.upsert_fulfillment(A, &webhook).await.unwrap(),
        UpsertOutcome::Inserted
    );
}

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_schema_is_migrated_once_by_instances_starting_together() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let options = PgOptions::default();
    let started = futures_join(&url, &options).await;
    for store in &started {
        assert_eq!(
            store.schema_version().await.unwrap(),
            PgStore::newest_version()
        );
        store.ping().await.unwrap();
    }
    let client = raw(&url).await;
    let applied: i64 = client
        .query_one("SELECT COUNT(*) FROM refinery_schema_history", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, PgStore::newest_version());
}

/// Three instances connecting at once.
async fn futures_join(url: &str, options: &PgOptions) -> Vec<PgStore> {
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            let (url, options) = (url.to_owned(), options.clone());
            tokio::spawn(async move { PgStore::connect(&url, &options).await })
        })
        .collect();
    let mut stores = Vec::new();
    for task in tasks {
        stores.push(task.await.unwrap().unwrap());
    }
    stores
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_refused() {
    let Some(url) = fresh_database().await else {
        return;
    };
    PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    let newer = PgStore::newest_version() + 1;
    let client = raw(&url).await;
    client
        .execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
             VALUES ($1, 'from_the_future', '2030-01-01T00:00:00Z', '0')",
            &[&i32::try_from(newer).unwrap()],
        )
        .await
        .unwrap();
    let refused = PgStore::connect(&url, &PgOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, StoreError::SchemaTooNew { found, supported }
            if found == newer && supported == PgStore::newest_version()),
        "{refused:?}"
    );
    assert_eq!(refused.code(), "store.schema_too_new");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_unavailable() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = PgOptions {
        wait: Duration::from_millis(500),
        ..PgOptions::default()
    };
    let refused = PgStore::connect(
        &format!("postgres://preflight@127.0.0.1:{port}/x"),
        &options,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "store.unavailable", "{refused:?}");
    let bad = PgStore::connect("mysql://nowhere", &options)
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "store.invalid_input", "{bad:?}");
}

#[tokio::test]
async fn the_shops_version_moves_with_each_change_it_covers() {
    let Some(url) = fresh_database().await else {
        return;
    };
    PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    let client = raw(&url).await;
    let version = |shop: &'static str| {
        let client = &client;
        async move {
            client
                .query_opt(
                    "SELECT version FROM shop_versions WHERE shop = $1",
                    &[&shop],
                )
                .await
                .unwrap()
                .map_or(0, |r| r.get::<_, i64>(0))
        }
    };
    assert_eq!(version("a.myshopify.com").await, 0);
    client
        .execute(
            "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, shopify_updated_at, \
             created_at, updated_at) VALUES ('a.myshopify.com', '1', '{}', 'x', 0, 0)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(version("a.myshopify.com").await, 1);
    client
        .execute(
            "INSERT INTO shop_settings (shop, settings_json, updated_at) \
             VALUES ('a.myshopify.com', '{\"region\":\"US\"}', 0)",
            &[],
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO shop_credentials (shop, platform, access_token, updated_at) \
             VALUES ('a.myshopify.com', 'tiktok', 'v1.x', 0)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(version("a.myshopify.com").await, 2, "a token is no change");
    client
        .execute(
            "UPDATE shop_credentials SET needs_reconnect = TRUE WHERE shop = 'a.myshopify.com'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        version("a.myshopify.com").await,
        3,
        "the reconnect prompt is"
    );
    assert_eq!(version("b.myshopify.com").await, 0, "per shop");
    // Not JSON is refused.
    let refused = client
        .execute(
            "INSERT INTO fulfillments (shop, fulfillment_id, shopify_json, shopify_updated_at, \
             created_at, updated_at) VALUES ('a.myshopify.com', '2', '{oops', 'x', 0, 0)",
            &[],
        )
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_fulfillment_is_locked_across_instances_and_let_go_when_its_holder_dies() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let options = PgOptions::default();
    let (one, two) = (
        PgStore::connect(&url, &options).await.unwrap(),
        PgStore::connect(&url, &options).await.unwrap(),
    );
    let held = one
        .lock_fulfillment("a.myshopify.com", "4711")
        .await
        .unwrap();
    // Another fulfillment, or another shop's, is not held up.
    drop(
        two.lock_fulfillment("a.myshopify.com", "4712")
            .await
            .unwrap(),
    );
    drop(
        two.lock_fulfillment("b.myshopify.com", "4711")
            .await
            .unwrap(),
    );
    // The same one waits for its holder on the other instance.
    let waiting = tokio::spawn({
        let two = two.clone();
        async move { two.lock_fulfillment("a.myshopify.com", "4711").await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "granted while held elsewhere");
    drop(held);
    let second = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // A holder whose instance dies without letting go (its guard never dropped): the server ends its
    // session, and the lock goes with it.
    std::mem::forget(second);
    let admin = raw(&url).await;
    let ended: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks \
             WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ended, 1, "one session held the lock");
    drop(
        tokio::time::timeout(
            Duration::from_secs(5),
            one.lock_fulfillment("a.myshopify.com", "4711"),
        )
        .await
        .unwrap()
        .unwrap(),
    );
}

#[tokio::test]
async fn connections_the_server_ended_are_unavailable_and_replaced() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    store.put_settings(A, r#"{"region":"US"}"#).await.unwrap();
    let victim = raw(&url).await;
    // An administrator (or a failover) ends every connection of the database.
    raw(&url)
        .await
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    // What a statement on an ended connection fails with is unavailable (503), not a database error.
    let ended = victim.simple_query("SELECT 1").await.unwrap_err();
    let mapped = StoreError::from_postgres(ended);
    assert_eq!(mapped.code(), "store.unavailable", "{mapped:?}");
    // The store's pooled connection was ended too: a call fails as unavailable (unless the pool saw
    // it closed first), and the pool opens a new connection for the next one.
    match store.settings(A).await {
        Ok(settings) => assert_eq!(settings.as_deref(), Some(r#"{"region":"US"}"#)),
        Err(lost) => assert_eq!(lost.code(), "store.unavailable", "{lost:?}"),
    }
    assert_eq!(
        store.settings(A).await.unwrap().as_deref(),
        Some(r#"{"region":"US"}"#)
    );
}

#[tokio::test]
async fn text_postgresql_cannot_hold_is_refused_and_json_escapes_read_back_as_sent() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let store = PgStore::connect(&url, &PgOptions::default()).await.unwrap();
    // `\u0000` is JSON that `jsonb` refuses: the text is kept as sent.
    let escaped = r#"{"note":"a\u0000b", "n": 1.50}"#;
    store.put_settings(A, escaped).await.unwrap();
    assert_eq!(store.settings(A).await.unwrap().as_deref(), Some(escaped));
    // A NUL character itself is refused as input, not failed as a database error.
    let refused = store.first_delivery(A, "a\0b").await.unwrap_err();
    assert_eq!(refused.code(), "store.invalid_input", "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_open_push_per_fulfillment_whichever_instance_plans_it() {
    let Some(stores) = two_instances().await else {
        return;
    };
    for round in 0..16 {
        let id = format!("50{round}");
        add_fulfillment(stores[0].as_ref(), &id).await;
        // Half create a pending push, half start one (the patch, the push and `sending` at once).
        let results = race(&stores, 6, |i, store| {
            let id = id.clone();
            async move {
                if i % 3 == 0 {
                    store.create_push(A, &id, PLAN, None).await
                } else {
                    let patch = FulfillmentPatch {
                        report_json: Some(format!(r#"{{"racer":{i}}}"#)),
                        ..FulfillmentPatch::default()
                    };
                    store.start_push(A, &id, &patch, PLAN, None).await
                }
            }
        })
        .await;
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        let winner = won[0].id;
        for result in &results {
            if let Err(error) = result {
                assert!(
                    matches!(error, StoreError::PushInFlight { push_id, .. } if *push_id == winner),
                    "round {round}: {error:?}"
                );
            }
        }
        let open = stores[1].open_push(A, &id).await.unwrap().unwrap();
        assert_eq!(open.id, winner);
        assert_eq!(stores[0].pushes(A, &id).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_request_per_idempotency_key_whichever_instance_serves_it() {
    let Some(stores) = two_instances().await else {
        return;
    };
    for round in 0..16 {
        let key = format!("key-{round}");
        let results = race(&stores, 6, |_, store| {
            let key = key.clone();
            async move { store.begin_idempotent(A, &key, "fingerprint").await }
        })
        .await;
        let started = results
            .iter()
            .filter(|r| matches!(r, Ok(IdempotencyStart::Started)))
            .count();
        assert_eq!(started, 1, "round {round}: {results:?}");
        assert!(
            results.iter().all(|r| matches!(
                r,
                Ok(IdempotencyStart::Started) | Err(StoreError::IdempotencyInProgress(_))
            )),
            "round {round}: {results:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tiktok_shop_event_is_claimed_by_one_worker_whichever_instance_runs_it() {
    let Some(stores) = two_instances().await else {
        return;
    };
    let all: BTreeSet<String> = (0..240).map(|i| format!("73271123930{i:08}")).collect();
    for (i, id) in all.iter().enumerate() {
        let event = TiktokEvent {
            notification_id: id.clone(),
            shop: A.to_owned(),
            event_type: 1,
            data_json: r#"{"order_id":"5"}"#.to_owned(),
            received_at: 1_795_000_000_000 + i64::try_from(i).unwrap(),
        };
        assert!(stores[i % 2].enqueue_tiktok_event(&event).await.unwrap());
    }
    // Six workers, three on each instance, claim small batches until none is left.
    let claims = race(&stores, 6, |_, store| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store.claim_tiktok_events(7, 60_000).await.unwrap();
            if batch.is_empty() {
                return mine;
            }
            assert!(batch
                .windows(2)
                .all(|w| w[0].received_at <= w[1].received_at));
            mine.extend(batch.into_iter().map(|e| e.notification_id));
        }
    })
    .await;
    let claimed: Vec<String> = claims.into_iter().flatten().collect();
    let distinct: BTreeSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), distinct.len(), "an event claimed twice");
    assert_eq!(distinct, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_back_is_claimed_by_one_worker_whichever_instance_runs_it() {
    let Some(stores) = two_instances().await else {
        return;
    };
    for round in 0..8 {
        let id = format!("60{round}");
        add_fulfillment(stores[0].as_ref(), &id).await;
        let hold = FulfillmentPatch {
            hold_writeback: Some(HeldFix {
                company: Some("UPS".to_owned()),
                number: "1Z5R89390357567127".to_owned(),
                replaces: Some("1Z999".to_owned()),
            }),
            ..FulfillmentPatch::default()
        };
        stores[0].update_fulfillment(A, &id, &hold).await.unwrap();
        assert!(stores[1]
            .release_writeback(A, &id, "1Z5R89390357567127")
            .await
            .unwrap());
        let now = SystemClock.now_millis();
        let results = race(&stores, 6, |_, store| {
            let id = id.clone();
            async move { store.claim_writeback(A, &id, now, now + 60_000).await }
        })
        .await;
        let claimed = results.iter().filter(|r| matches!(r, Ok(true))).count();
        assert_eq!(claimed, 1, "round {round}: {results:?}");
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_is_swapped_once_whichever_instance_refreshes() {
    let Some(stores) = two_instances().await else {
        return;
    };
    let pair = |n: usize, previous: Option<String>| ShopCredentials {
        access_token: format!("v1.access-{n}"),
        access_expires_at: Some(1_795_000_000_000),
        refresh_token: Some(format!("v1.refresh-{n}")),
        refresh_expires_at: None,
        previous_refresh_token: previous,
        needs_reconnect: false,
    };
    // The first install of several requests at once: one stores, the others find it stored.
    let first = race(&stores, 4, |i, store| {
        let credentials = pair(100 + i, None);
        async move {
            store
                .swap_credentials(A, Platform::Shopify, Some("v1.none-yet"), &credentials)
                .await
        }
    })
    .await;
    assert_eq!(
        first.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{first:?}"
    );
    let stored = stores[0]
        .credentials(A, Platform::Shopify)
        .await
        .unwrap()
        .unwrap();
    // Refreshes from the stored refresh token: one rotates the pair.
    let old = stored.refresh_token.clone().unwrap();
    let results = race(&stores, 6, |i, store| {
        let (old, credentials) = (old.clone(), pair(i, Some(old.clone())));
        async move {
            store
                .swap_credentials(A, Platform::Shopify, Some(&old), &credentials)
                .await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "{results:?}"
    );
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let rotated = stores[1]
        .credentials(A, Platform::Shopify)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated.previous_refresh_token, Some(old));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_fulfillment_is_inserted_once_and_keeps_the_newest_webhook() {
    let Some(stores) = two_instances().await else {
        return;
    };
    for round in 0..8 {
        let id = format!("70{round}");
        let results = race(&stores, 6, |i, store| {
            let id = id.clone();
            async move {
                let updated_at = format!("2026-11-20T10:00:0{i}Z");
                let payload = format!(r#"{{"v":{i}}}"#);
                let event = format!("{id}-{i}");
                let webhook = FulfillmentWebhook {
                    fulfillment_id: &id,
                    updated_at: &updated_at,
                    payload_json: &payload,
                    event_id: Some(&event),
                };
                store.upsert_fulfillment(A, &webhook).await
            }
        })
        .await;
        let inserted = results
            .iter()
            .filter(|r| matches!(r, Ok(UpsertOutcome::Inserted)))
            .count();
        assert_eq!(inserted, 1, "round {round}: {results:?}");
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let stored = stores[0].fulfillment(A, &id).await.unwrap().unwrap();
        assert_eq!(stored.shopify_json, r#"{"v":5}"#);
        // One delivery of one event, whichever instance gets it.
        let repeats = race(&stores, 4, |_, store| {
            let id = id.clone();
            async move { store.first_delivery(A, &format!("delivery-{id}")).await }
        })
        .await;
        assert_eq!(
            repeats.iter().filter(|r| matches!(r, Ok(true))).count(),
            1,
            "{repeats:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contended_writes_on_one_shop_never_fail_with_a_database_error() {
    let Some(stores) = two_instances().await else {
        return;
    };
    let ids: Vec<String> = (0..4).map(|i| format!("80{i}")).collect();
    for id in &ids {
        add_fulfillment(stores[0].as_ref(), id).await;
    }
    let ids = Arc::new(ids);
    // Eight workers push, settle, patch and write back the same few fulfillments at once, in
    // orders that lock rows differently; only the answers of a lost race are allowed.
    let errors = race(&stores, 8, |worker, store| {
        let ids = ids.clone();
        async move {
            let mut unexpected = Vec::new();
            for step in 0..40 {
                let id = &ids[(worker + step) % ids.len()];
                let outcome = contend(store.as_ref(), id, worker, step).await;
                if let Err(error) = outcome {
                    if !matches!(
                        error,
                        StoreError::PushInFlight { .. }
                            | StoreError::PushStateChanged { .. }
                            | StoreError::NotFound { .. }
                    ) {
                        unexpected.push(format!("{error:?}"));
                    }
                }
            }
            unexpected
        }
    })
    .await;
    let errors: Vec<String> = errors.into_iter().flatten().collect();
    assert!(errors.is_empty(), "{errors:#?}");
    for id in ids.iter() {
        let pushes = stores[1].pushes(A, id).await.unwrap();
        let open = pushes.iter().filter(|p| p.state.is_open()).count();
        assert!(open <= 1, "{id}: {pushes:?}");
    }
}

/// One step of a contending worker on fulfillment `id`.
async fn contend(
    store: &dyn Store,
    id: &str,
    worker: usize,
    step: usize,
) -> Result<(), StoreError> {
    let failure = SyncFailure {
        code: "tts.test".to_owned(),
        reason: "The reason.".to_owned(),
        solution: "The solution.".to_owned(),
    };
    match (worker + step) % 4 {
        0 => {
            let patch = FulfillmentPatch {
                report_json: Some(format!(r#"{{"step":{step}}}"#)),
                ..FulfillmentPatch::default()
            };
            let push = store.start_push(A, id, &patch, PLAN, None).await?;
            let sent = PushTransition {
                history_json: Some(r#"{"packageId":"1"}"#.to_owned()),
                writeback_number: Some("1Z5R89390357567127".to_owned()),
                ..PushTransition::new(PushState::Sending, PushState::Sent)
            };
            store.transition_push(A, push.id, &sent).await?;
        }
        1 => {
            let push = store.create_push(A, id, PLAN, None).await?;
            let failed = PushTransition {
                failure: Some(failure),
                ..PushTransition::new(PushState::Pending, PushState::Failed)
            };
            store.transition_push(A, push.id, &failed).await?;
        }
        2 => {
            if let Some(open) = store.open_push(A, id).await? {
                let to = match open.state {
                    PushState::Pending | PushState::Unknown => PushState::Sending,
                    PushState::Sending => PushState::Sent,
                    _ => return Ok(()),
                };
                store
                    .transition_push(A, open.id, &PushTransition::new(open.state, to))
                    .await?;
            }
        }
        _ => {
            let hold = FulfillmentPatch {
                hold_writeback: Some(HeldFix {
                    company: None,
                    number: "1Z5R89390357567127".to_owned(),
                    replaces: None,
                }),
                ..FulfillmentPatch::default()
            };
            store.update_fulfillment(A, id, &hold).await?;
            store
                .shopify_tracking_seen(A, id, Some("1Z5R89390357567127"))
                .await?;
        }
    }
    Ok(())
}

#[derive(Debug)]
struct ManualClock(std::sync::atomic::AtomicI64);

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test]
async fn recovery_leaves_a_push_whose_request_may_still_send_it() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let clock = Arc::new(ManualClock(1_795_000_000_000.into()));
    let options = PgOptions {
        clock: clock.clone(),
        abandoned_after: Duration::from_secs(40),
        ..PgOptions::default()
    };
    let store = PgStore::connect(&url, &options).await.unwrap();
    add_fulfillment(&store, "5001").await;
    let push = store
        .start_push(A, "5001", &FulfillmentPatch::default(), PLAN, None)
        .await
        .unwrap();
    // Young: its request may be sending it on an instance whose hold went with its connection.
    assert!(store.recover_interrupted().await.unwrap().pushes.is_empty());
    clock
        .0
        .fetch_add(41_000, std::sync::atomic::Ordering::SeqCst);
    // Old, but held: a live request has it.
    let held = store.lock_fulfillment(A, "5001").await.unwrap();
    let other = PgStore::connect(&url, &options).await.unwrap();
    assert!(other.recover_interrupted().await.unwrap().pushes.is_empty());
    drop(held);
    // Old and free: its request died.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let recovered = other.recover_interrupted().await.unwrap().pushes;
        if let Some((shop, unknown)) = recovered.first() {
            assert_eq!((shop.as_str(), unknown.id), (A, push.id));
            assert_eq!(unknown.state, PushState::Unknown);
            break;
        }
        // The lock is let go by a task of its own.
        assert!(std::time::Instant::now() < deadline, "never let go");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
