-- create account
-- revision: 1a0000000001
-- down_revision:

-- migrate:upgrade
CREATE TABLE account (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL);

-- migrate:downgrade
DROP TABLE account;
