-- add person.full_name
--
-- revision: 2b0000000002
-- down_revision: 1a0000000001

-- migrate:upgrade
ALTER TABLE person ADD COLUMN full_name VARCHAR(120);

-- migrate:downgrade
ALTER TABLE person DROP COLUMN full_name;
