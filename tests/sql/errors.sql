.load build/migrate
-- Errors as the sqlite3 shell prints them.  The runner echoes every
-- statement, so in errors.expected each error stands under the statement
-- that raised it ("Runtime error near line N").
.mode list
SELECT '-- unknown revisions';
SELECT migrate_to('x7');
SELECT migrate_to('deadbeef');
SELECT migrate_to('nosuch@head');
SELECT '-- multiple heads';
SELECT migrate_to('head', migrate_bundle('tests/sql/fixtures/two_heads'));
SELECT migrate_sql('head', migrate_bundle('tests/sql/fixtures/two_heads'));
SELECT migrate_stamp('head', migrate_bundle('tests/sql/fixtures/two_heads'));
SELECT 'heads is every head: ' || migrate_to('heads', migrate_bundle('tests/sql/fixtures/two_heads'));
SELECT 'back at base: ' || quote(migrate_to('base', migrate_bundle('tests/sql/fixtures/two_heads')));
SELECT '-- a relative step that cannot be taken';
SELECT migrate_to('-1');
SELECT '-- bad arguments';
SELECT migrate_to(NULL);
SELECT migrate_to('head', 'tests/sql/fixtures/two_heads');
SELECT migrate_bundle('tests/sql/fixtures/no_such_folder');
SELECT migrate_to();
SELECT '-- not a statement of its own';
CREATE TABLE t(x);
INSERT INTO t VALUES (1);
SELECT migrate_to('head') FROM t;
CREATE VIEW v AS SELECT migrate_to('head');
SELECT * FROM v;
SELECT '-- Transaction: none inside BEGIN';
BEGIN;
INSERT INTO t VALUES (2);
SELECT migrate_to('head');
COMMIT;
SELECT '-- none of it changed the database';
SELECT 'current: ' || quote(migrate_current());
SELECT 't: ' || group_concat(x) FROM t;
SELECT 'migrate_log rows: ' || count(*) FROM migrate_log;
