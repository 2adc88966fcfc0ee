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
-- The partial index names the column, so it goes first.
-- ALTER TABLE ... DROP COLUMN needs SQLite 3.35 or newer.
DROP INDEX ix_conversations_active;
ALTER TABLE conversations DROP COLUMN archived;
