//! `shopify.app.toml`, the app's configuration for Shopify CLI: it parses, it is embedded, it asks for
//! the scopes the features need and no others, and it subscribes to the fulfillment webhooks the server
//! serves and to the three compliance topics every App Store app answers.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use std::collections::BTreeSet;

use toml::Value;

fn config() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shopify.app.toml");
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn the_app_configuration_shopify_cli_reads() {
    let c = config();
    assert_eq!(c["embedded"].as_bool(), Some(true));
    assert!(c["client_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(c["webhooks"]["api_version"].as_str(), Some("2026-10"));
    let scopes: BTreeSet<&str> = c["access_scopes"]["scopes"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(
        scopes,
        BTreeSet::from(["write_orders", "write_merchant_managed_fulfillment_orders"])
    );

    let subscriptions = c["webhooks"]["subscriptions"].as_array().unwrap();
    let topics = |key: &str| -> BTreeSet<(String, String)> {
        subscriptions
            .iter()
            .flat_map(|s| {
                let uri = s["uri"].as_str().unwrap().to_owned();
                s.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(move |t| (t.as_str().unwrap().to_owned(), uri.clone()))
            })
            .collect()
    };
    let compliance: BTreeSet<String> = topics("compliance_topics")
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        compliance,
        BTreeSet::from([
            "customers/data_request".to_owned(),
            "customers/redact".to_owned(),
            "shop/redact".to_owned()
        ])
    );
    // The fulfillment topics go to the route the server serves them on.
    for topic in ["fulfillments/create", "fulfillments/update"] {
        assert!(topics("topics").contains(&(
            topic.to_owned(),
            "/webhooks/shopify/fulfillments".to_owned()
        )));
    }
}

#[test]
fn the_simulated_shopify_sends_what_the_configuration_subscribes() {
    let c = config();
    let configured: BTreeSet<(String, String)> = c["webhooks"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let uri = s["uri"].as_str().unwrap().to_owned();
            ["topics", "compliance_topics"]
                .into_iter()
                .filter_map(|key| s.get(key).and_then(Value::as_array))
                .flatten()
                .map(move |t| (t.as_str().unwrap().to_owned(), uri.clone()))
        })
        .collect();
    let simulated: BTreeSet<(String, String)> = preflight_server::demo::WEBHOOK_SUBSCRIPTIONS
        .iter()
        .map(|(t, p)| ((*t).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(simulated, configured);
}
