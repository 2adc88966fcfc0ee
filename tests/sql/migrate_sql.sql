.load build/migrate
-- migrate_sql(): the exact script migrate_to() would run, bookkeeping
-- included, without changing the database.
.mode list
SELECT migrate_sql('head');
-- from a revision on the search branch to head: the audit branch, the
-- merge, and the Transaction: none revision between COMMIT and BEGIN
SELECT migrate_to('b3d18e7a5f60');
SELECT migrate_sql('head');
-- a downgrade script: the search branch goes, children first
SELECT migrate_sql('7b5e0d3f8c21');
-- nothing changed
SELECT migrate_current(), (SELECT count(*) FROM migrate_log);
