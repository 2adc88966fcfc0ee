-- Add audit log for prompts
--
-- Revision ID: c6a04f2d9e13
-- Revises: 7b5e0d3f8c21
-- Create Date: 2026-12-05 10:02:38
-- Branch Labels: audit

-- migrate:upgrade
-- No AUTOINCREMENT: it would create sqlite_sequence, which a downgrade
-- cannot drop.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    detail TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE INDEX ix_audit_log_row ON audit_log (table_name, row_id);
CREATE INDEX ix_audit_log_created_at ON audit_log (created_at);

CREATE TRIGGER trg_prompts_audit_insert AFTER INSERT ON prompts
BEGIN
    -- detail reads "role=user; tokens=42": the "; " is part of the string,
    -- not the end of a statement.
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('prompts', NEW.id, 'insert',
            'role=' || NEW.role || '; tokens=' || coalesce(NEW.tokens, 0));
END;

-- migrate:downgrade
DROP TRIGGER trg_prompts_audit_insert;
DROP INDEX ix_audit_log_created_at;
DROP INDEX ix_audit_log_row;
DROP TABLE audit_log;
