-- create account table
--
-- revision: 1975ea83b712
-- down_revision:
-- created: 2026-11-22T01:42:51Z

-- migrate:upgrade
CREATE TABLE account (
    id INTEGER PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    description TEXT
);

-- migrate:downgrade
DROP TABLE account;
