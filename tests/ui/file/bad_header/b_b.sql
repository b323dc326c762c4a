-- no revision line
-- down_revision: a
-- migrate:upgrade
SELECT 1;
