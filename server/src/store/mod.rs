//! Storage behind a trait: [`Store`], with [`SqliteStore`] (one embedded SQLite file, one server
//! process) as the default and [`PgStore`] (PostgreSQL, shared by several instances). [`Database`]
//! names either and opens it.
//!
//! Every method is scoped by shop (its `*.myshopify.com` domain): a shop reads and changes only its own
//! rows, and another shop's row reads as absent. Methods are async; the SQLite store runs its blocking
//! calls on tokio's blocking pool.
//!
//! JSON payloads (Shopify fulfillments, TikTok Shop orders, settings, reports, plans) are stored as text
//! and handed back as text; the store checks that they are JSON and nothing more.
//!
//! Retention: idempotency keys are kept 24 hours after their first request
//! ([`IDEMPOTENCY_RETENTION`], as Stripe does); webhook event ids 7 days ([`WEBHOOK_EVENT_RETENTION`],
//! past Shopify's retries). [`Store::purge_expired`] deletes what is older.
//!
//! ```
//! use preflight_server::store::{FulfillmentWebhook, SqliteStore, Store, UpsertOutcome};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(dir.path().join("preflight.db"))?;
//! store.recover_interrupted()?; // at start: pushes left `sending` become `unknown`
//! let webhook = FulfillmentWebhook {
//!     fulfillment_id: "5012345678901",
//!     updated_at: "2026-11-20T10:00:00-05:00",
//!     payload_json: r#"{"id": 5012345678901, "tracking_number": "1Z5R89390357567127"}"#,
//!     event_id: Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
//! };
//! assert_eq!(store.upsert_fulfillment("acme.myshopify.com", &webhook)?, UpsertOutcome::Inserted);
//! assert_eq!(store.upsert_fulfillment("acme.myshopify.com", &webhook)?, UpsertOutcome::DuplicateEvent);
//! assert!(store.fulfillment("bravo.myshopify.com", "5012345678901")?.is_none());
//! # Ok(())
//! # }
//! ```

mod blocking;
mod database;
mod error;
pub(crate) mod locks;
mod migrations;
mod postgres;
mod push;
mod rules;
mod sqlite;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use preflight::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use database::Database;
pub use error::StoreError;
pub use postgres::{PgOptions, PgStore};
pub use push::PushState;
pub use rules::millis;
pub use sqlite::{Pragmas, SqliteOptions, SqliteStore};

/// How long an idempotency key is remembered after its first request.
pub const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// How long a request may hold its idempotency key before another request with it may take over
/// (a request that died without finishing, on another process).
/// Past the longest a request runs: a wait for its fulfillment ([`LOCK_WAIT`]), its reads, and a push
/// ([`MAX_PUSH_TIMEOUT`]).
pub const IDEMPOTENCY_LOCK_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a webhook's `X-Shopify-Event-Id` is remembered.
pub const WEBHOOK_EVENT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long [`Store::lock_fulfillment`] waits for another holder at most: past the longest a holder
/// keeps it (its reads and a push of [`MAX_PUSH_TIMEOUT`]), so that only a holder that hangs makes it
/// give up.
pub const LOCK_WAIT: Duration = Duration::from_secs(90);

/// How long a push waits for TikTok Shop's answer by default, past which its outcome is unknown; a
/// push `sending` twice as long has no live request behind it.
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(20);
/// The shortest push timeout: twice it (when a push is taken for abandoned) stays far above the skew
/// of synchronized clocks between instances.
pub const MIN_PUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest push timeout.
pub const MAX_PUSH_TIMEOUT: Duration = Duration::from_secs(60);
/// The most rows one page holds; a larger `limit` is lowered to it.
pub const MAX_PAGE_LIMIT: u32 = 250;

/// How [`Store::finish_push`] builds the answer kept under an idempotency key from the fulfillment as
/// the push's outcome left it.
pub type Answer = std::sync::Arc<dyn Fn(&FulfillmentRecord) -> StoredResponse + Send + Sync>;

/// Storage for the sync API. Object-safe: the server holds an `Arc<dyn Store>`.
///
/// Errors: where a method names [`StoreError::Database`], read the backend's failure: `Database` on
/// SQLite, [`StoreError::Postgres`] on PostgreSQL, and [`StoreError::Unavailable`] (503, send again)
/// when PostgreSQL cannot be reached, is restarting, or keeps meeting a deadlock.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// The shop's engine settings (JSON), or `None` when never saved.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn settings(&self, shop: &str) -> Result<Option<String>, StoreError>;

    /// Saves the shop's engine settings (JSON), replacing the previous ones.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when the text is not JSON; [`StoreError::Database`].
    async fn put_settings(&self, shop: &str, settings_json: &str) -> Result<(), StoreError>;

    /// Records a fulfillment webhook: deduplicated on its event id, idempotent per
    /// (fulfillment id, `updated_at`), and an older `updated_at` never replaces a newer one.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `updated_at` is not RFC 3339 with an offset or the payload is
    /// not JSON; [`StoreError::Database`].
    async fn upsert_fulfillment(
        &self,
        shop: &str,
        webhook: &FulfillmentWebhook<'_>,
    ) -> Result<UpsertOutcome, StoreError>;

    /// One fulfillment with its latest push, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<FulfillmentRecord>, StoreError>;

    /// Sets the given fields of a fulfillment (Shopify payload, TikTok Shop order, history, preview
    /// report, sync status) and answers the record as it is now.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::InvalidInput`] when a payload is not JSON;
    /// [`StoreError::Database`].
    async fn update_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
    ) -> Result<FulfillmentRecord, StoreError>;

    /// A page of the shop's fulfillments, newest first, optionally of one sync status.
    ///
    /// # Errors
    /// [`StoreError::InvalidCursor`]; [`StoreError::Database`].
    async fn list_fulfillments(
        &self,
        shop: &str,
        query: &FulfillmentQuery,
    ) -> Result<FulfillmentPage, StoreError>;

    /// Creates a `pending` push of `plan_json` for the fulfillment.
    ///
    /// # Errors
    /// [`StoreError::PushInFlight`] when the fulfillment already has an open push;
    /// [`StoreError::NotFound`] when the fulfillment does not exist; [`StoreError::InvalidInput`];
    /// [`StoreError::Database`].
    async fn create_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError>;

    /// In one commit: sets the given fields of the fulfillment, creates its push and moves it to
    /// `sending`, committed before the call to TikTok Shop. The same as [`Store::update_fulfillment`],
    /// [`Store::create_push`] and `pending → sending`, with one write instead of three.
    ///
    /// # Errors
    /// As [`Store::update_fulfillment`] and [`Store::create_push`].
    async fn start_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
        patch: &FulfillmentPatch,
        plan_json: &str,
        idempotency_key: Option<&str>,
    ) -> Result<PushRecord, StoreError>;

    /// One push, or `None`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn push(&self, shop: &str, push_id: i64) -> Result<Option<PushRecord>, StoreError>;

    /// The fulfillment's open push (`pending`, `sending`, `unknown`, `needs_review`), or `None`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn open_push(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<Option<PushRecord>, StoreError>;

    /// The fulfillment's pushes, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn pushes(&self, shop: &str, fulfillment_id: &str)
        -> Result<Vec<PushRecord>, StoreError>;

    /// Moves a push from `transition.from` to `transition.to`, atomically with its effect on the
    /// fulfillment: `sent` marks it synced (and stores the new history when given); `failed` and
    /// `needs_review` mark it `sync_failed` with the failure. `→ sending` counts an attempt.
    ///
    /// # Errors
    /// [`StoreError::IllegalTransition`] for a move that is not an edge of the machine;
    /// [`StoreError::PushStateChanged`] when the push is no longer in `from`;
    /// [`StoreError::InvalidInput`] for `failed` or `needs_review` without a failure;
    /// [`StoreError::NotFound`]; [`StoreError::Database`].
    async fn transition_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
    ) -> Result<PushRecord, StoreError>;

    /// Moves a push as [`Store::transition_push`] does and, in the same commit, completes the
    /// idempotency key held by the request with the answer `answer` builds from the fulfillment as
    /// it then is: the outcome and its answer are never recorded apart.
    ///
    /// # Errors
    /// As [`Store::transition_push`] and [`Store::complete_idempotent`]; nothing is recorded then.
    async fn finish_push(
        &self,
        shop: &str,
        push_id: i64,
        transition: &PushTransition,
        key: &str,
        fingerprint: &str,
        answer: Answer,
    ) -> Result<StoredResponse, StoreError>;

    /// At start, of every shop: marks the pushes left `sending` by requests that died as `unknown`
    /// (answering them, to be reconciled) and frees their idempotency keys. SQLite (one server
    /// process): every `sending` push and every in-progress key. PostgreSQL (instances alive beside
    /// this one): each `sending` push whose fulfillment no instance holds
    /// ([`Store::lock_fulfillment`]: a push is sent under it, and a dead instance's hold ends with its
    /// connection), with its own key; other keys of dead requests free themselves after
    /// [`IDEMPOTENCY_LOCK_TIMEOUT`].
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Unavailable`].
    async fn recover_interrupted(&self) -> Result<Recovery, StoreError>;

    /// Holds one fulfillment until the guard is dropped: of the requests of every instance sharing
    /// this store, one at a time (an instance's own in the order they asked). SQLite: a lock in this
    /// process. PostgreSQL: a session advisory lock on `shop/fulfillment id`, on a connection of a
    /// pool of its own, let go when dropped (and by the server when the instance dies).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when PostgreSQL cannot be reached, or when another holder kept the
    /// fulfillment past [`LOCK_WAIT`]; [`StoreError::InvalidInput`] for an empty shop;
    /// [`StoreError::Postgres`].
    async fn lock_fulfillment(
        &self,
        shop: &str,
        fulfillment_id: &str,
    ) -> Result<FulfillmentGuard, StoreError>;

    /// Claims the shop's backfill for `owner` (an instance's id) for `lease_millis`: `true` when it
    /// was not claimed, its lease passed, or `owner` holds it already (the lease is renewed). Needs the
    /// backfill stored ([`Store::put_backfill`]).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn claim_backfill(
        &self,
        shop: &str,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError>;

    /// Lets go of `owner`'s claim on the shop's backfill; another's stays. Idempotent.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn release_backfill(&self, shop: &str, owner: &str) -> Result<(), StoreError>;

    /// Claims up to `limit` open pushes that may have no request working on them, to settle them, in
    /// every shop: each `pending`, `sending` or `unknown` one unchanged for `stale_millis`, unless
    /// another worker claimed it within its lease; each for `lease_millis`. Answers (shop, fulfillment
    /// id, push id), the longest unchanged first. A claim alone does not move the shop's version.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Unavailable`].
    async fn claim_unsettled_pushes(
        &self,
        limit: u32,
        stale_millis: i64,
        lease_millis: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;

    /// Claims the refresh of a shop's tokens at a platform for `owner` (a value of the caller's own)
    /// for `lease_millis`, so that one instance refreshes them at a time: `true` when this caller has
    /// it (credentials stored and no other claim within its lease). Storing credentials
    /// ([`Store::swap_credentials`]), marking them refused ([`Store::mark_reconnect`]) and
    /// [`Store::release_refresh`] let go of it.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Unavailable`].
    async fn claim_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
        lease_millis: i64,
    ) -> Result<bool, StoreError>;

    /// Lets go of `owner`'s claim on a shop's refresh at a platform; another's stays. Idempotent.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Unavailable`].
    async fn release_refresh(
        &self,
        shop: &str,
        platform: Platform,
        owner: &str,
    ) -> Result<(), StoreError>;

    /// Starts a request under an idempotency key: the first use records it as in progress
    /// ([`IdempotencyStart::Started`]); once finished, the same request gets the stored answer
    /// ([`IdempotencyStart::Replay`]). A key older than [`IDEMPOTENCY_RETENTION`] counts as new.
    ///
    /// # Errors
    /// [`StoreError::IdempotencyMismatch`] when the key was used with another fingerprint;
    /// [`StoreError::IdempotencyInProgress`] while its first request runs;
    /// [`StoreError::InvalidInput`] for an empty key or one over 255 characters;
    /// [`StoreError::Database`].
    async fn begin_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<IdempotencyStart, StoreError>;

    /// Records the answer of the request that holds the key, for replays.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when no request with this key and fingerprint is in progress;
    /// [`StoreError::Database`].
    async fn complete_idempotent(
        &self,
        shop: &str,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;

    /// Forgets an in-progress key, so that the request may be retried with it (for failures that
    /// changed nothing, like a server error before any effect). Idempotent.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn release_idempotent(&self, shop: &str, key: &str) -> Result<(), StoreError>;

    /// Deletes, in every shop, idempotency keys past [`IDEMPOTENCY_RETENTION`] and webhook event ids
    /// past [`WEBHOOK_EVENT_RETENTION`].
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn purge_expired(&self) -> Result<Purged, StoreError>;

    /// Records a webhook delivery by its id: `true` the first time, `false` for a repeat.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty id; [`StoreError::Database`].
    async fn first_delivery(&self, shop: &str, webhook_id: &str) -> Result<bool, StoreError>;

    /// Deletes every row of a shop, in every table (Shopify's `shop/redact`): how many rows each table
    /// lost.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn delete_shop(&self, shop: &str) -> Result<Vec<(&'static str, usize)>, StoreError>;

    /// A shop's credentials at a platform, as stored (tokens sealed), or `None`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn credentials(
        &self,
        shop: &str,
        platform: Platform,
    ) -> Result<Option<ShopCredentials>, StoreError>;

    /// Stores a shop's credentials at a platform, all fields at once, when the stored refresh token is
    /// still `expected_refresh` (`None`: when none is stored yet, or to replace whatever is). Answers
    /// whether it stored them: `false` means another refresh got there first.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for a token that is not sealed; [`StoreError::Database`].
    async fn swap_credentials(
        &self,
        shop: &str,
        platform: Platform,
        expected_refresh: Option<&str>,
        credentials: &ShopCredentials,
    ) -> Result<bool, StoreError>;

    /// Marks a shop's credentials at a platform as refused: the merchant must reconnect (reload, for
    /// Shopify). With `refused`, the sealed refresh token the platform refused, only while it is the
    /// one stored (a refresh that stored new tokens meanwhile stands). Answers whether credentials
    /// were marked.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn mark_reconnect(
        &self,
        shop: &str,
        platform: Platform,
        refused: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// Every shop's credentials at every platform, for resealing them under a new key.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn all_credentials(&self)
        -> Result<Vec<(String, Platform, ShopCredentials)>, StoreError>;

    /// Deletes a shop's credentials at a platform (an uninstall). Answers whether there were any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn delete_credentials(&self, shop: &str, platform: Platform) -> Result<bool, StoreError>;

    /// Records an attempt to write a tracking fix back to Shopify, when the fulfillment's write-back is
    /// still of `tracking_number` and `pending` or `failed`. Answers whether it was recorded.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn record_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
        outcome: &WritebackOutcome,
    ) -> Result<bool, StoreError>;

    /// TikTok Shop holds `tracking_number` now (a push of the fix was `sent`, or a sync found TikTok Shop
    /// already agreeing): a `held` or `failed` write-back becomes `pending` for that number (the number
    /// as pushed, cleaned of separators), due now. Answers whether there was one.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn release_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: &str,
    ) -> Result<bool, StoreError>;

    /// Claims a `pending` write-back due at `now_millis`, until `lease_until_millis`: answers whether
    /// this caller has it (another attempt in the lease is not started).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn claim_writeback(
        &self,
        shop: &str,
        fulfillment_id: &str,
        now_millis: i64,
        lease_until_millis: i64,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` `pending` write-backs due at `now_millis`, in every shop, soonest first:
    /// `(shop, fulfillment id, write-back)`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn due_writebacks(
        &self,
        now_millis: i64,
        limit: u32,
    ) -> Result<Vec<(String, String, Writeback)>, StoreError>;

    /// What Shopify holds now as the fulfillment's tracking number (from a webhook): a `pending` or
    /// `failed` write-back of that number is `done`; a `held` one is dropped when Shopify holds a third
    /// number (the merchant changed it in Shopify), and answered when Shopify still holds the number
    /// it replaces (or none): the caller applies the fix again to the payload the webhook stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn shopify_tracking_seen(
        &self,
        shop: &str,
        fulfillment_id: &str,
        tracking_number: Option<&str>,
    ) -> Result<Option<Writeback>, StoreError>;

    /// A shop's backfill, when one ever started.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn backfill(&self, shop: &str) -> Result<Option<Backfill>, StoreError>;

    /// Stores a shop's backfill as it is now; one stored `done` or `failed` lets go of its claim
    /// ([`Store::claim_backfill`]) in the same write.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn put_backfill(&self, shop: &str, backfill: &Backfill) -> Result<(), StoreError>;

    /// The TikTok Shop shop a Shopify shop is connected to, when it is.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn tiktok_shop(&self, shop: &str) -> Result<Option<TiktokShop>, StoreError>;

    /// Connects a Shopify shop to a TikTok Shop shop, replacing any earlier connection.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn put_tiktok_shop(&self, shop: &str, tiktok: &TiktokShop) -> Result<(), StoreError>;

    /// Records the `state` of an authorization a Shopify shop starts at `now_millis`.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] for an empty state; [`StoreError::Database`].
    async fn put_oauth_state(
        &self,
        shop: &str,
        state: &str,
        now_millis: i64,
    ) -> Result<(), StoreError>;

    /// Spends a `state`: the Shopify shop that started it, when it is known, unspent and no older than
    /// `max_age_millis` at `now_millis`. A state is spent once, even when too old.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn take_oauth_state(
        &self,
        state: &str,
        now_millis: i64,
        max_age_millis: i64,
    ) -> Result<Option<String>, StoreError>;

    /// The Shopify shop connected to the TikTok Shop shop `tts_shop_id`, when one is.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn shop_of_tiktok(&self, tts_shop_id: &str) -> Result<Option<String>, StoreError>;

    /// When the shop's TikTok Shop authorization ends, Unix seconds, as TikTok Shop announced it.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn set_tiktok_expiry(&self, shop: &str, expires_at: i64) -> Result<(), StoreError>;

    /// Keeps a TikTok Shop webhook to work off: `false` when its notification id came before.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn enqueue_tiktok_event(&self, event: &TiktokEvent) -> Result<bool, StoreError>;

    /// Claims up to `limit` TikTok Shop webhooks not done yet and not claimed by another worker
    /// (oldest first), each for `lease_millis`: a worker that dies with them leaves them to another
    /// once the lease has passed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn claim_tiktok_events(
        &self,
        limit: u32,
        lease_millis: i64,
    ) -> Result<Vec<TiktokEvent>, StoreError>;

    /// A TikTok Shop webhook worked off.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn finish_tiktok_event(&self, notification_id: &str) -> Result<(), StoreError>;

    /// The shop's fulfillments linked to the TikTok Shop order `order_id`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn fulfillments_of_order(
        &self,
        shop: &str,
        order_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    /// The shop's change counter: one more on every change of one of its fulfillments, pushes,
    /// settings, delivery options or its TikTok Shop connection; 0 before any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn shop_version(&self, shop: &str) -> Result<i64, StoreError>;

    /// The providers of each of the shop's delivery options, as last listed by TikTok Shop.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn delivery_options(&self, shop: &str) -> Result<Vec<DeliveryOptionRecord>, StoreError>;

    /// The shop's settings ([`Store::settings`]) and its delivery options' providers
    /// ([`Store::delivery_options`]), read in one trip to the store: what every check needs.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Unavailable`].
    async fn settings_and_delivery_options(
        &self,
        shop: &str,
    ) -> Result<(Option<String>, Vec<DeliveryOptionRecord>), StoreError>;

    /// Keeps the providers TikTok Shop lists for one of the shop's delivery options, replacing the
    /// previous list.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when `providers_json` is not JSON; [`StoreError::Database`].
    async fn put_delivery_option(
        &self,
        shop: &str,
        option: &DeliveryOptionRecord,
    ) -> Result<(), StoreError>;

    /// Whether the database answers (for `/healthz`).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A fulfillment held by [`Store::lock_fulfillment`]: let go when dropped.
#[must_use = "the fulfillment is let go when the guard is dropped"]
pub struct FulfillmentGuard {
    _held: Box<dyn std::any::Any + Send>,
}

impl FulfillmentGuard {
    /// A guard holding what lets go of the fulfillment when dropped.
    pub(crate) fn new(held: impl std::any::Any + Send) -> Self {
        Self {
            _held: Box::new(held),
        }
    }
}

impl std::fmt::Debug for FulfillmentGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FulfillmentGuard").finish_non_exhaustive()
    }
}

/// A fulfillment webhook as received (`fulfillments/create` or `fulfillments/update`).
#[derive(Clone, Copy, Debug)]
pub struct FulfillmentWebhook<'a> {
    /// The fulfillment's id, as text.
    pub fulfillment_id: &'a str,
    /// Its `updated_at`: RFC 3339 with an offset; instants compare in UTC.
    pub updated_at: &'a str,
    /// The raw fulfillment JSON.
    pub payload_json: &'a str,
    /// `X-Shopify-Event-Id`, when sent.
    pub event_id: Option<&'a str>,
}

/// What a webhook did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    /// A fulfillment not seen before.
    Inserted,
    /// A newer version replaced the stored one.
    Updated,
    /// The same `updated_at` as stored: nothing changed.
    Unchanged,
    /// An older `updated_at` than stored: ignored.
    Stale,
    /// The event id was seen already: ignored.
    DuplicateEvent,
}

/// A stored fulfillment.
#[derive(Clone, Debug, PartialEq)]
pub struct FulfillmentRecord {
    /// The Shopify fulfillment id.
    pub fulfillment_id: String,
    /// The latest Shopify fulfillment JSON.
    pub shopify_json: String,
    /// Its `updated_at`, as Shopify sent it.
    pub shopify_updated_at: String,
    /// The TikTok Shop order JSON, when fetched.
    pub tts_order_json: Option<String>,
    /// Our sync history JSON, `None` when never pushed.
    pub history_json: Option<String>,
    /// The latest preview report JSON.
    pub report_json: Option<String>,
    /// The sync status.
    pub sync_status: SyncStatus,
    /// When we first stored it.
    pub created_at: Timestamp,
    /// When we last changed it.
    pub updated_at: Timestamp,
    /// The latest push, when any.
    pub latest_push: Option<PushRecord>,
    /// How it was linked to its TikTok Shop order, or why it is not (JSON), when the chain ran.
    pub link_json: Option<String>,
    /// The write-back of a tracking fix to Shopify, when one was made.
    pub writeback: Option<Writeback>,
}

/// A tracking fix made here, to write to Shopify once TikTok Shop has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldFix {
    /// The carrier, as the fulfillment names it.
    pub company: Option<String>,
    /// The number typed.
    pub number: String,
    /// The number Shopify holds, which the fix replaces.
    pub replaces: Option<String>,
}

/// Where a tracking fix stands with Shopify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackState {
    /// Fixed here, not pushed to TikTok Shop yet: Shopify is told once TikTok Shop has it.
    Held,
    /// TikTok Shop has it; Shopify does not yet (retried until it agrees).
    Pending,
    /// Shopify holds it.
    Done,
    /// Shopify refused it (its `userErrors`); retried when the merchant syncs again.
    Failed,
}

impl WritebackState {
    /// The stored and wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// The state of a stored name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Held, Self::Pending, Self::Done, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// The write-back of a tracking fix to Shopify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writeback {
    /// Where it stands.
    pub state: WritebackState,
    /// The tracking number to write.
    pub tracking_number: String,
    /// The carrier to write with it.
    pub company: Option<String>,
    /// The number Shopify held when the fix was made.
    pub replaces: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error: a stable code and Shopify's message.
    pub error: Option<(String, String)>,
    /// When a `pending` one is next tried.
    pub next_attempt_at: Option<Timestamp>,
}

/// What an attempt to write back did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WritebackOutcome {
    /// Shopify holds the number.
    Done,
    /// Shopify was unavailable or throttled: tried again at `next_attempt_at` (Unix ms).
    Retry {
        /// The error's stable code.
        code: String,
        /// What happened.
        message: String,
        /// When to try again, Unix milliseconds.
        next_attempt_at: i64,
    },
    /// Shopify refused (`userErrors`): shown to the merchant, retried when they sync again.
    Failed {
        /// The error's stable code.
        code: String,
        /// Shopify's message.
        message: String,
    },
}

/// The TikTok Shop shop a Shopify shop is connected to (Get Authorized Shops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TiktokShop {
    /// The shop's id at TikTok Shop.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its market, like `US`.
    pub region: String,
    /// `LOCAL` or `CROSS_BORDER`.
    pub seller_type: String,
    /// The shop cipher every call for it carries.
    pub cipher: String,
    /// The seller's id for the app.
    pub open_id: String,
    /// When connected, Unix milliseconds.
    pub connected_at: i64,
    /// When the authorization ends, Unix seconds, once TikTok Shop announced it.
    pub authorization_expires_at: Option<i64>,
}

/// The shipping providers a delivery option accepts, as TikTok Shop listed them (Get Shipping
/// Providers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOptionRecord {
    /// The delivery option id.
    pub delivery_option_id: String,
    /// Its providers: a JSON array of `{id, name}`.
    pub providers_json: String,
    /// When listed, Unix milliseconds.
    pub fetched_at: i64,
}

/// A TikTok Shop webhook to work off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TiktokEvent {
    /// `tts_notification_id`.
    pub notification_id: String,
    /// The Shopify shop connected to the event's TikTok Shop shop.
    pub shop: String,
    /// The event's `type` (1 order status, 4 package, 6 deauthorization, 7 expiry ahead, 11
    /// cancellation).
    pub event_type: i64,
    /// Its `data`, as JSON.
    pub data_json: String,
    /// When it came, Unix milliseconds.
    pub received_at: i64,
}

/// Where a shop's backfill of recent orders stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackfillState {
    /// Pages are being read.
    Running,
    /// Every page was read.
    Done,
    /// It stopped on an error; the next start goes on from its cursor.
    Failed,
}

impl BackfillState {
    /// The stored and wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// A shop's backfill of recent orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backfill {
    /// Where it stands.
    pub state: BackfillState,
    /// The oldest creation date read (RFC 3339).
    pub since: String,
    /// The cursor of the next page, while pages remain.
    pub cursor: Option<String>,
    /// Orders read so far.
    pub orders_read: u64,
    /// Fulfillments stored so far.
    pub fulfillments_read: u64,
    /// The error it stopped on.
    pub error_code: Option<String>,
    /// When it started, Unix milliseconds.
    pub started_at: i64,
}

/// Fields to set on a fulfillment; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FulfillmentPatch {
    /// The Shopify fulfillment JSON, as edited here (its `updated_at` as Shopify sent it is kept).
    pub shopify_json: Option<String>,
    /// The TikTok Shop order JSON.
    pub tts_order_json: Option<String>,
    /// Our sync history JSON.
    pub history_json: Option<String>,
    /// The preview report JSON.
    pub report_json: Option<String>,
    /// The sync status.
    pub sync_status: Option<SyncStatus>,
    /// How the fulfillment is linked, or why not (JSON).
    pub link_json: Option<String>,
    /// A tracking fix made here, held for Shopify until TikTok Shop has it.
    pub hold_writeback: Option<HeldFix>,
}

/// A fulfillment's sync status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Never pushed successfully.
    NotSynced,
    /// TikTok Shop holds what the fulfillment says.
    Synced,
    /// The last push failed or needs review.
    SyncFailed(SyncFailure),
}

impl SyncStatus {
    /// The status without its details.
    #[must_use]
    pub const fn kind(&self) -> SyncStatusKind {
        match self {
            Self::NotSynced => SyncStatusKind::NotSynced,
            Self::Synced => SyncStatusKind::Synced,
            Self::SyncFailed(_) => SyncStatusKind::SyncFailed,
        }
    }
}

/// Why a sync failed, as shown to the merchant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncFailure {
    /// A stable code (a diagnostic code or a TikTok Shop error).
    pub code: String,
    /// The Reason.
    pub reason: String,
    /// The Solution.
    pub solution: String,
}

/// A sync status without details, to filter lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatusKind {
    /// `not_synced`.
    NotSynced,
    /// `synced`.
    Synced,
    /// `sync_failed`.
    SyncFailed,
}

impl SyncStatusKind {
    /// The name, as stored and as the API writes it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotSynced => "not_synced",
            Self::Synced => "synced",
            Self::SyncFailed => "sync_failed",
        }
    }

    /// The kind of a name (`status=` of the list), or `None`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::NotSynced, Self::Synced, Self::SyncFailed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A platform a shop is connected to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Shopify (the Admin API).
    Shopify,
    /// TikTok Shop (the Open API).
    Tiktok,
}

impl Platform {
    /// The name, as stored.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::Tiktok => "tiktok",
        }
    }
}

/// A shop's credentials at a platform as stored: tokens sealed by [`crate::tokens::KeyRing`] (never
/// plain), expiries in Unix milliseconds.
#[derive(Clone, PartialEq, Eq)]
pub struct ShopCredentials {
    /// The sealed access token.
    pub access_token: String,
    /// When the access token expires; `None` when it does not.
    pub access_expires_at: Option<i64>,
    /// The sealed refresh token, when the platform gives one.
    pub refresh_token: Option<String>,
    /// When the refresh token expires.
    pub refresh_expires_at: Option<i64>,
    /// The sealed refresh token the current pair was obtained with: a refresh whose answer was lost is
    /// retried with it.
    pub previous_refresh_token: Option<String>,
    /// The platform refused a refresh: the merchant must reconnect.
    pub needs_reconnect: bool,
}

impl std::fmt::Debug for ShopCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Sealed tokens are not secret, but nothing token-shaped goes to a log.
        f.debug_struct("ShopCredentials")
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("needs_reconnect", &self.needs_reconnect)
            .finish_non_exhaustive()
    }
}

/// Which fulfillments to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FulfillmentQuery {
    /// Only those of this status.
    pub status: Option<SyncStatusKind>,
    /// Where the previous page ended ([`FulfillmentPage::next_cursor`]).
    pub cursor: Option<String>,
    /// At most this many (1 to [`MAX_PAGE_LIMIT`]; 0 reads as 1).
    pub limit: u32,
}

/// A page of fulfillments.
#[derive(Clone, Debug, PartialEq)]
pub struct FulfillmentPage {
    /// The fulfillments, newest first.
    pub items: Vec<FulfillmentRecord>,
    /// The cursor of the next page, `None` on the last one. Opaque.
    pub next_cursor: Option<String>,
}

/// A push and its state.
#[derive(Clone, Debug, PartialEq)]
pub struct PushRecord {
    /// The push's id.
    pub id: i64,
    /// The fulfillment pushed.
    pub fulfillment_id: String,
    /// Where it is.
    pub state: PushState,
    /// The plan JSON: action, package id, line item ids, provider id, tracking number.
    pub plan_json: String,
    /// How many times it went to `sending`.
    pub attempts: u32,
    /// TikTok Shop's last answer, when any.
    pub response_json: Option<String>,
    /// Why it failed or needs review, or the last error a retry followed.
    pub failure: Option<SyncFailure>,
    /// The idempotency key of the request that created it.
    pub idempotency_key: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it last went to `sending`.
    pub sending_at: Option<Timestamp>,
}

/// A move of a push, checked against the state machine and the stored state.
#[derive(Clone, Debug, PartialEq)]
pub struct PushTransition {
    /// The state the caller read.
    pub from: PushState,
    /// The state to go to.
    pub to: PushState,
    /// TikTok Shop's answer, to record.
    pub response_json: Option<String>,
    /// Why it failed (required for `failed` and `needs_review`; allowed on `sending → pending`).
    pub failure: Option<SyncFailure>,
    /// The fulfillment's new history, stored with `sent`.
    pub history_json: Option<String>,
    /// The TikTok Shop order as read after the push, stored with `sent`.
    pub tts_order_json: Option<String>,
    /// The preview report on that order and the new history, stored with `sent`.
    pub report_json: Option<String>,
    /// The tracking number pushed, with `sent`: a write-back held or failed becomes `pending`, for it.
    pub writeback_number: Option<String>,
    /// The push's attempts as the caller read them: the move happens only while they still are, so
    /// that a caller whose attempt was taken for abandoned and sent again never moves the later one
    /// ([`StoreError::PushStateChanged`]). `None`: any attempt.
    pub attempts: Option<u32>,
}

impl PushTransition {
    /// A bare move from `from` to `to`.
    #[must_use]
    pub const fn new(from: PushState, to: PushState) -> Self {
        Self {
            from,
            to,
            response_json: None,
            failure: None,
            history_json: None,
            tts_order_json: None,
            report_json: None,
            writeback_number: None,
            attempts: None,
        }
    }

    /// The same move, only while the push is still at `attempts`.
    #[must_use]
    pub const fn at_attempt(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }
}

/// What [`Store::recover_interrupted`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recovery {
    /// The pushes moved from `sending` to `unknown`, with their shop.
    pub pushes: Vec<(String, PushRecord)>,
    /// How many in-progress idempotency keys were freed.
    pub idempotency_keys_released: usize,
}

/// How [`Store::begin_idempotent`] answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// The key is now held by this request: run it, then [`Store::complete_idempotent`].
    Started,
    /// The same request finished before: answer this.
    Replay(StoredResponse),
}

/// An answer kept for replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// What [`Store::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Idempotency keys.
    pub idempotency_keys: usize,
    /// Webhook event ids.
    pub webhook_events: usize,
}

/// The fingerprint of a request for idempotency: SHA-256 of its method, path and body, in hex.
#[must_use]
pub fn request_fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// The current time, in milliseconds since 1970; settable in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}
