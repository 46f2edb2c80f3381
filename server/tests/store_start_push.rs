//! `Store::start_push` on each store: the fulfillment's fields, the push and `sending` in one commit.

mod backends;

use preflight_server::store::{FulfillmentPatch, FulfillmentWebhook, PushState, PushTransition};

#[tokio::test]
async fn start_push_commits_the_fields_and_a_sending_push_together() {
    for backend in backends::each().await {
        let store = backend.store.as_ref();
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
            .await
            .unwrap();
        let patch = FulfillmentPatch {
            report_json: Some(r#"{"verdict": "ready"}"#.into()),
            ..FulfillmentPatch::default()
        };
        let push = store
            .start_push(shop, "1", &patch, r#"{"action": "ship"}"#, Some("k"))
            .await
            .unwrap();
        assert_eq!((push.state, push.attempts), (PushState::Sending, 1));
        assert!(push.sending_at.is_some());
        let record = store.fulfillment(shop, "1").await.unwrap().unwrap();
        assert_eq!(
            record.report_json.as_deref(),
            Some(r#"{"verdict": "ready"}"#),
            "{}",
            backend.name
        );
        assert_eq!(record.latest_push.unwrap().id, push.id);

        // One open push at a time; nothing of a refused start is kept.
        let other = FulfillmentPatch {
            report_json: Some(r#"{"verdict": "blocked"}"#.into()),
            ..FulfillmentPatch::default()
        };
        let refused = store
            .start_push(shop, "1", &other, r#"{"action": "ship"}"#, None)
            .await;
        assert_eq!(refused.unwrap_err().code(), "push.in_flight");
        let record = store.fulfillment(shop, "1").await.unwrap().unwrap();
        assert_eq!(
            record.report_json.as_deref(),
            Some(r#"{"verdict": "ready"}"#),
            "{}",
            backend.name
        );

        store
            .transition_push(
                shop,
                push.id,
                &PushTransition::new(PushState::Sending, PushState::Unknown),
            )
            .await
            .unwrap();
        assert!(store
            .start_push("other.myshopify.com", "1", &patch, "{}", None)
            .await
            .is_err());
    }
}
