-- index the accounts
-- revision: a
-- down_revision:

-- migrate:upgrade
CREATE TABLE account (id INTEGER, email TEXT);
CREATE INDEX CONCURRENTLY account_email ON account (email);

-- migrate:downgrade
DROP TABLE account;
