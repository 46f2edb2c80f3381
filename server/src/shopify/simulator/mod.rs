//! A Shopify simulator: the parts of Shopify the sync API talks to, modelled on their own (it never calls
//! the server's logic):
//! - session tokens for a shop, as App Bridge hands them to the app's page;
//! - the token endpoint (`POST /admin/oauth/access_token`): token exchange for expiring offline tokens,
//!   refresh with rotation (the previous refresh token works until the new pair is first used), and
//!   Shopify's refusals;
//! - the Admin GraphQL subset of [`graphql`] (`POST /admin/api/{version}/graphql.json`) over each shop's
//!   orders ([`shop`]), behind the access token, with the cost bucket and its throttling, and faults a
//!   test sets (HTTP errors, a refused tracking update);
//! - signed webhook delivery to the app's subscriptions (`fulfillments/update` after a tracking update,
//!   as Shopify sends it).
//!
//! Served on loopback, each shop under `/shops/{shop}`: `{base}/shops/{shop}/admin/oauth/access_token`
//! stands for `https://{shop}/admin/oauth/access_token`.

pub mod graphql;
pub mod shop;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use self::graphql::{Context, MutationOutcome, Request};
use self::shop::{
    fulfillment_webhook_payload, gid_id, NewFulfillment, NewOrder, ShopData, SimFulfillment,
    SimFulfillmentLine, SimLineItem, SimOrder, SimTracking,
};

/// How long an access token lives, in seconds (Shopify: 60 minutes).
pub const ACCESS_TTL_SECS: i64 = 3600;
/// How long a refresh token lives, in seconds (Shopify: 90 days).
pub const REFRESH_TTL_SECS: i64 = 90 * 24 * 3600;

/// The grant types of the token endpoint.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const OFFLINE: &str = "urn:shopify:params:oauth:token-type:offline-access-token";

#[derive(Debug)]
struct Grant {
    shop: String,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct ShopState {
    /// The refresh token of the pair in use, and whether its access token was used yet.
    current_refresh: Option<String>,
    current_used: bool,
    /// The refresh token the current pair came from: valid until the current pair is first used.
    previous_refresh: Option<String>,
    refresh_expires_at: i64,
}

#[derive(Debug)]
struct Sim {
    now: i64,
    next: u64,
    access: BTreeMap<String, Grant>,
    shops: BTreeMap<String, ShopState>,
    /// Refused from now on (the app was uninstalled).
    uninstalled: Vec<String>,
    /// Each shop's orders.
    data: BTreeMap<String, ShopData>,
    /// Ids of orders, lines, fulfillments and metafields.
    next_id: u64,
    /// The cost bucket's size and restore rate per second, and each shop's bucket.
    bucket_size: f64,
    restore_rate: f64,
    buckets: BTreeMap<String, (f64, Instant)>,
    /// HTTP statuses the next GraphQL requests answer with, whatever they ask.
    faults: VecDeque<u16>,
    /// A message `fulfillmentTrackingInfoUpdate` answers as a user error, per fulfillment id.
    tracking_refusals: BTreeMap<u64, String>,
    /// GraphQL requests served, per shop.
    graphql_requests: BTreeMap<String, u64>,
    /// Where webhooks go: the app's URL and each topic's path.
    webhooks: Option<(String, Vec<(String, String)>)>,
    /// Webhooks delivered: id, topic, shop, the app's status.
    delivered: Vec<Delivery>,
}

/// A webhook delivered to the app.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// `X-Shopify-Webhook-Id`.
    pub webhook_id: String,
    /// The topic.
    pub topic: String,
    /// The shop.
    pub shop: String,
    /// The app's HTTP status, or none when it did not answer.
    pub status: Option<u16>,
}

/// The simulator: cheap to clone, every clone shares one platform.
#[derive(Clone, Debug)]
pub struct ShopifySimulator {
    client_id: Arc<str>,
    client_secret: Arc<str>,
    state: Arc<Mutex<Sim>>,
    http: reqwest::Client,
}

/// The cost bucket of a shop on a Standard plan, in points: 20 seconds of restore (shopify.dev,
/// "GraphQL Admin API rate limits": Standard 100 points/second, Advanced 200, Plus 1,000).
pub const DEFAULT_BUCKET_SIZE: f64 = 2000.0;
/// Points restored per second on a Standard plan (same source).
pub const DEFAULT_RESTORE_RATE: f64 = 100.0;

#[derive(Serialize, Deserialize)]
struct SessionClaims {
    iss: String,
    dest: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    sid: String,
}

impl ShopifySimulator {
    /// A simulator of an app with this client id and secret; its clock starts at `now` (Unix seconds).
    #[must_use]
    pub fn new(client_id: &str, client_secret: &str, now: i64) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            state: Arc::new(Mutex::new(Sim {
                now,
                next: 0,
                access: BTreeMap::new(),
                shops: BTreeMap::new(),
                uninstalled: Vec::new(),
                data: BTreeMap::new(),
                next_id: 5_000_000_000,
                bucket_size: DEFAULT_BUCKET_SIZE,
                restore_rate: DEFAULT_RESTORE_RATE,
                buckets: BTreeMap::new(),
                faults: VecDeque::new(),
                tracking_refusals: BTreeMap::new(),
                graphql_requests: BTreeMap::new(),
                webhooks: None,
                delivered: Vec::new(),
            })),
            http: reqwest::Client::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the clock, in Unix seconds.
    pub fn set_now(&self, now: i64) {
        self.lock().now = now;
    }

    /// The clock, in Unix seconds.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.lock().now
    }

    /// A session token App Bridge would hand the app's page in `shop` (HS256 under the client secret,
    /// one minute).
    #[must_use]
    pub fn session_token(&self, shop: &str, user: &str) -> String {
        let now = self.now();
        let claims = SessionClaims {
            iss: format!("https://{shop}/admin"),
            dest: format!("https://{shop}"),
            aud: self.client_id.to_string(),
            sub: user.to_owned(),
            exp: now + 60,
            nbf: now - 5,
            iat: now,
            jti: format!("sim-{now}-{user}"),
            sid: String::new(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.client_secret.as_bytes()),
        )
        .unwrap_or_default()
    }

    /// Whether `access_token` is a live access token of `shop`.
    #[must_use]
    pub fn access_token_valid(&self, shop: &str, access_token: &str) -> bool {
        let mut s = self.lock();
        let now = s.now;
        if s.uninstalled.iter().any(|u| u == shop) {
            return false;
        }
        let valid = s
            .access
            .get(access_token)
            .is_some_and(|g| g.shop == shop && now < g.expires_at);
        if valid {
            // The pair is in use: the refresh token it came from stops working.
            let current = s.shops.get(shop).and_then(|st| st.current_refresh.clone());
            if let Some(st) = s.shops.get_mut(shop) {
                if current.is_some() && !st.current_used {
                    st.current_used = true;
                    st.previous_refresh = None;
                }
            }
        }
        valid
    }

    /// The app is uninstalled from `shop`: its tokens stop working until a merchant's session token is
    /// exchanged again.
    pub fn uninstall(&self, shop: &str) {
        let mut s = self.lock();
        s.uninstalled.push(shop.to_owned());
        s.access.retain(|_, g| g.shop != shop);
        s.shops.remove(shop);
    }

    /// How many access tokens were issued, for tests.
    #[must_use]
    pub fn issued(&self) -> u64 {
        self.lock().next
    }

    /// Creates an order in `shop`, as a sales channel or connector would: its id.
    pub fn add_order(&self, shop: &str, order: NewOrder) -> u64 {
        let mut s = self.lock();
        s.next_id += 1;
        let id = order.id.unwrap_or(s.next_id);
        let mut line_items = Vec::new();
        for (sku, name, quantity) in order.lines {
            s.next_id += 1;
            line_items.push(SimLineItem {
                id: s.next_id,
                sku: Some(sku).filter(|k| !k.is_empty()),
                name,
                quantity,
            });
        }
        let sim_order = SimOrder {
            id,
            name: order.name,
            created_at: order.created_at,
            updated_at: order.created_at,
            note: order.note,
            tags: order.tags,
            custom_attributes: order.custom_attributes,
            source_identifier: order.source_identifier,
            source_name: order.source_name,
            email: format!("buyer{id}@example.com"),
            line_items,
            fulfillments: Vec::new(),
            metafields: Vec::new(),
        };
        s.data
            .entry(shop.to_owned())
            .or_default()
            .orders
            .insert(id, sim_order);
        id
    }

    /// Fulfills lines of an order (each named by its SKU): the fulfillment's id, or `None` for an
    /// unknown order or SKU.
    pub fn fulfill(&self, shop: &str, order_id: u64, fulfillment: NewFulfillment) -> Option<u64> {
        let mut s = self.lock();
        s.next_id += 1;
        let id = fulfillment.id.unwrap_or(s.next_id);
        let mut lines = Vec::new();
        for (sku, quantity) in &fulfillment.lines {
            s.next_id += 1;
            let line_id = s.next_id;
            let order = s.data.get(shop)?.orders.get(&order_id)?;
            let item = order
                .line_items
                .iter()
                .find(|l| l.sku.as_deref() == Some(sku.as_str()))?;
            lines.push(SimFulfillmentLine {
                id: line_id,
                line_item_id: item.id,
                quantity: *quantity,
            });
        }
        let order = s.data.get_mut(shop)?.orders.get_mut(&order_id)?;
        let name = format!("{}.{}", order.name, order.fulfillments.len() + 1);
        order.fulfillments.push(SimFulfillment {
            id,
            name,
            status: "SUCCESS".into(),
            created_at: fulfillment.created_at,
            updated_at: fulfillment.created_at,
            tracking: fulfillment
                .number
                .map(|number| SimTracking {
                    company: fulfillment.company,
                    number,
                    url: None,
                })
                .into_iter()
                .collect(),
            lines,
        });
        order.updated_at = order.updated_at.max(fulfillment.created_at);
        Some(id)
    }

    /// The merchant edits a fulfillment's tracking in the Shopify admin at `at` (Unix seconds): answers
    /// whether the fulfillment exists.
    pub fn set_tracking(
        &self,
        shop: &str,
        fulfillment_id: u64,
        company: Option<&str>,
        number: &str,
        at: i64,
    ) -> bool {
        let mut s = self.lock();
        let Some(fulfillment) = s
            .data
            .get_mut(shop)
            .and_then(|d| d.fulfillment_mut(fulfillment_id))
        else {
            return false;
        };
        fulfillment.tracking = vec![SimTracking {
            company: company.map(str::to_owned),
            number: number.to_owned(),
            url: None,
        }];
        fulfillment.updated_at = at;
        true
    }

    /// An order as the shop holds it now.
    #[must_use]
    pub fn order(&self, shop: &str, order_id: u64) -> Option<SimOrder> {
        self.lock().data.get(shop)?.orders.get(&order_id).cloned()
    }

    /// A fulfillment as the shop holds it now.
    #[must_use]
    pub fn fulfillment(&self, shop: &str, fulfillment_id: u64) -> Option<SimFulfillment> {
        let s = self.lock();
        let order = s.data.get(shop)?.order_of_fulfillment(fulfillment_id)?;
        order
            .fulfillments
            .iter()
            .find(|f| f.id == fulfillment_id)
            .cloned()
    }

    /// Sets every shop's cost bucket: its size in points and its restore rate per second; buckets
    /// start full.
    pub fn set_bucket(&self, size: f64, restore_rate: f64) {
        let mut s = self.lock();
        s.bucket_size = size;
        s.restore_rate = restore_rate;
        s.buckets.clear();
    }

    /// The next GraphQL requests, whatever they ask, answer these HTTP statuses (429, 500, 503…).
    pub fn fail_next_graphql(&self, statuses: &[u16]) {
        self.lock().faults.extend(statuses.iter().copied());
    }

    /// After `served` more GraphQL requests, the next ones answer these HTTP statuses.
    pub fn fail_after_graphql(&self, served: usize, statuses: &[u16]) {
        let mut s = self.lock();
        s.faults.clear();
        s.faults.extend(std::iter::repeat_n(0, served));
        s.faults.extend(statuses.iter().copied());
    }

    /// `fulfillmentTrackingInfoUpdate` of this fulfillment answers `message` as a user error (`None`:
    /// accepted again).
    pub fn refuse_tracking_update(&self, fulfillment_id: u64, message: Option<&str>) {
        let mut s = self.lock();
        match message {
            Some(m) => s.tracking_refusals.insert(fulfillment_id, m.to_owned()),
            None => s.tracking_refusals.remove(&fulfillment_id),
        };
    }

    /// How many GraphQL requests `shop` sent (throttled and failed ones included).
    #[must_use]
    pub fn graphql_requests(&self, shop: &str) -> u64 {
        self.lock().graphql_requests.get(shop).copied().unwrap_or(0)
    }

    /// Sends webhooks to the app at `app_url` (`http://127.0.0.1:port`): each topic to its path, as the
    /// app's configuration subscribes them.
    pub fn subscribe_webhooks(&self, app_url: &str, subscriptions: &[(&str, &str)]) {
        self.lock().webhooks = Some((
            app_url.trim_end_matches('/').to_owned(),
            subscriptions
                .iter()
                .map(|(t, p)| ((*t).to_owned(), (*p).to_owned()))
                .collect(),
        ));
    }

    /// The webhooks delivered so far.
    #[must_use]
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().delivered.clone()
    }

    /// Delivers a `fulfillments/create` or `fulfillments/update` webhook of a fulfillment, signed with
    /// the app's secret: the delivery, or `None` when no subscription covers the topic or the
    /// fulfillment is unknown.
    pub async fn deliver_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: u64,
        topic: &str,
    ) -> Option<Delivery> {
        let payload = {
            let s = self.lock();
            let order = s.data.get(shop)?.order_of_fulfillment(fulfillment_id)?;
            let fulfillment = order.fulfillments.iter().find(|f| f.id == fulfillment_id)?;
            fulfillment_webhook_payload(order, fulfillment)
        };
        self.deliver(shop, topic, &payload).await
    }

    /// Delivers a webhook of `topic` with `payload`, signed with the app's secret (`X-Shopify-Hmac-Sha256`
    /// and the other headers Shopify sends): `None` when no subscription covers the topic.
    pub async fn deliver(&self, shop: &str, topic: &str, payload: &Value) -> Option<Delivery> {
        let (url, webhook_id) = {
            let mut s = self.lock();
            let (base, subscriptions) = s.webhooks.clone()?;
            let path = subscriptions.iter().find(|(t, _)| t == topic)?.1.clone();
            s.next_id += 1;
            (
                format!("{base}{path}"),
                format!("sim-webhook-{}", s.next_id),
            )
        };
        let body = payload.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(self.client_secret.as_bytes()).ok()?;
        mac.update(body.as_bytes());
        let hmac = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let status = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", topic)
            .header("X-Shopify-Shop-Domain", shop)
            .header("X-Shopify-Hmac-Sha256", hmac)
            .header("X-Shopify-Webhook-Id", &webhook_id)
            .header("X-Shopify-Event-Id", format!("{webhook_id}-event"))
            .header("X-Shopify-API-Version", LATEST_VERSION)
            .timeout(std::time::Duration::from_secs(5))
            .body(body)
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let delivery = Delivery {
            webhook_id,
            topic: topic.to_owned(),
            shop: shop.to_owned(),
            status,
        };
        self.lock().delivered.push(delivery.clone());
        Some(delivery)
    }

    /// Takes `cost` points from the shop's bucket: `Err(available)` when it holds fewer.
    fn take(s: &mut Sim, shop: &str, cost: f64) -> Result<f64, f64> {
        let (size, rate) = (s.bucket_size, s.restore_rate);
        let now = Instant::now();
        let (available, at) = s.buckets.get(shop).copied().unwrap_or((size, now));
        let available =
            (available + now.saturating_duration_since(at).as_secs_f64() * rate).min(size);
        if available < cost {
            s.buckets.insert(shop.to_owned(), (available, now));
            return Err(available);
        }
        s.buckets.insert(shop.to_owned(), (available - cost, now));
        Ok(available - cost)
    }

    /// Answers one GraphQL request of `shop` (after its access token was checked).
    fn graphql(&self, shop: &str, request: &GraphqlRequest) -> Result<Value, (StatusCode, Value)> {
        let doc = graphql::parse(&request.query).map_err(refusal)?;
        let variables = request.variables.clone().unwrap_or_default();
        let parsed =
            Request::new(&doc, request.operation_name.as_deref(), variables).map_err(refusal)?;
        let cost = parsed.cost().map_err(refusal)?;
        if cost > graphql::MAX_QUERY_COST {
            return Err((
                StatusCode::OK,
                json!({"errors": [{
                    "message": format!("Query cost is {cost}, which exceeds the single query max cost limit ({}).", graphql::MAX_QUERY_COST),
                    "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": graphql::MAX_QUERY_COST},
                }]}),
            ));
        }
        let mut s = self.lock();
        let (size, rate) = (s.bucket_size, s.restore_rate);
        let status = |available: f64, actual: Option<u32>| {
            json!({"cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": actual,
                "throttleStatus": {
                    "maximumAvailable": size,
                    "currentlyAvailable": available.floor(),
                    "restoreRate": rate,
                },
            }})
        };
        let available = match Self::take(&mut s, shop, f64::from(cost)) {
            Ok(available) => available,
            Err(available) => {
                return Err((
                    StatusCode::OK,
                    json!({
                        "errors": [{"message": "Throttled", "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        }}],
                        "extensions": status(available, None),
                    }),
                ))
            }
        };
        let namespace = format!("app--{}", self.client_id);
        let data = if parsed.mutation {
            let fields = graphql::mutation_fields(&parsed).map_err(refusal)?;
            let now = s.now;
            let sim = &mut *s;
            let mut outcomes = Vec::new();
            let mut updated = Vec::new();
            for (name, args) in &fields {
                let data = sim.data.entry(shop.to_owned()).or_default();
                let outcome = match name.as_str() {
                    "fulfillmentTrackingInfoUpdate" => {
                        let target = args
                            .get("fulfillmentId")
                            .and_then(Value::as_str)
                            .and_then(|g| gid_id(g, "Fulfillment"));
                        let refusal = target.and_then(|id| sim.tracking_refusals.get(&id));
                        let outcome =
                            graphql::update_tracking(data, args, now, refusal.map(String::as_str));
                        if let MutationOutcome::TrackingUpdated(Some(id), errors) = &outcome {
                            if errors.is_empty() {
                                updated.push(*id);
                            }
                        }
                        outcome
                    }
                    _ => graphql::set_metafields(data, args, &namespace, &mut sim.next_id),
                };
                outcomes.push(outcome);
            }
            let empty = ShopData::default();
            let ctx = Context {
                data: sim.data.get(shop).unwrap_or(&empty),
                shop,
                app_namespace: &namespace,
            };
            let data = graphql::mutation_answer(&parsed, &ctx, &outcomes).map_err(refusal)?;
            drop(s);
            // Shopify tells the app's subscriptions about the change.
            for id in updated {
                let (sim, shop) = (self.clone(), shop.to_owned());
                tokio::spawn(async move {
                    sim.deliver_fulfillment(&shop, id, "fulfillments/update")
                        .await;
                });
            }
            data
        } else {
            let empty = ShopData::default();
            let ctx = Context {
                data: s.data.get(shop).unwrap_or(&empty),
                shop,
                app_namespace: &namespace,
            };
            graphql::execute_query(&parsed, &ctx).map_err(refusal)?
        };
        Ok(json!({"data": data, "extensions": status(available, Some(cost))}))
    }

    fn issue(&self, s: &mut Sim, shop: &str, previous: Option<String>) -> serde_json::Value {
        s.next += 1;
        let n = s.next;
        let access = format!("shpat_sim{n:08}{}", tail(shop));
        let refresh = format!("shprt_sim{n:08}{}", tail(shop));
        let now = s.now;
        s.access.insert(
            access.clone(),
            Grant {
                shop: shop.to_owned(),
                expires_at: now + ACCESS_TTL_SECS,
            },
        );
        s.shops.insert(
            shop.to_owned(),
            ShopState {
                current_refresh: Some(refresh.clone()),
                current_used: false,
                previous_refresh: previous,
                refresh_expires_at: now + REFRESH_TTL_SECS,
            },
        );
        json!({
            "access_token": access,
            "expires_in": ACCESS_TTL_SECS - 1,
            "refresh_token": refresh,
            "refresh_token_expires_in": REFRESH_TTL_SECS - 1,
            "scope": "write_orders,write_merchant_managed_fulfillment_orders",
        })
    }

    fn token(&self, shop: &str, form: &TokenRequest) -> Result<serde_json::Value, Refusal> {
        if form.client_id != *self.client_id || form.client_secret != *self.client_secret {
            return Err(Refusal::new(
                "invalid_client",
                "Client credentials are invalid",
            ));
        }
        let mut s = self.lock();
        match form.grant_type.as_str() {
            TOKEN_EXCHANGE => {
                let offline = form.requested_token_type.as_deref() == Some(OFFLINE);
                let expiring = form.expiring.as_deref() == Some("1");
                if form.subject_token_type.as_deref() != Some(ID_TOKEN) || !offline || !expiring {
                    return Err(Refusal::new("invalid_request", "Unsupported token request"));
                }
                let subject = form.subject_token.as_deref().unwrap_or_default();
                let mut validation = Validation::new(Algorithm::HS256);
                validation.set_audience(&[&*self.client_id]);
                validation.validate_nbf = true;
                validation.leeway = 5;
                // The simulator's clock, not the machine's.
                validation.validate_exp = false;
                let claims = jsonwebtoken::decode::<SessionClaims>(
                    subject,
                    &DecodingKey::from_secret(self.client_secret.as_bytes()),
                    &validation,
                )
                .map_err(|_| Refusal::new("invalid_subject_token", "Invalid session token"))?
                .claims;
                let now = s.now;
                if claims.dest != format!("https://{shop}") || now >= claims.exp + 5 {
                    return Err(Refusal::new(
                        "invalid_subject_token",
                        "Invalid session token",
                    ));
                }
                // A merchant opening the app installs it again.
                s.uninstalled.retain(|u| u != shop);
                Ok(self.issue(&mut s, shop, None))
            }
            "refresh_token" => {
                let given = form.refresh_token.as_deref().unwrap_or_default();
                let now = s.now;
                let st = s
                    .shops
                    .get(shop)
                    .ok_or_else(|| Refusal::new("invalid_grant", "Invalid refresh token"))?;
                let current = st.current_refresh.as_deref() == Some(given);
                let previous = st.previous_refresh.as_deref() == Some(given) && !st.current_used;
                if !(current || previous) || now >= st.refresh_expires_at {
                    return Err(Refusal::new("invalid_grant", "Invalid refresh token"));
                }
                // Access tokens already issued live out their hour.
                Ok(self.issue(&mut s, shop, Some(given.to_owned())))
            }
            _ => Err(Refusal::new(
                "unsupported_grant_type",
                "Unsupported grant type",
            )),
        }
    }
}

/// The last characters of a shop's name, so that tokens of two shops differ visibly in tests.
fn tail(shop: &str) -> String {
    shop.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect()
}

/// The token endpoint's form (JSON or `application/x-www-form-urlencoded`, as Shopify takes both).
#[derive(Debug, Deserialize)]
struct TokenRequest {
    client_id: String,
    client_secret: String,
    grant_type: String,
    subject_token: Option<String>,
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    expiring: Option<String>,
    refresh_token: Option<String>,
}

struct Refusal {
    error: &'static str,
    description: &'static str,
}

impl Refusal {
    const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = if self.error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        (
            status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response()
    }
}

async fn token_endpoint(
    State(sim): State<ShopifySimulator>,
    Path(shop): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let form: Result<TokenRequest, _> = serde_json::from_slice(&body)
        .or_else(|_| serde_urlencoded::from_bytes(&body).map_err(|_| ()));
    match form {
        Ok(form) => match sim.token(&shop, &form) {
            Ok(grant) => Json(grant).into_response(),
            Err(refusal) => refusal.into_response(),
        },
        Err(()) => Refusal::new("invalid_request", "Malformed request").into_response(),
    }
}

/// A GraphQL request's body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlRequest {
    query: String,
    #[serde(default)]
    variables: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    operation_name: Option<String>,
}

/// A request refused before it ran: 200 with `errors`, as Shopify answers.
fn refusal(refused: graphql::Refused) -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({"errors": [{"message": refused.0, "locations": []}]}),
    )
}

/// The API versions the simulator serves.
const API_VERSIONS: &[&str] = &["2026-01", "2026-04", "2026-07", LATEST_VERSION];
/// The newest, which webhooks are sent in.
const LATEST_VERSION: &str = "2026-10";

async fn graphql_endpoint(
    State(sim): State<ShopifySimulator>,
    Path((shop, version)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fault = {
        let mut s = sim.lock();
        *s.graphql_requests.entry(shop.clone()).or_default() += 1;
        s.faults.pop_front()
    };
    // A 0 in the queue lets one request through.
    if let Some(status) = fault.filter(|s| *s != 0) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(json!({"errors": "Simulated failure"}))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert("Retry-After", axum::http::HeaderValue::from_static("1"));
        }
        return response;
    }
    if !API_VERSIONS.contains(&version.as_str()) {
        return (StatusCode::NOT_FOUND, Json(json!({"errors": "Not Found"}))).into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !sim.access_token_valid(&shop, token) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})),
        )
            .into_response();
    }
    let Ok(request) = serde_json::from_slice::<GraphqlRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"query": "Required parameter missing or invalid"}})),
        )
            .into_response();
    };
    match sim.graphql(&shop, &request) {
        Ok(answer) => Json(answer).into_response(),
        Err((status, answer)) => (status, Json(answer)).into_response(),
    }
}

/// The simulator's HTTP routes.
pub fn router(sim: ShopifySimulator) -> Router {
    Router::new()
        .route(
            "/shops/{shop}/admin/oauth/access_token",
            post(token_endpoint),
        )
        .route(
            "/shops/{shop}/admin/api/{version}/graphql.json",
            post(graphql_endpoint),
        )
        .with_state(sim)
}

/// Serves the simulator on a loopback port: its address and its task.
///
/// # Errors
/// The port cannot be bound.
pub async fn spawn_on_loopback(
    sim: ShopifySimulator,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(sim)).await {
            tracing::error!(error = %e, "shopify simulator stopped");
        }
    });
    Ok((addr, task))
}
