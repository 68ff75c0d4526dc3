-- Sluice schema, version 1.
-- Times are INTEGER UTC ticks (100 ns since 0001-01-01); JSON documents are TEXT; states are their enum names.

CREATE TABLE pipelines (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant          TEXT    NOT NULL,
    location        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT,
    latest_version  INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    face            TEXT    NOT NULL,
    face_data       TEXT,
    -- Soft delete: runs froze a version of the pipeline, so its versions must outlive its name.
    deleted         INTEGER NOT NULL DEFAULT 0
);

-- A name is unique in its scope among live pipelines only, so a deleted name can be taken again.
CREATE UNIQUE INDEX pipelines_scope_name ON pipelines (tenant, location, name) WHERE deleted = 0;
CREATE INDEX pipelines_name ON pipelines (name, id) WHERE deleted = 0;

CREATE TABLE pipeline_versions (
    pipeline_id TEXT    NOT NULL REFERENCES pipelines (id),
    version     INTEGER NOT NULL,
    format      TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE runs (
    id                TEXT    NOT NULL PRIMARY KEY,
    tenant            TEXT    NOT NULL,
    location          TEXT    NOT NULL,
    pipeline_id       TEXT    NOT NULL,
    pipeline_name     TEXT    NOT NULL,
    pipeline_version  INTEGER NOT NULL,
    state             TEXT    NOT NULL,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    started_at        INTEGER,
    ended_at          INTEGER,
    updated_at        INTEGER NOT NULL,
    parameters        TEXT    NOT NULL,
    labels            TEXT    NOT NULL,
    display_name      TEXT,
    error             TEXT,
    stop              TEXT,
    face              TEXT    NOT NULL,
    face_data         TEXT
);

-- One index per list shape, each ending in (created_at, id) so that a page is a range scan in keyset order
-- with no sort: scope, scope + pipeline, scope + state, scope + pipeline + state, and the same without a scope.
CREATE INDEX runs_scope_created          ON runs (tenant, location, created_at, id);
CREATE INDEX runs_scope_pipeline_created ON runs (tenant, location, pipeline_name, created_at, id);
CREATE INDEX runs_scope_state_created    ON runs (tenant, location, state, created_at, id);
CREATE INDEX runs_scope_pipeline_state   ON runs (tenant, location, pipeline_name, state, created_at, id);
CREATE INDEX runs_created                ON runs (created_at, id);
CREATE INDEX runs_state_created          ON runs (state, created_at, id);

-- Labels are read from runs.labels; this side table only serves filters. Triggers keep it in step with the
-- JSON column, so no code path can forget it.
CREATE TABLE run_labels (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;

CREATE INDEX run_labels_key_value ON run_labels (key, value, run_id);

CREATE TRIGGER runs_labels_insert AFTER INSERT ON runs
BEGIN
    INSERT INTO run_labels (run_id, key, value) SELECT new.id, j.key, j.value FROM json_each(new.labels) AS j;
END;

CREATE TRIGGER runs_labels_update AFTER UPDATE OF labels ON runs WHEN old.labels IS NOT new.labels
BEGIN
    DELETE FROM run_labels WHERE run_id = old.id;
    INSERT INTO run_labels (run_id, key, value) SELECT new.id, j.key, j.value FROM json_each(new.labels) AS j;
END;

CREATE TABLE steps (
    run_id              TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    -- Position in the list the run was created with, so steps read back in plan order.
    ordinal             INTEGER NOT NULL,
    kind                TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    version             INTEGER NOT NULL,
    attempt             INTEGER NOT NULL,
    started_at          INTEGER,
    ended_at            INTEGER,
    not_before          INTEGER,
    reason              TEXT,
    exit_code           INTEGER,
    inputs              TEXT,
    outputs             TEXT,
    process_pid         INTEGER,
    process_start_time  INTEGER,
    executor_data       TEXT,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id     TEXT    NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step       TEXT,
    kind       TEXT    NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    at         INTEGER NOT NULL,
    message    TEXT,
    caller     TEXT,
    data       TEXT
);

CREATE INDEX events_run_seq ON events (run_id, seq);

CREATE TABLE idempotency (
    scope        TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    response     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (scope, token)
);

CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE operations (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    request     TEXT    NOT NULL,
    results     TEXT    NOT NULL,
    error       TEXT,
    face        TEXT    NOT NULL
);

CREATE INDEX operations_scope_created ON operations (tenant, location, created_at, id);
CREATE INDEX operations_created       ON operations (created_at, id);
CREATE INDEX operations_unfinished    ON operations (created_at, id) WHERE done = 0;
