-- Sluice schema, version 2: the built-in queue (callback steps, the SQS-compatible face).
-- Times are INTEGER UTC ticks and durations INTEGER ticks, as in version 1.

CREATE TABLE queues (
    -- AUTOINCREMENT: an id is never reused, so nothing that names a deleted queue can reach its successor.
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant               TEXT    NOT NULL,
    location             TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    visibility_timeout   INTEGER NOT NULL,
    retention            INTEGER NOT NULL,
    receive_wait         INTEGER NOT NULL,
    delay                INTEGER NOT NULL,
    max_message_size     INTEGER NOT NULL,
    created_at           INTEGER NOT NULL,
    UNIQUE (tenant, location, name)
);

CREATE TABLE queue_messages (
    -- Send order: breaks ties between messages that become visible at the same tick.
    seq                  INTEGER PRIMARY KEY,
    queue_id             INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    id                   TEXT    NOT NULL UNIQUE,
    body                 TEXT    NOT NULL,
    md5                  TEXT    NOT NULL,
    sent_at              INTEGER NOT NULL,
    visible_at           INTEGER NOT NULL,
    expires_at           INTEGER NOT NULL,
    receive_count        INTEGER NOT NULL DEFAULT 0,
    first_received_at    INTEGER,
    -- The handle of the latest delivery; older handles of the message no longer act on it.
    receipt_handle       TEXT
);

-- A receive is a range scan in delivery order (no sort); also serves the cascade from queues.
CREATE INDEX queue_messages_visible ON queue_messages (queue_id, visible_at, seq);
CREATE INDEX queue_messages_expires ON queue_messages (expires_at);
