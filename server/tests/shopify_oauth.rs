//! Shopify's token endpoint on loopback, against the Shopify simulator: token exchange, refresh with
//! rotation, a lost refresh answer retried, and the refusals.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failure panics with what it found"
)]

use preflight_server::shopify::oauth::{Endpoint, OAuthError, TokenClient};
use preflight_server::shopify::simulator::{spawn_on_loopback, ShopifySimulator};
use preflight_server::tokens::{ExposeSecret, SecretString};

const SHOP: &str = "acme.myshopify.com";
const ID: &str = "client-id";
const SECRET: &str = "client-secret";
const T0: i64 = 1_795_000_000;

async fn setup() -> (ShopifySimulator, TokenClient) {
    let sim = ShopifySimulator::new(ID, SECRET, T0);
    let (addr, _task) = spawn_on_loopback(sim.clone()).await.unwrap();
    let client = TokenClient::new(
        Endpoint::Simulated(format!("http://{addr}")),
        ID,
        SecretString::from(SECRET.to_owned()),
    )
    .unwrap();
    (sim, client)
}

/// Shopify's error code and ours, of a refusal (an empty code for anything else).
fn refused(result: Result<impl std::fmt::Debug, OAuthError>) -> (String, &'static str) {
    match result {
        Err(e) => {
            let code = e.code();
            match e {
                OAuthError::Refused { error, .. } => (error, code),
                other => (format!("not a refusal: {other}"), code),
            }
        }
        Ok(grant) => (format!("granted: {grant:?}"), ""),
    }
}

#[tokio::test]
async fn exchange_then_refresh_with_rotation_and_a_lost_answer() {
    let (sim, client) = setup().await;
    let session = sim.session_token(SHOP, "42");
    let first = client.exchange(SHOP, &session).await.unwrap();
    assert_eq!(first.expires_in, Some(3599));
    assert!(first.scope.contains("write_orders"));
    // Nothing of the tokens in Debug.
    let shown = format!("{first:?}");
    assert!(!shown.contains(first.access_token.expose_secret()));
    let r1 = first.refresh_token.unwrap();
    assert!(sim.access_token_valid(SHOP, first.access_token.expose_secret()));

    // A refresh rotates the pair.
    let second = client.refresh(SHOP, &r1).await.unwrap();
    let r2 = second.refresh_token.unwrap();
    assert_ne!(r2.expose_secret(), r1.expose_secret());

    // Its answer lost, the refresh is retried with the same refresh token: still accepted, since the
    // new pair was never used.
    let retried = client.refresh(SHOP, &r1).await.unwrap();
    let r3 = retried.refresh_token.unwrap();
    assert!(sim.access_token_valid(SHOP, retried.access_token.expose_secret()));
    // Once the new pair is used, the old refresh tokens are spent.
    let (error, code) = refused(client.refresh(SHOP, &r1).await);
    assert_eq!(
        (error.as_str(), code),
        ("invalid_grant", "shopify.token_refused")
    );
    let (error, _) = refused(client.refresh(SHOP, &r2).await);
    assert_eq!(error, "invalid_grant");
    assert!(client.refresh(SHOP, &r3).await.is_ok());
}

#[tokio::test]
async fn forged_expired_and_foreign_session_tokens_are_refused() {
    let (sim, client) = setup().await;
    // Signed with another secret.
    let other = ShopifySimulator::new(ID, "not-the-secret", T0);
    let forged = other.session_token(SHOP, "42");
    let (error, code) = refused(client.exchange(SHOP, &forged).await);
    assert_eq!(
        (error.as_str(), code),
        ("invalid_subject_token", "auth.invalid_token")
    );
    // For another shop.
    let foreign = sim.session_token("bravo.myshopify.com", "42");
    assert_eq!(
        refused(client.exchange(SHOP, &foreign).await).0,
        "invalid_subject_token"
    );
    // Expired: the simulator's clock moved ten minutes on.
    let stale = sim.session_token(SHOP, "42");
    sim.set_now(T0 + 600);
    assert_eq!(
        refused(client.exchange(SHOP, &stale).await).0,
        "invalid_subject_token"
    );
    assert_eq!(sim.issued(), 0);
    // Uninstalled: the refresh token stops; a merchant's session token installs the app again.
    sim.set_now(T0);
    let fresh = sim.session_token(SHOP, "42");
    let grant = client.exchange(SHOP, &fresh).await.unwrap();
    sim.uninstall(SHOP);
    let refresh = grant.refresh_token.unwrap();
    assert_eq!(
        refused(client.refresh(SHOP, &refresh).await).0,
        "invalid_grant"
    );
    assert!(!sim.access_token_valid(SHOP, grant.access_token.expose_secret()));
    let again = sim.session_token(SHOP, "42");
    assert!(client.exchange(SHOP, &again).await.is_ok());
}

#[tokio::test]
async fn wrong_client_credentials_and_no_answer() {
    let (sim, _) = setup().await;
    let (addr, _task) = spawn_on_loopback(sim.clone()).await.unwrap();
    let wrong = TokenClient::new(
        Endpoint::Simulated(format!("http://{addr}")),
        ID,
        SecretString::from("wrong".to_owned()),
    )
    .unwrap();
    let session = sim.session_token(SHOP, "42");
    let (error, code) = refused(wrong.exchange(SHOP, &session).await);
    assert_eq!(
        (error.as_str(), code),
        ("invalid_client", "shopify.token_refused")
    );

    // Nothing listens: the answer is lost, and the error names no secret.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = TokenClient::new(
        Endpoint::Simulated(format!("http://127.0.0.1:{port}")),
        ID,
        SecretString::from(SECRET.to_owned()),
    )
    .unwrap();
    let lost = gone.exchange(SHOP, &session).await.unwrap_err();
    assert!(lost.answer_lost());
    assert_eq!(lost.code(), "shopify.unavailable");
    assert!(!lost.to_string().contains(SECRET));
}
