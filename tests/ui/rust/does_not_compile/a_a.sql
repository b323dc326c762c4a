-- create t
-- revision: a
-- down_revision:

-- migrate:upgrade
CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);
