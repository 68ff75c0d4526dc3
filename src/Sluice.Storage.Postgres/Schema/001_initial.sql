-- Sluice schema for PostgreSQL, version 1.
-- Times are bigint UTC ticks (100 ns since 0001-01-01) as in the SQLite store: an exact round trip of any instant.
-- JSON documents are text, stored verbatim; keys and names compare in byte order (COLLATE "C"), as SQLite does.

CREATE TABLE pipelines (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant          text COLLATE "C" NOT NULL,
    location        text COLLATE "C" NOT NULL,
    name            text COLLATE "C" NOT NULL,
    description     text,
    latest_version  integer NOT NULL,
    created_at      bigint  NOT NULL,
    updated_at      bigint  NOT NULL,
    face            text    NOT NULL,
    face_data       text,
    -- Soft delete: runs froze a version of the pipeline, so its versions must outlive its name.
    deleted         boolean NOT NULL DEFAULT false
);

CREATE UNIQUE INDEX pipelines_scope_name ON pipelines (tenant, location, name) WHERE NOT deleted;
CREATE INDEX pipelines_name ON pipelines (name, id) WHERE NOT deleted;

CREATE TABLE pipeline_versions (
    pipeline_id text COLLATE "C" NOT NULL REFERENCES pipelines (id),
    version     integer NOT NULL,
    format      text    NOT NULL,
    source      text    NOT NULL,
    created_at  bigint  NOT NULL,
    PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE runs (
    id                text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant            text COLLATE "C" NOT NULL,
    location          text COLLATE "C" NOT NULL,
    pipeline_id       text COLLATE "C" NOT NULL,
    pipeline_name     text COLLATE "C" NOT NULL,
    pipeline_version  integer NOT NULL,
    state             text COLLATE "C" NOT NULL,
    version           bigint  NOT NULL,
    created_at        bigint  NOT NULL,
    started_at        bigint,
    ended_at          bigint,
    updated_at        bigint  NOT NULL,
    parameters        text    NOT NULL,
    labels            text    NOT NULL,
    -- The labels as a document for filters (GIN, containment); the text column is what the store reads back.
    labels_doc        jsonb   GENERATED ALWAYS AS (labels::jsonb) STORED,
    display_name      text,
    error             text,
    stop              text,
    face              text    NOT NULL,
    face_data         text,
    description       text,
    max_parallel_steps integer,
    -- The node that is the run's writer (see nodes); NULL until one claims it.
    owner             text COLLATE "C"
);

CREATE INDEX runs_scope_created          ON runs (tenant, location, created_at, id);
CREATE INDEX runs_scope_pipeline_created ON runs (tenant, location, pipeline_name, created_at, id);
CREATE INDEX runs_scope_state_created    ON runs (tenant, location, state, created_at, id);
CREATE INDEX runs_created                ON runs (created_at, id);
CREATE INDEX runs_state_created          ON runs (state, created_at, id);
CREATE INDEX runs_labels                 ON runs USING gin (labels_doc jsonb_path_ops);
CREATE INDEX runs_unfinished_owner       ON runs (owner, created_at, id) WHERE state IN ('Queued', 'Running', 'Stopping');

CREATE TABLE steps (
    run_id              text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name                text COLLATE "C" NOT NULL,
    ordinal             integer NOT NULL,
    kind                text    NOT NULL,
    state               text    NOT NULL,
    version             bigint  NOT NULL,
    attempt             integer NOT NULL,
    started_at          bigint,
    ended_at            bigint,
    not_before          bigint,
    reason              text,
    exit_code           integer,
    inputs              text,
    outputs             text,
    process_pid         integer,
    process_start_time  bigint,
    executor_data       text,
    PRIMARY KEY (run_id, name)
);

CREATE INDEX steps_callback_token ON steps (((executor_data::jsonb) ->> 'token')) WHERE executor_data IS NOT NULL;

CREATE TABLE events (
    seq        bigserial PRIMARY KEY,
    -- The writing transaction: the shared feed reads events in (tx, seq) order, only from finished transactions, so
    -- that an event whose transaction commits late is never skipped (sequence numbers are taken before commit).
    tx         xid8    NOT NULL DEFAULT pg_current_xact_id(),
    run_id     text COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step       text,
    kind       text    NOT NULL,
    from_state text,
    to_state   text,
    at         bigint  NOT NULL,
    message    text,
    caller     text,
    data       text
);

CREATE INDEX events_run_seq ON events (run_id, seq);
CREATE INDEX events_feed    ON events (tx, seq);

CREATE TABLE idempotency (
    scope        text COLLATE "C" NOT NULL,
    token        text COLLATE "C" NOT NULL,
    request_hash text   NOT NULL,
    response     text   NOT NULL,
    created_at   bigint NOT NULL,
    PRIMARY KEY (scope, token)
);

CREATE INDEX idempotency_created ON idempotency (created_at);

CREATE TABLE operations (
    id          text COLLATE "C" NOT NULL PRIMARY KEY,
    tenant      text COLLATE "C" NOT NULL,
    location    text COLLATE "C" NOT NULL,
    kind        text    NOT NULL,
    version     bigint  NOT NULL,
    created_at  bigint  NOT NULL,
    updated_at  bigint  NOT NULL,
    done        boolean NOT NULL,
    request     text    NOT NULL,
    results     text    NOT NULL,
    error       text,
    face        text    NOT NULL,
    owner       text COLLATE "C"
);

CREATE INDEX operations_scope_created ON operations (tenant, location, created_at, id);
CREATE INDEX operations_created       ON operations (created_at, id);
CREATE INDEX operations_unfinished    ON operations (created_at, id) WHERE NOT done;
