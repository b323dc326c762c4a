"""Shim of fides.config: the CONFIG attributes env.py and the migrations read.

The database is MIGRATE_ALEMBIC_URL, read when used (revision files import CONFIG too, and Alembic
loads them for commands that need no database). The keys only parametrise encrypted column types
(their DDL does not depend on them) and the decryption of rows an empty database does not have.
"""

import os
from types import SimpleNamespace


class _Database:
    @property
    def sync_database_uri(self) -> str:
        if "MIGRATE_ALEMBIC_URL" not in os.environ:
            raise SystemExit("set MIGRATE_ALEMBIC_URL to the SQLAlchemy URL of the database to migrate")
        return os.environ["MIGRATE_ALEMBIC_URL"]

    sqlalchemy_database_uri = sync_database_uri


CONFIG = SimpleNamespace(
    database=_Database(),
    security=SimpleNamespace(app_encryption_key="migrate-test-key-32-characters!!"),
    user=SimpleNamespace(encryption_key="migrate-test-key-32-characters!!"),
)
