-- b message
--
-- revision: b
-- down_revision: a

-- migrate:upgrade
CREATE TABLE t_b (id INTEGER);

-- migrate:downgrade
DROP TABLE t_b;
