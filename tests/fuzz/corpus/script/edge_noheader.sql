SELECT 1;
-- migrate:upgrade
