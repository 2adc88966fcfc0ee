-- txn
-- Revision ID: bad1
-- Revises:

-- migrate:upgrade
BEGIN;
COMMIT;
