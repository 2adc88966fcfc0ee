-- bom
-- Revision ID: b1
-- Revises:

-- migrate:upgrade
SELECT 1;
