-- unknown
-- Revision ID: bad3
-- Revize: x

-- migrate:upgrade
SELECT 1;
