-- rebuild a parent table
--
-- revision: a
-- down_revision:
-- migrate:foreign-keys-off

-- migrate:upgrade
CREATE TABLE t_a (id INTEGER PRIMARY KEY);

-- migrate:downgrade
DROP TABLE t_a;
