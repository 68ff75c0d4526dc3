-- Sluice schema for PostgreSQL, version 5: a run's steps by their order. A step made while the run goes (an iteration of a
-- for-each) takes the next ordinal, max(ordinal) + 1 over the run's steps, and a run's steps are read in that order: without
-- this index each of those walked every step of the run.

CREATE INDEX steps_run_ordinal ON steps (run_id, ordinal);
