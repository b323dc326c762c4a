-- add account email
--
-- revision: ae1027a6acf0
-- down_revision: 1975ea83b712
-- created: 2026-11-22T01:50:02Z

-- migrate:upgrade
ALTER TABLE account ADD COLUMN email VARCHAR(254);
CREATE UNIQUE INDEX account_email ON account (email);

-- migrate:downgrade
DROP INDEX account_email;
ALTER TABLE account DROP COLUMN email;
