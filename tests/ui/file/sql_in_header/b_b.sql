-- b
-- revision: b
-- down_revision: a
CREATE TABLE t (id INTEGER);
-- migrate:upgrade
