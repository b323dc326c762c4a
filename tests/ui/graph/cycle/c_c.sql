-- c message
--
-- revision: c
-- down_revision: b

-- migrate:upgrade
CREATE TABLE t_c (id INTEGER);

-- migrate:downgrade
SELECT 1;
