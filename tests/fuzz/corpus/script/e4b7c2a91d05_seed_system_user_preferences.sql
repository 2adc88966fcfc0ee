-- Seed system user preferences
--
-- Revision ID: e4b7c2a91d05
-- Revises: 9a39eb7fd78f
-- Create Date: 2026-11-21 11:05:32

-- migrate:upgrade
-- Data migration: the defaults every user inherits live under the reserved
-- user id '__system__'. A plain INSERT (not OR IGNORE) so that a clash with
-- hand-made rows fails loudly instead of being adopted and later deleted.
INSERT INTO user_preferences (user_id, preference_key, preference_value) VALUES
    ('__system__', 'theme', 'dark'),
    ('__system__', 'locale', 'en-US'),
    ('__system__', 'timezone', 'UTC'),
    ('__system__', 'max_context_tokens', '8192'),
    ('__system__', 'history_retention_days', '90');

-- migrate:downgrade
DELETE FROM user_preferences
WHERE user_id = '__system__'
  AND preference_key IN ('theme', 'locale', 'timezone',
                         'max_context_tokens', 'history_retention_days');
