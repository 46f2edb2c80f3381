//! `Store::start_push`: the fulfillment's fields, the push and `sending` in one commit.

use preflight_server::store::{
    FulfillmentPatch, FulfillmentWebhook, PushState, PushTransition, SqliteStore, Store,
};

#[test]
fn start_push_commits_the_fields_and_a_sending_push_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("s.sqlite3")).unwrap();
    let shop = "acme.myshopify.com";
    store
        .upsert_fulfillment(
            shop,
            &FulfillmentWebhook {
                fulfillment_id: "1",
                updated_at: "2026-11-20T10:00:00Z",
                payload_json: r#"{"id": 1}"#,
                event_id: None,
            },
        )
        .unwrap();
    let patch = FulfillmentPatch {
        report_json: Some(r#"{"verdict": "ready"}"#.into()),
        ..FulfillmentPatch::default()
    };
    let push = store
        .start_push(shop, "1", &patch, r#"{"action": "ship"}"#, Some("k"))
        .unwrap();
    assert_eq!((push.state, push.attempts), (PushState::Sending, 1));
    assert!(push.sending_at.is_some());
    let record = store.fulfillment(shop, "1").unwrap().unwrap();
    assert_eq!(
        record.report_json.as_deref(),
        Some(r#"{"verdict": "ready"}"#)
    );
    assert_eq!(record.latest_push.unwrap().id, push.id);

    // One open push at a time; nothing of a refused start is kept.
    let other = FulfillmentPatch {
        report_json: Some(r#"{"verdict": "blocked"}"#.into()),
        ..FulfillmentPatch::default()
    };
    let refused = store.start_push(shop, "1", &other, r#"{"action": "ship"}"#, None);
    assert_eq!(refused.unwrap_err().code(), "push.in_flight");
    let record = store.fulfillment(shop, "1").unwrap().unwrap();
    assert_eq!(
        record.report_json.as_deref(),
        Some(r#"{"verdict": "ready"}"#)
    );

    store
        .transition_push(
            shop,
            push.id,
            &PushTransition::new(PushState::Sending, PushState::Unknown),
        )
        .unwrap();
    assert!(store
        .start_push("other.myshopify.com", "1", &patch, "{}", None)
        .is_err());
}
