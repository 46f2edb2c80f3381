//! The Admin GraphQL client, pinned to API version [`API_VERSION`], within Shopify's cost-based rate
//! limit.
//!
//! Shopify's limit is a leaky bucket of query-cost points per app and shop (shopify.dev, "Shopify API
//! rate limits": every answer's `extensions.cost.throttleStatus` gives `maximumAvailable`,
//! `currentlyAvailable` and `restoreRate` per second). The client keeps each shop's bucket as last
//! reported and, before a query whose cost it has seen, waits for the bucket to hold it. A `THROTTLED`
//! answer, a 429 and a 5xx are retried with exponential backoff and jitter (never less than the refill
//! the answer asks for), within [`RetryConfig`]'s bound. Access tokens travel as [`SecretString`] and no
//! error carries one.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::Endpoint;
use crate::tokens::{ExposeSecret, SecretString};

/// The Admin API version every query is sent to.
pub const API_VERSION: &str = "2026-10";

/// How hard the client tries.
#[derive(Clone, Debug)]
pub struct RetryConfig {
    /// Retries after the first attempt, for a throttled or failing call.
    pub max_retries: usize,
    /// The first backoff; it doubles per retry, with jitter.
    pub min_delay: Duration,
    /// The largest backoff.
    pub max_delay: Duration,
    /// The longest wait for the bucket to refill; a longer one ends the call with
    /// [`GraphqlError::Throttled`].
    pub max_refill_wait: Duration,
    /// The timeout of one request.
    pub timeout: Duration,
}

impl Default for RetryConfig {
    /// 5 retries from 250 ms up to 8 s, refills waited up to 30 s, 20 s per request.
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_refill_wait: Duration::from_secs(30),
            timeout: Duration::from_secs(20),
        }
    }
}

/// A `userErrors` entry of a mutation: the input field at fault (its path, as Shopify gives it) and
/// Shopify's message.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct UserError {
    /// The path of the input field at fault, when Shopify names one.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// Shopify's message, for the merchant.
    pub message: String,
}

/// Why a GraphQL call gave no data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphqlError {
    /// 401: the access token is not (or no longer) valid.
    #[error("Shopify refused the shop's access token")]
    Unauthorized,
    /// 403 or `ACCESS_DENIED`: the app lacks a scope.
    #[error("the app lacks access to this data: {0}")]
    AccessDenied(String),
    /// Still throttled after the retries, or a refill longer than allowed.
    #[error("Shopify's rate limit: the request was throttled")]
    Throttled {
        /// How long the bucket needs to refill for the query, when known.
        refill: Option<Duration>,
    },
    /// 429, 5xx or no answer, after the retries.
    #[error("Shopify is unavailable: {reason}")]
    Unavailable {
        /// What happened, without the URL or any token.
        reason: String,
        /// The wait a `Retry-After` asked for.
        retry_after: Option<Duration>,
    },
    /// The query was refused (`errors` other than throttling and access).
    #[error("Shopify refused the query: {0}")]
    Query(String),
    /// A mutation's `userErrors`.
    #[error("Shopify refused the change: {}", messages(.0))]
    UserErrors(Vec<UserError>),
    /// An answer that is not the expected shape.
    #[error("Shopify's answer is not the expected shape: {0}")]
    Decode(String),
}

fn messages(errors: &[UserError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

impl GraphqlError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized => "shopify.unauthorized",
            Self::AccessDenied(_) => "shopify.access_denied",
            Self::Throttled { .. } => "shopify.throttled",
            Self::Unavailable { .. } => "shopify.unavailable",
            Self::Query(_) => "shopify.query_failed",
            Self::UserErrors(_) => "shopify.user_errors",
            Self::Decode(_) => "shopify.bad_answer",
        }
    }

    /// Whether another attempt may succeed.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// The least wait before another attempt, when the answer asked for one.
    const fn wait_hint(&self) -> Option<Duration> {
        match self {
            Self::Throttled { refill } => *refill,
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// `Ok` for no `userErrors`, else [`GraphqlError::UserErrors`].
///
/// # Errors
/// [`GraphqlError::UserErrors`] with the entries.
pub fn no_user_errors(errors: Vec<UserError>) -> Result<(), GraphqlError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GraphqlError::UserErrors(errors))
    }
}

/// A wait of `secs` seconds from a figure Shopify sent: a day at most, none for what is not a
/// number of seconds.
fn seconds(secs: f64) -> Duration {
    const DAY: Duration = Duration::from_secs(86_400);
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).map_or(DAY, |d| d.min(DAY))
    }
}

/// A shop's bucket as last reported.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    maximum: f64,
    available: f64,
    restore_rate: f64,
    seen: Instant,
}

impl Bucket {
    /// How long until the bucket holds `cost` points.
    fn wait_for(&self, cost: f64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.seen).as_secs_f64();
        let available = (self.available + elapsed * self.restore_rate).min(self.maximum);
        let missing = cost.min(self.maximum) - available;
        if missing <= 0.0 || self.restore_rate <= 0.0 {
            Duration::ZERO
        } else {
            seconds(missing / self.restore_rate)
        }
    }
}

#[derive(Deserialize)]
struct Answer {
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct Extensions {
    cost: Option<Cost>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cost {
    requested_query_cost: f64,
    throttle_status: ThrottleStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottleStatus {
    maximum_available: f64,
    currently_available: f64,
    restore_rate: f64,
}

/// The Admin GraphQL client of one app; cheap to clone, clones share the buckets.
#[derive(Clone)]
pub struct GraphqlClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    retry: RetryConfig,
    /// Each shop's bucket as last reported.
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    /// The requested cost last reported for each query text (by hash).
    costs: Arc<Mutex<HashMap<u64, f64>>>,
}

impl std::fmt::Debug for GraphqlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphqlClient")
            .field("endpoint", &self.endpoint)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl GraphqlClient {
    /// A client of `endpoint`.
    ///
    /// # Errors
    /// [`GraphqlError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(endpoint: Endpoint, retry: RetryConfig) -> Result<Self, GraphqlError> {
        let http = reqwest::Client::builder()
            .timeout(retry.timeout)
            .build()
            .map_err(|e| GraphqlError::Unavailable {
                reason: e.to_string(),
                retry_after: None,
            })?;
        Ok(Self {
            http,
            endpoint,
            retry,
            buckets: Arc::default(),
            costs: Arc::default(),
        })
    }

    /// Runs `query` with `variables` on `shop`'s Admin API and reads its `data` as `T`.
    ///
    /// # Errors
    /// See [`GraphqlError`]; throttled and failing calls are retried first.
    pub async fn execute<T: DeserializeOwned>(
        &self,
        shop: &str,
        access_token: &SecretString,
        query: &str,
        variables: Value,
    ) -> Result<T, GraphqlError> {
        let body = json!({ "query": query, "variables": variables });
        let key = {
            let mut h = DefaultHasher::new();
            query.hash(&mut h);
            h.finish()
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.max_retries)
            .with_jitter();
        let max_refill = self.retry.max_refill_wait;
        let data = (|| self.attempt(shop, access_token, &body, key))
            .retry(backoff)
            .when(GraphqlError::is_retryable)
            // Never sooner than the answer asks; never a refill longer than allowed.
            .adjust(|error, delay| {
                let delay = delay?;
                match error.wait_hint() {
                    Some(hint) if hint > max_refill => None,
                    Some(hint) => Some(delay.max(hint)),
                    None => Some(delay),
                }
            })
            .notify(|error, wait| {
                tracing::warn!(
                    shop,
                    code = error.code(),
                    wait_ms = wait.as_millis(),
                    "retrying a Shopify call"
                );
            })
            .await?;
        serde_json::from_value(data).map_err(|e| GraphqlError::Decode(e.to_string()))
    }

    fn bucket(&self, shop: &str) -> Option<Bucket> {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(shop)
            .copied()
    }

    /// Waits until the shop's bucket holds the query's last known cost.
    async fn wait_for_bucket(&self, shop: &str, key: u64) -> Result<(), GraphqlError> {
        let cost = self
            .costs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .copied();
        let (Some(cost), Some(bucket)) = (cost, self.bucket(shop)) else {
            return Ok(());
        };
        let wait = bucket.wait_for(cost, Instant::now());
        if wait > self.retry.max_refill_wait {
            return Err(GraphqlError::Throttled { refill: Some(wait) });
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }

    fn record(&self, shop: &str, key: u64, cost: &Cost) -> Bucket {
        let status = &cost.throttle_status;
        let bucket = Bucket {
            maximum: status.maximum_available,
            available: status.currently_available,
            restore_rate: status.restore_rate,
            seen: Instant::now(),
        };
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(shop.to_owned(), bucket);
        self.costs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, cost.requested_query_cost);
        bucket
    }

    async fn attempt(
        &self,
        shop: &str,
        access_token: &SecretString,
        body: &Value,
        key: u64,
    ) -> Result<Value, GraphqlError> {
        self.wait_for_bucket(shop, key).await?;
        let unavailable = |reason: String| GraphqlError::Unavailable {
            reason,
            retry_after: None,
        };
        let response = self
            .http
            .post(self.endpoint.graphql_url(shop, API_VERSION))
            .header("X-Shopify-Access-Token", access_token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(seconds);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        match status.as_u16() {
            200..=299 => {}
            401 => return Err(GraphqlError::Unauthorized),
            403 => return Err(GraphqlError::AccessDenied(format!("answered {status}"))),
            429 | 500..=599 => {
                return Err(GraphqlError::Unavailable {
                    reason: format!("answered {status}"),
                    retry_after,
                })
            }
            _ => return Err(GraphqlError::Query(format!("answered {status}"))),
        }
        let answer: Answer =
            serde_json::from_slice(&bytes).map_err(|e| GraphqlError::Decode(e.to_string()))?;
        let bucket = answer
            .extensions
            .as_ref()
            .and_then(|e| e.cost.as_ref())
            .map(|cost| (self.record(shop, key, cost), cost.requested_query_cost));
        if let Some(errors) = answer.errors.as_ref().and_then(Value::as_array) {
            if !errors.is_empty() {
                return Err(query_error(errors, bucket));
            }
        }
        answer
            .data
            .ok_or_else(|| GraphqlError::Decode("no data".into()))
    }
}

/// The error of an answer's `errors`: throttling (with the refill it needs), access, or the messages.
fn query_error(errors: &[Value], bucket: Option<(Bucket, f64)>) -> GraphqlError {
    let code_of = |e: &Value| {
        e.pointer("/extensions/code")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message_of = |e: &Value| {
        e.get("message")
            .and_then(Value::as_str)
            .unwrap_or("an error")
            .chars()
            .take(300)
            .collect::<String>()
    };
    if errors
        .iter()
        .any(|e| code_of(e).as_deref() == Some("THROTTLED"))
    {
        let refill = bucket.map(|(b, cost)| b.wait_for(cost, b.seen));
        return GraphqlError::Throttled { refill };
    }
    if let Some(denied) = errors
        .iter()
        .find(|e| code_of(e).as_deref() == Some("ACCESS_DENIED"))
    {
        return GraphqlError::AccessDenied(message_of(denied));
    }
    GraphqlError::Query(errors.iter().map(message_of).collect::<Vec<_>>().join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_waits_for_what_it_lacks() {
        let seen = Instant::now();
        let bucket = Bucket {
            maximum: 1000.0,
            available: 10.0,
            restore_rate: 50.0,
            seen,
        };
        assert_eq!(bucket.wait_for(5.0, seen), Duration::ZERO);
        assert_eq!(bucket.wait_for(110.0, seen), Duration::from_secs(2));
        // A cost above the bucket's size waits for a full bucket.
        assert_eq!(bucket.wait_for(5000.0, seen), Duration::from_secs_f64(19.8));
        assert_eq!(
            bucket.wait_for(110.0, seen + Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn waits_from_shopifys_figures_are_bounded() {
        assert_eq!(seconds(1.5), Duration::from_millis(1500));
        assert_eq!(seconds(1e30), Duration::from_secs(86_400));
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(-3.0), Duration::ZERO);
        let bucket = Bucket {
            maximum: 1000.0,
            available: 0.0,
            restore_rate: 1e-300,
            seen: Instant::now(),
        };
        assert_eq!(
            bucket.wait_for(10.0, bucket.seen),
            Duration::from_secs(86_400)
        );
    }

    #[test]
    fn throttled_access_and_other_errors_are_told_apart() {
        let throttled = [json!({"message": "Throttled", "extensions": {"code": "THROTTLED"}})];
        let seen = Instant::now();
        let bucket = Bucket {
            maximum: 100.0,
            available: 0.0,
            restore_rate: 10.0,
            seen,
        };
        assert!(matches!(
            query_error(&throttled, Some((bucket, 20.0))),
            GraphqlError::Throttled { refill: Some(d) } if d == Duration::from_secs(2)
        ));
        let denied = [
            json!({"message": "Access denied for order field.", "extensions": {"code": "ACCESS_DENIED"}}),
        ];
        assert_eq!(query_error(&denied, None).code(), "shopify.access_denied");
        let other = [json!({"message": "Field 'x' doesn't exist on type 'Order'"})];
        let error = query_error(&other, None);
        assert_eq!(error.code(), "shopify.query_failed");
        assert!(error.to_string().contains("Field 'x'"));
        assert!(!error.is_retryable());
    }
}
