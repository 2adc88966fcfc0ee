.load build/migrate
-- A fresh in-memory database upgraded to head with the embedded bundle
-- (the example history in migrations/), then the migrations table.
.headers on
.mode list
SELECT migrate_current() IS NULL AS at_base, migrate_version() AS version;
SELECT migrate_to('head') AS migrated_to;
SELECT migrate_current() AS current;
SELECT version_num FROM migrate_version;
-- an in-memory database stays in memory mode (revision f05c3b8d2e76)
PRAGMA journal_mode;
SELECT preference_key, preference_value FROM user_preferences ORDER BY 1;
.mode box
SELECT revision, down_revision, branch_labels AS labels, is_head AS head,
       is_base AS base, is_merge AS merge, is_current AS cur,
       is_applied AS applied, checksum, message
  FROM migrations;
-- a second call at head does nothing and says where it is
.mode list
SELECT migrate_to('head') AS again;
SELECT count(*) AS log_rows FROM migrate_log;
SELECT migrate_check() IS NULL AS up_to_date;
