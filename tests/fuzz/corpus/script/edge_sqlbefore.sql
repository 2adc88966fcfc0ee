-- m
-- Revision ID: bad4
-- Revises:

SELECT 1;
-- migrate:upgrade
SELECT 2;
