-- The declared schema of the example history: what its head builds.
--
-- sqlite-migrate revision --autogenerate compares this file with the schema
-- the revisions give at their head and writes the revision that turns one
-- into the other.  Edit the CREATE statements here, then run
--
--     sqlite-migrate revision --autogenerate -m "what changed"
--
-- A rename is declared on its own line above the table's CREATE TABLE, or
-- above the column inside it:  -- migrate:renamed-from old_name
-- (The bundler skips this file: it is not a revision.)

CREATE TABLE contexts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    context_id TEXT NOT NULL REFERENCES contexts (id) ON DELETE CASCADE,
    title TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    archived INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1))
);

CREATE TABLE prompts (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
    content TEXT NOT NULL,
    tokens INTEGER CHECK (tokens IS NULL OR tokens >= 0),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE user_preferences (
    user_id TEXT NOT NULL,
    preference_key TEXT NOT NULL,
    preference_value TEXT,
    PRIMARY KEY (user_id, preference_key)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    table_name TEXT NOT NULL,
    row_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    detail TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE prompt_search (
    prompt_id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX ix_contexts_created_at ON contexts (created_at);

CREATE INDEX ix_conversations_context_id ON conversations (context_id);

CREATE INDEX ix_conversations_created_at ON conversations (created_at);

CREATE INDEX ix_prompts_conversation_id ON prompts (conversation_id);

CREATE INDEX ix_prompts_created_at ON prompts (created_at);

CREATE INDEX ix_conversations_active ON conversations (context_id, created_at)
    WHERE archived = 0;

CREATE INDEX ix_audit_log_row ON audit_log (table_name, row_id);

CREATE INDEX ix_audit_log_created_at ON audit_log (created_at);

CREATE TRIGGER trg_prompts_audit_insert AFTER INSERT ON prompts
BEGIN
    -- detail reads "role=user; tokens=42": the "; " is part of the string,
    -- not the end of a statement.
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('prompts', NEW.id, 'insert',
            'role=' || NEW.role || '; tokens=' || coalesce(NEW.tokens, 0));
END;

CREATE TRIGGER trg_conversations_audit_archive
AFTER UPDATE OF archived ON conversations
WHEN NEW.archived IS NOT OLD.archived
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('conversations', NEW.id, 'update',
            CASE NEW.archived WHEN 1 THEN 'archived' ELSE 'unarchived' END);
END;

CREATE TRIGGER trg_conversations_audit_delete AFTER DELETE ON conversations
BEGIN
    INSERT INTO audit_log (table_name, row_id, action, detail)
    VALUES ('conversations', OLD.id, 'delete',
            json_object('context_id', OLD.context_id, 'title', OLD.title));
END;

CREATE INDEX ix_prompt_search_conversation_id ON prompt_search (conversation_id);

CREATE TRIGGER trg_prompts_search_insert AFTER INSERT ON prompts
BEGIN
    INSERT INTO prompt_search (prompt_id, conversation_id, body)
    VALUES (NEW.id, NEW.conversation_id, lower(NEW.content));
END;

CREATE TRIGGER trg_prompts_search_update
AFTER UPDATE OF conversation_id, content ON prompts
BEGIN
    UPDATE prompt_search
       SET conversation_id = NEW.conversation_id,
           body = lower(NEW.content)
     WHERE prompt_id = OLD.id;
END;

CREATE TRIGGER trg_prompts_search_delete AFTER DELETE ON prompts
BEGIN
    DELETE FROM prompt_search WHERE prompt_id = OLD.id;
END;

CREATE VIEW prompt_activity AS
SELECT a.created_at AS logged_at,
       a.action,
       p.id AS prompt_id,
       p.conversation_id,
       p.role,
       substr(s.body, 1, 80) AS preview
  FROM audit_log AS a
  JOIN prompts AS p ON p.id = a.row_id
  LEFT JOIN prompt_search AS s ON s.prompt_id = p.id
 WHERE a.table_name = 'prompts';
