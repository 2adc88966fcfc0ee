-- Create conversations table
--
-- Revision ID: 5d21b7e0c9a3
-- Revises: 3c8e5f21a7b4
-- Create Date: 2026-09-14 10:03:17

-- migrate:upgrade
CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    title TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX ix_conversations_context_id ON conversations (context_id);
CREATE INDEX ix_conversations_created_at ON conversations (created_at);

-- migrate:downgrade
DROP INDEX ix_conversations_created_at;
DROP INDEX ix_conversations_context_id;
DROP TABLE conversations;
