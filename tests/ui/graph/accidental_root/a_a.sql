-- a message
--
-- revision: a
-- down_revision: 

-- migrate:upgrade
CREATE TABLE t_a (id INTEGER);

-- migrate:downgrade
DROP TABLE t_a;
