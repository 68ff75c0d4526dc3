-- Sluice schema, version 3: functions that function steps call by name.
-- Times are INTEGER UTC ticks and durations INTEGER ticks, as in version 1.

CREATE TABLE functions (
    tenant      TEXT    NOT NULL,
    location    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('command', 'url')),
    -- A JSON array of strings (argv) for a command; NULL for a URL.
    command     TEXT,
    url         TEXT,
    time_limit  INTEGER NOT NULL,
    -- A JSON object of strings, or NULL.
    env         TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant, location, name),
    CHECK ((kind = 'command') = (command IS NOT NULL) AND (kind = 'url') = (url IS NOT NULL))
) WITHOUT ROWID;
