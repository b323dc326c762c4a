-- x message
--
-- revision: x
-- down_revision: 

-- migrate:upgrade
CREATE TABLE t_x (id INTEGER);

-- migrate:downgrade
DROP TABLE t_x;
