-- create accounts
--
-- revision: a1
-- down_revision: 

-- migrate:upgrade
CREATE TABLE account (id INTEGER);

-- migrate:downgrade
DROP TABLE account;
