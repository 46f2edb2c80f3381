//! The schema, as ordered migrations. Never edit a released migration: append a new one.

/// `(version, name, SQL)`, in order; versions start at 1 and have no gaps.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "initial", V1), (2, "shop_credentials", V2)];

/// Each shop's platform credentials: tokens sealed by `crate::tokens` (never plain), expiries in Unix
/// milliseconds.
const V2: &str = r"
CREATE TABLE shop_credentials (
    shop                   TEXT NOT NULL,
    platform               TEXT NOT NULL CHECK (platform IN ('shopify', 'tiktok')),
    access_token           TEXT NOT NULL CHECK (access_token LIKE 'v1.%'),
    access_expires_at      INTEGER,
    refresh_token          TEXT CHECK (refresh_token IS NULL OR refresh_token LIKE 'v1.%'),
    refresh_expires_at     INTEGER,
    previous_refresh_token TEXT
                           CHECK (previous_refresh_token IS NULL OR previous_refresh_token LIKE 'v1.%'),
    needs_reconnect        INTEGER NOT NULL DEFAULT 0 CHECK (needs_reconnect IN (0, 1)),
    updated_at             INTEGER NOT NULL,
    PRIMARY KEY (shop, platform)
) STRICT, WITHOUT ROWID;
";

const V1: &str = r"
CREATE TABLE shop_settings (
    shop          TEXT PRIMARY KEY,
    settings_json TEXT NOT NULL CHECK (json_valid(settings_json)),
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE fulfillments (
    id                 INTEGER PRIMARY KEY,
    shop               TEXT NOT NULL,
    fulfillment_id     TEXT NOT NULL,
    shopify_json       TEXT NOT NULL CHECK (json_valid(shopify_json)),
    shopify_updated_at TEXT NOT NULL,
    tts_order_json     TEXT CHECK (tts_order_json IS NULL OR json_valid(tts_order_json)),
    history_json       TEXT CHECK (history_json IS NULL OR json_valid(history_json)),
    report_json        TEXT CHECK (report_json IS NULL OR json_valid(report_json)),
    sync_status        TEXT NOT NULL DEFAULT 'not_synced'
                       CHECK (sync_status IN ('not_synced', 'synced', 'sync_failed')),
    failure_code       TEXT,
    failure_reason     TEXT,
    failure_solution   TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (shop, fulfillment_id),
    CHECK ((sync_status = 'sync_failed') = (failure_code IS NOT NULL))
) STRICT;
CREATE INDEX fulfillments_by_status ON fulfillments (shop, sync_status, id);

CREATE TABLE webhook_events (
    shop     TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (shop, event_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX webhook_events_by_time ON webhook_events (seen_at);

CREATE TABLE pushes (
    id               INTEGER PRIMARY KEY,
    shop             TEXT NOT NULL,
    fulfillment_id   TEXT NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('pending', 'sending', 'sent', 'unknown', 'needs_review', 'failed')),
    plan_json        TEXT NOT NULL CHECK (json_valid(plan_json)),
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    response_json    TEXT,
    failure_code     TEXT,
    failure_reason   TEXT,
    failure_solution TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    sending_at       INTEGER,
    FOREIGN KEY (shop, fulfillment_id) REFERENCES fulfillments (shop, fulfillment_id)
) STRICT;
CREATE INDEX pushes_by_fulfillment ON pushes (shop, fulfillment_id, id);
CREATE INDEX pushes_by_state ON pushes (state);
-- At most one open push per fulfillment.
CREATE UNIQUE INDEX pushes_one_open ON pushes (shop, fulfillment_id)
    WHERE state IN ('pending', 'sending', 'unknown', 'needs_review');

CREATE TABLE idempotency_keys (
    shop            TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status INTEGER,
    response_body   TEXT,
    created_at      INTEGER NOT NULL,
    locked_at       INTEGER NOT NULL,
    completed_at    INTEGER,
    PRIMARY KEY (shop, key),
    CHECK ((state = 'completed') = (response_status IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
";
