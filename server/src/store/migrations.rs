//! The schema, as ordered migrations. Never edit a released migration: append a new one.

/// `(version, name, SQL)`, in order; versions start at 1 and have no gaps.
pub(super) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", V1),
    (2, "shop_credentials", V2),
    (3, "links_writebacks_backfills", V3),
    (4, "tiktok_shops", V4),
    (5, "delivery_options_versions", V5),
    (6, "tiktok_event_leases", V6),
    (7, "settle_and_refresh_leases", V7),
];

/// Work several instances share is claimed with a lease: settling a push a request left open, a
/// shop's backfill, and refreshing a shop's tokens (one refresh at a time across instances). A claim alone does not move
/// the shop's version: nothing it shows changed.
const V7: &str = r"
ALTER TABLE pushes ADD COLUMN settle_claimed_until INTEGER;
ALTER TABLE backfills ADD COLUMN claimed_by TEXT;
ALTER TABLE backfills ADD COLUMN claimed_until INTEGER;
ALTER TABLE shop_credentials ADD COLUMN refresh_claimed_by TEXT;
ALTER TABLE shop_credentials ADD COLUMN refresh_claimed_until INTEGER;
DROP TRIGGER pushes_updated;
CREATE TRIGGER pushes_updated AFTER UPDATE ON pushes
    WHEN NEW.settle_claimed_until IS OLD.settle_claimed_until
BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
";

/// A TikTok Shop webhook is claimed by one worker at a time, for a lease: one that dies with it leaves
/// it to another once the lease has passed.
const V6: &str = r"
ALTER TABLE tiktok_events ADD COLUMN claimed_until INTEGER;
";

/// The shipping providers each delivery option accepts, as TikTok Shop last listed them, and each
/// shop's change counter: one more on every change of a fulfillment, a push, the settings, a delivery
/// option's providers or the TikTok Shop connection, so that an open list can tell cheaply whether to
/// read itself again.
const V5: &str = r"
CREATE TABLE delivery_option_providers (
    shop               TEXT NOT NULL,
    delivery_option_id TEXT NOT NULL,
    providers_json     TEXT NOT NULL CHECK (json_valid(providers_json)),
    fetched_at         INTEGER NOT NULL,
    PRIMARY KEY (shop, delivery_option_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE shop_versions (
    shop    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE TRIGGER fulfillments_inserted AFTER INSERT ON fulfillments BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER fulfillments_updated AFTER UPDATE ON fulfillments BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER pushes_inserted AFTER INSERT ON pushes BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER pushes_updated AFTER UPDATE ON pushes BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER settings_inserted AFTER INSERT ON shop_settings BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER settings_updated AFTER UPDATE ON shop_settings BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER delivery_options_inserted AFTER INSERT ON delivery_option_providers BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER delivery_options_updated AFTER UPDATE ON delivery_option_providers BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER tiktok_shops_inserted AFTER INSERT ON tiktok_shops BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER tiktok_shops_updated AFTER UPDATE ON tiktok_shops BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER tiktok_reconnect_changed AFTER UPDATE OF needs_reconnect ON shop_credentials
    WHEN NEW.platform = 'tiktok' AND NEW.needs_reconnect <> OLD.needs_reconnect BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = version + 1;
END;
";

/// The TikTok Shop shop each Shopify shop is connected to, the `state` of each authorization under way
/// (single use, bound to the Shopify shop that started it), and TikTok Shop's webhooks to work off.
const V4: &str = r"
CREATE TABLE tiktok_shops (
    shop                     TEXT PRIMARY KEY,
    tts_shop_id              TEXT NOT NULL,
    shop_name                TEXT NOT NULL,
    region                   TEXT NOT NULL,
    seller_type              TEXT NOT NULL,
    cipher                   TEXT NOT NULL,
    open_id                  TEXT NOT NULL,
    connected_at             INTEGER NOT NULL,
    authorization_expires_at INTEGER
) STRICT;
CREATE INDEX tiktok_shops_by_id ON tiktok_shops (tts_shop_id);

-- TikTok Shop's webhooks, kept until done: each once (by its notification id), worked off the request.
CREATE TABLE tiktok_events (
    notification_id TEXT PRIMARY KEY,
    shop            TEXT NOT NULL,
    event_type      INTEGER NOT NULL,
    data_json       TEXT NOT NULL CHECK (json_valid(data_json)),
    received_at     INTEGER NOT NULL,
    done_at         INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX tiktok_events_pending ON tiktok_events (received_at) WHERE done_at IS NULL;

CREATE TABLE oauth_states (
    state      TEXT PRIMARY KEY,
    shop       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX oauth_states_by_shop ON oauth_states (shop);
";

/// How each fulfillment was linked to its TikTok Shop order (or why not), the write-back of a tracking
/// fix to Shopify, and each shop's backfill of recent orders.
const V3: &str = r"
ALTER TABLE fulfillments ADD COLUMN link_json TEXT
    CHECK (link_json IS NULL OR json_valid(link_json));
ALTER TABLE fulfillments ADD COLUMN writeback_state TEXT
    CHECK (writeback_state IS NULL OR writeback_state IN ('held', 'pending', 'done', 'failed'));
ALTER TABLE fulfillments ADD COLUMN writeback_number TEXT;
ALTER TABLE fulfillments ADD COLUMN writeback_company TEXT;
ALTER TABLE fulfillments ADD COLUMN writeback_replaces TEXT;
ALTER TABLE fulfillments ADD COLUMN writeback_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fulfillments ADD COLUMN writeback_error_code TEXT;
ALTER TABLE fulfillments ADD COLUMN writeback_error_message TEXT;
ALTER TABLE fulfillments ADD COLUMN writeback_next_at INTEGER;
CREATE INDEX fulfillments_writeback_due ON fulfillments (writeback_state, writeback_next_at)
    WHERE writeback_state = 'pending';

CREATE TABLE backfills (
    shop              TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    since             TEXT NOT NULL,
    cursor            TEXT,
    orders_read       INTEGER NOT NULL DEFAULT 0 CHECK (orders_read >= 0),
    fulfillments_read INTEGER NOT NULL DEFAULT 0 CHECK (fulfillments_read >= 0),
    error_code        TEXT,
    started_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
";

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
