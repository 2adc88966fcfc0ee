-- Audit conversation archiving and deletion
--
-- Revision ID: d8f3b15c7a42
-- Revises: c6a04f2d9e13
-- Create Date: 2026-12-08 17:31:04

-- migrate:upgrade
CREATE TRIGGER trg_conversations_audit_archive
AFTER UPDATE OF archived ON conversations
WHEN NEW.archived IS NOT OLD.archived
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('conversations', NEW.id, 'update',
            CASE NEW.archived WHEN 1 THEN 'archived' ELSE 'unarchived' END);
END;

CREATE TRIGGER trg_conversations_audit_delete AFTER DELETE ON conversations
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('conversations', OLD.id, 'delete',
            json_object('context_id', OLD.context_id, 'title', OLD.title));
END;

-- migrate:downgrade
DROP TRIGGER trg_conversations_audit_delete;
DROP TRIGGER trg_conversations_audit_archive;
