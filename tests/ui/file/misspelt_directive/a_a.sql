-- drop the legacy table
--
-- revision: a
-- down_revision:
-- phase: contract

-- migrate:upgrade
DROP TABLE legacy;
