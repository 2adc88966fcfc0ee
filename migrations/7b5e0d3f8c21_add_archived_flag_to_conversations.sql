-- Add archived flag to conversations
--
-- Revision ID: 7b5e0d3f8c21
-- Revises: e4b7c2a91d05
-- Create Date: 2026-11-28 15:22:10

-- migrate:upgrade
ALTER TABLE conversations
    ADD COLUMN archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1));

-- The conversation list of a context shows only the active ones.
CREATE INDEX ix_conversations_active ON conversations (context_id, created_at)
    WHERE archived = 0;

-- migrate:downgrade
-- The partial index names the column, so it goes first.  migrate_rebuild()
-- drops the column on every supported SQLite (ALTER TABLE ... DROP COLUMN
-- needs 3.35); the indexes on the other columns come back by themselves.
DROP INDEX ix_conversations_active;
SELECT migrate_rebuild('conversations', 'CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    title TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime(''%Y-%m-%dT%H:%M:%fZ'', ''now''))
)');
