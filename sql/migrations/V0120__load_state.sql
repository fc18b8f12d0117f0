-- Purpose: the load's generation marker. A load publishes everything it changed (raw rows, checksums in
--          ref.data_sources, the stats views, the tile tables) in one transaction; this row says which
--          generation readers see and whether a later attempt was started and never published, so that the
--          next `make load` knows it must check (and repair) what it finds instead of trusting the checksums.
-- Depends on: V0001 (ref schema).

CREATE TABLE ref.load_state (
    singleton          boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation         bigint NOT NULL DEFAULT 0,      -- last published load
    attempt            bigint NOT NULL DEFAULT 0,      -- last started load (committed before it runs)
    attempt_started_at timestamptz,
    attempt_outcome    text,                           -- NULL while running or after a crash
    published_at       timestamptz,
    data_version       text,                           -- ref.data_version() of the published generation
    views_version      text,                           -- data version the stats views were refreshed for
    row_counts         jsonb NOT NULL DEFAULT '{}'     -- source -> rows stored, as published
);

COMMENT ON TABLE ref.load_state IS
  'Generation marker of the loader: attempt > generation with no outcome means a load died before publishing.';

INSERT INTO ref.load_state DEFAULT VALUES;
