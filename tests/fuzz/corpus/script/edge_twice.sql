-- m
-- Revision ID: bad5
-- Revises:

-- migrate:upgrade
SELECT 1;
-- migrate:upgrade
SELECT 2;
-- migrate:sideways
