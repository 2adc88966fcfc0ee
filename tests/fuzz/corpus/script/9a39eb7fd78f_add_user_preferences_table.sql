-- Add user preferences table
--
-- Revision ID: 9a39eb7fd78f
-- Revises: 1f0c2a7d44e0
-- Create Date: 2026-11-21 10:30:00

-- migrate:upgrade
CREATE TABLE user_preferences (
    user_id TEXT NOT NULL,
    preference_key TEXT NOT NULL,
    preference_value TEXT,
    PRIMARY KEY (user_id, preference_key)
);

-- migrate:downgrade
DROP TABLE user_preferences;
