-- Sluice schema, version 4: a run's description and its own limit on steps active at once.
ALTER TABLE runs ADD COLUMN description TEXT;
ALTER TABLE runs ADD COLUMN max_parallel_steps INTEGER;
