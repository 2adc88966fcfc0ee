-- vacuum in txn
-- Revision ID: bad2
-- Revises:

-- migrate:upgrade
VACUUM;
