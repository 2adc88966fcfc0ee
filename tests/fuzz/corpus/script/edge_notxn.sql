-- vacuum
-- Revision ID: v1
-- Revises: None
-- Transaction: none

-- migrate:upgrade
VACUUM;
PRAGMA main.journal_mode = WAL;
PRAGMA "foreign_keys" = 0;
ATTACH 'x.db' AS x;
DETACH x;
