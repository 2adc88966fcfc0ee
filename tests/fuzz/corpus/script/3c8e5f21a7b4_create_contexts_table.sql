-- Create contexts table
--
-- Revision ID: 3c8e5f21a7b4
-- Revises: None
-- Create Date: 2026-09-14 09:12:44

-- migrate:upgrade
-- A context groups conversations of the prompt/context store (PCS).
-- Keys are UUIDs in their canonical text form.
CREATE TABLE contexts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX ix_contexts_created_at ON contexts (created_at);

-- migrate:downgrade
DROP INDEX ix_contexts_created_at;
DROP TABLE contexts;
