-- Create prompts table
--
-- Revision ID: 1f0c2a7d44e0
-- Revises: 5d21b7e0c9a3
-- Create Date: 2026-10-02 16:40:09

-- migrate:upgrade
CREATE TABLE prompts (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    tokens INTEGER CHECK (tokens IS NULL OR tokens >= 0),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX ix_prompts_conversation_id ON prompts (conversation_id);
CREATE INDEX ix_prompts_created_at ON prompts (created_at);

-- migrate:downgrade
DROP INDEX ix_prompts_created_at;
DROP INDEX ix_prompts_conversation_id;
DROP TABLE prompts;
