-- c message
--
-- revision: c
-- down_revision: a

-- migrate:upgrade
CREATE TABLE t_c (id INTEGER);

-- migrate:downgrade
SELECT 1;
