-- trigger
-- Revision ID: t1
-- Revises: a, b
-- Depends On: c
-- Branch Labels: x, y
-- Create Date: 2026-01-01

-- migrate:upgrade
CREATE TRIGGER tr AFTER INSERT ON t BEGIN
  INSERT INTO u VALUES (1); UPDATE u SET x = ';';
END;
/* block ; comment */
INSERT INTO t VALUES ("a;b", [c;d], `e;f`); -- trailing ; comment
-- migrate:downgrade
DROP TRIGGER tr;
