-- Sluice schema, version 6: nodes, leases and requests between nodes (see docs/deployment.md).
-- One embedded database has one node at a time; the tables make its restart and its engine the same as a cluster's.

CREATE TABLE nodes (
    id             TEXT    NOT NULL PRIMARY KEY,
    host           TEXT    NOT NULL,
    host_id        TEXT    NOT NULL,
    data_dir       TEXT    NOT NULL,
    pid            INTEGER NOT NULL,
    pid_start      INTEGER NOT NULL,
    role           TEXT    NOT NULL,
    started_at     INTEGER NOT NULL,
    heartbeat_at   INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    has_left       INTEGER NOT NULL DEFAULT 0
);

-- The node that is the run's writer; NULL until one claims it. Terminal runs keep their last owner.
ALTER TABLE runs ADD COLUMN owner TEXT;
CREATE INDEX runs_unfinished_owner ON runs (owner, created_at, id) WHERE state IN ('Queued', 'Running', 'Stopping');

ALTER TABLE operations ADD COLUMN owner TEXT;

CREATE TABLE run_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    from_node    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    answer       TEXT,
    answered_at  INTEGER
);

CREATE INDEX run_requests_pending ON run_requests (run_id, id) WHERE answered_at IS NULL;
CREATE INDEX run_requests_answered ON run_requests (answered_at) WHERE answered_at IS NOT NULL;
