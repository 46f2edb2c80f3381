//! The simulator's webhooks: events of a shop sent to the app's address, signed as TikTok Shop signs
//! them (the `Authorization` header is the hex HMAC-SHA256, under the app secret, of the app key and the
//! raw body), and sent again on TikTok Shop's schedule while the app does not answer 200: +2 min,
//! +30 min, +3 h, +12 h (by the simulator's clock; [`Simulator::redeliver_due`] sends what is due).

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::Simulator;

/// The waits before each retry, in seconds.
pub const RETRY_SCHEDULE_SECS: [i64; 4] = [120, 30 * 60, 3 * 3600, 12 * 3600];

/// A notification and how its deliveries went.
#[derive(Clone, Debug)]
pub struct Notification {
    /// `tts_notification_id`.
    pub id: String,
    /// The event type.
    pub event_type: i64,
    /// The body sent.
    pub body: String,
    /// The app's HTTP status at each delivery (`None`: no answer).
    pub statuses: Vec<Option<u16>>,
    /// When it is sent again, Unix seconds by the simulator's clock; `None` once answered 200 or the
    /// schedule ran out.
    pub next_at: Option<i64>,
}

/// Where the simulator's webhooks go, and what was sent.
#[derive(Debug, Default)]
pub(super) struct WebhookState {
    pub(super) address: Option<String>,
    pub(super) sent: Vec<Notification>,
    pub(super) next: u64,
}

impl Simulator {
    /// Subscribes the app's `address` (its full URL) to every event of every shop, as `PUT
    /// /event/202309/webhooks` does per shop and event.
    pub fn subscribe_webhooks(&self, address: &str) {
        self.webhooks().address = Some(address.to_owned());
    }

    /// The notifications sent so far.
    #[must_use]
    pub fn notifications(&self) -> Vec<Notification> {
        self.webhooks().sent.clone()
    }

    /// Sends an event of the shop of `cipher` (an authorized seller's) with `data`: its notification,
    /// or `None` when no address is subscribed or no seller holds the shop.
    pub async fn notify(&self, cipher: &str, event_type: i64, data: Value) -> Option<Notification> {
        let shop_id = self.shop_id_of(cipher)?;
        let now = self.now();
        let (address, id) = {
            let mut w = self.webhooks();
            let address = w.address.clone()?;
            w.next += 1;
            (address, format!("73271123930{:08}", w.next))
        };
        let body = json!({
            "type": event_type,
            "tts_notification_id": id,
            "shop_id": shop_id,
            "timestamp": now,
            "data": data,
        })
        .to_string();
        let status = self.post(&address, &body).await;
        let notification = Notification {
            id,
            event_type,
            body,
            statuses: vec![status],
            next_at: (status != Some(200)).then_some(now + RETRY_SCHEDULE_SECS[0]),
        };
        self.webhooks().sent.push(notification.clone());
        Some(notification)
    }

    /// Sends again every notification due by the simulator's clock: how many were sent.
    pub async fn redeliver_due(&self) -> usize {
        let now = self.now();
        let (address, due) = {
            let w = self.webhooks();
            let Some(address) = w.address.clone() else {
                return 0;
            };
            let due: Vec<(String, String)> = w
                .sent
                .iter()
                .filter(|n| n.next_at.is_some_and(|at| at <= now))
                .map(|n| (n.id.clone(), n.body.clone()))
                .collect();
            (address, due)
        };
        for (id, body) in &due {
            let status = self.post(&address, body).await;
            let mut w = self.webhooks();
            if let Some(n) = w.sent.iter_mut().find(|n| &n.id == id) {
                n.statuses.push(status);
                let retries = n.statuses.len() - 1;
                n.next_at = match (status, RETRY_SCHEDULE_SECS.get(retries)) {
                    (Some(200), _) | (_, None) => None,
                    (_, Some(wait)) => Some(now + wait),
                };
            }
        }
        due.len()
    }

    /// The signature TikTok Shop puts in a webhook's `Authorization` header (HMAC takes a key of any
    /// length, so there always is one).
    fn sign_webhook(&self, body: &str) -> String {
        Hmac::<Sha256>::new_from_slice(self.app_secret().as_bytes()).map_or_else(
            |_| String::new(),
            |mut mac| {
                mac.update(self.app_key().as_bytes());
                mac.update(body.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            },
        )
    }

    async fn post(&self, address: &str, body: &str) -> Option<u16> {
        self.http
            .post(address)
            .header("Content-Type", "application/json")
            .header("Authorization", self.sign_webhook(body))
            .timeout(std::time::Duration::from_secs(3))
            .body(body.to_owned())
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    }
}
