-- The PostgreSQL store's schema: the SQLite store's migrations in one. Times are Unix milliseconds;
-- integers are 64-bit, as SQLite's; payloads are kept as the text received, so that they read back
-- byte for byte, and checked to be JSON as `json` (not `jsonb`, which refuses `\u0000`).

CREATE TABLE shop_settings (
    shop          TEXT PRIMARY KEY,
    settings_json TEXT NOT NULL CHECK (settings_json::json IS NOT NULL),
    updated_at    BIGINT NOT NULL
);

CREATE TABLE fulfillments (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop                    TEXT NOT NULL,
    fulfillment_id          TEXT NOT NULL,
    shopify_json            TEXT NOT NULL CHECK (shopify_json::json IS NOT NULL),
    shopify_updated_at      TEXT NOT NULL,
    tts_order_json          TEXT CHECK (tts_order_json IS NULL OR tts_order_json::json IS NOT NULL),
    history_json            TEXT CHECK (history_json IS NULL OR history_json::json IS NOT NULL),
    report_json             TEXT CHECK (report_json IS NULL OR report_json::json IS NOT NULL),
    sync_status             TEXT NOT NULL DEFAULT 'not_synced'
                            CHECK (sync_status IN ('not_synced', 'synced', 'sync_failed')),
    failure_code            TEXT,
    failure_reason          TEXT,
    failure_solution        TEXT,
    link_json               TEXT CHECK (link_json IS NULL OR link_json::json IS NOT NULL),
    writeback_state         TEXT
                            CHECK (writeback_state IS NULL OR writeback_state IN ('held', 'pending', 'done', 'failed')),
    writeback_number        TEXT,
    writeback_company       TEXT,
    writeback_replaces      TEXT,
    writeback_attempts      BIGINT NOT NULL DEFAULT 0,
    writeback_error_code    TEXT,
    writeback_error_message TEXT,
    writeback_next_at       BIGINT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (shop, fulfillment_id),
    CHECK ((sync_status = 'sync_failed') = (failure_code IS NOT NULL))
);
-- A shop's list, newest first, of every status or of one.
CREATE INDEX fulfillments_by_shop ON fulfillments (shop, id);
CREATE INDEX fulfillments_by_status ON fulfillments (shop, sync_status, id);
CREATE INDEX fulfillments_writeback_due ON fulfillments (writeback_state, writeback_next_at)
    WHERE writeback_state = 'pending';

CREATE TABLE webhook_events (
    shop     TEXT NOT NULL,
    event_id TEXT NOT NULL,
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (shop, event_id)
);
CREATE INDEX webhook_events_by_time ON webhook_events (seen_at);

CREATE TABLE pushes (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shop             TEXT NOT NULL,
    fulfillment_id   TEXT NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('pending', 'sending', 'sent', 'unknown', 'needs_review', 'failed')),
    plan_json        TEXT NOT NULL CHECK (plan_json::json IS NOT NULL),
    attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    response_json    TEXT,
    failure_code     TEXT,
    failure_reason   TEXT,
    failure_solution TEXT,
    idempotency_key  TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    sending_at       BIGINT,
    -- Claimed by one instance to settle (a push a request left open) until then (Unix milliseconds).
    settle_claimed_until BIGINT,
    FOREIGN KEY (shop, fulfillment_id) REFERENCES fulfillments (shop, fulfillment_id)
);
CREATE INDEX pushes_by_fulfillment ON pushes (shop, fulfillment_id, id);
CREATE INDEX pushes_by_state ON pushes (state);
-- At most one open push per fulfillment, whichever instance plans it.
CREATE UNIQUE INDEX pushes_one_open ON pushes (shop, fulfillment_id)
    WHERE state IN ('pending', 'sending', 'unknown', 'needs_review');

CREATE TABLE idempotency_keys (
    shop            TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    response_status BIGINT,
    response_body   TEXT,
    created_at      BIGINT NOT NULL,
    locked_at       BIGINT NOT NULL,
    completed_at    BIGINT,
    PRIMARY KEY (shop, key),
    CHECK ((state = 'completed') = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);

-- Tokens sealed by `crate::tokens` (never plain).
CREATE TABLE shop_credentials (
    shop                   TEXT NOT NULL,
    platform               TEXT NOT NULL CHECK (platform IN ('shopify', 'tiktok')),
    access_token           TEXT NOT NULL CHECK (access_token LIKE 'v1.%'),
    access_expires_at      BIGINT,
    refresh_token          TEXT CHECK (refresh_token IS NULL OR refresh_token LIKE 'v1.%'),
    refresh_expires_at     BIGINT,
    previous_refresh_token TEXT
                           CHECK (previous_refresh_token IS NULL OR previous_refresh_token LIKE 'v1.%'),
    needs_reconnect        BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at             BIGINT NOT NULL,
    -- Claimed by one instance to refresh the tokens until then (Unix milliseconds).
    refresh_claimed_by     TEXT,
    refresh_claimed_until  BIGINT,
    PRIMARY KEY (shop, platform)
);

CREATE TABLE backfills (
    shop              TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    since             TEXT NOT NULL,
    cursor            TEXT,
    orders_read       BIGINT NOT NULL DEFAULT 0 CHECK (orders_read >= 0),
    fulfillments_read BIGINT NOT NULL DEFAULT 0 CHECK (fulfillments_read >= 0),
    error_code        TEXT,
    started_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    claimed_by        TEXT,
    claimed_until     BIGINT
);

CREATE TABLE tiktok_shops (
    shop                     TEXT PRIMARY KEY,
    tts_shop_id              TEXT NOT NULL,
    shop_name                TEXT NOT NULL,
    region                   TEXT NOT NULL,
    seller_type              TEXT NOT NULL,
    cipher                   TEXT NOT NULL,
    open_id                  TEXT NOT NULL,
    connected_at             BIGINT NOT NULL,
    authorization_expires_at BIGINT
);
CREATE INDEX tiktok_shops_by_id ON tiktok_shops (tts_shop_id);

-- TikTok Shop's webhooks, kept until done: each once (by its notification id).
CREATE TABLE tiktok_events (
    notification_id TEXT PRIMARY KEY,
    shop            TEXT NOT NULL,
    event_type      BIGINT NOT NULL,
    data_json       TEXT NOT NULL CHECK (data_json::json IS NOT NULL),
    received_at     BIGINT NOT NULL,
    done_at         BIGINT,
    -- Claimed by one worker until then (Unix milliseconds).
    claimed_until   BIGINT
);
CREATE INDEX tiktok_events_pending ON tiktok_events (received_at) WHERE done_at IS NULL;

CREATE TABLE oauth_states (
    state      TEXT PRIMARY KEY,
    shop       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oauth_states_by_shop ON oauth_states (shop);

CREATE TABLE delivery_option_providers (
    shop               TEXT NOT NULL,
    delivery_option_id TEXT NOT NULL,
    providers_json     TEXT NOT NULL CHECK (providers_json::json IS NOT NULL),
    fetched_at         BIGINT NOT NULL,
    PRIMARY KEY (shop, delivery_option_id)
);

-- Each shop's change counter: one more on every change of a fulfillment, a push, the settings, a
-- delivery option's providers or the TikTok Shop connection. A claim to settle a push alone is no
-- change: nothing it shows changed.
CREATE TABLE shop_versions (
    shop    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE FUNCTION bump_shop_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shop_versions (shop, version) VALUES (NEW.shop, 1)
        ON CONFLICT (shop) DO UPDATE SET version = shop_versions.version + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER fulfillments_changed AFTER INSERT OR UPDATE ON fulfillments
    FOR EACH ROW EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER pushes_inserted AFTER INSERT ON pushes
    FOR EACH ROW EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER pushes_updated AFTER UPDATE ON pushes
    FOR EACH ROW WHEN (NEW.settle_claimed_until IS NOT DISTINCT FROM OLD.settle_claimed_until)
    EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE ON shop_settings
    FOR EACH ROW EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER delivery_options_changed AFTER INSERT OR UPDATE ON delivery_option_providers
    FOR EACH ROW EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER tiktok_shops_changed AFTER INSERT OR UPDATE ON tiktok_shops
    FOR EACH ROW EXECUTE FUNCTION bump_shop_version();
CREATE TRIGGER tiktok_reconnect_changed AFTER UPDATE OF needs_reconnect ON shop_credentials
    FOR EACH ROW WHEN (NEW.platform = 'tiktok' AND NEW.needs_reconnect <> OLD.needs_reconnect)
    EXECUTE FUNCTION bump_shop_version();
