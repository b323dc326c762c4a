-- b message
--
-- revision: b
-- down_revision: a, b

-- migrate:upgrade
CREATE TABLE t_b (id INTEGER);

-- migrate:downgrade
SELECT 1;
