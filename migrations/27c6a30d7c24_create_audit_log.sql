-- create audit log
--
-- Written on a branch at the same time as ae1027a6acf0; joined by 3cf1ce5e1a9b.
--
-- revision: 27c6a30d7c24
-- down_revision: 1975ea83b712
-- created: 2026-11-22T01:51:40Z

-- migrate:upgrade
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES account (id),
    action VARCHAR(32) NOT NULL,
    at VARCHAR(32) NOT NULL
);

-- migrate:downgrade
DROP TABLE audit_log;
