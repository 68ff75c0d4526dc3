-- Sluice schema for PostgreSQL, version 4: nodes and requests between nodes (runs.owner and operations.owner are in 1).

CREATE TABLE nodes (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    host           text    NOT NULL,
    host_id        text    NOT NULL,
    data_dir       text    NOT NULL,
    pid            integer NOT NULL,
    pid_start      bigint  NOT NULL,
    role           text    NOT NULL,
    started_at     bigint  NOT NULL,
    heartbeat_at   bigint  NOT NULL,
    expires_at     bigint  NOT NULL,
    has_left       boolean NOT NULL DEFAULT false
);

CREATE TABLE run_requests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind         text    NOT NULL,
    payload      text    NOT NULL,
    from_node    text    NOT NULL,
    created_at   bigint  NOT NULL,
    answer       text,
    answered_at  bigint
);

CREATE INDEX run_requests_pending ON run_requests (run_id, id) WHERE answered_at IS NULL;
CREATE INDEX run_requests_answered ON run_requests (answered_at) WHERE answered_at IS NOT NULL;
