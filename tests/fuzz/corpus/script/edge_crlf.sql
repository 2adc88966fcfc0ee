-- crlf
-- Revision ID: c1
-- Revises: None

-- migrate:upgrade
CREATE TABLE t(x);
-- migrate:downgrade
DROP TABLE t;
