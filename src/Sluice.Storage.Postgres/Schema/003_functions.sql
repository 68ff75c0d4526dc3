-- Sluice schema for PostgreSQL, version 3: functions that function steps call by name.

CREATE TABLE functions (
    tenant      text COLLATE "C" NOT NULL,
    location    text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    kind        text   NOT NULL CHECK (kind IN ('command', 'url')),
    command     text,
    url         text,
    time_limit  bigint NOT NULL,
    env         text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (tenant, location, name),
    CHECK ((kind = 'command') = (command IS NOT NULL) AND (kind = 'url') = (url IS NOT NULL))
);
