-- Add prompt search index
--
-- Revision ID: 2a6f9c4e1b87
-- Revises: 7b5e0d3f8c21
-- Create Date: 2026-12-03 09:48:51
-- Branch Labels: search

-- migrate:upgrade
-- A plain search table, no FTS5 needed (not every device build has it):
-- the prompt text lower-cased once on write, so a search is
-- instr(body, lower(?)) > 0 per conversation, with no per-row lower() call.
CREATE TABLE prompt_search (
    prompt_id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX ix_prompt_search_conversation_id ON prompt_search (conversation_id);

INSERT INTO prompt_search (prompt_id, conversation_id, body)
SELECT id, conversation_id, lower(content) FROM prompts;

CREATE TRIGGER trg_prompts_search_insert AFTER INSERT ON prompts
BEGIN
    INSERT INTO prompt_search (prompt_id, conversation_id, body)
    VALUES (NEW.id, NEW.conversation_id, lower(NEW.content));
END;

-- migrate:downgrade
DROP TRIGGER trg_prompts_search_insert;
DROP INDEX ix_prompt_search_conversation_id;
DROP TABLE prompt_search;
