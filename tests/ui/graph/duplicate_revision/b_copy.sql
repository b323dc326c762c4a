-- b again
-- revision: b
-- down_revision: a
-- migrate:upgrade
SELECT 2;
