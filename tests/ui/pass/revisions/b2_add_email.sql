-- add email
--
-- revision: b2
-- down_revision: a1

-- migrate:upgrade
ALTER TABLE account ADD COLUMN email TEXT;

-- migrate:downgrade
SELECT 1;
