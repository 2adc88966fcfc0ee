-- Switch database to WAL journal mode
--
-- Revision ID: f05c3b8d2e76
-- Revises: 4e92a7c0b6d1
-- Create Date: 2026-12-15 08:45:13
-- Transaction: none

-- migrate:upgrade
-- Write-ahead logging lets readers keep reading while a writer commits, which
-- the PCS needs once several processes share one database file. SQLite will
-- not change the journal mode inside a transaction, hence "Transaction: none"
-- above: the engine commits the earlier steps and runs this one on its own.
-- The setting is persistent, stored in the database file. (An in-memory
-- database stays in "memory" mode; that is harmless.)
PRAGMA journal_mode=WAL;

-- migrate:downgrade
PRAGMA journal_mode=DELETE;
