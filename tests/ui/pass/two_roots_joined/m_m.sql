-- m message
--
-- revision: m
-- down_revision: a, b

-- migrate:upgrade
CREATE TABLE t_m (id INTEGER);

-- migrate:downgrade
SELECT 1;
