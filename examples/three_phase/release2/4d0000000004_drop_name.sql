-- drop account.name, which no running release reads any more
-- revision: 4d0000000004
-- down_revision: 3c0000000003
-- migrate:phase: contract

-- migrate:upgrade
ALTER TABLE account DROP COLUMN name;
