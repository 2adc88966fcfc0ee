.load build/migrate
-- The migration_history table: migrate_log with each revision's message and
-- whether its script still matches the bundle.  Times vary, so only their
-- form is shown.
.headers on
.mode box
SELECT migrate_to('9a39eb7fd78f') AS step1;
SELECT migrate_to('-2') AS step2;
SELECT migrate_stamp('e4b7c2a91d05') AS step3;
SELECT migrate_to('+1') AS step4;
SELECT id, revision, direction, version_before AS before,
       version_after AS after, checksum, message, checksum_ok AS ok,
       started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z' AS iso_time,
       typeof(duration_ms) AS ms
  FROM migration_history;
.mode list
SELECT migrate_check();
-- The stamp said e4b7c2a91d05 was applied, but its table was never made:
-- the downgrade fails on that revision's script and changes nothing.
SELECT migrate_to('base');
SELECT migrate_current(), (SELECT count(*) FROM migrate_log) AS log_rows;
SELECT quote(migrate_stamp('base')) AS stamped;
-- Another history, and the same history with a1 edited after it ran.
.mode box
SELECT migrate_to('head', migrate_bundle('tests/sql/fixtures/shop_v1')) AS shop;
SELECT id, revision, direction, message, checksum, checksum_ok AS ok
  FROM migration_history(migrate_bundle('tests/sql/fixtures/shop_v1'))
 WHERE id > 9;
SELECT id, revision, direction, message, checksum, checksum_ok AS ok
  FROM migration_history(migrate_bundle('tests/sql/fixtures/shop_v1_edited'))
 WHERE id > 9;
SELECT revision, checksum, is_current, is_applied
  FROM migrations(migrate_bundle('tests/sql/fixtures/shop_v1_edited'));
