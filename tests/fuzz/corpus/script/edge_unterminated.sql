-- m
-- Revision ID: u1
-- Revises:

-- migrate:upgrade
SELECT 'unterminated;
/* open comment ;
