-- Sluice schema, version 5: lists by pipeline (and state) across every scope, as the native API asks for them.
-- Without these, such a list walks the whole (created_at, id) or (state, created_at, id) index and looks up every run to
-- check its pipeline: with a million stored runs, a pipeline that has few of them took ~0.7 s per page; with them, ~1 ms.

CREATE INDEX runs_pipeline_created       ON runs (pipeline_name, created_at, id);
CREATE INDEX runs_pipeline_state_created ON runs (pipeline_name, state, created_at, id);
