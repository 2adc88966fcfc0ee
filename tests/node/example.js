// example.js — the README's Node.js example: better-sqlite3 loads the
// sqlite-migrate extension and migrates a database to head.
//
//     npm install better-sqlite3@12
//     MIGRATE_SO=/usr/local/lib/migrate.so node example.js app.db
//
// tests/node/test_node.py runs it against build/migrate.so.
"use strict";
const Database = require("better-sqlite3");

const db = new Database(process.argv[2] || ":memory:");
db.loadExtension(process.env.MIGRATE_SO || "/usr/local/lib/migrate.so");

const version = db.prepare("SELECT migrate_to('head') AS v").get().v;
console.log(`migrated to ${version} (SQLite ${db.prepare("SELECT sqlite_version() AS v").get().v})`);

// a refusal is an ordinary SqliteError with the engine's message
try {
  db.prepare("SELECT migrate_to('nosuch')").get();
} catch (e) {
  console.log(`${e.code}: ${e.message}`);
}

// the history as a table
for (const r of db.prepare(
  "SELECT revision, is_current FROM migrations WHERE is_head").all()) {
  console.log(`head ${r.revision}${r.is_current ? " (current)" : ""}`);
}
db.close();
