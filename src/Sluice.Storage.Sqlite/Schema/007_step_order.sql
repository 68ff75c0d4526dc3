-- Sluice schema, version 7: a run's steps by their order. A step made while the run goes (an iteration of a for-each)
-- takes the next ordinal, max(ordinal) + 1 over the run's steps, and a run's steps are read in that order: without this
-- index each of those walked every step of the run, so making the 10,000 steps of a wide loop read ~50 million rows.

CREATE INDEX steps_run_ordinal ON steps (run_id, ordinal);
