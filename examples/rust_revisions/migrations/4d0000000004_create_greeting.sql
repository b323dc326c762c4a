-- create greeting
--
-- revision: 4d0000000004
-- down_revision: 3c0000000003

-- migrate:upgrade
CREATE TABLE greeting (id BIGINT NOT NULL PRIMARY KEY, text VARCHAR(100) NOT NULL);

-- migrate:downgrade
DROP TABLE greeting;
