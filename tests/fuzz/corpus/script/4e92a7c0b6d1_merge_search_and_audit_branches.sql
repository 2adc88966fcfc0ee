-- Merge search and audit branches
--
-- Revision ID: 4e92a7c0b6d1
-- Revises: b3d18e7a5f60, d8f3b15c7a42
-- Create Date: 2026-12-10 11:20:00

-- migrate:upgrade
-- The first object that needs both branches: recent prompt activity with a
-- preview taken from the search index.
CREATE VIEW prompt_activity AS
SELECT a.created_at AS logged_at,
       a.action,
       p.id AS prompt_id,
       p.conversation_id,
       p.role,
       substr(s.body, 1, 80) AS preview
  FROM audit_log AS a
  JOIN prompts AS p ON p.id = a.row_id
  LEFT JOIN prompt_search AS s ON s.prompt_id = p.id
 WHERE a.table_name = 'prompts';

-- migrate:downgrade
DROP VIEW prompt_activity;
