-- Sluice schema for PostgreSQL, version 2: the built-in queue (callback steps, the SQS-compatible face).

CREATE TABLE queues (
    -- An identity is never reused, so nothing that names a deleted queue can reach its successor.
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant               text COLLATE "C" NOT NULL,
    location             text COLLATE "C" NOT NULL,
    name                 text COLLATE "C" NOT NULL,
    visibility_timeout   bigint  NOT NULL,
    retention            bigint  NOT NULL,
    receive_wait         bigint  NOT NULL,
    delay                bigint  NOT NULL,
    max_message_size     integer NOT NULL,
    created_at           bigint  NOT NULL,
    UNIQUE (tenant, location, name)
);

CREATE TABLE queue_messages (
    seq                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue_id             bigint  NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    id                   text COLLATE "C" NOT NULL UNIQUE,
    body                 text    NOT NULL,
    md5                  text    NOT NULL,
    sent_at              bigint  NOT NULL,
    visible_at           bigint  NOT NULL,
    expires_at           bigint  NOT NULL,
    receive_count        integer NOT NULL DEFAULT 0,
    first_received_at    bigint,
    receipt_handle       text
);

CREATE INDEX queue_messages_visible ON queue_messages (queue_id, visible_at, seq);
CREATE INDEX queue_messages_expires ON queue_messages (expires_at);
