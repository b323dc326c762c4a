-- merge b and c
-- revision: m
-- down_revision: b, c

-- migrate:upgrade
