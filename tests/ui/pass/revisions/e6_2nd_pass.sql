-- second pass
--
-- revision: e6
-- down_revision: m4

-- migrate:upgrade
SELECT 1;

-- migrate:downgrade
SELECT 1;
