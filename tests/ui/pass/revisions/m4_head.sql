-- merge
--
-- revision: m4
-- down_revision: b2, c3

-- migrate:upgrade


-- migrate:downgrade

