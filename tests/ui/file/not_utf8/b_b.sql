-- b
-- revision: b
-- down_revision: a
-- migrate:upgrade
INSERT INTO t VALUES ('ÿþ');
