-- merge email and audit log
--
-- revision: 3cf1ce5e1a9b
-- down_revision: ae1027a6acf0, 27c6a30d7c24
-- created: 2026-11-22T02:05:13Z

-- migrate:upgrade

-- migrate:downgrade
