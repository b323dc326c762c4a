-- rebuild a parent table
--
-- revision: a
-- down_revision:

-- migrate:upgrade
-- migrate:foreign-keys-off
CREATE TABLE t_a (id INTEGER PRIMARY KEY);
