-- create person
--
-- revision: 1a0000000001
-- down_revision:

-- migrate:upgrade
CREATE TABLE person (
    id BIGINT NOT NULL PRIMARY KEY,
    first_name VARCHAR(50) NOT NULL,
    last_name VARCHAR(50) NOT NULL
);
INSERT INTO person (id, first_name, last_name) VALUES (1, 'Ada', 'Lovelace'), (2, 'Alan', 'Turing'), (3, 'Grace', 'Hopper');

-- migrate:downgrade
DROP TABLE person;
