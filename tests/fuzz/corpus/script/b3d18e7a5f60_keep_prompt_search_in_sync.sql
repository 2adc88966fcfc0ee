-- Keep prompt search index in sync on update and delete
--
-- Revision ID: b3d18e7a5f60
-- Revises: 2a6f9c4e1b87
-- Create Date: 2026-12-04 13:15:26

-- migrate:upgrade
CREATE TRIGGER trg_prompts_search_update
AFTER UPDATE OF conversation_id, content ON prompts
BEGIN
    UPDATE prompt_search
       SET conversation_id = NEW.conversation_id,
           body = lower(NEW.content)
     WHERE prompt_id = OLD.id;
END;

CREATE TRIGGER trg_prompts_search_delete AFTER DELETE ON prompts
BEGIN
    DELETE FROM prompt_search WHERE prompt_id = OLD.id;
END;

-- migrate:downgrade
DROP TRIGGER trg_prompts_search_delete;
DROP TRIGGER trg_prompts_search_update;
