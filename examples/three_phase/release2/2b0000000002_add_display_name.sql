-- add account.display_name, which release 2 writes beside name
-- revision: 2b0000000002
-- down_revision: 1a0000000001
-- migrate:phase: expand

-- migrate:upgrade
-- fills: how many times the backfill wrote the row (the tests check that it is never more than once).
ALTER TABLE account ADD COLUMN display_name VARCHAR(100);
ALTER TABLE account ADD COLUMN fills INT NOT NULL DEFAULT 0;

-- migrate:downgrade
ALTER TABLE account DROP COLUMN fills;
ALTER TABLE account DROP COLUMN display_name;
