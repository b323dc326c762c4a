-- d message
--
-- revision: d
-- down_revision: c

-- migrate:upgrade
CREATE TABLE t_d (id INTEGER);

-- migrate:downgrade
SELECT 1;
