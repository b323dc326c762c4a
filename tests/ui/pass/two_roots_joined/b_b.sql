-- b message
--
-- revision: b
-- down_revision: 

-- migrate:upgrade
CREATE TABLE t_b (id INTEGER);

-- migrate:downgrade
SELECT 1;
