-- add email again
--
-- revision: c3
-- down_revision: a1

-- migrate:upgrade
CREATE TABLE email (id INTEGER);

-- migrate:downgrade
DROP TABLE email;
