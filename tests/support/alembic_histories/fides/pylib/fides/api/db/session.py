"""Shim of fides.api.db.session: a session factory on its own connection to the configured database,
as the application's is (7abe778b7082 reads DatasetConfig rows through it, beside Alembic's connection)."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool


def get_db_session(config, autocommit=False, autoflush=False):
    engine = create_engine(config.database.sqlalchemy_database_uri, poolclass=NullPool)
    return sessionmaker(autocommit=autocommit, autoflush=autoflush, bind=engine)
