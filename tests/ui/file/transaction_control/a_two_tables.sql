-- create two tables
-- revision: a
-- down_revision:

-- migrate:upgrade
CREATE TABLE a (id INTEGER);
COMMIT;
CREATE TABLE b (id INTEGER);

-- migrate:downgrade
DROP TABLE b;
DROP TABLE a;
